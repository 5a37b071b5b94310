"""PostgreSQL partitions of the history, by key range (decision 0026).

The object delta and attribute delta tables (the history models in use,
swapped ones too) can be kept as tables partitioned by ranges of their
keys: ``REVY_PARTITION_SIZE`` keys each (default 10,000,000). Keys grow as
history is written, so each partition holds a stretch of time. Pruning
moves every fold below every key (``foldkeys.py``), so a stretch pruned
whole leaves its partition empty, and the partition is dropped, which
gives its space back at once, unlike deleted rows.

- :func:`convert` turns plain history tables into partitioned ones, in one
  transaction: the existing table becomes the first partition as it is
  (attached, not copied), with its indexes; keys, constraints, foreign keys
  and revy's triggers are kept. Beside it: ``<table>_folds`` (keys below 1,
  where pruning puts folds) and ``<table>_default`` (keys beyond every
  range, so that a write never fails for want of a partition).
- :func:`maintain` creates the partitions ``REVY_PARTITIONS_AHEAD`` ranges
  beyond the highest key written, and drops the partitions below it that
  pruning emptied. Rows that reached the default partition stay there; the
  next range starts right above them.
- :class:`PartitionHistoryTables`, a migration operation, converts on
  PostgreSQL and does nothing elsewhere: SQLite and MariaDB keep plain
  tables.

``manage.py revy_partitions`` runs these; docs/scale.md says how to size
and schedule them. The SQL is PostgreSQL's, in ``backends/partitions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.utils import truncate_name
from django.db.migrations.operations.base import Operation

from revy.contrib.django import backends, conf
from revy.contrib.django.backends import guards
from revy.contrib.django.backends import partitions as sql
from revy.contrib.django.backends.partitions import Partition

__all__ = [
    "Maintenance",
    "Partition",
    "PartitionHistoryTables",
    "PartitionsNeedPostgreSQL",
    "convert",
    "is_partitioned",
    "maintain",
    "partitioned_tables",
    "partitions",
    "unpartitioned",
]

FOLDS, DEFAULT = "folds", "default"


class PartitionsNeedPostgreSQL(Exception):
    """Partitions were asked of a database other than PostgreSQL."""


@dataclass
class Maintenance:
    """What :func:`maintain` did (or, dry, would do): partition names."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    dry_run: bool = False


class _Table(NamedTuple):
    name: str
    key: str  # Its key's column: the partition key.


def _tables() -> list[_Table]:
    history = conf.history_models()
    return [
        _Table(model._meta.db_table, model._meta.pk.column)
        for model in (history.object_delta, history.attribute_delta)
    ]


def partitioned_tables() -> list[str]:
    """The tables revy partitions: those of the object and attribute deltas
    in use. Revisions stay one plain table (one row per transaction, and
    each fold keeps its revision)."""
    return [table.name for table in _tables()]


def _connection(using: str) -> Any:
    connection = connections[using]
    if not backends.of(connection).supports_partitions:
        raise PartitionsNeedPostgreSQL(
            f"History partitions are a PostgreSQL feature; database {using!r} is "
            f"{connection.display_name}, where history stays in plain tables."
        )
    return connection


