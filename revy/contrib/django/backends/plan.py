"""The plan of one kind of insert: its SQL and how each column gets its value.

A plan is made once per connection, model and set of columns
(``Backend.plan``). Its columns hold plain integers, strings and JSON, so
it prepares the values a column at a time; a few rows go as one ``VALUES``
list prepared row by row, many in batches its backend sizes, cut further
where the parameters would not fit in one statement.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from types import NoneType
from typing import Any, NamedTuple

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    CharField,
    DateField,
    DateTimeField,
    Field,
    JSONField,
    Model,
    TimeField,
)

from revy.contrib.django import conf
from revy.contrib.django.encoding import JSON_NULL
from revy.contrib.django.exceptions import HistoryRowTooLarge

# Fewer rows than this go in one VALUES list, prepared row by row: on
# SQLite faster than executemany, everywhere faster than column by column.
FEW = 64


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
        backend: Any,  # The Backend that made it (base.py).
        model: type[Model],
        fields: list[Field],
        attnames: tuple[str, ...],
        returning: bool,
    ) -> None:
        quote = backend.connection.ops.quote_name
        self.backend = backend
        self.table = model._meta.db_table
        self.head = "INSERT INTO {} ({}) ".format(
            quote(self.table), ", ".join(quote(f.column) for f in fields)
        )
        self.tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
        self.returning = returning
        # Keys come back as the driver reads them (a UUID as text on SQLite).
        self.key = model._meta.pk.to_python
        self.placeholders = [backend.placeholder(field) for field in fields]
        self.attnames = [f.attname for f in fields]
        self.row_sql = "(" + ", ".join(self.placeholders) + ")"
        self.max_rows = max(1, backend.max_parameters() // len(fields))
        # Columns whose values may be long; the others take at most this
        # many bytes a row (numbers, keys, short text).
        self.wide = [_is_wide(field) for field in fields]
        self.narrow_bytes = sum(
            24 + 4 * (getattr(field, "max_length", None) or 0)
            for field, wide in zip(fields, self.wide, strict=True)
            if not wide
        )
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
        backend = self.backend
        if len(rows) < FEW and len(rows) <= self.max_rows:
            # What a request writes: one VALUES list, prepared row by row.
            params = [value for row in rows for value in self.prepared_row(row)]
            if not backend.may_exceed(params):
                values = ", ".join([self.row_sql] * len(rows))
                cursor.execute(self.head + "VALUES " + values + self.tail, params)
                return self.keys(cursor)
        keys: list[Any] = []
        size = self.batch_size()
        for start in range(0, len(rows), size):
            columns = self.prepared_columns(rows[start : start + size])
            for part in self.parts(columns):
                self.run_batch(cursor, part)
                keys.extend(self.keys(cursor))
        return keys

    def parts(self, columns: list[list[Any]]) -> Iterator[list[list[Any]]]:
        """``columns`` cut into statements the database accepts: each part's
        parameters take at most ``Backend.max_statement_bytes()``."""
        backend = self.backend
        if not self.may_exceed(columns):
            yield columns
            return
        budget = backend.max_statement_bytes()
        start, total = 0, 0
        for index, row in enumerate(zip(*columns, strict=True)):
            size = backend.params_bytes(row)
            if size > budget:
                raise HistoryRowTooLarge(
                    f"revy cannot write a row of history into {self.table}: it "
                    f"takes {size:,} bytes, more than {backend.limit()}."
                )
            if total + size > budget:
                yield [column[start:index] for column in columns]
                start, total = index, 0
            total += size
        yield [column[start:] for column in columns]

    def may_exceed(self, columns: list[list[Any]]) -> bool:
        """Whether ``columns`` might not fit in one statement: a quick upper
        bound, measuring only the columns that may hold long values."""
        backend = self.backend
        characters = sum(
            sum(map(len, filter(None, column)))
            for column, wide in zip(columns, self.wide, strict=True)
            if wide
        )
        bound = (
            characters * backend.bytes_per_character
            + len(columns[0]) * self.narrow_bytes
        )
        return (
            bound > backend.fits_without_asking
            and bound > backend.max_statement_bytes()
        )

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


# Preparing values -------------------------------------------------------------


def _is_wide(field: Field) -> bool:
    """Whether values of ``field`` may be long: text, JSON, binary data."""
    if isinstance(field, CharField) and field.max_length:
        return False
    return field.get_internal_type() not in _NARROW


# Column types whose values are short, whatever they hold.
_NARROW = frozenset(
    (
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "BigIntegerField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "BooleanField",
        "FloatField",
        "DecimalField",
        "DateField",
        "DateTimeField",
        "TimeField",
        "DurationField",
        "UUIDField",
        "GenericIPAddressField",
        "ForeignKey",
        "OneToOneField",
    )
)


def computes_on_save(field: Field) -> bool:
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
        return _NONE, json_text(field)
    kind = field.get_internal_type()
    if field.is_relation:
        kind = field.target_field.get_internal_type()
    as_is = frozenset((NoneType, *_AS_IS.get(kind, ())))
    return as_is, functools.partial(field.get_db_prep_save, connection=connection)


def json_text(field: JSONField) -> Callable[[Any], str]:
    """The JSON text ``field``'s column takes for a value as revy encodes it
    (``JSON_NULL``: JSON null)."""
    if field.encoder is None:
        return _json_text
    dumps = functools.partial(json.dumps, cls=field.encoder)
    return lambda value: "null" if value is JSON_NULL else dumps(value)


# What json.dumps() writes for values of these types, without its encoder
# object: most values of history are text and numbers.
_JSON_TEXT: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
}


def _json_text(value: Any) -> str:
    as_text = _JSON_TEXT.get(type(value))
    if as_text is not None:
        return as_text(value)
    return "null" if value is JSON_NULL else json.dumps(value)
