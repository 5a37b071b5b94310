"""What every database backend does the same way; the subclasses say how
their database differs.

History rows are inserted without ``Model.save()`` and ``bulk_create()``:
their columns hold plain integers, strings and JSON, so a :class:`Plan`
prepares the values a column at a time and is made once per connection,
model and set of columns. A few rows go as one ``VALUES`` list prepared row
by row; many go in batches the backend chooses. A history model with a
field that computes its value on save (``auto_now``, a custom ``pre_save``)
or that a plan cannot type goes through Django's compiler instead.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Sequence
from types import NoneType
from typing import Any, NamedTuple

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    DateField,
    DateTimeField,
    Field,
    JSONField,
    Model,
    QuerySet,
    TimeField,
    Value,
)
from django.db.models.base import ModelState

from revy.contrib.django import conf, tracking
from revy.contrib.django.encoding import JSON_NULL

# Fewer rows than this go in one VALUES list, prepared row by row: on
# SQLite faster than executemany, everywhere faster than column by column.
FEW = 64


class Linked:
    """Rows of one history model for :meth:`Backend.insert_linked`: ``link``
    names the column that holds the key of a row inserted before in the same
    statement, and ``parents`` gives, per row, the index of that row among
    the previous model's rows (None: keep the value given)."""

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
        return cls(model, attnames_of(model), instance_rows(model, objs))


class Column(NamedTuple):
    """How one column of an insert gets its value."""

    index: int | None  # Position in the rows given; None: the field's default.
    as_is: frozenset[type]  # Values of these types go to the database as they are.
    prepare: Callable[[Any], Any] | None  # Prepares any other value.
    default: Any  # The prepared default, when it is the same every row.
    make_default: Callable[[], Any] | None  # Makes a prepared default per row.


