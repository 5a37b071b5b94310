"""The delete of a queryset with its history written by the database
(decision 0028): what ``Collector.delete`` deletes without loading it (a
``QuerySet.delete()`` of rows nothing else refers to, a cascade's rows of
such a model). No row passes through Python (``sqlwrite.py``) but the
values of fields without SQL on the database, a batch at a time.

- PostgreSQL: one statement. The ``DELETE`` returns the rows it deleted,
  as they stood, and the CTEs that follow insert their history.
- SQLite and MariaDB: the rows read (locked on MariaDB) go ranked into a
  temporary table, their values already encoded; the ``DELETE`` takes its
  keys, and the history inserts read it.

A delete delta records every field's last value; a row whose foreign key
points at a row deleted before it in the same deletion is caused by that
row's delete (:class:`~.sqltypes.Cause`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.sql import DeleteQuery

from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.sqltypes import (
    SQL,
    Attribution,
    Cause,
    Compiled,
    HistoryModels,
    Parameter,
    ValuesInPython,
    Written,
    prepared_causes,
)
from revy.contrib.django.backends.sqlwrite import CHANGED, HistoryWrite


class Delete(HistoryWrite):
    """One delete of the rows of ``queryset`` to run with its history, where
    :meth:`can_run` and :meth:`compiled` allow, else not run at all."""

    action = "delete"
    sides = ("old",)  # A delete has no new side.

    def __init__(
        self,
        backend: Backend,
        queryset: QuerySet,
        fields: Sequence[Field],
        masked: frozenset[str],
        history: HistoryModels,
        causes: Sequence[Cause],
        in_python: Collection[str] = (),
    ) -> None:
        super().__init__(backend, queryset, fields, masked, history, in_python)
        self.causes = list(causes)

    def deletion_values(self, attribution: Attribution) -> dict[str, Any]:
        return {
            "deletion_description": Parameter(attribution.deletion_description),
            "cause_id": "d.revy_cause" if self.causes else Parameter(None),
        }

    def new_value(self) -> str:
        return "NULL"  # A delete has no new side.

    def compiled(self) -> Compiled | None:
        """The delete, and the locked read of its rows where it does not
        return them; None where the filter matches nothing (or everything)
        by itself, or where a cause has more rows than a CASE holds and no
        table (``staging.CauseTables``): recorded in Python then."""
        if not all(cause.in_sql() for cause in self.causes):
            return None
        alias = self.connection.alias
        table = self.quote(self.model._meta.db_table)
        pk = self.quote(self.pk.column)
        try:
            if self.sql.history_in_one_statement:
                # RETURNING in the order of revy_changed's columns.
                query = self.queryset.query.clone()
                query.__class__ = DeleteQuery  # As Django's own _raw_delete().
                sql, params = query.get_compiler(alias).as_sql()
                columns = [self.pk, *self.fields, *(c.field for c in self.causes)]
                returning = ", ".join(
                    f"{table}.{self.quote(f.column)}" for f in columns
                )
                return Compiled(None, SQL(f"{sql} RETURNING {returning}", params))
            # The rows read as history stores them, in key order.
            deleted = self._deleted(
                f"{table}.{pk}",
                [f"{table}.{self.quote(f.column)}" for f in self.fields],
                [f"{table}.{self.quote(c.field.column)}" for c in self.causes],
            )
            locked = (
                self.backend.lock(self.queryset, for_delete=True)
                .annotate(
                    **{
                        name: RawSQL(*column, output_field=TextField())
                        for name, column in deleted.items()
                    }
                )
                .order_by("pk")
                .values_list(*deleted)
            )
            return Compiled(
                SQL(*locked.query.get_compiler(alias).as_sql()),
                SQL(self.sql.delete_staged(table, pk, CHANGED), ()),
            )
        except (EmptyResultSet, FullResultSet):
            return None

    def _deleted(self, pk: str, olds: list[str], keys: list[str]) -> dict[str, SQL]:
        """The columns of a deleted row, by name: the key (``revy_pk``) and
        its text (``revy_key``), each field's JSON, and its cause, from the
        SQL of its key, its fields and the foreign keys ``keys`` of
        :attr:`causes`."""
        columns = {
            "revy_pk": SQL(pk, ()),
            "revy_key": SQL(str(self.sql.key_text(self.pk, pk)), ()),
        }
        for i, (field, column) in enumerate(zip(self.fields, olds, strict=True)):
            columns[f"revy_old_{i}"] = self._value(field, column)
        if self.causes:
            columns["revy_cause"] = caused_by(self.causes, keys, self.connection)
        return columns

    def run(
        self,
        compiled: Compiled,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        values: ValuesInPython,
    ) -> Written:
        """Delete and write the history, ``values`` encoding those of fields
        without SQL. ``revision`` is written, or new and written only if a
        row is deleted: by these statements, or where it needs more than an
        insert by ``write_revision()`` (not in one statement)."""
        if self.sql.history_in_one_statement:
            olds = [f"revy_old_{i}" for i in range(len(self.fields))]
            keys = [f"revy_fk_{i}" for i in range(len(self.causes))]
            columns = self._deleted(
                "c.revy_pk", [f"c.{old}" for old in olds], [f"c.{key}" for key in keys]
            )
            deleted = SQL(
                "SELECT "
                + ", ".join(f"{c.sql} AS {name}" for name, c in columns.items())
                + " FROM revy_changed c ORDER BY c.revy_pk",
                [param for column in columns.values() for param in column.params],
            )
            written = [
                SQL(
                    f"revy_changed ({', '.join(['revy_pk', *olds, *keys])}) AS "
                    f"({compiled.write.sql})",
                    compiled.write.params,
                )
            ]
            shape = self._no_rows(
                ["revy_pk", *olds, *keys],
                [self.pk, *self.fields, *(c.field for c in self.causes)],
            )
            return self._in_one_statement(
                written, deleted, shape, attribution, revision, values
            )
        assert compiled.locked is not None
        tables = (CHANGED, *self.encoded)
        with self.connection.cursor() as cursor:
            self.sql.unstage(cursor, tables, before=True)
            rank = self.sql.stage_ranked(
                cursor, CHANGED, compiled.locked.sql, compiled.locked.params
            )
            try:
                cursor.execute(compiled.write.sql, compiled.write.params)
                count = cursor.rowcount
                written = (None, None, None)  # Nothing deleted: no history.
                if count:
                    written = self._insert_staged(
                        cursor,
                        attribution,
                        revision,
                        write_revision,
                        f"d.{rank}",
                        values,
                    )
            finally:
                self.sql.unstage(cursor, tables, before=False)
        return Written(count, *written)


def caused_by(
    causes: Sequence[Cause], keys: list[str], connection: BaseDatabaseWrapper
) -> SQL:
    """The key of the delete delta the first of the foreign keys ``keys``
    (SQL, those of ``causes``) that points at a deleted row points at, else
    NULL."""
    cases, params = [], []
    for cause, key in zip(causes, keys, strict=True):
        if cause.table is not None:
            cases.append(
                f"(SELECT k.revy_delta FROM {cause.table} k WHERE k.revy_key = {key})"
            )
            continue
        whens = []
        for value, delta in prepared_causes(cause, connection):
            whens.append("WHEN %s THEN %s")
            params += [value, delta]
        cases.append(f"CASE {key} {' '.join(whens)} END")
    if len(cases) == 1:
        return SQL(cases[0], params)
    return SQL(f"COALESCE({', '.join(cases)})", params)
