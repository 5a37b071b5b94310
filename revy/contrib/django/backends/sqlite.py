"""SQLite: its real parameter limit, and one short statement per row; the
SQL of history the database writes (``SQLiteDialect``).

Django 5.2 caps SQLite at 999 parameters where SQLite takes far more, so
batches follow the connection's own limit. Many rows that need no keys back
go as one ``executemany``: SQLite runs one short statement for each row
faster than it parses a long one. Keys read by several statements go as one
JSON parameter, so that no statement grows with them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from django.db import models
from django.db.models import Field, QuerySet

from revy.contrib.django import conf
from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.dialect import Dialect
from revy.contrib.django.backends.plan import Plan

# Keys that JSON carries as they are and json_each hands back equal.
_JSON_KEY_TYPES = {int, str}


class SQLiteDialect(Dialect):
    stages_rows = True
    insert_skipping_conflicts = "INSERT OR IGNORE"
    rank_type = "INTEGER"  # The table's rowid.

    def keys_known_before_insert(self, model: type[models.Model]) -> bool:
        return model._meta.pk is model._meta.auto_field

    def first_inserted_key(self, cursor: Any) -> Any:
        # The last row's; one writer at a time, so the keys follow each other.
        return cursor.lastrowid - cursor.rowcount + 1

    def stage(
        self, cursor: Any, table: str, key: str, select: str, params: Sequence[Any]
    ) -> None:
        # No index: the rows are joined by the table's own key (its rowid),
        # and SQLite indexes an IN (SELECT ...) itself.
        cursor.execute(f"CREATE TEMP TABLE {table} AS {select}", params)

    def stage_ranked(
        self, cursor: Any, table: str, select: str, params: Sequence[Any]
    ) -> str:
        # Rows go in in the order selected: their rowids are their ranks.
        cursor.execute(f"CREATE TEMP TABLE {table} AS {select}", params)
        return "rowid"

    def unstage(self, cursor: Any, tables: Sequence[str], before: bool) -> None:
        if before:
            return  # A failed write leaves none: SQLite undoes their creation.
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS temp.{table}", ())

    def datetime(self, column: str, aware: bool) -> str:
        # Django stores 'YYYY-MM-DD HH:MM:SS[.ffffff]', in UTC when aware.
        text = f"replace({column}, ' ', 'T')"
        return self.quote(f"{text} || '+00:00'" if aware else text)

    def date(self, column: str) -> str:
        return self.quote(column)

    def differs(self, old: str, new: str, field: models.Field) -> str:
        return f"{old} IS NOT {new}"


class SQLitePlan(Plan):
    def batch_size(self) -> int:
        if self.returning:
            return super().batch_size()
        return conf.batch_size()

    def run_batch(self, cursor: Any, columns: list[list[Any]]) -> None:
        if self.returning:
            super().run_batch(cursor, columns)
        else:
            sql = self.head + "VALUES " + self.row_sql
            cursor.executemany(sql, list(zip(*columns, strict=True)))


class SQLiteBackend(Backend):
    dialect_class = SQLiteDialect
    plan_class = SQLitePlan
    # A transaction that has read and then writes fails ("database is
    # locked") if another connection wrote in between.
    writes_alone = True

    def max_parameters(self) -> int:
        self.connection.ensure_connection()
        return self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    def check_foreign_keys(self, tables: list[str]) -> None:
        # Django's foreign keys are deferred here, and cannot be made not to.
        self.connection.check_constraints(table_names=tables)

    def locking(self, queryset: QuerySet, for_delete: bool) -> QuerySet:
        # One writer at a time: a transaction that has read and then writes
        # fails ("database is locked") if another wrote in between, rather
        # than writing what it did not read.
        return queryset

    def driver_cursor(self) -> Any:
        # sqlite3's own cursor: Django's converts each query's parameters.
        self.connection.ensure_connection()
        return self.connection.connection.cursor()

    def driver_sql(self, sql: str) -> str:
        self.connection.ensure_connection()
        cursor = self.connection.create_cursor()  # Django's, for its conversion.
        try:
            return cursor.convert_query(sql)
        finally:
            cursor.close()

    def in_values(self, field: Field, values: list[Any]) -> tuple[str, list[Any]]:
        # The keys as one JSON parameter: sqlite3 keeps each statement it ran
        # in the connection's cache, with room for all its parameters (a
        # many-to-many remove() of 200,000 members kept 92 MB so), and a
        # statement holds at most 250,000 of them.
        if (
            set(map(type, values)) <= _JSON_KEY_TYPES
            and self.connection.features.supports_json_field
        ):
            return "IN (SELECT value FROM json_each(%s))", [json.dumps(values)]
        return super().in_values(field, values)

    def json_quote(self, sql: str) -> str:
        return f"JSON_QUOTE({sql})"
