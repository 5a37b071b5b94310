"""Per-field rules: fields left out of history (``REVY_EXCLUDED_FIELDS``,
``REVY_EXCLUDE_AUTO_NOW``) and masked fields (``REVY_MASKED_FIELDS``), on
every write path, read at call time and checked by ``manage.py check``."""

import pytest
from django.db import connection
from django.db.models import F

from revy.contrib.django import history
from revy.contrib.django.checks import CHECKS
from revy.contrib.django.encoding import REDACTED, mask_marker
from revy.contrib.django.exceptions import Conflict, RevertConflict
from revy.contrib.django.schemachecks import check_field_rules
from tests.helpers import AttributeDelta, ObjectDelta, Revision, acting, ct
from tests.schemaapp.models import Note, Tag

pytestmark = pytest.mark.django_db

SECRET = "hunter2-secret-value"


@pytest.fixture
def left_out(settings):
    settings.REVY_EXCLUDED_FIELDS = {"schemaapp.Note": ["views"]}


@pytest.fixture
def masked(settings):
    settings.REVY_MASKED_FIELDS = {"schemaapp.Note": ["secret"]}


def recorded_fields(note):
    return sorted(
        AttributeDelta.objects.filter(
            object_delta__content_type=ct(Note), object_delta__content_id=str(note.pk)
        ).values_list("field_name", flat=True)
    )


# Fields left out ----------------------------------------------------------------


def test_a_field_left_out_is_recorded_by_no_write_path(left_out):
    with acting():
        note = Note.objects.create(text="a", views=1)
        note.views = 2
        note.save()
        Note.objects.filter(pk=note.pk).update(views=F("views") + 1)
        note.refresh_from_db()
        note.views = 10
        Note.objects.bulk_update([note], ["views"])
        [made] = Note.objects.bulk_create([Note(text="b", views=5)])
        made.delete()

    assert "views" not in AttributeDelta.objects.values_list("field_name", flat=True)
    assert Note.objects.get(pk=note.pk).views == 10  # The writes happened.


def test_a_save_that_changes_only_left_out_fields_records_nothing(left_out, settings):
    settings.REVY_EXCLUDE_AUTO_NOW = True  # A save sets updated_at too.
    with acting():
        note = Note.objects.create(text="a")
    revisions = Revision.objects.count()

    with acting():
        note.views = 7
        note.save()
        Note.objects.filter(pk=note.pk).update(views=8)
        Note.objects.bulk_update([note], ["views"])

    assert Revision.objects.count() == revisions
    with acting():
        note.views = 9
        note.text = "b"
        note.save()
    assert Revision.objects.count() == revisions + 1
    assert ObjectDelta.objects.order_by(
        "pk"
    ).last().attribute_deltas.get().field_name == ("text")


def test_the_rules_are_read_at_call_time(settings):
    with acting():
        note = Note.objects.create(text="a", views=1)
    assert "views" in recorded_fields(note)

    settings.REVY_EXCLUDED_FIELDS = {"schemaapp.note": ["views", "updated_at"]}
    with acting():
        other = Note.objects.create(text="b", views=1)

    assert recorded_fields(other) == ["secret", "text"]


def test_a_snapshot_leaves_a_left_out_field_to_the_live_row(left_out):
    with acting():
        note = Note.objects.create(text="a", views=3)
    Note.objects.filter(pk=note.pk).update(views=4)

    past = history.state_at(Note, note.pk)

    assert "views" in past.get_deferred_fields()
    assert past.views == 4  # Loaded from the row, as .defer() does.


def test_auto_now_fields_are_left_out_with_one_setting(settings):
    with acting():
        note = Note.objects.create(text="a")
    with acting():
        note.save()  # Changes nothing but updated_at.
    assert "updated_at" in [
        a.field_name
        for a in ObjectDelta.objects.order_by("pk").last().attribute_deltas.all()
    ]
    revisions = Revision.objects.count()

    settings.REVY_EXCLUDE_AUTO_NOW = True
    with acting():
        note.save()
        note.save()

    assert Revision.objects.count() == revisions


# Masked fields ---------------------------------------------------------------


def history_text():
    """Every column of every history row, as the database returns it."""
    found = []
    with connection.cursor() as cursor:
        for model in (Revision, ObjectDelta, AttributeDelta):
            cursor.execute(
                f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}"
            )
            found += [repr(row) for row in cursor.fetchall()]
    return "\n".join(found)


