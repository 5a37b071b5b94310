"""Values as history stores them, written by the database in SQL.

History written by the database (``sqlupdate.py``) encodes each value in
the database's own SQL, equal to what ``encoding.ValueEncoder`` makes of
the value Django reads from the column: it decodes to the same value and
compares equal as JSON. The text may differ (PostgreSQL writes ``100`` for
Python's ``100.0``, MariaDB keeps a non-ASCII character that Python's JSON
escapes). A field with no equal SQL here (:meth:`SQLValues.json` gives
None) is recorded in Python: floats on SQLite and MariaDB (their SQL
rounds), decimals of more than 6 places (Python writes ``1E-7``) and, on
SQLite, every decimal (it may hold more places than the field, which
Django rounds half to even as it reads them), times, durations, binary
data, IP addresses, files, and every field class revy does not know.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from revy.contrib.django.encoding import prepares_for_database

_INTEGERS = frozenset(
    (
        models.AutoField,
        models.BigAutoField,
        models.SmallAutoField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
    )
)
_TEXTS = frozenset(
    (
        models.CharField,
        models.TextField,
        models.SlugField,
        models.EmailField,
        models.URLField,
    )
)
_RELATIONS = frozenset((models.ForeignKey, models.OneToOneField))
# Decimals with more places are written with an exponent by Python (str()
# of Decimal("0.0000001")), which no database's SQL writes.
_MOST_DECIMAL_PLACES = 6


class SQLValues:
    """The SQL of one database for values as history stores them. Each
    method takes the SQL of a column (or of an expression of its type)."""

    null = "'null'"  # JSON null, as the value columns take it.
    json_parameter = "%s"  # A JSON document given as a parameter.

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def json(self, field: models.Field, column: str) -> str | None:
        """The JSON of ``column``'s value as ``ValueEncoder`` encodes it
        (JSON null for NULL), or None where this database has no equal SQL."""
        if type(field) in _RELATIONS:
            field = field.target_field  # A key is stored as its target's value.
        if prepares_for_database(field):
            return None
        kind = type(field)
        if kind in _INTEGERS:
            sql = self.integer(column)
        elif kind in _TEXTS:
            sql = self.text(column)
        elif kind is models.BooleanField:
            sql = self.boolean(column)
        elif kind is models.DateTimeField:
            if settings.USE_TZ and self.connection.timezone_name != "UTC":
                return None  # Read back in another zone than the one written here.
            sql = self.datetime(column, aware=settings.USE_TZ)
        elif kind is models.DateField:
            sql = self.date(column)
        elif kind is models.DecimalField:
            sql = self.decimal(field, column)
        elif kind is models.FloatField:
            sql = self.float(column)
        elif kind is models.UUIDField:
            sql = self.uuid(column)
        elif kind is models.JSONField:
            # Stored as json.dumps() wrote it, which is what revy stores, when
            # no decoder makes other values of it.
            sql = column if field.encoder is None and field.decoder is None else None
        else:
            sql = None
        return None if sql is None else f"COALESCE({sql}, {self.null})"

    def differs(self, old: str, new: str, field: models.Field) -> str:
        """Whether two values of ``field`` differ, NULLs included."""
        return f"{old} IS DISTINCT FROM {new}"

    def key_text(self, field: models.Field, column: str) -> str | None:
        """A primary key as ``content_id`` holds it (``encoding.key_text``),
        or None where this SQL has no equal."""
        if type(field) in _RELATIONS:
            field = field.target_field  # A child's key is its parent's.
        if type(field) in _INTEGERS:
            return self.integer_text(column)
        if type(field) in _TEXTS:
            return column
        return None

    def key_of_text(self, field: models.Field, text: str) -> str:
        """The primary key ``text`` (a ``content_id``) names, as the key's own
        type: what joins a history row back to its row by index."""
        if type(field) in _RELATIONS:
            field = field.target_field
        return self.text_integer(text) if type(field) in _INTEGERS else text

    # One kind of value each; None: no equal SQL here. --------------------------

    def integer(self, column: str) -> str | None:
        return self.integer_text(column)

    def integer_text(self, column: str) -> str:
        return f"CAST({column} AS TEXT)"

    def text_integer(self, text: str) -> str:
        return f"CAST({text} AS INTEGER)"

    def text(self, column: str) -> str | None:
        return f"json_quote({column})"

    def boolean(self, column: str) -> str | None:
        return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"

    def datetime(self, column: str, aware: bool) -> str | None:
        return None

    def date(self, column: str) -> str | None:
        return None

    def decimal(self, field: models.DecimalField, column: str) -> str | None:
        return None

    def float(self, column: str) -> str | None:
        return None

    def uuid(self, column: str) -> str | None:
        return None

    def quote(self, text_sql: str) -> str:
        """A text as a JSON string."""
        return f"json_quote({text_sql})"

    def hex_uuid(self, column: str) -> str:
        """Hyphened text of a UUID stored as 32 hex digits (``value.hex``)."""
        parts = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        return self.concat(*[f"substr({column}, {a}, {b})" for a, b in parts])

    def concat(self, *parts: str) -> str:
        return "(" + " || '-' || ".join(parts) + ")"


def decimal_places(field: models.DecimalField) -> int | None:
    """Places of a decimal field written without an exponent, or None."""
    places = field.decimal_places
    if places is None or places > _MOST_DECIMAL_PLACES:
        return None
    return places


class PostgreSQLValues(SQLValues):
    null = "'null'::jsonb"
    json_parameter = "(%s)::jsonb"

    def integer(self, column: str) -> str:
        return f"to_jsonb({column})"

    def integer_text(self, column: str) -> str:
        return f"({column})::text"

    def text_integer(self, text: str) -> str:
        return f"({text})::bigint"

    def text(self, column: str) -> str:
        return f"to_jsonb({column})"

    def boolean(self, column: str) -> str:
        return f"to_jsonb({column})"

    def datetime(self, column: str, aware: bool) -> str:
        # isoformat(): microseconds only when there are any; UTC as +00:00.
        utc = f"({column} AT TIME ZONE 'UTC')" if aware else column
        return (
            f"to_jsonb(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN to_char({utc}, 'US') = '000000' THEN '' "
            f"ELSE to_char({utc}, '.US') END" + (" || '+00:00')" if aware else ")")
        )

    def date(self, column: str) -> str:
        return f"to_jsonb(to_char({column}, 'YYYY-MM-DD'))"

    def decimal(self, field: models.DecimalField, column: str) -> str | None:
        # numeric(m, d) as text has exactly d places, as the quantized
        # Decimal's str() has.
        return None if decimal_places(field) is None else f"to_jsonb(({column})::text)"

    def float(self, column: str) -> str:
        # PostgreSQL writes the shortest text that reads back exactly, as
        # Python does; a value JSON cannot hold is stored as Python's str().
        return (
            f"CASE WHEN {column} = 'Infinity'::float8 THEN '\"inf\"'::jsonb "
            f"WHEN {column} = '-Infinity'::float8 THEN '\"-inf\"'::jsonb "
            f"WHEN {column} = 'NaN'::float8 THEN '\"nan\"'::jsonb "
            f"ELSE to_jsonb({column}) END"
        )

    def uuid(self, column: str) -> str:
        return f"to_jsonb(({column})::text)"

    def key_text(self, field: models.Field, column: str) -> str | None:
        if type(field) is models.UUIDField:
            return f"({column})::text"
        return super().key_text(field, column)


class SQLiteValues(SQLValues):
    def datetime(self, column: str, aware: bool) -> str:
        # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]', in UTC when aware.
        text = f"replace({column}, ' ', 'T')"
        return self.quote(f"{text} || '+00:00'" if aware else text)

    def date(self, column: str) -> str:
        return self.quote(column)

    def uuid(self, column: str) -> str:
        return self.quote(self.hex_uuid(column))

    def differs(self, old: str, new: str, field: models.Field) -> str:
        return f"{old} IS NOT {new}"


class MySQLValues(SQLValues):
    def integer_text(self, column: str) -> str:
        return f"CAST({column} AS CHAR)"

    def text_integer(self, text: str) -> str:
        return f"CAST({text} AS SIGNED)"

    def text(self, column: str) -> str:
        return self.quote(column)

    def quote(self, text_sql: str) -> str:
        return f"JSON_QUOTE({text_sql})"

    def datetime(self, column: str, aware: bool) -> str:
        # Django stores naive datetimes, in UTC when aware.
        text = (
            f"CONCAT(DATE_FORMAT({column}, '%%Y-%%m-%%dT%%H:%%i:%%s'), "
            f"IF(MICROSECOND({column}) = 0, '', DATE_FORMAT({column}, '.%%f'))"
            + (", '+00:00')" if aware else ")")
        )
        return self.quote(text)

    def date(self, column: str) -> str:
        return self.quote(f"DATE_FORMAT({column}, '%%Y-%%m-%%d')")

    def decimal(self, field: models.DecimalField, column: str) -> str | None:
        if decimal_places(field) is None:
            return None
        return self.quote(f"CAST({column} AS CHAR)")

    def uuid(self, column: str) -> str:
        if self.connection.data_types.get("UUIDField") == "uuid":
            return self.quote(f"CAST({column} AS CHAR)")  # MariaDB's own type.
        return self.quote(self.hex_uuid(column))

    def concat(self, *parts: str) -> str:
        return "CONCAT(" + ", '-', ".join(parts) + ")"

    def differs(self, old: str, new: str, field: models.Field) -> str:
        if type(field) in _TEXTS:
            # Byte for byte: a collation may find 'a' and 'A ' equal.
            return f"NOT (CAST({old} AS BINARY) <=> CAST({new} AS BINARY))"
        return f"NOT ({old} <=> {new})"
