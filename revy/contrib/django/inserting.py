"""Inserting history rows, in as few statements as each database allows.

History rows are inserted without ``Model.save()`` and ``bulk_create()``:
their columns hold plain integers, strings and JSON, so this prepares the
values a column at a time and plans the SQL once per connection and model.
PostgreSQL gets ``INSERT ... SELECT`` from one JSON array of rows: neither
side parses thousands of placeholders, and the client's work is one
``json.dumps`` where array parameters would have psycopg quote every
element in Python (about eight times the client time, in a 12,000-row
insert). Rows holding a value the driver must adapt (an interval, say) go
as one array parameter per column through ``UNNEST``, as Django's own
``bulk_create`` does there. The other databases get multi-row
``VALUES``, batched by the connection's real parameter limit (Django 5.2
caps SQLite at 999 where SQLite takes far more), or, on SQLite, one
``executemany`` for many rows that need no keys back: SQLite runs one
short statement for each row faster than it parses a long one. A history
model with a field that computes its value on save (``auto_now``, a custom
``pre_save``) or that the plan cannot type goes through Django's compiler
instead.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import itertools
import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from types import NoneType
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    DateField,
    DateTimeField,
    Field,
    JSONField,
    Model,
    TimeField,
    Value,
)

from revy.contrib.django import conf
from revy.contrib.django.deltas import build
from revy.contrib.django.encoding import JSON_NULL

_PLANS = "_revy_insert_plans"
# Fewer rows than this go in one VALUES list, prepared row by row: on
# SQLite faster than executemany, everywhere faster than column by column.
_FEW = 64


def insert_instances(model: type[Model], objs: Sequence[Model], using: str) -> None:
    """Insert new, unsaved instances of a history model; set their keys."""
    rows = _instance_rows(model, objs)
    mark_inserted(objs, insert(model, _attnames(model), rows, using, True), using)


def mark_inserted(objs: Sequence[Model], keys: Sequence[Any], using: str) -> None:
    """Give instances inserted without ``save()`` their keys, as saved."""
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using


def _instance_rows(model: type[Model], objs: Sequence[Model]) -> list[tuple]:
    attnames = _attnames(model)
    return [tuple(map(obj.__dict__.__getitem__, attnames)) for obj in objs]


def insert(
    model: type[Model],
    attnames: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    using: str,
    returning: bool = False,
    cursor: Any = None,
) -> list[Any]:
    """Insert ``rows`` (values of ``attnames``, the other fields taking their
    defaults) into ``model``; return their primary keys if ``returning``.
    ``cursor``, a cursor of ``using``, saves opening one per insert."""
    if not rows:
        return []
    connection = connections[using]
    plan = _plan(model, attnames, connection, returning)
    if plan is None:
        return _insert_with_django(model, attnames, rows, using, returning)
    if cursor is None:
        with connection.cursor() as cursor:
            return plan.run(cursor, rows)
    return plan.run(cursor, rows)


def _plan(
    model: type[Model],
    attnames: tuple[str, ...],
    connection: BaseDatabaseWrapper,
    returning: bool,
) -> _Plan | None:
    plans = connection.__dict__.setdefault(_PLANS, {})
    key = (model, attnames, returning)
    if key not in plans:
        plans[key] = _Plan.make(model, attnames, connection, returning)
    return plans[key]


class Linked:
    """Rows of one history model for :func:`insert_linked`: ``link`` names
    the column that holds the key of a row inserted before in the same
    statement, and ``parents`` gives, per row, the index of that row among
    the previous model's rows."""

    __slots__ = ("model", "attnames", "rows", "link", "parents")

    def __init__(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        link: str | None = None,
        parents: Sequence[int | None] = (),
    ) -> None:
        self.model, self.attnames, self.rows = model, attnames, rows
        self.link, self.parents = link, parents

    @classmethod
    def instances(cls, model: type[Model], objs: Sequence[Model]) -> Linked:
        """New, unsaved instances (see :func:`mark_inserted`)."""
        return cls(model, _attnames(model), _instance_rows(model, objs))


def can_link(using: str, parents: int) -> bool:
    """Whether :func:`insert_linked` may take ``parents`` rows whose keys
    later rows need, on ``using``: few, on PostgreSQL (many rows go faster
    in bulk, model by model)."""
    return parents < _FEW and connections[using].vendor == "postgresql"


