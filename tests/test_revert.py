"""Revision.revert() (and revert()): issue 5, "Revert and restore".

A revert undoes a whole revision in a new revision that names it: updates
are undone, rows it created are deleted, rows it deleted are made again with
their keys (a field added since takes its default), parents before their
children, foreign keys set to NULL are set back and many-to-many members
given back. It refuses, changing nothing, when a later revision changed what
it would undo, or when rows made since point at a row it would delete
(unless overwrite=True); it is atomic. Reverting an empty revision, or a
baseline, changes nothing.

Every test reads history through the models in use, so the suite runs
unchanged with swapped history models (REVY_TEST_SWAPPED=1).
"""

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from revy import Context
from revy.contrib.django.history import RevertConflict, members_as_of, restore, revert
from tests.helpers import (
    CREATE,
    DELETE,
    UPDATE,
    ObjectDelta,
    Revision,
    User,
    acting,
    article_ids,
    forget_field,
    history_counts,
    latest_revision,
    tag_ids,
)
from tests.testapp.models import (
    Album,
    Article,
    Book,
    CodeItem,
    Comment,
    Counter,
    Editor,
    EveryField,
    Page,
    Photo,
    Post,
    Publisher,
    Restaurant,
    Shelf,
    Tag,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("undo_batches")]


# Undoing a revision's updates, creates and deletes ----------------------------


def test_revert_undoes_updates_in_a_new_revision_naming_the_reverted_one():
    with acting():
        comment = Comment.objects.create(text="a")
        counter = Counter.objects.create(value=1)
    with acting(description="Edit"):
        comment.text = "b"
        comment.is_marked_as_spam = True
        comment.save()
        counter.value = 2
        counter.save()
    edit = latest_revision()

    reverted = edit.revert()

    assert Comment.objects.values_list("text", "is_marked_as_spam").get(
        pk=comment.pk
    ) == ("a", False)
    assert Counter.objects.get(pk=counter.pk).value == 1
    assert reverted == latest_revision()
    assert reverted.pk > edit.pk
    assert reverted.description == f"Revert of revision {edit.pk}: Edit"
    assert str(edit.pk) in reverted.description
    deltas = list(reverted.object_deltas.order_by("pk"))
    assert {(d.action, d.content_id) for d in deltas} == {
        (UPDATE, str(comment.pk)),
        (UPDATE, str(counter.pk)),
    }
    undone = {
        (d.content_id, a.field_name): (a.old(), a.new())
        for d in deltas
        for a in d.attribute_deltas.all()
    }
    assert undone == {
        (str(comment.pk), "text"): ("b", "a"),
        (str(comment.pk), "is_marked_as_spam"): (True, False),
        (str(counter.pk), "value"): (2, 1),
    }


def test_revert_of_a_revision_without_description_names_it():
    with acting():
        counter = Counter.objects.create(value=1)
    with acting():
        counter.value = 2
        counter.save()
    edit = latest_revision()
    assert revert(edit).description == f"Revert of revision {edit.pk}"


def test_revert_deletes_what_the_revision_created():
    with acting():
        kept = Counter.objects.create(value=0)
    with acting(description="Create"):
        counter = Counter.objects.create(value=1)
        comment = Comment.objects.create(text="new")
    created = latest_revision()
    reverted = created.revert()
    assert not Counter.objects.filter(pk=counter.pk).exists()
    assert not Comment.objects.filter(pk=comment.pk).exists()
    assert Counter.objects.filter(pk=kept.pk).exists()
    assert {(d.action, d.content_id) for d in reverted.object_deltas.all()} == {
        (DELETE, str(counter.pk)),
        (DELETE, str(comment.pk)),
    }


def test_revert_of_an_update_then_delete_brings_back_the_state_before_both():
    with acting():
        counter = Counter.objects.create(value=1)
    pk = counter.pk
    with acting():
        counter.value = 2
        counter.save()
        counter.delete()
    latest_revision().revert()
    assert Counter.objects.get(pk=pk).value == 1


