"""Keys staged in temporary tables, in the open transaction: sent or found
once, read many times.

- **The keys of a large locked read** (:func:`key_pages`). A write by
  filter reads its rows a batch at a time. Read by the filter again for
  each batch (``pk > last``), a filter the database cannot walk in key
  order is evaluated once per batch: a cascade's ``parent__in=[every
  parent]`` made a delete of 10^5 rows take 40 times the delete of 10^4.
  Staged once, with the read's lock, the keys are read back a batch at a
  time by their rank.
- **The causes of a deletion's deletes by filter** (:class:`CauseTables`):
  the keys of the rows deleted before them and of their delete deltas,
  which the database looks a row's cause up in by its foreign key. Sent
  once per deletion, however many querysets Django deletes by.

Decision 0019, "reads by filter of many batches, and the causes of a
cascade from many rows".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import suppress

from django.db import DatabaseError, connections
from django.db.models import F, Model, QuerySet, UUIDField
from django.db.models.expressions import RawSQL

from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.sqltypes import Cause, prepared_causes
from revy.contrib.django.encoding import INTEGER_FIELDS

__all__ = ["CauseTables", "key_pages"]

# Each staging its own table: a read of one may run inside another's
# batches (the rows the database deletes with a batch), a deletion inside
# another's signal receivers.
_TABLE_NUMBERS = itertools.count()
# Keys that compare in a temporary table exactly as in their own: text may
# take another collation there.
_EXACT_KEYS = (*INTEGER_FIELDS, UUIDField)


def key_pages(backend: Backend, queryset: QuerySet, size: int) -> Iterator[QuerySet]:
    """Querysets of the rows ``queryset`` (locked, as ``Backend.lock``
    gives it) finds, ``size`` at a time in key order: its keys staged once,
    each page reading its rows by theirs. A row gone since is not read."""
    connection = connections[queryset.db]
    dialect = backend.dialect
    table = f"revy_keys_{next(_TABLE_NUMBERS)}"
    keys = queryset.annotate(revy_pk=F("pk")).order_by("pk").values_list("revy_pk")
    sql, params = keys.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        rank = dialect.stage_ranked(cursor, table, sql, params)
        cursor.execute(f"SELECT MAX({rank}) FROM {table}", ())
        [(last,)] = cursor.fetchall()
    try:
        rows = queryset.model._base_manager.db_manager(queryset.db)
        for start in range(1, (last or 0) + 1, size):
            page = f"SELECT revy_pk FROM {table} WHERE {rank} BETWEEN %s AND %s"
            yield rows.filter(pk__in=RawSQL(page, (start, start + size - 1)))
    finally:
        _drop(backend, [table])


class CauseTables:
    """The temporary tables of the causes of one deletion's deletes by
    filter, one per model pointed at, each staged at its first use and kept
    until :meth:`drop`: the causes are the rows the deletion recorded
    first, the same for every queryset Django then deletes by."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.tables: dict[type[Model], str] = {}

    def cause(self, cause: Cause) -> Cause:
        """``cause``, to be looked up in its table where it has more rows
        than a ``CASE`` holds (and keys that compare exactly there)."""
        if (
            cause.fits_in_case()
            or type(cause.field.target_field) not in _EXACT_KEYS
            or not self.backend.dialect.stages_rows
        ):
            return cause
        model = cause.field.remote_field.model._meta.concrete_model
        table = self.tables.get(model)
        if table is None:
            connection = self.backend.connection
            table = f"revy_causes_{next(_TABLE_NUMBERS)}"
            with connection.cursor() as cursor:
                self.backend.dialect.stage_causes(
                    cursor,
                    table,
                    cause.field.db_type(connection),
                    prepared_causes(cause, connection),
                )
            self.tables[model] = table
        return cause._replace(table=table)

    def drop(self) -> None:
        _drop(self.backend, list(self.tables.values()))
        self.tables.clear()


def _drop(backend: Backend, tables: list[str]) -> None:
    if not tables:
        return
    # After a failed statement PostgreSQL refuses any other until the
    # rollback, which drops the tables then.
    with suppress(DatabaseError), backend.connection.cursor() as cursor:
        backend.dialect.unstage(cursor, tables, before=False)
