"""Saves under concurrency: a delta's old value is what the row held when
the save overwrote it, also when the instance was loaded before another
connection committed a change, so consecutive deltas of a field form a
chain (each old value is the new value of the delta before it).

The other connection runs in a thread (``run_in_other_connection``): before
the save, or right after revy's read of the row and before the save's
``UPDATE`` (``between_read_and_write``), joined before the save goes on. It
waits at most a second for a lock, so a row revy locked makes it fail
instead of waiting for the commit. Or it holds the row until the save waits
for it (``other_connection_holding_until_waited_for``).

On PostgreSQL the read is part of the save's ``UPDATE`` where it can be
(decision 0025); the statement of any other save reads first.
"""

import contextlib
from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django import history
from tests.helpers import (
    CREATE,
    AttributeDelta,
    between_read_and_write,
    deltas_of,
    other_connection_holding_until_waited_for,
    run_in_other_connection,
)
from tests.testapp.models import (
    Album,
    CodeItem,
    ColumnKeyItem,
    Comment,
    Counter,
    Photo,
    Restaurant,
    UUIDItem,
)

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


def update_elsewhere(pk, model=Comment, **values):
    """Another connection changes the row, recorded, and commits."""

    def work():
        with Context():
            model.objects.filter(pk=pk).update(**values)

    return work


def loaded_comment():
    """A comment created "a" (recorded), as a request loads it."""
    with Context():
        comment = Comment.objects.create(text="a")
    return Comment.objects.get(pk=comment.pk)


def is_lock_error(error):
    return isinstance(error, OperationalError) and "lock" in str(error).lower()


@IN_TRANSACTION
def test_a_full_save_that_puts_back_another_connections_value_records_that_change(
    block,
):
    loaded = loaded_comment()
    assert run_in_other_connection(update_elsewhere(loaded.pk, text="b")) is None
    with block(), Context():
        loaded.save()  # Writes its "a" back over the other's "b".
    assert chain(Comment, loaded.pk, "text") == [
        (None, "a"),
        ("a", "b"),
        ("b", "a"),
    ]
    assert_chained(Comment, loaded.pk, "text")


@IN_TRANSACTION
def test_a_save_of_some_fields_records_the_value_another_connection_committed(
    block,
):
    loaded = loaded_comment()
    assert run_in_other_connection(update_elsewhere(loaded.pk, text="b")) is None
    loaded.text = "c"
    with block(), Context():
        loaded.save(update_fields=["text"])
    assert chain(Comment, loaded.pk, "text")[-1] == ("b", "c")
    assert_chained(Comment, loaded.pk, "text")


@IN_TRANSACTION
def test_no_other_connection_writes_between_the_read_and_the_update(block):
    """revy's read locks the row (PostgreSQL, MariaDB), or the database lets
    one connection write at a time (SQLite): the other connection's write
    times out, or fails as "database is locked", instead of making the read
    stale."""
    loaded = loaded_comment()
    loaded.text = "c"
    with (
        between_read_and_write(
            Comment, update_elsewhere(loaded.pk, text="b")
        ) as outcome,
        block(),
        Context(),
    ):
        loaded.save()
    assert is_lock_error(outcome[0]), outcome
    assert assert_chained(Comment, loaded.pk, "text") == [(None, "a"), ("a", "c")]


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
    loaded = loaded_comment()
    assert run_in_other_connection(update_elsewhere(loaded.pk, text="b")) is None
    loaded.text = "c"
    with Context():
        loaded.save()
    assert chain(Comment, loaded.pk, "text")[-1] == ("a", "c")  # Not "b".
    with pytest.raises(AssertionError, match="a break in the chain"):
        assert_chained(Comment, loaded.pk, "text")