def test_revert_of_a_delete_and_recreate_with_the_same_key_brings_the_old_row_back():
    """revert() undoes a whole revision: one that deleted a row and created a
    new one with the same key leaves, once reverted, the row as it stood
    before it."""
    with Context():
        counter = Counter.objects.create(value=1)
    pk = counter.pk
    with Context():
        counter.delete()
        Counter.objects.create(pk=pk, value=99)
    replaced = latest_revision()

    replaced.revert()

    assert Counter.objects.get(pk=pk).value == 1


def test_revert_of_a_delete_then_re_create_of_the_same_key():
    """A revision that deleted a row and created another with the same key
    changed that row; reverting it puts the row back as it was before."""
    with Context():
        CodeItem.objects.create(code="a", name="old")
    with Context():
        CodeItem.objects.get(code="a").delete()
        CodeItem.objects.create(code="a", name="new")
    latest_revision().revert()
    assert CodeItem.objects.get(code="a").name == "old"


def test_revert_of_a_delete_takes_the_default_of_a_field_added_later():
    """Reverting the delete of a row deleted before a field with a default
    was added re-creates it with that default."""
    with Context():
        comment = Comment.objects.create(text="hello")
    pk = comment.pk
    with Context():
        comment.delete()
    deleted = latest_revision()
    forget_field(Comment, pk, "is_marked_as_spam")

    deleted.revert()

    restored = Comment.objects.get(pk=pk)
    assert (restored.text, restored.is_marked_as_spam) == ("hello", False)


def test_reverting_the_revert_redoes_the_revision():
    with acting():
        counter = Counter.objects.create(value=1)
    with acting():
        counter.value = 2
        counter.save()
    first = latest_revision().revert()
    assert Counter.objects.get(pk=counter.pk).value == 1
    second = first.revert()
    assert Counter.objects.get(pk=counter.pk).value == 2
    assert second.description.startswith(f"Revert of revision {first.pk}: ")


# Rows made again, parents first, and foreign keys set back --------------------


def test_revert_recreates_cascaded_children_parents_first():
    with acting():
        shelf = Shelf.objects.create(name="fiction")
        books = [Book.objects.create(title=f"b{i}", shelf=shelf) for i in range(2)]
        for book in books:
            for number in (1, 2):
                Page.objects.create(book=book, number=number)
    other = Shelf.objects.create(name="untouched")
    before = {
        model: list(model.objects.order_by("pk").values())
        for model in (Shelf, Book, Page)
    }
    with acting(description="Clear the shelf"):
        shelf.delete()
    assert not Page.objects.exists()
    deleted = latest_revision()

    reverted = deleted.revert()

    for model, rows in before.items():
        assert list(model.objects.order_by("pk").values()) == rows
    assert Shelf.objects.filter(pk=other.pk).exists()
    creates = list(reverted.object_deltas.order_by("pk"))
    assert {d.action for d in creates} == {CREATE}
    order = [d.content_type.model_class() for d in creates]
    assert len(order) == 1 + 2 + 4
    # Parents before the children their cascade took.
    assert order.index(Shelf) < order.index(Book)
    assert max(i for i, m in enumerate(order) if m is Book) < min(
        i for i, m in enumerate(order) if m is Page
    )
    connection.check_constraints()


def test_revert_recreates_parents_first_whatever_order_they_were_deleted_in():
    """revert() makes deleted rows again in the order their foreign keys
    need, not in the order they were deleted."""
    with Context():
        shelf = Shelf.objects.create(name="s")
        editor = Editor.objects.create(name="e")
        book = Book.objects.create(title="b", shelf=shelf, editor=editor)
    book_pk, editor_pk = book.pk, editor.pk
    with Context():
        book.delete()
        editor.delete()
    reverted = Revision.objects.latest("pk").revert()
    order = [
        d.content_type.model_class() for d in reverted.object_deltas.order_by("pk")
    ]
    assert order.index(Editor) < order.index(Book)
    assert Book.objects.get(pk=book_pk).editor_id == editor_pk


