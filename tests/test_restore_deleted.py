"""history.restore_deleted(): a deleted row back with its key, and, if asked,
what its delete cascaded (issue 21: "restore a deleted row with its cascade").

Runs with revy's own history models and the swapped ones alike.
"""

import uuid

import pytest
from django.db import connection

from revy import Context
from revy.contrib.django import history
from revy.contrib.django.history import RevertConflict, restore_deleted
from tests.helpers import CREATE, UPDATE, ObjectDelta, Revision
from tests.testapp.models import (
    Article,
    Book,
    CodeItem,
    Editor,
    Page,
    Publisher,
    Shelf,
    Tag,
    UUIDItem,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("undo_batches")]


@pytest.fixture
def closed_publisher():
    """A publisher whose delete cascaded to its editor (CASCADE), which set
    the editor of two books to null (SET_NULL)."""
    with Context.via(actor=None):
        publisher = Publisher.objects.create(name="Penguin")
        shelf = Shelf.objects.create(name="fiction")
        editor = Editor.objects.create(name="Ed", publisher=publisher)
        books = [
            Book.objects.create(title=f"b{i}", shelf=shelf, editor=editor)
            for i in range(2)
        ]
    with Context.via(revision_description="Close the publisher"):
        Publisher.objects.get(pk=publisher.pk).delete()
    return publisher, editor, books


def test_restore_without_cascade_brings_back_the_row_alone(closed_publisher, alice):
    publisher, editor, books = closed_publisher
    with Context.via(actor=alice):
        revision = restore_deleted(Publisher, publisher.pk)
    assert Publisher.objects.get(pk=publisher.pk).name == "Penguin"
    assert not Editor.objects.filter(pk=editor.pk).exists()
    assert set(Book.objects.values_list("editor", flat=True)) == {None}
    revision = Revision.objects.get(pk=revision.pk)
    assert revision.description.startswith("Restore of publisher")
    [delta] = revision.object_deltas.all()
    assert (delta.action, delta.content_id, delta.actor) == (
        CREATE,
        str(publisher.pk),
        alice,
    )


def test_restore_with_cascade_brings_back_what_the_delete_took(closed_publisher):
    publisher, editor, books = closed_publisher
    revision = restore_deleted(Publisher, publisher.pk, cascade=True)
    assert Editor.objects.get(pk=editor.pk).publisher_id == publisher.pk
    assert set(Book.objects.values_list("editor", flat=True)) == {editor.pk}
    actions = sorted(
        (d.content_type.model, d.action) for d in revision.object_deltas.all()
    )
    assert actions == [
        ("book", UPDATE),
        ("book", UPDATE),
        ("editor", CREATE),
        ("publisher", CREATE),
    ]
    connection.check_constraints()


def test_a_three_level_cascade_comes_back_parents_first():
    with Context():
        shelf = Shelf.objects.create(name="s")
        book = Book.objects.create(title="b", shelf=shelf)
        pages = [Page.objects.create(book=book, number=n) for n in (1, 2)]
    key = shelf.pk
    with Context():
        shelf.delete()
    restore_deleted(Shelf, key, cascade=True)
    assert Book.objects.get(pk=book.pk).shelf_id == key
    assert sorted(Page.objects.values_list("pk", flat=True)) == [p.pk for p in pages]
    connection.check_constraints()


def test_a_later_change_to_what_the_delete_changed_is_a_conflict(closed_publisher):
    publisher, editor, books = closed_publisher
    with Context():
        other = Editor.objects.create(name="Other")
        book = Book.objects.get(pk=books[0].pk)
        book.editor = other
        book.save()
    with pytest.raises(RevertConflict) as raised:
        restore_deleted(Publisher, publisher.pk, cascade=True)
    assert [(c.model, c.pk, c.field) for c in raised.value.conflicts] == [
        (Book, str(book.pk), "editor")
    ]
    assert not Publisher.objects.filter(pk=publisher.pk).exists()
    # Without the cascade there is nothing to conflict with.
    restore_deleted(Publisher, publisher.pk)
    assert Publisher.objects.filter(pk=publisher.pk).exists()


def test_overwrite_goes_ahead_despite_the_conflict(closed_publisher):
    publisher, editor, books = closed_publisher
    with Context():
        other = Editor.objects.create(name="Other")
        Book.objects.filter(pk=books[0].pk).update(editor=other)  # untracked
        book = Book.objects.get(pk=books[1].pk)
        book.editor = other
        book.save()
    restore_deleted(Publisher, publisher.pk, cascade=True, overwrite=True)
    assert Book.objects.get(pk=books[1].pk).editor_id == editor.pk


