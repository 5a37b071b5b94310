"""How each database backend inserts history rows (revy.contrib.django.backends):
in batches, in order, with the defaults of the fields not given, and through
Django's compiler for fields that compute their value on save."""

import datetime
import decimal
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from revy.contrib.django import backends
from revy.contrib.django.backends import Linked
from tests.testapp.models import (
    Comment,
    Invoice,
    Membership,
    PlainColumns,
    Player,
    Team,
    UUIDItem,
)

pytestmark = pytest.mark.django_db


def backend():
    return backends.of(connection)


def insert(model, attnames, rows, returning=False, cursor=None):
    return backend().insert(model, attnames, rows, returning, cursor)


@pytest.mark.parametrize("returning", [True, False])
@pytest.mark.parametrize(("count", "batch"), [(7, 3), (150, 100)])
def test_rows_go_in_batches_in_the_order_given(settings, returning, count, batch):
    # Many rows without keys back go to SQLite in one executemany, few in
    # a VALUES list: 150 in batches of 100 takes both ways.
    settings.REVY_BATCH_SIZE = batch
    rows = [(f"comment {i}", i % 2 == 0) for i in range(count)]
    keys = insert(Comment, ("text", "is_marked_as_spam"), rows, returning=returning)
    stored = list(
        Comment.objects.order_by("pk").values_list("pk", "text", "is_marked_as_spam")
    )
    assert [(text, spam) for _pk, text, spam in stored] == rows
    assert keys == ([pk for pk, _text, _spam in stored] if returning else [])


def every_type(i):
    return {
        "char": f'ä "{i}" \\ \'\x01',
        "text": "line\nline\ttab 🎉",
        "big": -9223372036854775808 + i,
        "positive_big": 9223372036854775807 - i,
        "floating": 0.1 + 0.2 + i,
        "decimal": decimal.Decimal("-12345.0123456789") + i,
        "boolean": i % 2 == 0,
        "date": datetime.date(1999, 12, 31),
        "datetime": datetime.datetime(2024, 2, 29, 23, 59, 59, i, tzinfo=datetime.UTC),
        "time": datetime.time(23, 59, 59, 999999),
        "uuid": uuid.UUID(int=i),
        "json": {"ü": [None, 1, 2.5, True, '\\"', {}], "i": i},
    }


@pytest.mark.parametrize(
    ("extra", "unnest"),
    [
        ({}, False),
        ({"duration": datetime.timedelta(-1, 5, 7)}, True),
        ({"ip": "2001:db8::8a2e:370:7334"}, True),
    ],
)
def test_many_rows_of_every_column_type_read_back_as_given(extra, unnest):
    # On PostgreSQL many rows go as one JSON array, but for values that
    # the driver must adapt (an interval, an address): then as an array per
    # column.
    rows = [every_type(i) | extra for i in range(70)]
    attnames = tuple(rows[0])
    with CaptureQueriesContext(connection) as queries:
        keys = insert(
            PlainColumns,
            attnames,
            [tuple(row.values()) for row in rows],
            returning=True,
        )
    by_key = PlainColumns.objects.in_bulk(keys)
    for key, row in zip(keys, rows, strict=True):
        stored = by_key[key]
        got = {name: getattr(stored, name) for name in attnames}
        assert got == row
    if connection.vendor == "postgresql":
        [sql] = [q["sql"] for q in queries if "INSERT" in q["sql"]]
        assert ("UNNEST" in sql) is unnest
        assert ("jsonb_array_elements" in sql) is not unnest


def test_one_row_returns_its_key():
    [key] = insert(Comment, ("text",), [("alone",)], returning=True)
    assert Comment.objects.get(pk=key).text == "alone"


def test_fields_not_given_take_their_defaults_made_per_row():
    keys = insert(UUIDItem, ("name",), [("a",), ("b",)], returning=True)
    assert len(set(keys)) == 2 and all(isinstance(key, uuid.UUID) for key in keys)
    assert sorted(UUIDItem.objects.values_list("name", flat=True)) == ["a", "b"]
    spam = insert(Comment, ("text",), [("x",), ("y",)], returning=True)
    assert list(
        Comment.objects.filter(pk__in=spam).values_list("is_marked_as_spam", flat=True)
    ) == [False, False]


def test_fields_that_compute_on_save_go_through_django(django_assert_num_queries):
    rows = [("1.00", "2.0000", "2.00"), ("3.00", "1.0000", "3.00")]
    attnames = ("amount", "exchange_rate", "local_amount")
    keys = insert(Invoice, attnames, rows, returning=True)
    invoices = Invoice.objects.filter(pk__in=keys).order_by("pk")
    assert [str(i.local_amount) for i in invoices] == ["2.00", "3.00"]
    assert all(invoice.updated_at is not None for invoice in invoices)
    with django_assert_num_queries(1):
        insert(Invoice, attnames, rows)
    assert Invoice.objects.count() == 4


