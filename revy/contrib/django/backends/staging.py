"""The keys of a large locked read, found once: staged in a temporary table.

A write by filter reads its rows a batch at a time. Read by the filter
again for each batch (``pk > last``), a filter the database cannot walk in
key order is evaluated once per batch: a cascade's ``parent__in=[every
parent]`` made a delete of 10^5 rows take 40 times the delete of 10^4.
Staged once, in the open transaction and with the read's lock, the keys
are read back a batch at a time by their rank (decision 0019).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import suppress

from django.db import DatabaseError, connections
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

from revy.contrib.django.backends.base import Backend

# Each staging its own table: a read of one may run inside another's
# batches (the rows the database deletes with a batch).
_TABLE_NUMBERS = itertools.count()


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
        # After a failed statement PostgreSQL refuses any other until the
        # rollback, which drops the table then.
        with suppress(DatabaseError), connection.cursor() as cursor:
            dialect.unstage(cursor, [table], before=False)
