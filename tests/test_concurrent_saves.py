"""Saves under concurrency: a delta's old value is what the row held when
the save overwrote it, also when the instance was loaded before another
connection committed a change, so consecutive deltas of a field form a
chain (each old value is the new value of the delta before it).

The other connection runs in a thread (``run_in_other_connection``): before
the save, or right after revy's read of the row and before the save's
``UPDATE`` (``between_read_and_write``), joined before the save goes on. It
waits at most a second for a lock, so a row revy locked makes it fail
instead of waiting for the commit.
"""

import contextlib

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connection, transaction

from revy import Context
from revy.contrib.django import history
from tests.helpers import (
    AttributeDelta,
    between_read_and_write,
    run_in_other_connection,
)
from tests.testapp.models import Album, Comment, Photo

pytestmark = pytest.mark.django_db(transaction=True)

IN_TRANSACTION = pytest.mark.parametrize(
    "block",
    [contextlib.nullcontext, transaction.atomic],
    ids=["autocommit", "atomic"],
)


def chain(model, pk, field_name):
    """``(old, new)`` of each delta of one field of one row, oldest first."""
    return list(
        AttributeDelta.objects.filter(
            object_delta__content_type=ContentType.objects.get_for_model(model),
            object_delta__content_id=str(pk),
            field_name=field_name,
        )
        .order_by("object_delta__revision_id", "object_delta_id")
        .values_list("old_value", "new_value")
    )


def assert_chained(model, pk, field_name):
    """Each old value is the new value before it, and the last is the row's."""
    pairs = chain(model, pk, field_name)
    for (_, previous_new), (old, _) in zip(pairs, pairs[1:], strict=False):
        assert old == previous_new, f"a break in the chain of deltas: {pairs}"
    row = model._base_manager.filter(pk=pk).values_list(field_name, flat=True).get()
    assert pairs[-1][1] == row
    assert getattr(history.state_at(model, pk), field_name) == row
    return pairs


def update_elsewhere(pk, **values):
    """Another connection changes the row, recorded, and commits."""

    def work():
        with Context():
            Comment.objects.filter(pk=pk).update(**values)

    return work


def is_lock_error(error):
    return isinstance(error, OperationalError) and "lock" in str(error).lower()


@IN_TRANSACTION
def test_a_full_save_that_puts_back_another_connections_value_records_that_change(
    block,
):
    with Context():
        comment = Comment.objects.create(text="a")
    loaded = Comment.objects.get(pk=comment.pk)
    assert run_in_other_connection(update_elsewhere(comment.pk, text="b")) is None
    with block(), Context():
        loaded.save()  # Writes its "a" back over the other's "b".
    assert chain(Comment, comment.pk, "text") == [
        (None, "a"),
        ("a", "b"),
        ("b", "a"),
    ]
    assert_chained(Comment, comment.pk, "text")


@IN_TRANSACTION
def test_a_save_of_some_fields_records_the_value_another_connection_committed(
    block,
):
    with Context():
        comment = Comment.objects.create(text="a")
    loaded = Comment.objects.get(pk=comment.pk)
    assert run_in_other_connection(update_elsewhere(comment.pk, text="b")) is None
    loaded.text = "c"
    with block(), Context():
        loaded.save(update_fields=["text"])
    assert chain(Comment, comment.pk, "text")[-1] == ("b", "c")
    assert_chained(Comment, comment.pk, "text")


@IN_TRANSACTION
def test_no_other_connection_writes_between_the_read_and_the_update(block):
    """revy's read locks the row (PostgreSQL, MariaDB), or the database lets
    one connection write at a time (SQLite): the other connection's write
    times out, or fails as "database is locked", instead of making the read
    stale."""
    with Context():
        comment = Comment.objects.create(text="a")
    loaded = Comment.objects.get(pk=comment.pk)
    loaded.text = "c"
    with (
        between_read_and_write(
            Comment, update_elsewhere(comment.pk, text="b")
        ) as outcome,
        block(),
        Context(),
    ):
        loaded.save()
    assert is_lock_error(outcome[0]), outcome
    assert assert_chained(Comment, comment.pk, "text") == [(None, "a"), ("a", "c")]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL's FOR NO KEY UPDATE; MariaDB has no weaker row lock",
)
def test_the_lock_lets_another_connection_add_rows_that_point_at_the_row():
    """The lock is as strong as the UPDATE's own (FOR NO KEY UPDATE), not
    FOR UPDATE, which would also block inserts of rows pointing at it."""
    with Context():
        album = Album.objects.create(title="a")
    album.title = "b"

    def add_photo():
        with Context():
            Photo.objects.create(album_id=album.pk, caption="meanwhile")

    with between_read_and_write(Album, add_photo) as outcome, Context():
        album.save()
    assert outcome == [None]
    assert Photo.objects.filter(album=album).count() == 1
    assert_chained(Album, album.pk, "title")


def test_trusting_the_instance_records_a_stale_old_value(settings):
    """What the default guards against: with ``REVY_READ_BEFORE_SAVE =
    False`` a save trusts what its instance loaded, and history breaks."""
    settings.REVY_READ_BEFORE_SAVE = False
    with Context():
        comment = Comment.objects.create(text="a")
    loaded = Comment.objects.get(pk=comment.pk)
    assert run_in_other_connection(update_elsewhere(comment.pk, text="b")) is None
    loaded.text = "c"
    with Context():
        loaded.save()
    assert chain(Comment, comment.pk, "text")[-1] == ("a", "c")  # Not "b".
    with pytest.raises(AssertionError, match="a break in the chain"):
        assert_chained(Comment, comment.pk, "text")