def is_partitioned(table: str, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether ``table`` is a partitioned table on ``using``."""
    with _connection(using).cursor() as cursor:
        return sql.is_partitioned(cursor, table)


def unpartitioned(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The history tables :func:`convert` would partition on ``using``."""
    return [table for table in partitioned_tables() if not is_partitioned(table, using)]


def partitions(using: str = DEFAULT_DB_ALIAS) -> list[Partition]:
    """The partitions of every partitioned history table, by table and key."""
    with _connection(using).cursor() as cursor:
        return [
            partition
            for table in partitioned_tables()
            for partition in sql.partitions_of(cursor, table)
        ]


def partition_name(table: str, suffix: str | int) -> str:
    """The name of ``table``'s partition ``suffix`` (a lower bound, or
    ``folds`` or ``default``), within PostgreSQL's length for names."""
    return truncate_name(f"{table}_{suffix}", sql.MAX_NAME)


def convert(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Partition the plain history tables on ``using``, in one transaction;
    the tables converted (none if they already are). Takes their locks
    until it commits: run it when writes can wait (docs/scale.md)."""
    connection = _connection(using)
    tables = unpartitioned(using)
    if not tables:
        return []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # ALTER TABLE refuses a table with deferred checks still pending.
        connection.check_constraints()
        foreign_keys = sql.foreign_keys_touching(cursor, tables)
        for key in foreign_keys:
            sql.drop_foreign_key(cursor, key)
        guarded = [table for table in tables if guards.triggers_on(connection, table)]
        for table in guarded:
            for statement in guards.drop_statements(connection, table):
                cursor.execute(statement)
        for table in tables:
            first = partition_name(table, 1)
            if not sql.attach_first(cursor, table, first, conf.partition_size()):
                sql.create_range(cursor, table, partition_name(table, FOLDS), None, 1)
            sql.create_default(cursor, table, partition_name(table, DEFAULT))
        for key in foreign_keys:
            sql.add_foreign_key(cursor, key)
        for table in guarded:
            for statement in guards.install_statements(connection, table):
                cursor.execute(statement)
    return tables


def maintain(using: str = DEFAULT_DB_ALIAS, *, dry_run: bool = False) -> Maintenance:
    """Create the partitions ``REVY_PARTITIONS_AHEAD`` ranges beyond the
    highest key of each partitioned history table, and drop those below it
    that hold no row (pruning emptied them). Each table in a transaction;
    ``dry_run`` says what it would do."""
    connection = _connection(using)
    done = Maintenance(dry_run=dry_run)
    for table in _tables():
        with transaction.atomic(using=using), connection.cursor() as cursor:
            if not sql.is_partitioned(cursor, table.name):
                continue
            connection.check_constraints()  # As convert() does.
            found = sql.partitions_of(cursor, table.name)
            highest = sql.highest_key(cursor, table.name, table.key)
            _create_ahead(cursor, table, found, highest, done)
            _drop_emptied(cursor, table.name, found, highest, done)
    return done


def _create_ahead(
    cursor: Any, table: _Table, found: list[Partition], highest: int, done: Maintenance
) -> None:
    size = conf.partition_size()
    lower = max((p.upper for p in found if p.upper is not None), default=1)
    default = next((p for p in found if p.is_default), None)
    if default is not None:
        # Rows that reached the default stay; the next range starts above them.
        overflow = sql.max_key_in(cursor, default.name, table.key)
        if overflow is not None and overflow >= lower:
            lower = overflow + 1
    wanted = (highest // size + 1 + conf.partitions_ahead()) * size
    while lower < wanted:
        upper = (lower // size + 1) * size
        name = partition_name(table.name, lower)
        if not done.dry_run:
            sql.create_range(cursor, table.name, name, lower, upper)
        done.created.append(name)
        lower = upper


def _drop_emptied(
    cursor: Any, table: str, found: list[Partition], highest: int, done: Maintenance
) -> None:
    for partition in found:
        if partition.lower is None or partition.upper is None:
            continue  # The folds, the default.
        if partition.upper <= highest and sql.is_empty(cursor, partition.name):
            if not done.dry_run:
                sql.drop(cursor, table, partition.name)
            done.dropped.append(partition.name)


class PartitionHistoryTables(Operation):
    """A migration operation that partitions the history tables on
    PostgreSQL (:func:`convert`) and does nothing on other databases. Put it
    in a migration of the app that holds the history models, after the
    migrations that create their tables; on empty tables it is instant."""

    reversible = False
    reduces_to_sql = False

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # No model changes.

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if backends.of(schema_editor.connection).supports_partitions:
            convert(schema_editor.connection.alias)

    def describe(self) -> str:
        return "Partition revy's history tables by key range (PostgreSQL)"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [], {})