class Plan:
    """The SQL and the value preparers of one kind of insert."""

    def __init__(
        self,
        backend: Backend,
        model: type[Model],
        fields: list[Field],
        attnames: tuple[str, ...],
        returning: bool,
    ) -> None:
        quote = backend.connection.ops.quote_name
        self.head = "INSERT INTO {} ({}) ".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
        )
        self.tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
        self.returning = returning
        # Keys come back as the driver reads them (a UUID as text on SQLite).
        self.key = model._meta.pk.to_python
        self.placeholders = [backend.placeholder(field) for field in fields]
        self.attnames = [f.attname for f in fields]
        self.row_sql = "(" + ", ".join(self.placeholders) + ")"
        self.max_rows = max(1, backend.max_parameters() // len(fields))
        self.columns: list[Column] = []
        for field in fields:
            as_is, prepare = _preparer(field, backend.connection)
            if field.attname in attnames:
                index = attnames.index(field.attname)
                self.columns.append(Column(index, as_is, prepare, None, None))
            elif field.has_default() and callable(field.default):
                make = functools.partial(_prepared_default, field, as_is, prepare)
                self.columns.append(Column(None, as_is, None, None, make))
            else:
                default = _prepared_default(field, as_is, prepare)
                self.columns.append(Column(None, as_is, None, default, None))

    def run(self, cursor: Any, rows: Sequence[tuple]) -> list[Any]:
        if len(rows) < FEW and len(rows) <= self.max_rows:
            # What a request writes: one VALUES list, prepared row by row.
            values = ", ".join([self.row_sql] * len(rows))
            params = [value for row in rows for value in self.prepared_row(row)]
            cursor.execute(self.head + "VALUES " + values + self.tail, params)
            return self.keys(cursor)
        keys: list[Any] = []
        size = self.batch_size()
        for start in range(0, len(rows), size):
            self.run_batch(cursor, self.prepared_columns(rows[start : start + size]))
            keys.extend(self.keys(cursor))
        return keys

    def batch_size(self) -> int:
        """Rows per statement when many rows go in."""
        return min(conf.batch_size(), self.max_rows)

    def run_batch(self, cursor: Any, columns: list[list[Any]]) -> None:
        """Insert one batch, given as prepared columns: a VALUES list."""
        values = ", ".join([self.row_sql] * len(columns[0]))
        cursor.execute(
            self.head + "VALUES " + values + self.tail,
            list(itertools.chain.from_iterable(zip(*columns, strict=True))),
        )

    def linked_values(
        self, rows: Sequence[tuple], link: str | None, keys: Sequence[str | None]
    ) -> tuple[str, list[Any]]:
        """A VALUES list of ``rows`` and its parameters, where the ``link``
        column of row i is the SQL ``keys[i]`` (None: the value given)."""
        at = -1 if link is None else self.attnames.index(link)
        sql = []
        params: list[Any] = []
        for row, key in itertools.zip_longest(rows, keys[: len(rows)]):
            values = self.prepared_row(row)
            if key is None:
                sql.append(self.row_sql)
            else:
                del values[at]
                placeholders = list(self.placeholders)
                placeholders[at] = key
                sql.append("(" + ", ".join(placeholders) + ")")
            params.extend(values)
        return self.head + "VALUES " + ", ".join(sql), params

    def keys(self, cursor: Any) -> list[Any]:
        if not self.returning:
            return []
        return [self.key(key) for (key,) in cursor.fetchall()]

    def prepared_row(self, row: tuple) -> list[Any]:
        params = []
        for column in self.columns:
            if column.index is None:
                make = column.make_default
                params.append(column.default if make is None else make())
            else:
                value = row[column.index]
                params.append(
                    value if type(value) in column.as_is else column.prepare(value)
                )
        return params

    def prepared_columns(self, rows: Sequence[tuple]) -> list[list[Any]]:
        given = list(zip(*rows, strict=True))
        count = len(rows)
        columns: list[list[Any]] = []
        for column in self.columns:
            if column.index is not None:
                as_is, prepare = column.as_is, column.prepare
                columns.append(
                    [v if type(v) in as_is else prepare(v) for v in given[column.index]]
                )
            elif column.make_default is not None:
                make = column.make_default
                columns.append([make() for _ in range(count)])
            else:
                columns.append([column.default] * count)
        return columns


class Backend:
    """History SQL for one database connection. Subclasses override what
    their database does differently; :func:`backends.of` picks one."""

    plan_class: type[Plan] = Plan

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self._plans: dict[tuple[Any, ...], Plan | None] = {}

    # Inserting history rows ---------------------------------------------------

    def insert(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        returning: bool = False,
        cursor: Any = None,
    ) -> list[Any]:
        """Insert ``rows`` (values of ``attnames``, the other fields taking
        their defaults) into ``model``; return their keys if ``returning``.
        ``cursor``, a cursor of this connection, saves opening one."""
        if not rows:
            return []
        plan = self.plan(model, attnames, returning)
        if plan is None:
            return self._insert_with_django(model, attnames, rows, returning)
        if cursor is None:
            with self.connection.cursor() as cursor:
                return plan.run(cursor, rows)
        return plan.run(cursor, rows)

    def _insert_with_django(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
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
        fields = inserted_fields(model)
        using = self.connection.alias
        queryset = model._base_manager.using(using)
        if not returning:
            size = self.connection.ops.bulk_batch_size(fields, objs)
            for start in range(0, len(objs), size):
                queryset._insert(objs[start : start + size], fields=fields, using=using)
            return []
        pk = model._meta.pk
        return [
            queryset._insert([obj], fields=fields, returning_fields=[pk], using=using)[
                0
            ][0]
            for obj in objs
        ]

    def insert_instances(self, model: type[Model], objs: Sequence[Model]) -> None:
        """Insert new, unsaved instances of a history model; set their keys."""
        rows = instance_rows(model, objs)
        keys = self.insert(model, attnames_of(model), rows, returning=True)
        mark_inserted(objs, keys, self.connection.alias)

    def plan(
        self, model: type[Model], attnames: tuple[str, ...], returning: bool
    ) -> Plan | None:
        """The plan of this kind of insert, made once; None: use Django's."""
        key = (model, attnames, returning)
        if key not in self._plans:
            fields = inserted_fields(model)
            self._plans[key] = (
                None
                if any(_computes_on_save(f) for f in fields)
                or not self.can_plan(fields, returning)
                else self.plan_class(self, model, fields, attnames, returning)
            )
        return self._plans[key]

    def can_plan(self, fields: list[Field], returning: bool) -> bool:
        """Whether a plan can insert into these fields."""
        return (
            not returning or self.connection.features.can_return_rows_from_bulk_insert
        )

    def placeholder(self, field: Field) -> str:
        """The placeholder of one value of ``field`` in a VALUES list."""
        return "%s"

    def max_parameters(self) -> int:
        """The most parameters one statement may carry."""
        # PostgreSQL's and MariaDB's wire protocols count parameters in 16 bits.
        return self.connection.features.max_query_params or 65535

    def can_link(self, parents: int) -> bool:
        """Whether :meth:`insert_linked` may take ``parents`` rows whose keys
        later rows need."""
        return False

    def insert_linked(
        self, levels: Sequence[Linked], commit: bool = False
    ) -> list[list[Any]] | None:
        """Insert rows of several models in one statement, where a row may
        hold the key of a row inserted before it. Returns the keys of every
        level but the last, or None where this database or these models need
        one insert per model. With ``commit``, ``COMMIT`` may go in the same
        round trip (:meth:`can_commit_with`)."""
        return None

    def can_commit_with(self) -> bool:
        """Whether ``COMMIT`` may follow a statement in the same query string."""
        return False

    # Locking the rows a write changes ----------------------------------------

    def lock(self, queryset: QuerySet, for_delete: bool = False) -> QuerySet:
        """``queryset`` reading its rows with a lock as strong as the write
        that follows takes (an update's, or a delete's), held to the end of
        the transaction: what revy reads is then what the write changes."""
        query = queryset.query
        if query.distinct or query.group_by is not None or query.combinator:
            # FOR UPDATE refuses these: lock the rows they select, by key.
            keys = queryset.order_by().values("pk")
            queryset = queryset.model._base_manager.using(queryset.db).filter(
                pk__in=keys
            )
        return self.locking(queryset, for_delete)

    def locking(self, queryset: QuerySet, for_delete: bool) -> QuerySet:
        return queryset.select_for_update()

    # Snapshot SQL (see snapshot.py) -------------------------------------------

    def json_quote(self, sql: str) -> str:
        """SQL of the JSON string of the text ``sql``."""
        raise NotSupportedError(
            f"revy's snapshots support SQLite, PostgreSQL and MySQL/MariaDB, "
            f"not {self.connection.display_name}."
        )

    def as_text(self, sql: str) -> str:
        """SQL of the JSON value ``sql`` as text."""
        return sql

    def concat(self, pieces: list[str]) -> str:
        """SQL joining ``pieces`` as text; NULL if any piece is NULL."""
        return "(" + " || ".join(pieces) + ")"


# Rows of history model instances --------------------------------------------


@functools.cache
def inserted_fields(model: type[Model]) -> list[Field]:
    """The fields an insert gives a value: all but a key the database makes
    and generated columns."""
    return [
        f
        for f in model._meta.concrete_fields
        if f is not model._meta.auto_field and not getattr(f, "generated", False)
    ]


@functools.cache
def attnames_of(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in inserted_fields(model))


def instance_rows(model: type[Model], objs: Sequence[Model]) -> list[tuple]:
    attnames = attnames_of(model)
    return [tuple(map(obj.__dict__.__getitem__, attnames)) for obj in objs]


def mark_inserted(objs: Sequence[Model], keys: Sequence[Any], using: str) -> None:
    """Give instances inserted without ``save()`` their keys, as saved."""
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using


@functools.cache
def _defaults(model: type[Model]) -> tuple[dict[str, Any], list[Any]]:
    """``({attname: default}, [(attname, make default)])`` of ``model``."""
    static, dynamic = {}, []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            dynamic.append((field.attname, field.get_default))
        else:
            static[field.attname] = field.get_default()
    return static, dynamic


def build(model: type[Model], values: dict[str, Any]) -> Any:
    """An unsaved instance of a history model, as ``model(**values)`` makes,
    without the cost of ``Model.__init__`` for the thousands a bulk write
    records. ``values`` are keyed by attname."""
    if not tracking.can_build_directly(model):
        return model(**values)
    obj = model.__new__(model)
    data = obj.__dict__
    static, dynamic = _defaults(model)
    data.update(static)
    for attname, make in dynamic:
        data[attname] = make()
    data.update(values)
    data["_state"] = ModelState()
    return obj


# Preparing values -------------------------------------------------------------


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
