"""The SQL of history written by the database (``sqlupdate.py``): values
as history stores them, keys as ``content_id`` holds them, the keys the
object deltas of an ``INSERT ... SELECT`` take, and the temporary tables
of the rows a write reads. :class:`Dialect` has what most databases share;
each database's subclass is in its module (``postgresql.py``,
``sqlite.py``, ``mysql.py``).

Each value is encoded in the database's own SQL, equal to what
``encoding.ValueEncoder`` makes of the value Django reads from the column:
it decodes to the same value and compares equal as JSON. The text may
differ (PostgreSQL writes ``100`` for Python's ``100.0``, MariaDB keeps a
non-ASCII character that Python's JSON escapes). A field with no equal
SQL here (:meth:`Dialect.json` gives None) is encoded by Python: floats
on SQLite and MariaDB (their SQL rounds), decimals of more than 6 places
(Python writes ``1E-7``) and, on SQLite, every decimal (it may hold more
places than the field, which Django rounds half to even as it reads
them), times, durations, binary data, IP addresses, files, and every
field class revy does not know.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import NotSupportedError, models
from django.db.backends.base.base import BaseDatabaseWrapper

from revy.contrib.django.encoding import (
    INTEGER_FIELDS,
    TEXT_FIELDS,
    prepares_for_database,
)

_RELATIONS = frozenset((models.ForeignKey, models.OneToOneField))
# Pairs of keys a statement inserts into the table of a deletion's causes.
_PAIRS_A_STATEMENT = 10_000
# Decimals with more places are written with an exponent by Python (str()
# of Decimal("0.0000001")), which no database's SQL writes.
_MOST_DECIMAL_PLACES = 6


class Dialect:
    """The SQL of one database for history it writes itself. The value
    methods take the SQL of a column (or of an expression of its type)."""

    null = "'null'"  # JSON null, as the value columns take it.
    json_parameter = "%s"  # A JSON document given as a parameter.
    # Whether a write by filter and its history go in one statement; else
    # through a temporary table of the rows read (:meth:`stage`).
    history_in_one_statement = False
    # A SELECT that joins its tables in the order they are written (SQLite
    # joins a CROSS JOIN in that order).
    select_in_order = "SELECT"
    # Whether rows read go into temporary tables here (:meth:`stage_ranked`),
    # and the INSERT that skips a row whose key such a table holds.
    stages_rows = False
    insert_skipping_conflicts = ""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    # Keys of the object deltas, and the rows read -----------------------------

    def keys_known_before_insert(self, model: type[models.Model]) -> bool:
        """Whether the keys of the rows of ``model`` that one ``INSERT ...
        SELECT`` inserts can be known: taken from a sequence beforehand
        (:meth:`key_sequence`), or following each other from
        :meth:`first_inserted_key`."""
        return False

    def key_sequence(self, model: type[models.Model]) -> str:
        """The SQL that takes the next key of ``model`` from its sequence."""
        raise NotSupportedError("keys come from no sequence here")

    def first_inserted_key(self, cursor: Any) -> Any:
        """The first key the ``INSERT ... SELECT`` just run on ``cursor``
        inserted; the others follow it."""
        raise NotSupportedError("keys come from a sequence here")

    def stage(
        self, cursor: Any, table: str, key: str, select: str, params: Sequence[Any]
    ) -> None:
        """Create the temporary ``table`` of the rows ``select`` reads, in
        the open transaction, indexed on their ``key`` column where the
        database needs it to join them."""
        raise NotSupportedError("history in SQL goes in one statement here")

    def stage_ranked(
        self, cursor: Any, table: str, select: str, params: Sequence[Any]
    ) -> str:
        """Create the temporary ``table`` of the rows ``select`` reads, each
        with its rank in their order (1, 2, ...); the rank's column."""
        raise NotSupportedError("rows read go into no temporary table here")

    def stage_encoded(self, cursor: Any, table: str, columns: Sequence[str]) -> None:
        """Create the temporary ``table`` of values encoded in Python, by the
        rank of their row (``revy_rank``): ``columns`` of JSON text."""
        texts = "".join(f", {column} {self.json_text_type}" for column in columns)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} "
            f"(revy_rank {self.rank_type} PRIMARY KEY{texts})",
            (),
        )

    # The types of the columns of stage_encoded()'s table.
    rank_type = "BIGINT"
    json_text_type = "TEXT"

    def insert_encoded(
        self, cursor: Any, table: str, names: Sequence[str], rows: list[list[Any]]
    ) -> None:
        """Insert ``rows`` (a rank, then a JSON text per name) into the
        ``table`` of :meth:`stage_encoded`."""
        cursor.executemany(
            f"INSERT INTO {table} (revy_rank, {', '.join(names)}) "
            f"VALUES (%s{', %s' * len(names)})",
            rows,
        )

    def stage_causes(
        self,
        cursor: Any,
        table: str,
        key_type: str,
        pairs: Iterable[tuple[Any, Any]],
    ) -> None:
        """Create the temporary ``table`` of ``pairs`` (a key of type
        ``key_type``, and the key of the delete delta it names: columns
        ``revy_key`` and ``revy_delta``), the first pair of a key kept,
        indexed by the key; inserted a slice at a time."""
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} "
            f"(revy_key {key_type} PRIMARY KEY, revy_delta BIGINT)",
            (),
        )
        pairs = iter(pairs)
        while chunk := list(itertools.islice(pairs, _PAIRS_A_STATEMENT)):
            self.insert_causes(cursor, table, key_type, chunk)

    def insert_causes(
        self, cursor: Any, table: str, key_type: str, pairs: list[tuple[Any, Any]]
    ) -> None:
        """Insert ``pairs`` into the ``table`` of :meth:`stage_causes`, but
        those of a key it holds."""
        # MariaDB's driver sends one INSERT of every row.
        cursor.executemany(
            f"{self.insert_skipping_conflicts} INTO {table} (revy_key, revy_delta) "
            "VALUES (%s, %s)",
            pairs,
        )

    def unstage(self, cursor: Any, tables: Sequence[str], before: bool) -> None:
        """Drop the temporary ``tables``: after the write, or ``before`` it,
        where a failed write may have left them."""
        raise NotSupportedError("history in SQL goes in one statement here")

    def delete_staged(self, table: str, key: str, staged: str) -> str:
        """The delete of the rows of ``table`` whose ``key`` column holds a
        ``revy_pk`` of the temporary table ``staged``."""
        # SQLite indexes the keys of an IN (SELECT ...) itself.
        return f"DELETE FROM {table} WHERE {key} IN (SELECT revy_pk FROM {staged})"

    # Values -------------------------------------------------------------------

    def json(self, field: models.Field, column: str) -> str | None:
        """The JSON of ``column``'s value as ``ValueEncoder`` encodes it
        (JSON null for NULL), or None where this database has no equal SQL."""
        if type(field) in _RELATIONS:
            field = field.target_field  # A key is stored as its target's value.
        if prepares_for_database(field):
            return None
        kind = type(field)
        if kind in INTEGER_FIELDS:
            sql = self.integer(column)
        elif kind in TEXT_FIELDS:
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

    def json_array(self, value: str, order: str) -> str:
        """The aggregate of the JSON ``value`` of each row into a JSON array
        in the order of ``order``, as Python's ``json.dumps()`` writes it;
        NULL for no row. Here the rows must come in that order already (an
        ordered subquery): SQLite's ``group_concat()`` keeps it."""
        return f"'[' || group_concat({value}, ', ') || ']'"

    @contextlib.contextmanager
    def long_aggregates(self, cursor: Any) -> Iterator[None]:
        """Statements on ``cursor`` that :meth:`json_array` any number of
        rows, however long the text."""
        yield

    def differs(self, old: str, new: str, field: models.Field) -> str:
        """Whether two values of ``field`` differ, NULLs included."""
        return f"{old} IS DISTINCT FROM {new}"

    def key_text(self, field: models.Field, column: str) -> str | None:
        """A primary key as ``content_id`` holds it (``encoding.key_text``),
        or None where this SQL has no equal."""
        if type(field) in _RELATIONS:
            field = field.target_field  # A child's key is its parent's.
        if type(field) in INTEGER_FIELDS:
            return self.integer_text(column)
        if type(field) in TEXT_FIELDS:
            return column
        if type(field) is models.UUIDField:
            return self.uuid_text(column)
        return None

    def key_order(self, field: models.Field, column: str) -> str | None:
        """What to order primary keys of ``field`` by for them to come as
        Python sorts them as history stores them: integers by value, text
        and UUIDs by code point (never by a collation); None where this
        SQL has no such order."""
        if type(field) in _RELATIONS:
            field = field.target_field  # A child's key is its parent's.
        if type(field) in INTEGER_FIELDS:
            return column
        text = self.key_text(field, column)
        return None if text is None else self.by_code_point(text)

    def by_code_point(self, text: str) -> str:
        """A text to order by, compared code point by code point."""
        return f"{text} COLLATE BINARY"  # Its UTF-8 bytes, compared as such.

    # One kind of value each; None: no equal SQL here. --------------------------

    def integer(self, column: str) -> str | None:
        return self.integer_text(column)

    def integer_text(self, column: str) -> str:
        return f"CAST({column} AS TEXT)"

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
        return self.quote(self.uuid_text(column))

    def uuid_text(self, column: str) -> str:
        """A UUID as ``str()`` writes it, hyphened."""
        return self.hex_uuid(column)  # Stored as 32 hex digits (value.hex).

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
