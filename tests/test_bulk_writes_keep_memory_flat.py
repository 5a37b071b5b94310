"""Bulk writes hold one batch of history at a time, whatever their size.

``bulk_create``, ``bulk_update``, ``QuerySet.update()``, ``QuerySet.delete()``,
a cascade, a delete of rows Django loads as instances, ``SET_NULL``,
``revy_baseline``, many-to-many ``add``, ``remove``, ``set`` and ``clear``,
a loop of saves, a revert and a restore with its cascade (a save per row)
write the history of a batch
(``REVY_BATCH_SIZE``) before they read the next, and keep nothing per row
once it is written: not the deltas (inside a savepoint either), not a note
per saved instance. Memory is measured with ``tracemalloc`` (allocations,
not time): the peak of a write of many batches may exceed that of a write
of a few by no more than a few bytes a row (a key kept per deleted row
where the database writes by key). ``make bench-scale`` measures the same
at up to 10^6 rows.
"""

from __future__ import annotations

import datetime
import gc
import io
import subprocess
import sys
import tracemalloc
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from revy import Context
from revy.contrib.django.undoing import restore_deleted, revert, revert_conflicts
from tests.helpers import (
    CREATE,
    DELETE,
    UPDATE,
    ObjectDelta,
    latest_revision,
    stored,
)
from tests.testapp.models import (
    Article,
    Book,
    Comment,
    Editor,
    Page,
    PlainColumns,
    Shelf,
    Tag,
)

BATCH = 200
FEW, MANY = 400, 2_000
# Bytes a row: revy's notes were several hundred a row before they were
# made flat; what remains is Python's int per key Django sets or revy keeps.
MOST_PER_ROW = 100
# CPython keeps up to 2,000 freed tuples of each small size for reuse, and
# tracemalloc counts those freed while it traces as allocated: a save frees
# a few, so paths that save row by row seem to grow by about 90 bytes a row
# up to 2,000 rows, then by 2. They are compared past that.
SAVING = {
    "save_loop",
    "revert_of_create",
    "revert_of_update",
    "revert_of_delete",
    "restore_of_cascade",
}


def _comments(n: int) -> list[Comment]:
    with Context.as_disabled():
        return Comment.objects.bulk_create(Comment(text=f"c{i}") for i in range(n))


def _prepare(path: str, n: int):
    """The write of ``path`` over ``n`` rows, ready to run."""
    if path == "bulk_create":
        objs = [Comment(text=f"c{i}") for i in range(n)]
        return lambda: Comment.objects.bulk_create(objs)
    if path == "bulk_update":
        objs = _comments(n)
        for obj in objs:
            obj.text += "!"
        return lambda: Comment.objects.bulk_update(objs, ["text"])
    if path == "baseline":
        _comments(n)
        return lambda: call_command("revy_baseline", "testapp", stdout=io.StringIO())
    if path == "update":
        _comments(n)
        return lambda: Comment.objects.update(text="changed")
    if path in ("update_of_times", "delete_of_times"):
        # Values no database's SQL encodes (times, durations, addresses):
        # Python encodes them.
        moment = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
        with Context.as_disabled():
            PlainColumns.objects.bulk_create(
                PlainColumns(
                    char="c",
                    text="t",
                    big=i,
                    positive_big=i,
                    floating=0.5,
                    decimal=1,
                    boolean=True,
                    date=moment.date(),
                    datetime=moment,
                    time=datetime.time(i % 24),
                    uuid=uuid.UUID(int=i),
                    json={},
                    duration=datetime.timedelta(seconds=i),
                    ip="192.0.2.1",
                )
                for i in range(n)
            )
        if path == "update_of_times":
            return lambda: PlainColumns.objects.update(time=datetime.time(23, 59))
        return PlainColumns.objects.all().delete
    if path == "save_loop":
        return lambda: _save_each(n)
    if path.startswith("revert_of_"):
        revision = _revision_of(path.removeprefix("revert_of_"), n)
        return lambda: revert(revision)
    if path == "conflicts_of_updates":  # Reads as a revert does, saves nothing.
        revision = _revision_of("updates", n)
        return lambda: revert_conflicts(revision)
    if path == "restore_of_cascade":
        with Context.as_disabled():
            book = Book.objects.create(title="t", shelf=Shelf.objects.create(name="s"))
            Page.objects.bulk_create(Page(book=book, number=i) for i in range(n))
        key = book.pk
        with Context():
            book.delete()
        return lambda: restore_deleted(Book, key, cascade=True)
    if path == "set_null":
        with Context.as_disabled():
            editor = Editor.objects.create(name="e")
            shelf = Shelf.objects.create(name="s")
            Book.objects.bulk_create(
                Book(title=f"b{i}", shelf=shelf, editor=editor) for i in range(n)
            )
        return editor.delete  # Sets the editor of the books to NULL.
    if path == "delete_of_collected":
        # Books with a page each: Django loads the books as instances to
        # collect their pages, and deletes the pages by filter.
        with Context.as_disabled():
            shelf = Shelf.objects.create(name="s")
            books = Book.objects.bulk_create(
                Book(title=f"b{i}", shelf=shelf) for i in range(n)
            )
            Page.objects.bulk_create(Page(book=book, number=1) for book in books)
        return Book.objects.filter(shelf=shelf).delete
    with Context.as_disabled():  # A book's pages: nothing points at them.
        book = Book.objects.create(title="t", shelf=Shelf.objects.create(name="s"))
        Page.objects.bulk_create(Page(book=book, number=i) for i in range(n))
    if path == "delete":
        return lambda: Page.objects.filter(book=book).delete()
    return book.delete  # Cascades to the pages.


