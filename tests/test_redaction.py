"""Redaction, the right to erasure: ``redact()``, ``redact_actor()`` and
``manage.py revy_redact`` replace recorded values with a marker, keep which
fields changed, when, by whom and why, show the marker in snapshots,
``state_at()`` and decoded changes, and record who redacted what."""

import io

import pytest
from django.core.management import CommandError, call_command

from revy.contrib.django import history
from revy.contrib.django.encoding import REDACTED, redaction_of
from revy.contrib.django.ledger import Amendment
from revy.contrib.django.models import DeletedActor
from revy.contrib.django.redaction import redact, redact_actor
from tests.helpers import AttributeDelta, ObjectDelta, User, acting, ct
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def written(alice):
    with acting(alice, "Write", attribute_description="typed"):
        comment = Comment.objects.create(text="call me on 555 0100")
    with acting(alice, "Fix"):
        comment.text = "call me on 555 0199"
        comment.is_marked_as_spam = True
        comment.save()
    return comment


def structure():
    return sorted(
        AttributeDelta.objects.values_list(
            "pk",
            "object_delta_id",
            "field_name",
            "actor_content_type_id",
            "actor_id",
            "description",
        )
    )


def values_of(field_name):
    return list(
        AttributeDelta.objects.filter(field_name=field_name)
        .order_by("pk")
        .values_list("old_value", "new_value")
    )


def test_the_values_of_the_field_are_erased_and_the_structure_stays(written, bob):
    before = structure()
    spam_before = values_of("is_marked_as_spam")

    amendment = redact(Comment, [written.pk], ["text"], actor=bob, description="GDPR")

    assert structure() == before
    assert values_of("is_marked_as_spam") == spam_before
    erased = values_of("text")
    assert len(erased) == 2
    (created_old, created_new), (fixed_old, fixed_new) = erased
    assert created_old is None  # A create has no old side: nothing to erase.
    for value in (created_new, fixed_old, fixed_new):
        assert redaction_of(value).amendment == amendment.pk
    stored = AttributeDelta.objects.values_list("old_value", "new_value")
    assert "555" not in str(list(stored))


def test_snapshots_state_at_and_changes_show_the_marker(written):
    first = ObjectDelta.objects.for_object(written).first()
    redact(Comment, [written.pk], ["text"])

    assert history.state_at(Comment, written.pk).text is REDACTED
    assert history.state_at(Comment, written.pk, first).text is REDACTED
    assert history.state_at(Comment, written.pk).is_marked_as_spam is True
    assert history.snapshot_of(first).text is REDACTED
    texts = [c for c in history.changes(written) if c.field == "text"]
    assert [(c.old, c.new) for c in texts] == [(None, REDACTED), (REDACTED, REDACTED)]
    assert str(REDACTED) == "[redacted]"
    # The live row is not history: it keeps its value.
    assert Comment.objects.get(pk=written.pk).text == "call me on 555 0199"


def test_the_redaction_is_recorded_with_who_when_and_what(written, bob):
    amendment = redact(Comment, [written.pk], ["text"], actor=bob, description="asked")

    stored = Amendment.objects.get()
    assert stored == amendment
    assert stored.kind == Amendment.KIND_REDACT
    assert (stored.actor_content_type_id, stored.actor_id) == (ct(User).pk, str(bob.pk))
    assert stored.description == "asked"
    assert stored.created_at is not None
    assert stored.details == {
        "model": Comment._meta.label,
        "keys": [str(written.pk)],
        "fields": ["text"],
        "attribute_deltas": 2,
    }


def test_redacting_twice_keeps_the_first_marker(written):
    first = redact(Comment, [written.pk], ["text"])
    redact(Comment, [written.pk], ["text"])
    values = [v for pair in values_of("text") for v in pair if v is not None]
    assert {redaction_of(v).amendment for v in values} == {first.pk}
    assert Amendment.objects.count() == 2


