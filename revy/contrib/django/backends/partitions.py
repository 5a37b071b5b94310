"""PostgreSQL's SQL for history partitioned by key range: what
``revy.contrib.django.partitions`` asks of the database (decision 0026).
Each function takes an open cursor, inside the caller's transaction."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from django.db.backends.utils import truncate_name

__all__ = [
    "MAX_NAME",
    "Partition",
    "ForeignKey",
    "add_foreign_key",
    "attach_first",
    "create_default",
    "create_range",
    "drop",
    "drop_foreign_key",
    "foreign_keys_touching",
    "highest_key",
    "is_empty",
    "is_partitioned",
    "max_key_in",
    "partitions_of",
]

MAX_NAME = 63  # PostgreSQL's longest name.


class Partition(NamedTuple):
    """One partition of a history table: keys from ``lower`` (None: no
    lower bound) up to ``upper`` (excluded); both None for the default."""

    table: str
    name: str
    lower: int | None
    upper: int | None
    is_default: bool
    estimated_rows: int


class ForeignKey(NamedTuple):
    """A foreign key, with the definition that recreates it."""

    table: str
    name: str
    definition: str


def is_partitioned(cursor: Any, table: str) -> bool:
    cursor.execute(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table]
    )
    row = cursor.fetchone()
    return bool(row and row[0])


_BOUND = re.compile(r"FROM \((.+?)\) TO \((.+?)\)")


def _bound(text: str) -> int | None:
    text = text.strip("'")
    return None if text in ("MINVALUE", "MAXVALUE") else int(text)


def partitions_of(cursor: Any, table: str) -> list[Partition]:
    """``table``'s partitions, the default last, the others by key."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), "
        "greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [table],
    )
    found = []
    for name, bound, rows in cursor.fetchall():
        match = _BOUND.search(bound)
        if match is None:
            found.append(Partition(table, name, None, None, True, rows))
        else:
            lower, upper = (_bound(value) for value in match.groups())
            found.append(Partition(table, name, lower, upper, False, rows))
    return sorted(
        found, key=lambda p: (p.is_default, p.lower is not None, p.lower or 0)
    )


class _Sequence(NamedTuple):
    name: str  # Quoted, with its schema.
    last_value: int
    is_called: bool