def test_revert_recreates_a_row_deleted_after_a_cascade_touched_it():
    """History is written in the order it happened, so a revert of a
    revision that touched a row through a cascade, then deleted it, makes
    the row again with the memberships it had."""
    with Context():
        article = Article.objects.create(title="a")
        other = Article.objects.create(title="b")
        tag = Tag.objects.create(name="t")
        article.tags.add(tag)
        other.tags.add(tag)
    pk = tag.pk
    with Context():
        article.delete()
        tag.delete()
    Revision.objects.latest("pk").revert()
    assert Tag.objects.filter(pk=pk).exists()
    assert set(other.tags.values_list("pk", flat=True)) == {pk}
    connection.check_constraints()


def test_revert_restores_foreign_keys_set_to_null():
    with acting():
        publisher = Publisher.objects.create(name="p")
        shelf = Shelf.objects.create(name="s")
        editor = Editor.objects.create(name="e", publisher=publisher)
        books = [
            Book.objects.create(title=f"b{i}", shelf=shelf, editor=editor)
            for i in range(3)
        ]
        comment = Comment.objects.create(text="c")
        linked = EveryField.objects.create(foreign=comment)
    publisher_pk, comment_pk = publisher.pk, comment.pk
    with acting(description="Close the publisher"):
        publisher.delete()  # cascades to the editor; books.editor set to null
        comment.delete()  # linked.foreign set to null
    assert set(Book.objects.values_list("editor", flat=True)) == {None}
    assert EveryField.objects.get(pk=linked.pk).foreign_id is None

    latest_revision().revert()

    assert Publisher.objects.filter(pk=publisher_pk).exists()
    assert Editor.objects.get(pk=editor.pk).publisher_id == publisher_pk
    assert set(Book.objects.values_list("editor", flat=True)) == {editor.pk}
    assert Book.objects.count() == len(books)
    assert Comment.objects.get(pk=comment_pk).text == "c"
    assert EveryField.objects.get(pk=linked.pk).foreign_id == comment_pk
    connection.check_constraints()