def _save_each(n: int) -> None:
    for i in range(n):
        Comment(text=f"c{i}").save()


def _revision_of(write: str, n: int) -> Any:
    """A revision that made ``write`` over ``n`` rows."""
    comments = _comments(n) if write != "create" else []
    with Context():
        if write == "create":
            Comment.objects.bulk_create(Comment(text=f"c{i}") for i in range(n))
        elif write == "update":
            Comment.objects.update(text="changed")
        elif write == "updates":  # Two deltas a row.
            Comment.objects.update(text="changed")
            Comment.objects.update(is_marked_as_spam=True)
        else:
            Comment.objects.all().delete()
    del comments
    return latest_revision()


def _prepare_members(path: str, n: int):
    """A many-to-many write of ``path`` over ``n`` members, ready to run."""
    with Context.as_disabled():
        article = Article.objects.create(title="a")
        tags = Tag.objects.bulk_create(Tag(name=f"t{i}") for i in range(n))
        if path != "m2m_add":
            article.tags.add(*tags)
    if path == "m2m_add":
        return lambda: article.tags.add(*tags)
    if path == "m2m_remove":
        return lambda: article.tags.remove(*tags)
    if path == "m2m_set":
        return lambda: article.tags.set(tags[: n // 2])
    return article.tags.clear


def _peak(path: str, n: int, recording: bool = True) -> int:
    """The peak of memory allocated while ``path`` writes ``n`` rows inside
    a savepoint, over what was allocated before."""
    prepare = _prepare_members if path.startswith("m2m_") else _prepare
    write = prepare(path, n)
    gc.collect()
    tracemalloc.start()
    context = Context() if recording else Context.as_disabled()
    try:
        with transaction.atomic(), context, transaction.atomic():
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            write()
            peak = tracemalloc.get_traced_memory()[1]
            transaction.set_rollback(True)
    finally:
        tracemalloc.stop()
    return peak - before


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=BATCH)
@pytest.mark.parametrize(
    "path",
    [
        "bulk_update",
        "update",
        "update_of_times",
        "delete",
        "delete_of_times",
        "cascade",
        "set_null",
        "baseline",
        "save_loop",
        "revert_of_create",
        "revert_of_update",
        "revert_of_delete",
        "conflicts_of_updates",
        "restore_of_cascade",
    ],
)
def test_a_bulk_write_s_memory_does_not_grow_with_its_rows(path):
    sizes = (MANY, MANY + 1_000) if path in SAVING else (FEW, MANY)
    _peak(path, FEW)  # Caches filled once, outside the comparison.
    few, many = (_peak(path, n) for n in sizes)
    per_row = (many - few) / (sizes[1] - sizes[0])
    assert per_row < MOST_PER_ROW, f"{path}: {few} -> {many} bytes, {per_row:.0f}/row"


def _assert_extra_flat(path: str) -> None:
    """What revy adds to the peak of ``path``'s write grows by under
    ``MOST_PER_ROW`` a row from a few rows to many: Django's own write holds
    every row here."""

    def extra(n: int) -> int:
        return _peak(path, n) - _peak(path, n, recording=False)

    extra(FEW)  # Caches filled once, outside the comparison.
    few, many = extra(FEW), extra(MANY)
    per_row = (many - few) / (MANY - FEW)
    assert per_row < MOST_PER_ROW, f"{path}: {few} -> {many} bytes, {per_row:.0f}/row"


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=BATCH)
def test_a_bulk_create_s_extra_memory_does_not_grow_with_its_rows():
    """Django's own bulk_create gives each new object the dictionary Python
    builds on the first read of its fields (about 150 bytes a row here):
    what revy adds to that must not grow."""
    _assert_extra_flat("bulk_create")


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=BATCH)
@pytest.mark.parametrize("path", ["m2m_add", "m2m_remove", "m2m_set", "m2m_clear"])
def test_a_many_to_many_write_s_extra_memory_does_not_grow_with_its_members(path):
    """Django's own add, remove and set hold every member (a through row
    each, for ``add``): what revy adds to that must not grow, though it
    records a delta for each member (its side of the relation)."""
    _assert_extra_flat(path)


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=BATCH)
def test_a_delete_of_rows_django_loads_adds_memory_that_does_not_grow_with_them():
    """Django's collector holds every row it loads as an instance (rows
    with rows of their own to delete): revy records them a batch at a time
    and keeps only the keys of their deltas, for the deletes they cause."""
    _assert_extra_flat("delete_of_collected")