def test_a_masked_fields_value_appears_nowhere_in_history(masked, alice):
    with acting(alice):
        note = Note.objects.create(text="a", secret=SECRET)
        note.secret = SECRET + "-2"
        note.save()
        Note.objects.filter(pk=note.pk).update(secret=SECRET + "-3")
        note.refresh_from_db()
        note.secret = SECRET + "-4"
        Note.objects.bulk_update([note], ["secret"])
        [made] = Note.objects.bulk_create([Note(secret=SECRET + "-5")])
        made.delete()

    assert SECRET not in history_text()
    rows = AttributeDelta.objects.filter(field_name="secret").order_by("pk")
    # Each change is there: when, by whom; the values are the marker.
    assert [(r.old_value, r.new_value) for r in rows] == [
        (None, mask_marker()),
        (mask_marker(), mask_marker()),
        (mask_marker(), mask_marker()),
        (mask_marker(), mask_marker()),
        (None, mask_marker()),
        (mask_marker(), None),
    ]
    assert {r.actor_id for r in rows} == {str(alice.pk)}
    assert Note.objects.get(pk=note.pk).secret == SECRET + "-4"


def test_reads_show_a_masked_value_as_redacted(masked):
    with acting():
        note = Note.objects.create(text="a", secret=SECRET)

    assert history.state_at(Note, note.pk).secret is REDACTED
    assert [c.new for c in history.changes(note) if c.field == "secret"] == [REDACTED]


def test_a_masked_value_is_never_put_back_by_an_undo(masked):
    with acting():
        note = Note.objects.create(text="a", secret=SECRET)
    with acting():
        note.text = "b"
        note.secret = "new"
        note.save()
    changed = Revision.objects.order_by("pk").last()

    with pytest.raises(RevertConflict) as raised:
        history.revert(changed)
    [conflict] = raised.value.conflicts
    assert (conflict.field, conflict.reason) == ("secret", Conflict.VALUE_HIDDEN)
    assert "masked or redacted" in str(raised.value)

    history.revert(changed, overwrite=True)
    note.refresh_from_db()
    assert (note.text, note.secret) == ("a", "new")

    first = Revision.objects.order_by("pk").first()
    restored = history.restore(Note, note.pk, first)
    note.refresh_from_db()
    assert (note.text, note.secret) == ("a", "new")
    assert restored.revy_not_restored == {"secret": REDACTED}


def test_a_deleted_row_comes_back_with_its_masked_field_at_its_default(masked):
    with acting():
        note = Note.objects.create(text="a", secret=SECRET)
        pk = note.pk
    with acting():
        note.delete()

    history.restore_deleted(Note, pk, overwrite=True)

    back = Note.objects.get(pk=pk)
    assert (back.text, back.secret) == ("a", "")


def test_many_to_many_relations_are_not_affected_by_the_rules(left_out, masked):
    with acting():
        note = Note.objects.create(text="a")
        note.tags.add(Tag.objects.create(name="t"))

    assert "tags" in recorded_fields(note)


# Checks ---------------------------------------------------------------------------


def test_the_rules_are_checked(settings):
    assert check_field_rules in CHECKS
    settings.REVY_EXCLUDED_FIELDS = {"schemaapp.Note": ["views", "nope"], "no.Such": []}
    settings.REVY_MASKED_FIELDS = {"schemaapp.Note": ["views", "tags"]}
    settings.REVY_EXCLUDE_AUTO_NOW = "yes"

    found = {(m.id, m.msg) for m in check_field_rules()}

    assert found == {
        (
            "revy.E072",
            "REVY_EXCLUDED_FIELDS names schemaapp.Note.nope, which is not a field "
            "history records of it.",
        ),
        (
            "revy.E071",
            "REVY_EXCLUDED_FIELDS names 'no.Such', which is not an installed model.",
        ),
        (
            "revy.E072",
            "REVY_MASKED_FIELDS names schemaapp.Note.tags, which is not a field "
            "history records of it.",
        ),
        (
            "revy.E073",
            "schemaapp.Note.views is both left out of history (REVY_EXCLUDED_FIELDS) "
            "and masked (REVY_MASKED_FIELDS).",
        ),
        ("revy.E074", "REVY_EXCLUDE_AUTO_NOW must be True or False, not 'yes'."),
    }


def test_a_rule_setting_of_the_wrong_shape_is_an_error(settings):
    settings.REVY_MASKED_FIELDS = ["schemaapp.Note.secret"]

    [error] = check_field_rules()

    assert error.id == "revy.E070"
    assert (
        "REVY_MASKED_FIELDS must map model labels to lists of field names" in error.msg
    )


def test_valid_rules_pass_the_checks(left_out, masked, settings):
    settings.REVY_EXCLUDE_AUTO_NOW = True

    assert check_field_rules() == []