def test_revert_recreates_the_row_a_foreign_key_to_the_parent_model_points_at_first():
    """docs/history.md: revert() re-creates what the revision deleted
    "parents before the children", so that every foreign key points at an
    existing row when it is inserted (MariaDB checks at once). A key to
    Place pointing at a deleted Restaurant's row counts too."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
        row = EveryField.objects.create(one=restaurant.place_ptr)
    row_pk, restaurant_pk = row.pk, restaurant.pk
    with Context():
        row.delete()
        restaurant.delete()

    reverted = latest_revision().revert()

    assert [d.content_type.model for d in reverted.object_deltas.order_by("pk")] == [
        "restaurant",
        "everyfield",
    ]
    assert EveryField.objects.get(pk=row_pk).one_id == restaurant_pk


# Many-to-many members ---------------------------------------------------------


def test_revert_undoes_many_to_many_adds_and_removes():
    with acting():
        article = Article.objects.create(title="a")
        t1, t2, t3, t4 = (Tag.objects.create(name=str(i)) for i in range(4))
        article.tags.add(t1, t2)
    with acting(description="Retag"):
        article.tags.remove(t1)
        article.tags.add(t3)
        t4.articles.add(article)  # from the reverse side
    assert tag_ids(article) == {t2.pk, t3.pk, t4.pk}
    reverted = latest_revision().revert()
    assert tag_ids(article) == {t1.pk, t2.pk}
    assert members_as_of(article, "tags") == {t1.pk, t2.pk}
    assert members_as_of(t4, "articles") == set()
    # And back again: reverting the revert redoes it.
    reverted.revert()
    assert tag_ids(article) == {t2.pk, t3.pk, t4.pk}


def test_revert_of_a_delete_gives_back_many_to_many_members_on_both_sides():
    with acting():
        article = Article.objects.create(title="a")
        other = Article.objects.create(title="b")
        t1, t2 = Tag.objects.create(name="1"), Tag.objects.create(name="2")
        article.tags.add(t1, t2)
        other.tags.add(t2)
    article_pk, t2_pk = article.pk, t2.pk
    with acting():
        article.delete()  # the forward side
    assert article_ids(t2) == {other.pk}
    latest_revision().revert()
    assert tag_ids(Article.objects.get(pk=article_pk)) == {t1.pk, t2_pk}
    with acting():
        t2.delete()  # the reverse side
    assert tag_ids(other) == set()
    latest_revision().revert()
    assert Tag.objects.get(pk=t2_pk).name == "2"
    assert tag_ids(Article.objects.get(pk=article_pk)) == {t1.pk, t2_pk}
    assert tag_ids(other) == {t2_pk}
    connection.check_constraints()


# Conflicts with later revisions -----------------------------------------------


def test_revert_refuses_when_later_revisions_changed_what_it_would_undo():
    with acting():
        comment = Comment.objects.create(text="a")
        other = Comment.objects.create(text="x")
    with acting(description="Edit"):
        comment.text = "b"
        comment.save()
        other.text = "y"
        other.save()
        counter = Counter.objects.create(value=1)
    edit = latest_revision()
    with acting(description="Later text"):
        comment.text = "c"
        comment.is_marked_as_spam = True  # not touched by "Edit": no conflict
        comment.save()
    later_text = latest_revision()
    with acting(description="Later counter"):
        counter.value = 2
        counter.save()
    later_counter = latest_revision()
    counts = history_counts()

    with pytest.raises(RevertConflict) as raised:
        edit.revert()

    conflicts = raised.value.conflicts
    assert {(c.model, str(c.pk), c.field, c.revision.pk) for c in conflicts} == {
        (Comment, str(comment.pk), "text", later_text.pk),
        (Counter, str(counter.pk), "value", later_counter.pk),
    }
    assert len(conflicts) == 2
    message = str(raised.value)
    for conflict in conflicts:
        assert str(conflict) in message
    assert f"revision {later_text.pk}" in message
    assert "overwrite=True" in message
    # Nothing of the refused revert happened.
    assert history_counts() == counts
    assert Comment.objects.get(pk=comment.pk).text == "c"
    assert Comment.objects.get(pk=other.pk).text == "y"
    assert Counter.objects.filter(pk=counter.pk).exists()

    reverted = edit.revert(overwrite=True)

    assert reverted is not None
    assert Comment.objects.values_list("text", "is_marked_as_spam").get(
        pk=comment.pk
    ) == ("a", True)
    assert Comment.objects.get(pk=other.pk).text == "x"
    assert not Counter.objects.filter(pk=counter.pk).exists()


def test_later_changes_to_other_fields_and_objects_are_no_conflict():
    with acting():
        comment = Comment.objects.create(text="a")
    with acting():
        comment.text = "b"
        comment.save()
    edit = latest_revision()
    with acting():
        comment.is_marked_as_spam = True
        comment.save()
        Comment.objects.create(text="someone else")
    edit.revert()
    assert Comment.objects.values_list("text", "is_marked_as_spam").get(
        pk=comment.pk
    ) == ("a", True)


def test_a_later_change_to_a_row_the_revision_deleted_is_a_conflict():
    with acting():
        counter = Counter.objects.create(value=1)
    pk = counter.pk
    with acting():
        counter.delete()
    deleted = latest_revision()
    restore(Counter, pk, ObjectDelta.objects.for_key(Counter, pk).first())
    restored = latest_revision()
    with pytest.raises(RevertConflict) as raised:
        deleted.revert()
    assert {(c.model, str(c.pk), c.revision.pk) for c in raised.value.conflicts} == {
        (Counter, str(pk), restored.pk)
    }


def test_reverting_a_create_that_later_rows_point_at_is_a_conflict():
    with Context():
        album = Album.objects.create(title="Holidays")
    created = latest_revision()
    with Context():
        photo = Photo.objects.create(album=album, caption="Beach")
    later = latest_revision()
    with pytest.raises(RevertConflict) as raised:
        created.revert()
    assert [
        (c.model, str(c.pk), c.field, c.revision) for c in raised.value.conflicts
    ] == [(Photo, str(photo.pk), "album", later)]
    assert "Photo" in str(raised.value)
    # Nothing was deleted: the photo is not lost by a revert of the album.
    assert Photo.objects.filter(pk=photo.pk).exists()
    assert Album.objects.filter(pk=album.pk).exists()
    created.revert(overwrite=True)
    assert not Album.objects.exists() and not Photo.objects.exists()


def test_reverting_a_create_with_what_the_same_revision_made_is_no_conflict():
    with Context():
        album = Album.objects.create(title="Holidays")
        Photo.objects.create(album=album, caption="Beach")
    latest_revision().revert()
    assert not Album.objects.exists() and not Photo.objects.exists()


def test_an_untracked_row_pointing_at_a_created_row_is_a_conflict():
    with Context():
        user = User.objects.create(username="author")
    with Context.as_disabled():
        post = Post.objects.create(author=user, title="not recorded")
    with pytest.raises(RevertConflict) as raised:
        latest_revision().revert()
    [conflict] = raised.value.conflicts
    assert (conflict.model, str(conflict.pk), conflict.field) == (
        Post,
        str(post.pk),
        "author",
    )
    assert conflict.revision is None
    assert "no recorded revision" in str(conflict)
    assert Post.objects.filter(pk=post.pk).exists()


def test_reverting_a_create_with_its_memberships_of_the_same_revision():
    with Context():
        tag = Tag.objects.create(name="new")
        article = Article.objects.create(title="A")
        article.tags.add(tag)
    latest_revision().revert()
    assert not Tag.objects.exists() and not Article.objects.exists()


def test_reverting_a_create_that_later_joined_a_relation_is_a_conflict():
    with Context():
        tag = Tag.objects.create(name="new")
    created = latest_revision()
    with Context():
        Article.objects.create(title="A").tags.add(tag)
    with pytest.raises(RevertConflict):
        created.revert()
    assert Article.objects.get().tags.get() == tag


# Revisions with nothing to undo; atomicity ------------------------------------


def test_reverting_an_empty_revision_returns_none():
    empty = Revision.objects.create(description="nothing")
    counts = history_counts()
    assert empty.revert() is None
    assert revert(empty) is None
    assert history_counts() == counts


def test_reverting_a_baseline_changes_nothing():
    with Context.as_disabled():
        counter = Counter.objects.create(value=7)
    call_command("revy_baseline", stdout=io.StringIO())
    baseline = latest_revision()
    counts = history_counts()
    assert baseline.revert() is None
    assert Counter.objects.get(pk=counter.pk).value == 7
    assert history_counts() == counts


def test_reverting_a_baseline_is_no_conflict_with_later_changes():
    """docs/history.md: "Reverting a baseline revision changes nothing." It
    cannot undo anything, so later changes cannot conflict with it."""
    with Context.as_disabled():
        counter = Counter.objects.create(value=1)
    call_command("revy_baseline", "testapp.Counter", stdout=None)
    baseline = latest_revision()
    with Context():
        counter.value = 2
        counter.save()

    baseline.revert()

    counter.refresh_from_db()
    assert counter.value == 2


def test_revert_is_atomic():
    with acting():
        comment = Comment.objects.create(text="a")
        first = Counter.objects.create(value=1)
        second = Counter.objects.create(value=2)
        third = Counter.objects.create(value=3)
    with acting(description="Tidy up"):
        comment.text = "b"
        comment.save()
        first_pk, second_pk = first.pk, second.pk
        first.delete()
        second.delete()
        third.value = 30
        third.save()
    tidy = latest_revision()
    # Outside history, a row takes the key the revert must re-create.
    with Context.as_disabled():
        Counter.objects.create(pk=second_pk, value=99)
    counts = history_counts()

    with pytest.raises(IntegrityError):
        tidy.revert()

    # Nothing of the revert remains: the first re-creation, the undone
    # updates and the history of it all were rolled back together.
    assert not Counter.objects.filter(pk=first_pk).exists()
    assert Counter.objects.get(pk=second_pk).value == 99
    assert Counter.objects.get(pk=third.pk).value == 30
    assert Comment.objects.get(pk=comment.pk).text == "b"
    assert history_counts() == counts
    assert latest_revision() == tidy
    # And the connection is still usable, recording included.
    with acting():
        Counter.objects.create(value=5)
    assert history_counts()[0] == counts[0] + 1
