"""Writes by filter under concurrency: what ``QuerySet.update()``,
``QuerySet.delete()``, cascades and ``SET_*`` handlers record is exactly
what they write, with the values the rows held then, when another
connection commits a change between revy's read and the write.

The other connection runs in a thread, started right after revy reads the
rows (through ``connection.execute_wrapper``) and joined before the write
goes on; it waits at most a second for a lock, so a row revy locked makes
it fail instead of waiting for the commit. SQLite lets one connection
write at a time: a transaction that read and then writes fails there if
another wrote in between ("database is locked"), so these interleavings
cannot happen.

Each runs twice: with the values encoded in the database's SQL, and with
every value encoded by Python (an encoder revy's SQL does not know), as a
field without SQL has its values.
"""

import contextlib

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.db.models.signals import pre_delete

from revy import Context
from tests.helpers import (
    DELETE,
    UPDATE,
    ObjectDelta,
    between_read_and_write,
    deltas_of,
)
from tests.testapp.models import (
    Album,
    Article,
    Book,
    Comment,
    Counter,
    Editor,
    Photo,
    Shelf,
    Tag,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite lets one transaction write at a time: nothing can overlap",
    ),
]


@pytest.fixture(autouse=True, params=["sql", "python"], ids=["by_sql", "by_python"])
def values_encoded(request, settings):
    if request.param == "python":
        settings.REVY_VALUE_ENCODER = "tests.field_values.EncodedInPython"


IN_TRANSACTION = pytest.mark.parametrize(
    "block",
    [contextlib.nullcontext, transaction.atomic],
    ids=["autocommit", "atomic"],
)


def is_lock_timeout(error):
    return isinstance(error, OperationalError) and ("lock" in str(error).lower())


@IN_TRANSACTION
def test_update_records_every_row_it_writes_and_writes_no_row_it_did_not_read(block):
    Comment.objects.create(text="old")
    with (
        between_read_and_write(
            Comment, lambda: Comment.objects.create(text="committed meanwhile")
        ) as outcome,
        block(),
        Context(),
    ):
        updated = Comment.objects.filter(is_marked_as_spam=False).update(text="new")
    assert outcome == [None]  # The other connection's insert went through.
    written = set(Comment.objects.filter(text="new").values_list("pk", flat=True))
    recorded = {
        int(delta.content_id) for delta in ObjectDelta.objects.filter(action=UPDATE)
    }
    assert updated == len(written) == 1
    assert recorded == written
    assert Comment.objects.filter(text="committed meanwhile").count() == 1


@IN_TRANSACTION
def test_update_by_expression_records_the_value_it_overwrote(block):
    counter = Counter.objects.create(value=0)

    def add_one():
        Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)

    with (
        between_read_and_write(Counter, add_one) as outcome,
        block(),
        Context(),
    ):
        Counter.objects.filter(pk=counter.pk).update(value=F("value") + 10)
    # revy's read locked the row: the other connection could not change it
    # between that read and the update.
    assert is_lock_timeout(outcome[0]), outcome
    [delta] = deltas_of(Counter, counter.pk)
    [attribute] = delta.attribute_deltas.all()
    counter.refresh_from_db()
    assert (attribute.old_value, attribute.new_value) == (0, counter.value) == (0, 10)


@IN_TRANSACTION
@pytest.mark.parametrize("collected", [False, True], ids=["fast", "collected"])
def test_queryset_delete_records_every_row_it_deletes(block, collected):
    """Django deletes rows by the filter (fast) or by the keys it read first
    (collected, when a receiver must see each row): either way, a row that
    comes to match meanwhile is neither deleted unrecorded, nor is a row
    recorded with values it no longer held."""
    first = Counter.objects.create(value=5)

    def meanwhile():
        Counter.objects.create(value=5)
        Counter.objects.filter(pk=first.pk).update(value=6)

    receiver = lambda **kwargs: None  # noqa: E731 (makes Django collect rows)
    if collected:
        pre_delete.connect(receiver, sender=Counter)
    try:
        with (
            between_read_and_write(Counter, meanwhile) as outcome,
            block(),
            Context(),
        ):
            deleted, _ = Counter.objects.filter(value=5).delete()
    finally:
        pre_delete.disconnect(receiver, sender=Counter)
    # Django's collector reads the rows without a lock, so there the other
    # connection's update goes through; revy's own read locks them.
    if collected:
        assert outcome == [None]
    else:
        assert is_lock_timeout(outcome[0]), outcome
    remaining = set(Counter.objects.values_list("pk", flat=True))
    recorded = {
        int(delta.content_id): delta
        for delta in ObjectDelta.objects.filter(action=DELETE)
    }
    assert deleted == len(recorded) == 1
    assert set(recorded).isdisjoint(remaining) and len(remaining) == 1
    [attribute] = recorded[first.pk].attribute_deltas.all()
    assert attribute.old_value == (6 if collected else 5)


@IN_TRANSACTION
def test_a_cascade_deletes_no_row_it_did_not_record(block):
    album = Album.objects.create(title="trip")
    Photo.objects.create(album=album, caption="beach")

    def add_photo():
        Photo.objects.create(album_id=album.pk, caption="added meanwhile")

    with (
        between_read_and_write(Photo, add_photo) as outcome,
        block(),
        Context(),
    ):
        album.delete()
    # The album's row is locked for the delete: a new photo cannot point at it.
    assert is_lock_timeout(outcome[0]), outcome
    assert not Photo.objects.exists()
    recorded = [d for d in ObjectDelta.objects.all() if d.action == DELETE]
    assert len(recorded) == 2  # the album and its one photo


@IN_TRANSACTION
def test_set_null_changes_no_row_it_did_not_record(block):
    shelf = Shelf.objects.create(name="A")
    editor = Editor.objects.create(name="Ann")
    Book.objects.create(title="first", shelf=shelf, editor=editor)

    def add_book():
        Book.objects.create(title="added meanwhile", shelf=shelf, editor_id=editor.pk)

    with (
        between_read_and_write(Book, add_book) as outcome,
        block(),
        Context(),
    ):
        editor.delete()
    # The editor's row is locked for the delete: a new book cannot point at it.
    assert is_lock_timeout(outcome[0]), outcome
    changed = set(Book.objects.values_list("pk", flat=True))
    recorded = {
        int(d.content_id)
        for d in ObjectDelta.objects.filter(action=UPDATE)
        if d.content_type.model == "book"
    }
    assert recorded == changed
    assert set(Book.objects.values_list("editor", flat=True)) == {None}


@IN_TRANSACTION
@pytest.mark.parametrize("change", ["clear", "remove"])
def test_a_many_to_many_removal_takes_out_no_member_it_did_not_record(block, change):
    article = Article.objects.create(title="x")
    first, late = Tag.objects.create(name="first"), Tag.objects.create(name="late")
    article.tags.add(first)

    def add_member():
        Article.tags.through.objects.create(article_id=article.pk, tag_id=late.pk)

    with (
        between_read_and_write(Article.tags.through, add_member) as outcome,
        block(),
        Context(),
    ):
        if change == "clear":
            article.tags.clear()
        else:
            article.tags.remove(first, late)
    # The article's row is locked: no member can join it meanwhile.
    assert is_lock_timeout(outcome[0]), outcome
    assert not article.tags.exists()
    recorded = {
        d.content_id
        for d in ObjectDelta.objects.filter(action=UPDATE)
        if d.content_type.model == "tag"
    }
    assert recorded == {str(first.pk)}
