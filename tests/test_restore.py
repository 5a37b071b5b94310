"""restore(): issue 5, "Revert and restore".

restore() puts one row back as it stood at a point in history, in a new
revision (or in the current context's), made again with its key if it was
deleted; fields history never saw keep their live value, or, for a deleted
row, the value its delete recorded or the field's default; a point where the
row did not exist is a LookupError.

Every test reads history through the models in use, so the suite runs
unchanged with swapped history models (REVY_TEST_SWAPPED=1).
"""

import decimal

import pytest

from revy import Context
from revy.contrib.django.history import restore
from tests.helpers import (
    CREATE,
    T0,
    UPDATE,
    ObjectDelta,
    Revision,
    acting,
    forget_field,
    latest_revision,
)
from tests.testapp.models import Comment, Counter, EveryField

pytestmark = pytest.mark.django_db


def test_restore_a_live_object_outside_any_context_records_a_new_revision():
    with acting(description="Write"):
        comment = Comment.objects.create(text="a")
    written = latest_revision()
    for text in ("b", "c"):
        with acting():
            comment.text = text
            comment.is_marked_as_spam = text == "c"
            comment.save()
    revisions = Revision.objects.count()

    restored = restore(Comment, comment.pk, written)

    assert Context.get_current() is None
    assert isinstance(restored, Comment)
    assert Comment.objects.values("text", "is_marked_as_spam").get(pk=comment.pk) == {
        "text": "a",
        "is_marked_as_spam": False,
    }
    assert Revision.objects.count() == revisions + 1
    delta = ObjectDelta.objects.get(revision=latest_revision())
    assert (delta.action, delta.content_id) == (UPDATE, str(comment.pk))
    assert {a.field_name: (a.old(), a.new()) for a in delta.attribute_deltas.all()} == {
        "text": ("c", "a"),
        "is_marked_as_spam": (True, False),
    }


def test_restore_inside_a_context_is_recorded_in_that_context(alice):
    with acting():
        counter = Counter.objects.create(value=1)
    first = ObjectDelta.objects.for_object(counter).get()
    with acting():
        counter.value = 2
        counter.save()
    with acting(alice, "Undo vandalism"):
        restore(Counter, counter.pk, first)
        Comment.objects.create(text="in the same revision")
    revision = latest_revision()
    assert revision.description == "Undo vandalism"
    assert revision.object_deltas.count() == 2
    delta = ObjectDelta.objects.for_object(counter).last()
    assert (delta.revision, delta.action, delta.actor) == (revision, UPDATE, alice)
    assert Counter.objects.get(pk=counter.pk).value == 1


def test_restore_a_deleted_object_recreates_it_with_its_pk():
    with acting():
        obj = EveryField.objects.create(
            char="x",
            decimal=decimal.Decimal("1.25"),
            json={"k": [1, 2]},
            datetime=T0,
            binary=b"\x00\x01",
        )
    with acting():
        obj.char = "y"
        obj.save()
    updated = ObjectDelta.objects.for_object(obj).last()
    stored = EveryField.objects.values().get(pk=obj.pk)
    pk = obj.pk
    with acting():
        obj.delete()
    assert not EveryField.objects.filter(pk=pk).exists()

    restored = restore(EveryField, pk, updated)

    assert restored.pk == pk
    again = EveryField.objects.values().get(pk=pk)
    assert bytes(again.pop("binary")) == bytes(stored.pop("binary"))
    assert again == stored
    delta = ObjectDelta.objects.for_key(EveryField, pk).last()
    assert delta.action == CREATE
    assert delta.revision == latest_revision()


def test_restore_keeps_the_live_value_of_fields_history_never_saw():
    with Context.as_disabled():
        obj = EveryField.objects.create(char="before tracking", integer=1)
    with acting():
        obj.integer = 2
        obj.save()
    first = ObjectDelta.objects.for_object(obj).get()
    with acting():
        obj.integer = 3
        obj.save()
    restore(EveryField, obj.pk, first)
    assert EveryField.objects.values_list("char", "integer").get(pk=obj.pk) == (
        "before tracking",
        2,
    )


def test_restore_a_deleted_row_older_than_tracking():
    """A field history saw only when the row was deleted had, at any point
    before, the old value that delete recorded: restore() brings it back."""
    with Context.as_disabled():
        comment = Comment.objects.create(text="old", is_marked_as_spam=True)
    pk = comment.pk
    with Context():
        comment.text = "new"
        comment.save()
    edited = latest_revision()
    with Context():
        comment.delete()

    restore(Comment, pk, edited)

    restored = Comment.objects.get(pk=pk)
    assert (restored.text, restored.is_marked_as_spam) == ("new", True)


def test_restore_of_a_deleted_row_takes_the_default_of_a_field_added_later():
    """A row deleted before a field with a default was added has no value of
    it in history: restoring the row re-creates it with the field's default
    (as a migration adding the field gave the rows then present)."""
    with Context():
        comment = Comment.objects.create(text="hello")
    created = latest_revision()
    pk = comment.pk
    with Context():
        comment.delete()
    forget_field(Comment, pk, "is_marked_as_spam")

    restore(Comment, pk, created)

    restored = Comment.objects.get(pk=pk)
    assert (restored.text, restored.is_marked_as_spam) == ("hello", False)


def test_restore_to_a_point_where_the_row_did_not_exist_is_a_lookup_error():
    with acting():
        Comment.objects.create(text="earlier")
    earlier = latest_revision()
    with acting():
        counter = Counter.objects.create(value=1)
    with pytest.raises(LookupError):
        restore(Counter, counter.pk, earlier)
    assert Counter.objects.get(pk=counter.pk).value == 1