def test_instances_get_their_keys_and_are_saved():
    comments = [Comment(text="one"), Comment(text="two")]
    backend().insert_instances(Comment, comments)
    assert [c.pk for c in comments] == list(
        Comment.objects.order_by("pk").values_list("pk", flat=True)
    )
    assert all(not c._state.adding and c._state.db == "default" for c in comments)


def test_a_cursor_given_is_used(django_assert_num_queries):
    with django_assert_num_queries(1), connection.cursor() as cursor:
        insert(Comment, ("text",), [("a",), ("b",)], cursor=cursor)
    assert Comment.objects.count() == 2


# Linked rows: several models in one statement --------------------------------

LINKS = connection.vendor == "postgresql"


def test_linked_rows_get_the_keys_of_the_rows_they_link_to(
    django_assert_num_queries,
):
    ann, bo = Player.objects.create(name="Ann"), Player.objects.create(name="Bo")
    old = Team.objects.create(name="Old")
    levels = [
        Linked(Team, ("name",), [("Reds",), ("Blues",)]),
        Linked(
            Membership,
            ("team_id", "player_id", "role"),
            [(None, ann.pk, "a"), (None, bo.pk, "b"), (old.pk, ann.pk, "c")],
            "team_id",
            [1, 0, None],  # Blues, Reds, and a key given as it is.
        ),
    ]
    with django_assert_num_queries(1 if LINKS else 0):
        keys = backend().insert_linked(levels)
    if not LINKS:  # One insert per model, by the caller.
        assert keys is None
        assert Team.objects.count() == 1
        return
    reds, blues = Team.objects.exclude(pk=old.pk).order_by("pk")
    assert keys == [[reds.pk, blues.pk]]
    assert [reds.name, blues.name] == ["Reds", "Blues"]
    assert sorted(Membership.objects.values_list("role", "team_id", "player_id")) == [
        ("a", blues.pk, ann.pk),
        ("b", reds.pk, bo.pk),
        ("c", old.pk, ann.pk),
    ]


def test_linked_rows_with_nothing_in_the_last_model_return_the_keys():
    keys = backend().insert_linked(
        [
            Linked(Team, ("name",), [("Reds",)]),
            Linked(Membership, ("team_id", "player_id", "role"), [], "team_id"),
        ],
    )
    if LINKS:
        assert keys == [list(Team.objects.values_list("pk", flat=True))]
    else:
        assert keys is None and not Team.objects.exists()


def test_keys_made_in_python_or_many_rows_go_model_by_model():
    # Linked keys come from the database in insert order: not a UUID.
    levels = [Linked(Player, ("name",), [("Ann",)])] * 2
    assert backend().insert_linked(levels) is None
    assert not Player.objects.exists()
    assert backend().can_link(1) is LINKS
    assert backend().can_link(1000) is False


@pytest.mark.parametrize(
    "column",
    [
        "char",
        "big",
        "positive_big",
        "floating",
        "decimal",
        "boolean",
        "datetime",
        "uuid",
        "duration",
        "ip",
    ],
)
def test_rows_read_by_keys_are_those_of_the_keys_whatever_the_column(column):
    """``by_keys`` hands the keys over as the database takes them best (one
    array on PostgreSQL, one JSON text on SQLite, placeholders otherwise):
    whichever way, the rows read are those of the keys."""
    extra = {
        "duration": [datetime.timedelta(-1, 5, i) for i in range(4)],
        "ip": [f"2001:db8::{i}" for i in range(4)],
    }
    rows = [
        PlainColumns.objects.create(**(every_type(i) | {"text": "x", "json": {}}))
        for i in range(4)
    ]
    if column in extra:
        for row, value in zip(rows, extra[column], strict=True):
            setattr(row, column, value)
            row.save()
    wanted = [getattr(rows[1], column), getattr(rows[2], column)]
    field = PlainColumns._meta.get_field(column)
    read = backend().by_keys(PlainColumns.objects.all(), wanted, field)
    assert {row.pk for row in read} == {
        row.pk for row in rows if getattr(row, column) in wanted
    }


def test_many_keys_take_one_parameter_where_the_database_takes_them_as_one():
    """sqlite3 keeps each statement it ran, with room for its parameters: a
    statement naming 200,000 keys one by one kept 92 MB so."""
    rows = [UUIDItem.objects.create(name=str(i)) for i in range(40)]

    def parameters(count):
        keys = [row.pk for row in rows[:count]]
        read = backend().by_keys(UUIDItem.objects.all(), keys)
        sql, params = read.query.sql_with_params()
        assert read.count() == count
        return len(params)

    one_each = connection.vendor not in ("sqlite", "postgresql")
    assert (parameters(40) == parameters(4) + 36) is one_each
    assert (parameters(40) == parameters(4)) is not one_each