def _sequence(cursor: Any, table: str, key: str) -> _Sequence:
    """The sequence that gives ``table`` its keys, and where it stands."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, key])
    (name,) = cursor.fetchone()
    cursor.execute(f"SELECT last_value, is_called FROM {name}")
    return _Sequence(name, *cursor.fetchone())


def highest_key(cursor: Any, table: str, key: str) -> int:
    """The highest key ``table`` holds or its sequence has given out."""
    return _highest(cursor, table, key, _sequence(cursor, table, key))


def _highest(cursor: Any, table: str, key: str, sequence: _Sequence) -> int:
    quote = cursor.db.ops.quote_name
    cursor.execute(f"SELECT max({quote(key)}) FROM {quote(table)}")
    (held,) = cursor.fetchone()
    given = sequence.last_value - (0 if sequence.is_called else 1)
    return max(given, held or 0)


def foreign_keys_touching(cursor: Any, tables: list[str]) -> list[ForeignKey]:
    """Every foreign key from or to ``tables``. The definitions name the
    tables: once converted, they are the partitioned ones."""
    cursor.execute(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' AND "
        "(k.conrelid = ANY(%s::regclass[]) OR k.confrelid = ANY(%s::regclass[])) "
        "ORDER BY 1, 2",
        [tables, tables],
    )
    return [ForeignKey(*row) for row in cursor.fetchall()]


def drop_foreign_key(cursor: Any, key: ForeignKey) -> None:
    quote = cursor.db.ops.quote_name
    cursor.execute(f"ALTER TABLE {quote(key.table)} DROP CONSTRAINT {quote(key.name)}")


def add_foreign_key(cursor: Any, key: ForeignKey) -> None:
    """``key`` again, checked against every row it covers."""
    quote = cursor.db.ops.quote_name
    cursor.execute(
        f"ALTER TABLE {quote(key.table)} ADD CONSTRAINT {quote(key.name)} "
        f"{key.definition}"
    )


def attach_first(cursor: Any, table: str, first: str, size: int) -> bool:
    """Make plain ``table`` a table partitioned by ranges of its key, with
    its rows as the partition ``first`` (renamed, attached as it is) and its
    primary key, indexes, identity and defaults; the foreign keys and
    triggers are the caller's. Whether keys below 1 were there (folds of an
    earlier pruning), which ``first`` then takes."""
    quote = cursor.db.ops.quote_name
    cursor.execute(
        "SELECT a.attname, a.attidentity, k.conname FROM pg_constraint k "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
        "WHERE k.conrelid = %s::regclass AND k.contype = 'p'",
        [table],
    )
    key, identity, primary_key = cursor.fetchone()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
        [table],
    )
    indexes = cursor.fetchall()
    sequence = _sequence(cursor, table, key)
    cursor.execute(f"SELECT min({quote(key)}) FROM {quote(table)}")
    (lowest,) = cursor.fetchone()
    upper = (_highest(cursor, table, key, sequence) // size + 1) * size

    cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(first)}")
    cursor.execute(
        f"ALTER TABLE {quote(first)} RENAME CONSTRAINT {quote(primary_key)} "
        f"TO {quote(truncate_name(first + '_pkey', MAX_NAME))}"
    )
    for number, (index, _definition) in enumerate(indexes):
        renamed = truncate_name(f"{first}_{number}", MAX_NAME)
        cursor.execute(f"ALTER INDEX {index} RENAME TO {quote(renamed)}")
    if identity:
        cursor.execute(
            f"ALTER TABLE {quote(first)} ALTER COLUMN {quote(key)} DROP IDENTITY"
        )
    cursor.execute(
        f"CREATE TABLE {quote(table)} (LIKE {quote(first)} INCLUDING DEFAULTS "
        "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) "
        f"PARTITION BY RANGE ({quote(key)})"
    )
    if identity:
        kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
        cursor.execute(
            f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(key)} ADD GENERATED "
            f"{kind} AS IDENTITY"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
            [table, key, sequence.last_value, sequence.is_called],
        )
    else:  # A serial column: its sequence goes with the partitioned table.
        cursor.execute(
            f"ALTER SEQUENCE {sequence} OWNED BY {quote(table)}.{quote(key)}"
        )
        cursor.execute(
            f"ALTER TABLE {quote(first)} ALTER COLUMN {quote(key)} DROP DEFAULT"
        )
    cursor.execute(
        f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(primary_key)} "
        f"PRIMARY KEY ({quote(key)})"
    )
    for _index, definition in indexes:
        cursor.execute(definition)  # It names the table: now the partitioned one.
    folded_before = lowest is not None and lowest < 1
    cursor.execute(
        f"ALTER TABLE {quote(table)} ATTACH PARTITION {quote(first)} "
        f"FOR VALUES FROM ({'MINVALUE' if folded_before else 1}) TO ({upper})"
    )
    return folded_before


def create_range(
    cursor: Any, table: str, name: str, lower: int | None, upper: int
) -> None:
    """A partition of ``table`` for keys from ``lower`` (None: every key
    below ``upper``) up to ``upper``."""
    quote = cursor.db.ops.quote_name
    start = "MINVALUE" if lower is None else lower
    cursor.execute(
        f"CREATE TABLE {quote(name)} PARTITION OF {quote(table)} "
        f"FOR VALUES FROM ({start}) TO ({upper})"
    )


def create_default(cursor: Any, table: str, name: str) -> None:
    quote = cursor.db.ops.quote_name
    cursor.execute(f"CREATE TABLE {quote(name)} PARTITION OF {quote(table)} DEFAULT")


def max_key_in(cursor: Any, partition: str, key: str) -> int | None:
    quote = cursor.db.ops.quote_name
    cursor.execute(f"SELECT max({quote(key)}) FROM {quote(partition)}")
    return cursor.fetchone()[0]


def is_empty(cursor: Any, partition: str) -> bool:
    quote = cursor.db.ops.quote_name
    cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {quote(partition)})")
    return cursor.fetchone()[0]


def drop(cursor: Any, table: str, partition: str) -> None:
    """Detach ``partition`` from ``table`` and drop it (a moment's lock on
    ``table``; PostgreSQL checks that no foreign key points into it)."""
    quote = cursor.db.ops.quote_name
    cursor.execute(f"ALTER TABLE {quote(table)} DETACH PARTITION {quote(partition)}")
    cursor.execute(f"DROP TABLE {quote(partition)}")
