"""History is append-only through the ORM: every way Django offers to update
or delete a history row is refused with an error that names the allowed
ways, and leaves the rows as they were; revy's own writes, and revisions a
project makes for ``Context.via_revision``, still go in."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import ProtectedError

import revy
from revy.contrib.django.appendonly import declared
from revy.contrib.django.exceptions import HistoryIsAppendOnly
from revy.contrib.django.ledger import Amendment, Checkpoint, RetiredActor, Seal
from tests.helpers import AttributeDelta, ObjectDelta, Revision, acting, history_counts
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(alice):
    with acting(alice, "Write"):
        comment = Comment.objects.create(text="first")
        comment.text = "second"
        comment.save()
    return comment


def stored_values():
    return sorted(
        AttributeDelta.objects.values_list("pk", "field_name", "old_value", "new_value")
    )


def refused(action):
    before = (history_counts(), stored_values())
    with pytest.raises(HistoryIsAppendOnly) as caught, transaction.atomic():
        action()
    assert (history_counts(), stored_values()) == before
    return str(caught.value)


def test_an_error_names_the_model_the_action_and_the_allowed_ways(recorded):
    message = refused(lambda: Revision.objects.first().delete())
    assert Revision._meta.label in message
    assert "delete()" in message
    assert "redact" in message and "prune" in message


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(lambda: Revision.objects.first().delete(), id="revision.delete()"),
        pytest.param(lambda: Revision.objects.all().delete(), id="revisions.delete()"),
        pytest.param(lambda: ObjectDelta.objects.first().delete(), id="delta.delete()"),
        pytest.param(lambda: ObjectDelta.objects.all().delete(), id="deltas.delete()"),
        pytest.param(
            lambda: AttributeDelta.objects.all().delete(), id="attrs.delete()"
        ),
        pytest.param(
            lambda: AttributeDelta.objects.update(new_value="forged"), id="update()"
        ),
        pytest.param(
            lambda: Revision.objects.update(description="forged"), id="revisions.update"
        ),
        pytest.param(
            lambda: AttributeDelta.objects.filter(field_name="text").update(
                old_value=None
            ),
            id="filtered update()",
        ),
    ],
)
def test_deletes_and_updates_through_the_orm_are_refused(recorded, action):
    refused(action)


def test_saving_a_changed_row_back_is_refused(recorded):
    delta = ObjectDelta.objects.order_by("pk").last()
    delta.action = ObjectDelta.ACTION_CREATE

    refused(delta.save)
    assert ObjectDelta.objects.order_by("pk").last().action == ObjectDelta.ACTION_UPDATE


def test_bulk_update_and_update_or_create_are_refused(recorded):
    attributes = list(AttributeDelta.objects.all())
    for attribute in attributes:
        attribute.new_value = "forged"

    refused(lambda: AttributeDelta.objects.bulk_update(attributes, ["new_value"]))
    revision = Revision.objects.first()
    refused(
        lambda: Revision.objects.update_or_create(
            pk=revision.pk, defaults={"description": "forged"}
        )
    )


def test_a_new_instance_with_the_key_of_a_row_cannot_overwrite_it(recorded):
    revision = Revision.objects.first()
    forged = Revision(pk=revision.pk, description="forged")

    with pytest.raises(Exception), transaction.atomic():  # noqa: B017, PT011
        forged.save()  # An INSERT, which the key refuses; never an UPDATE.
    assert Revision.objects.get(pk=revision.pk).description == "Write"


def test_a_cascade_into_history_is_refused(recorded):
    # The deletion collector deletes related rows without their delete():
    # the history models' pre_delete receiver refuses it.
    from django.db.models.deletion import Collector

    collector = Collector(using="default")
    collector.collect([Revision.objects.first()])
    before = history_counts()
    with pytest.raises(HistoryIsAppendOnly), transaction.atomic():
        collector.delete()
    assert history_counts() == before


def test_a_content_type_history_names_stays_protected(recorded):
    with pytest.raises(ProtectedError):
        ContentType.objects.get_for_model(Comment).delete()


@pytest.mark.parametrize("model", [Amendment, RetiredActor, Seal, Checkpoint])
def test_revys_integrity_records_are_append_only_too(model):
    with pytest.raises(HistoryIsAppendOnly):
        model.objects.all().delete()
    with pytest.raises(HistoryIsAppendOnly):
        model.objects.update(pk=1)


def test_a_project_still_makes_revisions_for_via_revision(alice):
    made = Revision(description="Made by the project")
    with revy.Context.via_revision(made), revy.Context.via_actor(alice):
        Comment.objects.create(text="in the project's revision")

    assert Revision.objects.get().description == "Made by the project"
    assert ObjectDelta.objects.get().revision_id == made.pk


def test_a_declared_operation_may_change_history_and_only_inside_it(recorded):
    with declared("redact", "default"):
        AttributeDelta.objects.filter(field_name="text").update(new_value="x")
    texts = AttributeDelta.objects.filter(field_name="text")
    assert set(texts.values_list("new_value", flat=True)) == {"x"}
    refused(lambda: AttributeDelta.objects.update(new_value="y"))


def test_an_operation_that_is_not_allowed_cannot_be_declared():
    refusal = pytest.raises(ValueError, match="'rewrite' is not an operation allowed")
    with refusal, declared("rewrite", "default"):
        pass  # pragma: no cover