@pytest.mark.django_db
def test_instances_whose_key_is_set_to_none_keep_nothing_of_their_rows():
    """Django's delete sets the key of every instance it deleted to None:
    they stand for no row, and revy keeps nothing of one on them (it kept
    the old key: 248 bytes an instance here, 252 MB resident at 10^6 rows
    loaded and deleted on MariaDB)."""
    _comments(MANY)
    with Context():
        loaded = list(Comment.objects.all())
        gc.collect()
        tracemalloc.start()
        try:
            for comment in loaded:
                comment.pk = None
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert held / len(loaded) < 8, f"{held / len(loaded):.0f} bytes an instance"


@pytest.mark.django_db
def test_a_copy_saved_with_its_key_set_to_none_is_recorded_as_created():
    [comment] = _comments(1)
    comment = Comment.objects.get(pk=comment.pk)
    original = comment.pk
    with Context():
        comment.text = "copy"
        comment.pk = None
        comment.save()
    assert comment.pk != original
    assert Comment.objects.get(pk=original).text == "c0"
    [delta] = ObjectDelta.objects.all()
    assert (delta.action, delta.content_id) == (CREATE, str(comment.pk))
    assert stored(delta)["text"] == (None, "copy")


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=2)
@pytest.mark.parametrize("read_before_save", [True, False])
def test_a_rolled_back_bulk_update_leaves_its_objects_as_before_it(
    alice, bob, read_before_save
):
    """One mark per batch replaces a note per object: a rollback that undoes
    the write still makes its objects forget what they learnt of their rows,
    and gives back who assigned each field."""
    comments = _comments(5)
    with Context.via_actor(alice):
        for comment in comments:
            comment.text += " by alice"
    with (
        override_settings(REVY_READ_BEFORE_SAVE=read_before_save),
        Context.via_actor(bob),
        transaction.atomic(),
    ):
        with pytest.raises(_Undo), transaction.atomic():
            Comment.objects.bulk_update(comments, ["text"])
            raise _Undo
        for comment in comments:
            comment.save()
    for i, comment in enumerate(comments):
        [delta] = ObjectDelta.objects.for_object(comment)
        assert delta.actor == bob
        # The old value is the row's: the rolled back write is forgotten.
        assert stored(delta) == {"text": (f"c{i}", f"c{i} by alice")}
        [attribute] = delta.attribute_deltas.all()
        assert attribute.actor == alice


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=2)
def test_a_rolled_back_loop_of_saves_leaves_the_objects_it_kept_as_before_it(
    alice, bob
):
    """A loop of saves keeps a note for the objects still held, not for
    every save: those it kept still forget what they learnt when a rollback
    undoes the loop, and give back who assigned each field."""
    comments = _comments(5)
    with Context.via_actor(alice):
        for comment in comments:
            comment.text += " by alice"
    with Context.via_actor(bob), transaction.atomic():
        with pytest.raises(_Undo), transaction.atomic():
            for i, comment in enumerate(comments):
                comment.save()
                Comment(text=f"dropped {i}").save()  # Gone once saved.
            raise _Undo
        for comment in comments:
            comment.save()
    assert not Comment.objects.filter(text__startswith="dropped").exists()
    for i, comment in enumerate(comments):
        [delta] = ObjectDelta.objects.for_object(comment)
        assert stored(delta) == {"text": (f"c{i}", f"c{i} by alice")}
        [attribute] = delta.attribute_deltas.all()
        assert attribute.actor == alice


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_bulk_update_and_save_give_back_every_attribution(alice, bob):
    """A save after a bulk write of the same object, both undone: each gives
    back what it took."""
    [comment] = _comments(1)
    with Context.via_actor(alice):
        comment.text = "by alice"
    with Context(), transaction.atomic():
        with pytest.raises(_Undo), transaction.atomic():
            Comment.objects.bulk_update([comment], ["text"])
            with Context.via_actor(bob):
                comment.is_marked_as_spam = True
            comment.save()
            raise _Undo
        comment.save()
    [delta] = ObjectDelta.objects.for_object(comment)
    actors = {a.field_name: a.actor for a in delta.attribute_deltas.all()}
    assert actors == {"text": alice, "is_marked_as_spam": bob}


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_BATCH_SIZE=3)
def test_a_bulk_write_of_many_batches_records_every_row_once():
    objs = [Comment(text=f"c{i}") for i in range(10)]
    with Context():
        Comment.objects.bulk_create(objs)
        for obj in objs:
            obj.text += "!"
        Comment.objects.bulk_update(objs, ["text"])
        Comment.objects.filter(pk__in=[o.pk for o in objs[:7]]).update(
            is_marked_as_spam=True
        )
        Comment.objects.all().delete()
    counts = {
        action: ObjectDelta.objects.filter(action=action).count()
        for action in (CREATE, UPDATE, DELETE)
    }
    assert counts == {CREATE: 10, UPDATE: 17, DELETE: 10}
    assert ObjectDelta.objects.values("revision").distinct().count() == 1