def insert_linked(
    using: str, levels: Sequence[Linked], commit: bool = False
) -> list[list[Any]] | None:
    """Insert rows of several models in one statement, where a row may hold
    the key of a row inserted before it (a parent index of None: keep the
    value given). Returns the keys of every level but the last, or None
    where this database or these models need one insert per model.

    A request that changes one object writes its revision, object delta and
    attribute deltas this way on PostgreSQL, as data-modifying CTEs: one
    round trip instead of three. With ``commit``, where
    :func:`can_commit_with` allows, ``COMMIT`` goes in the same round trip.
    """
    connection = connections[using]
    if not can_link(using, sum(len(level.rows) for level in levels[:-1])):
        return None
    plans = []
    for level in levels[:-1]:
        plan = _plan(level.model, level.attnames, connection, False)
        if plan is None or level.model._meta.pk is not level.model._meta.auto_field:
            return None  # Keys must come from the database, in insert order.
        plans.append(plan)
    if levels[-1].rows:
        plan = _plan(levels[-1].model, levels[-1].attnames, connection, False)
        if plan is None:
            return None
        plans.append(plan)
    if sum(
        len(level.rows) * len(plan.columns)
        for level, plan in zip(levels, plans, strict=False)
    ) > _max_parameters(connection):
        return None
    return _linked_postgresql(connection, levels, plans, commit)