def test_an_unknown_field_is_refused_before_anything_changes(written):
    before = values_of("text")
    with pytest.raises(ValueError, match="has no field 'txet'"):
        redact(Comment, [written.pk], ["text", "txet"])
    assert values_of("text") == before
    assert not Amendment.objects.exists()
    with pytest.raises(ValueError, match="Name the fields"):
        redact(Comment, [written.pk], [])


def test_a_deleted_rows_history_can_be_redacted(written):
    key = written.pk
    with acting(None, "Remove"):
        written.delete()
    redact(Comment, [key], ["text"])
    delete = ObjectDelta.objects.for_key(Comment, key).last()
    assert history.snapshot_of(delete).text is REDACTED


def test_an_actors_personal_data_is_erased_by_redact_actor(settings, alice):
    settings.REVY_PERSONAL_DATA = {"auth.User": ["email", "first_name"]}
    with acting(None, "Sign up"):
        carol = User.objects.create(username="carol", email="c@example.com")
    with acting(None, "Rename"):
        carol.first_name = "Carol"
        carol.email = "carol@example.com"
        carol.save()

    redact_actor(carol, by=alice, description="erasure request")

    rows = AttributeDelta.objects.filter(
        content_type=ct(User), content_id=str(carol.pk)
    )
    for row in rows.filter(field_name__in=["email", "first_name"]):
        for value in (row.old_value, row.new_value):
            assert value is None or redaction_of(value) is not None
    assert rows.get(field_name="username").new_value == "carol"
    # Also once the actor is gone, by its DeletedActor.
    key = str(carol.pk)
    carol.delete()
    redact_actor(DeletedActor(User, key))
    assert Amendment.objects.count() == 2


def test_redact_actor_needs_the_personal_data_setting(alice):
    with pytest.raises(ValueError, match="REVY_PERSONAL_DATA names no fields"):
        redact_actor(alice)


def test_the_command_redacts_fields_of_rows(written, bob):
    out = io.StringIO()
    call_command(
        "revy_redact",
        "testapp.Comment",
        str(written.pk),
        "--fields",
        "text",
        "--by",
        f"auth.User:{bob.pk}",
        "--description",
        "ticket 12",
        stdout=out,
    )
    assert "Redacted text of testapp.Comment" in out.getvalue()
    assert "2 recorded changes" in out.getvalue()
    amendment = Amendment.objects.get()
    assert (amendment.actor_id, amendment.description) == (str(bob.pk), "ticket 12")
    assert history.state_at(Comment, written.pk).text is REDACTED


def test_the_command_redacts_an_actors_personal_data(settings):
    settings.REVY_PERSONAL_DATA = {"auth.User": ["email"]}
    with acting(None):
        dave = User.objects.create(username="dave", email="d@example.com")
    call_command("revy_redact", "--actor", f"auth.User:{dave.pk}", stdout=io.StringIO())
    assert history.state_at(User, dave.pk).email is REDACTED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Name a model"),
        (("testapp.Comment", "1"), "Name a model"),
        (("testapp.Nope", "1", "--fields", "text"), "is not a model"),
        (("testapp.Comment", "1", "--fields", "txet"), "has no field 'txet'"),
        (("--actor", "auth.User"), "is not app_label.ModelName:pk"),
        (("--actor", "auth.User:1", "--fields", "x"), "Give --actor alone"),
    ],
)
def test_the_command_names_what_is_wrong(written, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("revy_redact", *args, stdout=io.StringIO())
    assert not Amendment.objects.exists()


def test_the_admin_masks_personal_data_fields(settings, written):
    from django.contrib import admin

    from revy.contrib.django.admin import RevisionAdmin

    settings.REVY_PERSONAL_DATA = {"testapp.Comment": ["text"]}
    model_admin = next(
        a for a in admin.site._registry.values() if isinstance(a, RevisionAdmin)
    )
    assert model_admin.revy_is_masked(Comment, "text")
    assert not model_admin.revy_is_masked(Comment, "is_marked_as_spam")