def test_a_save_sends_its_read_of_the_row_with_its_update_on_postgresql():
    with Context():
        comment = Comment.objects.create(text="a")
    comment.text = "b"
    table = Comment._meta.db_table
    with CaptureQueriesContext(connection) as queries, Context():
        comment.save()
    on_the_table = [q["sql"] for q in queries if table in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(on_the_table) == 1, on_the_table
        assert on_the_table[0].startswith("UPDATE")
        assert "FOR NO KEY UPDATE" in on_the_table[0]
    else:
        assert [sql.split()[0] for sql in on_the_table] == ["SELECT", "UPDATE"]
    assert assert_chained(Comment, comment.pk, "text") == [(None, "a"), ("a", "b")]


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite lets one connection write at a time: no save waits for a row",
)
@IN_TRANSACTION
def test_a_save_that_waits_for_another_connections_row_records_what_it_committed(
    block,
):
    loaded = loaded_comment()
    loaded.text = "c"
    with (
        other_connection_holding_until_waited_for(
            update_elsewhere(loaded.pk, text="b")
        ),
        block(),
        Context(),
    ):
        loaded.save()  # Waits for the other's commit, then reads "b".
    assert assert_chained(Comment, loaded.pk, "text") == [
        (None, "a"),
        ("a", "b"),
        ("b", "c"),
    ]


def _full_save(instance, field_name, value):
    setattr(instance, field_name, value)
    instance.save()


def _save_of_one_field(instance, field_name, value):
    setattr(instance, field_name, value)
    instance.save(update_fields=[field_name])


def _save_of_an_expression(instance, field_name, value):
    setattr(instance, field_name, F(field_name) + value)
    instance.save()


def _save_selecting_first(instance, field_name, value):
    with mock.patch.object(type(instance)._meta, "select_on_save", True):
        _full_save(instance, field_name, value)


# The keys of the models whose key the database does not give.
OWN_KEYS = {CodeItem: {"code": "k"}, ColumnKeyItem: {"number": 7}}


@pytest.mark.parametrize(
    ("model", "field_name", "values", "save"),
    [
        (Comment, "text", ["a", "b", "c"], _full_save),
        (Comment, "text", ["a", "b", "c"], _save_of_one_field),
        (Comment, "text", ["a", "b", "c"], _save_selecting_first),
        (Comment, "text", ["a" * 5000, "b" * 5000, "c" * 5000], _full_save),
        (Counter, "value", [1, 2, 10], _save_of_an_expression),
        (Restaurant, "name", ["a", "b", "c"], _full_save),
        (Restaurant, "serves_pizza", [False, True, False], _full_save),
        (UUIDItem, "name", ["a", "b", "c"], _full_save),
        (CodeItem, "name", ["a", "b", "c"], _full_save),
        (ColumnKeyItem, "name", ["a", "b", "c"], _full_save),
    ],
    ids=[
        "full save",
        "update_fields",
        "select_on_save",
        "long texts",
        "F() expression",
        "parent's field",
        "child's field",
        "UUID key",
        "text key",
        "key in a column of another name",
    ],
)
def test_every_kind_of_save_records_the_value_another_connection_committed(
    model, field_name, values, save
):
    """Whether the read goes with the UPDATE or before it, the old value of
    a stale instance's save is what the other connection committed."""
    first, committed, saved = values
    with Context():
        obj = model.objects.create(**{field_name: first}, **OWN_KEYS.get(model, {}))
    loaded = model.objects.get(pk=obj.pk)
    commit = update_elsewhere(obj.pk, model, **{field_name: committed})
    assert run_in_other_connection(commit) is None
    with Context():
        save(loaded, field_name, saved)
    pairs = assert_chained(model, obj.pk, field_name)
    expected = committed + saved if save is _save_of_an_expression else saved
    assert pairs[-1] == (committed, expected)


def test_a_save_of_a_row_deleted_meanwhile_records_its_creation_again():
    loaded = loaded_comment()

    def delete_elsewhere():
        with Context():
            Comment.objects.filter(pk=loaded.pk).delete()

    assert run_in_other_connection(delete_elsewhere) is None
    loaded.text = "b"
    with Context():
        loaded.save()  # Updates no row, so Django inserts it.
    assert [d.action for d in deltas_of(Comment, loaded.pk)][-1] == CREATE
    assert chain(Comment, loaded.pk, "text")[-1] == (None, "b")