def can_commit_with(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``COMMIT`` may follow a statement in the same query string:
    psycopg 3 binding parameters on the client (Django's default) sends it
    as one simple query, and then finds its transaction already ended, so
    its own ``commit()`` sends nothing. psycopg 2 would send ``COMMIT``
    again; server-side binding takes one statement per query."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return False
    import psycopg

    return issubclass(connection.connection.cursor_factory, psycopg.ClientCursor)


@functools.cache
def _inserted_fields(model: type[Model]) -> list[Field]:
    """The fields an insert gives a value: all but a key the database makes
    and generated columns."""
    return [
        f
        for f in model._meta.concrete_fields
        if f is not model._meta.auto_field and not getattr(f, "generated", False)
    ]


@functools.cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in _inserted_fields(model))


class _Plan:
    """The SQL and the value preparers of one kind of insert."""

    @classmethod
    def make(
        cls,
        model: type[Model],
        attnames: tuple[str, ...],
        connection: BaseDatabaseWrapper,
        returning: bool,
    ) -> _Plan | None:
        """The plan, or None where Django's compiler must do the insert."""
        fields = _inserted_fields(model)
        if any(_computes_on_save(f) for f in fields):
            return None
        types = None
        if connection.vendor == "postgresql":
            types = [_array_type(f, connection) for f in fields]
            if None in types:
                return None
        elif returning and not connection.features.can_return_rows_from_bulk_insert:
            return None
        return cls(model, fields, attnames, connection, types, returning)

    def __init__(
        self,
        model: type[Model],
        fields: list[Field],
        attnames: tuple[str, ...],
        connection: BaseDatabaseWrapper,
        types: list[str] | None,
        returning: bool,
    ) -> None:
        """``types``: the column types to cast values to (PostgreSQL)."""
        quote = connection.ops.quote_name
        self.head = "INSERT INTO {} ({}) ".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
        )
        self.tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
        self.returning = returning
        # Keys come back as the driver reads them (a UUID as text on SQLite).
        self.key = model._meta.pk.to_python
        if types is None:
            self.placeholders = ["%s"] * len(fields)
        else:
            self.placeholders = [f"(%s)::{t}" for t in types]
        self.attnames = [f.attname for f in fields]
        self.row_sql = "(" + ", ".join(self.placeholders) + ")"
        # Many rows go to PostgreSQL as one JSON array of rows (else an array
        # per column), to SQLite as one statement run for each row if no keys
        # come back, else as a VALUES list per batch; a few rows always as one
        # VALUES list.
        self.document_sql = self.unnest_sql = None
        self.executemany = connection.vendor == "sqlite" and not returning
        if types is not None:
            # The ordinality keeps the rows, and so the keys returned, in order.
            self.document_sql = (
                "SELECT {} FROM jsonb_array_elements(%s::jsonb) "
                "WITH ORDINALITY AS revy_rows(r, n) ORDER BY n".format(
                    ", ".join(f"(r->>{i})::{t}" for i, t in enumerate(types))
                )
            )
            self.unnest_sql = "SELECT * FROM UNNEST({})".format(
                ", ".join(f"{p}[]" for p in self.placeholders)
            )
        self.max_rows = max(1, _max_parameters(connection) // len(fields))
        # Per column: (index in the rows given or None, the types that go to
        # the database as they are, prepare any other value, the prepared
        # default, make a prepared default).
        self.columns: list[tuple[Any, Any, Any, Any, Any]] = []
        for field in fields:
            as_is, prepare = _preparer(field, connection)
            if field.attname in attnames:
                index = attnames.index(field.attname)
                self.columns.append((index, as_is, prepare, None, None))
            elif field.has_default() and callable(field.default):
                make = functools.partial(_prepared_default, field, as_is, prepare)
                self.columns.append((None, None, None, None, make))
            else:
                default = _prepared_default(field, as_is, prepare)
                self.columns.append((None, None, None, default, None))

    def run(self, cursor: Any, rows: Sequence[tuple]) -> list[Any]:
        if len(rows) < _FEW and len(rows) <= self.max_rows:
            # What a request writes: one VALUES list, prepared row by row.
            values = ", ".join([self.row_sql] * len(rows))
            params = [value for row in rows for value in self._row(row)]
            cursor.execute(self.head + "VALUES " + values + self.tail, params)
            return self._keys(cursor)
        size = conf.batch_size()
        if not (self.unnest_sql or self.executemany):
            size = min(size, self.max_rows)
        keys: list[Any] = []
        for start in range(0, len(rows), size):
            columns = self._columns(rows[start : start + size])
            document = self._document(columns) if self.document_sql else None
            if document is not None:
                cursor.execute(self.head + self.document_sql + self.tail, [document])
            elif self.unnest_sql:
                cursor.execute(self.head + self.unnest_sql + self.tail, columns)
            elif self.executemany:
                sql = self.head + "VALUES " + self.row_sql
                cursor.executemany(sql, list(zip(*columns, strict=True)))
            else:
                values = ", ".join([self.row_sql] * len(columns[0]))
                cursor.execute(
                    self.head + "VALUES " + values + self.tail,
                    list(itertools.chain.from_iterable(zip(*columns, strict=True))),
                )
            keys.extend(self._keys(cursor))
        return keys

    def linked_values(
        self, rows: Sequence[tuple], link: str | None, keys: Sequence[str | None]
    ) -> tuple[str, list[Any]]:
        """A VALUES list of ``rows`` and its parameters, where the ``link``
        column of row i is the SQL ``keys[i]`` (None: the value given)."""
        at = -1 if link is None else self.attnames.index(link)
        sql = []
        params: list[Any] = []
        for row, key in itertools.zip_longest(rows, keys[: len(rows)]):
            values = self._row(row)
            if key is None:
                sql.append(self.row_sql)
            else:
                del values[at]
                placeholders = list(self.placeholders)
                placeholders[at] = key
                sql.append("(" + ", ".join(placeholders) + ")")
            params.extend(values)
        return self.head + "VALUES " + ", ".join(sql), params

    def _keys(self, cursor: Any) -> list[Any]:
        if not self.returning:
            return []
        return [self.key(key) for (key,) in cursor.fetchall()]

    def _row(self, row: tuple) -> list[Any]:
        params = []
        for index, as_is, prepare, default, make in self.columns:
            if index is None:
                params.append(default if make is None else make())
            else:
                value = row[index]
                params.append(value if type(value) in as_is else prepare(value))
        return params

    @staticmethod
    def _document(columns: list[list[Any]]) -> str | None:
        """The rows as one JSON array, or None if a value has no JSON form
        that PostgreSQL casts back to it."""
        try:
            return json.dumps(
                list(zip(*columns, strict=True)),
                default=_json_default,
                allow_nan=False,
                separators=(",", ":"),
            )
        except (TypeError, ValueError):
            return None

    def _columns(self, rows: Sequence[tuple]) -> list[list[Any]]:
        given = list(zip(*rows, strict=True))
        count = len(rows)
        columns: list[list[Any]] = []
        for index, as_is, prepare, default, make in self.columns:
            if index is not None:
                columns.append(
                    [v if type(v) in as_is else prepare(v) for v in given[index]]
                )
            elif make is not None:
                columns.append([make() for _ in range(count)])
            else:
                columns.append([default] * count)
        return columns


def _linked_postgresql(
    connection: BaseDatabaseWrapper,
    levels: Sequence[Linked],
    plans: list[_Plan],
    commit: bool,
) -> list[list[Any]]:
    quote = connection.ops.quote_name
    # WITH l0 AS (INSERT ... RETURNING id), l1 AS (INSERT ... VALUES
    # ((SELECT id FROM l0 ORDER BY id LIMIT 1 OFFSET 0), ...)) ...: keys
    # come in insert order, as Django's bulk_create relies on too.
    ctes = []
    params: list[Any] = []
    selects = []
    for number, (level, plan) in enumerate(zip(levels, plans, strict=False)):
        keys: list[str | None] = []
        if number:
            pk = quote(levels[number - 1].model._meta.pk.column)
            keys = [
                None
                if parent is None
                else f"(SELECT {pk} FROM l{number - 1} ORDER BY {pk} "
                f"LIMIT 1 OFFSET {parent})"
                for parent in level.parents
            ]
        sql, values = plan.linked_values(level.rows, level.link, keys)
        params.extend(values)
        if number < len(levels) - 1:
            pk = quote(level.model._meta.pk.column)
            sql += f" RETURNING {pk}"
            selects.append(f"SELECT {number}, {pk} FROM l{number}")
        ctes.append(f"l{number} AS ({sql})")
    query = (
        "WITH "
        + ", ".join(ctes)
        + " SELECT * FROM ("
        + " UNION ALL ".join(selects)
        + ") keys ORDER BY 1, 2"
    )
    if commit and can_commit_with(connection):
        query += "; COMMIT"
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    keys: list[list[Any]] = [[] for _ in levels[:-1]]
    for number, key in rows:
        keys[number].append(plans[number].key(key))
    return keys


def _computes_on_save(field: Field) -> bool:
    """Whether ``field.pre_save`` may store another value than the one set."""
    pre_save = type(field).pre_save
    if pre_save is Field.pre_save:
        return False
    if pre_save in (DateField.pre_save, DateTimeField.pre_save, TimeField.pre_save):
        return bool(field.auto_now or field.auto_now_add)
    return True


def _prepared_default(
    field: Field, as_is: frozenset[type], prepare: Callable[[Any], Any]
) -> Any:
    value = field.get_default()
    return value if type(value) in as_is else prepare(value)


def _json_default(value: Any) -> str:
    """The text PostgreSQL casts back to ``value``, for the values prepared
    for a column that are not JSON types."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _array_type(field: Field, connection: BaseDatabaseWrapper) -> str | None:
    """The PostgreSQL array type of a column, as Django's UNNEST names it."""
    target = field.target_field if field.is_relation else field
    if target.get_internal_type() not in connection.data_types:
        return None
    if hasattr(field, "get_placeholder"):
        return None
    db_type = field.db_type(connection)
    return None if db_type is None else db_type.split("(")[0]


# The Python types that go to a column of each kind as they are; None goes
# to every column as it is.
_NONE = frozenset((NoneType,))
_AS_IS = {
    "AutoField": (int,),
    "BigAutoField": (int,),
    "BigIntegerField": (int,),
    "BooleanField": (bool,),
    "IntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveBigIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "SmallIntegerField": (int,),
    "CharField": (str,),
    "TextField": (str,),
}


def _preparer(
    field: Field, connection: BaseDatabaseWrapper
) -> tuple[frozenset[type], Callable[[Any], Any]]:
    """``(types, prepare)``: values of these types go to the database as they
    are, any other through ``prepare(value)``."""
    if isinstance(field, JSONField):
        dumps = functools.partial(json.dumps, cls=field.encoder)
        return _NONE, lambda value: "null" if value is JSON_NULL else dumps(value)
    kind = field.get_internal_type()
    if field.is_relation:
        kind = field.target_field.get_internal_type()
    as_is = frozenset((NoneType, *_AS_IS.get(kind, ())))
    return as_is, functools.partial(field.get_db_prep_save, connection=connection)


def _insert_with_django(
    model: type[Model],
    attnames: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    using: str,
    returning: bool,
) -> list[Any]:
    json_null = Value(None, output_field=JSONField())  # Django's JSON null.
    objs = [
        build(
            model,
            {
                a: json_null if v is JSON_NULL else v
                for a, v in zip(attnames, row, strict=True)
            },
        )
        for row in rows
    ]
    fields = _inserted_fields(model)
    queryset = model._base_manager.using(using)
    if not returning:
        size = connections[using].ops.bulk_batch_size(fields, objs)
        for start in range(0, len(objs), size):
            queryset._insert(objs[start : start + size], fields=fields, using=using)
        return []
    pk = model._meta.pk
    return [
        queryset._insert([obj], fields=fields, returning_fields=[pk], using=using)[0][0]
        for obj in objs
    ]


def _max_parameters(connection: BaseDatabaseWrapper) -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    # PostgreSQL's and MariaDB's wire protocols count parameters in 16 bits.
    return connection.features.max_query_params or 65535