def test_a_row_that_exists_or_was_never_deleted_is_a_lookup_error(closed_publisher):
    publisher, editor, books = closed_publisher
    with pytest.raises(LookupError, match="has no recorded delete"):
        restore_deleted(Book, books[0].pk)
    with pytest.raises(LookupError, match="has no recorded delete"):
        restore_deleted(Publisher, 999999)
    restore_deleted(Publisher, publisher.pk)
    with pytest.raises(LookupError, match="has no recorded delete"):
        restore_deleted(Publisher, publisher.pk)
    Publisher.objects.filter(pk=publisher.pk).delete()  # untracked: history ends
    with Context():
        Publisher.objects.create(pk=publisher.pk, name="again")  # ...with a create
    with pytest.raises(LookupError):
        restore_deleted(Publisher, publisher.pk)


def test_a_row_made_again_untracked_is_not_overwritten():
    with Context():
        publisher = Publisher.objects.create(name="p")
    key = publisher.pk
    with Context():
        publisher.delete()
    Publisher.objects.create(pk=key, name="made again")  # untracked
    with pytest.raises(LookupError, match="exists"):
        restore_deleted(Publisher, key)


def test_uuid_and_string_keys_and_many_to_many_members():
    key = uuid.uuid4()
    with Context():
        UUIDItem.objects.create(id=key, name="u")
        CodeItem.objects.create(code="a/b c", name="c")
        tags = [Tag.objects.create(name=n) for n in "xy"]
        article = Article.objects.create(title="t")
        article.tags.set(tags)
    article_pk = article.pk
    with Context():
        UUIDItem.objects.get(id=key).delete()
        CodeItem.objects.get(code="a/b c").delete()
        article.delete()
    restore_deleted(UUIDItem, str(key))
    restore_deleted(CodeItem, "a/b c")
    restore_deleted(Article, article_pk)
    assert UUIDItem.objects.get(id=key).name == "u"
    assert CodeItem.objects.get(code="a/b c").name == "c"
    assert set(Article.objects.get(pk=article_pk).tags.all()) == set(tags)
    # The restored rows' history goes on: each ends with its create.
    assert ObjectDelta.objects.for_key(UUIDItem, key).last().action == CREATE


def test_it_is_one_of_the_documented_history_functions():
    assert history.restore_deleted is restore_deleted


def test_deletions_are_the_rows_whose_history_ends_with_their_delete(
    closed_publisher,
):
    publisher, editor, books = closed_publisher
    with Context():
        kept = Publisher.objects.create(name="kept")
        gone = Publisher.objects.create(name="gone")
    gone_pk = gone.pk
    with Context():
        gone.delete()
    found = [delta.content_id for delta in history.deletions(Publisher)]
    assert found == [str(gone_pk), str(publisher.pk)]  # newest first
    assert str(kept.pk) not in found
    restore_deleted(Publisher, gone_pk)
    assert [d.content_id for d in history.deletions(Publisher)] == [str(publisher.pk)]
    assert [d.content_id for d in history.deletions(Editor)] == [str(editor.pk)]


def test_effects_of_a_delete_are_every_delta_it_caused_at_any_depth():
    with Context():
        shelf = Shelf.objects.create(name="s")
        book = Book.objects.create(title="b", shelf=shelf)
        Page.objects.create(book=book, number=1)
    with Context():
        shelf.delete()
    [delete] = history.deletions(Shelf)
    effects = history.effects_of(delete)
    assert [(d.content_type.model, d.action) for d in effects] == [
        ("book", "delete"),
        ("page", "delete"),
    ]
    assert effects[1].cause_id == effects[0].pk


def test_revert_conflicts_lists_what_revert_would_refuse(closed_publisher):
    publisher, editor, books = closed_publisher
    delete_revision = Revision.objects.get(description="Close the publisher")
    assert history.revert_conflicts(delete_revision) == []
    with Context():
        book = Book.objects.get(pk=books[0].pk)
        book.title = "renamed"
        book.save()  # another field: no conflict
    assert history.revert_conflicts(delete_revision) == []
    with Context():
        book.editor = Editor.objects.create(name="new")
        book.save()
    [conflict] = history.revert_conflicts(delete_revision)
    assert (conflict.model, conflict.field) == (Book, "editor")
    with pytest.raises(RevertConflict) as raised:
        delete_revision.revert()
    assert raised.value.conflicts == [conflict]
