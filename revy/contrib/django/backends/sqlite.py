"""SQLite: its real parameter limit, and one short statement per row.

Django 5.2 caps SQLite at 999 parameters where SQLite takes far more, so
batches follow the connection's own limit. Many rows that need no keys back
go as one ``executemany``: SQLite runs one short statement for each row
faster than it parses a long one.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db.models import QuerySet

from revy.contrib.django import conf
from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.dialect import SQLiteDialect
from revy.contrib.django.backends.plan import Plan


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

    def json_quote(self, sql: str) -> str:
        return f"JSON_QUOTE({sql})"