class _Undo(Exception):
    pass


# Bytes a through row instance takes, in a fresh process that has loaded
# many rows of an untracked model, as any process soon has, then maybe one
# tracked row.
_THROUGH_ROW_SIZE = """
import gc, os, sys, tracemalloc
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.contrib.contenttypes.models import ContentType
from tests.testapp.models import Article, Comment
loaded = [ContentType.from_db("default", None, (i, "a", "b")) for i in range(1_000)]
if sys.argv[1] == "load":
    Comment.from_db("default", None, (1, "c", False))
gc.collect()
tracemalloc.start()
rows = [Article.tags.through(article_id=1, tag_id=i) for i in range(1_000)]
print(tracemalloc.get_traced_memory()[0] / len(rows))
"""


def _through_row_size(step: str) -> float:
    ran = subprocess.run(
        [sys.executable, "-c", _THROUGH_ROW_SIZE, step],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(ran.stdout)


def test_loading_a_tracked_row_leaves_later_instances_their_size():
    """Python shares one table of attribute names among all the ModelState
    instances of a process. revy's name for what a tracked instance knows
    of its row is in that table from the start: added once many instances
    existed, it made every later state of every model keep a dictionary
    of its own (143 bytes more for each through row of an ``add()``)."""
    assert _through_row_size("load") == _through_row_size("none")
