"""History and remembered values after rollbacks that undo flushed or saved work."""

import pytest
from django.db import transaction

from revy import Context
from tests.helpers import ObjectDelta, Revision
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def test_savepoint_rollback_after_history_was_flushed_inside_it():
    with transaction.atomic(), Context():
        kept = Comment.objects.create(text="kept")
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")
            assert ObjectDelta.objects.count() == 2  # flushed inside the savepoint
            raise Boom
        assert ObjectDelta.objects.count() == 1
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)


def test_unsaved_via_revision_saved_in_a_rolled_back_savepoint():
    revision = Revision(description="prepared")
    with transaction.atomic(), Context.via_revision(revision):
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")  # saves the revision
            raise Boom
        kept = Comment.objects.create(text="kept")
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)
    assert Revision.objects.get().description == "prepared"


def test_save_undone_by_a_savepoint_rollback_is_recorded_when_saved_again():
    comment = Comment.objects.create(text="first")
    comment = Comment.objects.get(pk=comment.pk)
    with transaction.atomic(), Context():
        comment.text = "second"
        with pytest.raises(Boom), transaction.atomic():
            comment.save()
            raise Boom
        # The row still holds "first"; the instance holds "second".
        comment.save()
    comment.refresh_from_db()
    assert comment.text == "second"
    [delta] = ObjectDelta.objects.all()
    assert {a.field_name: (a.old(), a.new()) for a in delta.attribute_deltas.all()} == {
        "text": ("first", "second")
    }


def test_save_undone_by_a_full_rollback_is_recorded_when_saved_again():
    comment = Comment.objects.create(text="first")
    comment = Comment.objects.get(pk=comment.pk)
    with pytest.raises(Boom), transaction.atomic(), Context():
        comment.text = "second"
        comment.save()
        raise Boom
    with Context():
        comment.save()
    comment.refresh_from_db()
    assert comment.text == "second"
    assert ObjectDelta.objects.count() == 1


def test_unsaved_via_revision_saved_in_a_rolled_back_transaction_reused():
    revision = Revision(description="prepared")
    with pytest.raises(Boom), transaction.atomic(), Context.via_revision(revision):
        Comment.objects.create(text="undone")
        raise Boom
    with Context.via_revision(revision):
        Comment.objects.create(text="kept")
    assert ObjectDelta.objects.count() == 1


def test_a_rolled_back_save_keeps_who_assigned_each_attribute(alice, bob):
    """docs/context.md: the actor of an attribute delta is taken when the
    attribute is assigned. A save undone by a (savepoint) rollback must
    not lose that: saving again records the assignment by its assigner."""
    comment = Comment.objects.create(text="first")
    comment.refresh_from_db()
    with Context.via_actor(alice):
        comment.text = "by alice"
    with Context.via_actor(bob), transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            comment.save()
            raise Boom
        comment.save()  # retried
    [delta] = ObjectDelta.objects.for_object(comment)
    assert delta.actor == bob
    [attribute] = delta.attribute_deltas.all()
    assert attribute.new() == "by alice"
    assert attribute.actor == alice
