"""``QuerySet.update()`` with its history written by the database
(decision 0028): the rows are locked, updated by key, and their history
inserted from them (``sqlwrite.py``). No row passes through Python but
the values of fields without SQL on the database, a batch at a time.

- PostgreSQL: one statement. A CTE reads the rows ``FOR NO KEY UPDATE``,
  the ``UPDATE`` joined to them returns the old values with the new, and
  the history of the changed rows is inserted by the CTEs that follow (a
  new revision only if a value changed).
- SQLite and MariaDB: the rows read go into a temporary table, the
  ``UPDATE`` takes its keys, and the changed rows go ranked into a second
  one, which the history inserts read.

The changed rows are one select (:meth:`Update._diff`): the key, its text,
each field's old and new JSON (raw, for Python to encode) and whether they
differ.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FieldError, FullResultSet
from django.db.models import BooleanField, Field, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery

from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.sqldelete import caused_by
from revy.contrib.django.backends.sqltypes import (
    SQL,
    Attribution,
    Cause,
    Compiled,
    HistoryModels,
    Parameter,
    ValuesInPython,
    Written,
)
from revy.contrib.django.backends.sqlwrite import CHANGED, HistoryWrite

# The temporary table of the rows read.
ROWS = "revy_rows"


class Update(HistoryWrite):
    """One ``QuerySet.update()`` to run with its history, where
    :meth:`can_run` and :meth:`compiled` allow, else not run at all."""

    action = "update"

    def __init__(
        self,
        backend: Backend,
        queryset: QuerySet,
        values: dict[str, Any],
        fields: Sequence[Field],
        masked: frozenset[str],
        history: HistoryModels,
        in_python: Collection[str] = (),
    ) -> None:
        super().__init__(backend, queryset, fields, masked, history, in_python)
        self.values = values

    def recorded(self) -> str:
        return self._by_field("differs").sql  # The fields whose values changed.

    def compiled(self) -> Compiled | None:
        """The locked read and the update by its keys, or None where the
        filter matches nothing (or everything) by itself, or a parent's
        fields are written: Django's own update then."""
        alias = self.connection.alias
        table, pk = self.quote(self.model._meta.db_table), self.quote(self.pk.column)
        if self.sql.history_in_one_statement:
            # Joined to the locked rows, which RETURNING then gives back too:
            # an IN (SELECT ...) would leave the planner to guess the join of
            # the old rows with the new, and far too high (JIT compiles).
            by_keys = RawSQL(f"{table}.{pk} = revy_locked.revy_pk", (), BooleanField())
        else:
            keys = f"SELECT {self.quote(self.pk.attname)} FROM {ROWS}"
            by_keys = Q(pk__in=RawSQL(keys, ()))
        # The caller's queryset, as Django's update() takes it (a value may
        # refer to its annotations), narrowed to the keys; only the keys where
        # its filter joins other tables, which Django would read apart.
        query = self.queryset.query
        if query.order_by:
            return None  # Django's update() reads an ordering its own way.
        if len(query.alias_map) > 1:
            query = QuerySet(self.model, using=alias).query
        update = query.chain(UpdateQuery)
        update.add_q(Q(by_keys))
        try:
            update.add_update_values(self.values)
        except FieldError:
            return None  # Django's own update() says what is wrong.
        update.annotations = {}  # As Django's QuerySet.update().
        if update.related_updates:
            return None  # Fields of a parent model: Django writes them apart.
        attnames = [field.attname for field in self.fields]
        locked = self.backend.lock(self.queryset).order_by("pk")
        try:
            compiler = update.get_compiler(alias)
            sql, params = compiler.as_sql()
            if self.sql.history_in_one_statement:
                where, where_params = compiler.compile(update.where)
                tail = f" WHERE {where}"
                given = tuple(params[len(params) - len(where_params) :])
                if not sql.endswith(tail) or given != tuple(where_params):
                    return None
                sql = f"{sql[: -len(tail)]} FROM revy_locked{tail}"
            return Compiled(
                SQL(
                    *locked.values_list(self.pk.attname, *attnames)
                    .query.get_compiler(alias)
                    .as_sql()
                ),
                SQL(sql, params),
            )
        except (EmptyResultSet, FullResultSet):
            return None

    # The history rows -----------------------------------------------------

    def _diff(self, source: str, pk: str, olds: list[str], news: list[str]) -> SQL:
        """The rows of ``source`` whose values changed, in key order: the key
        (``revy_pk``) and its text (``revy_key``), then for each field its
        old and new JSON and whether they differ."""
        differs = [
            self.sql.differs(old, new, field)
            for field, old, new in zip(self.fields, olds, news, strict=True)
        ]
        columns = [f"{pk} AS revy_pk", f"{self.sql.key_text(self.pk, pk)} AS revy_key"]
        params: list[Any] = []
        for i, field in enumerate(self.fields):
            for side, column in (("old", olds[i]), ("new", news[i])):
                value = self._value(field, column)
                columns.append(f"{value.sql} AS revy_{side}_{i}")
                params.extend(value.params)
            columns.append(f"{differs[i]} AS revy_differs_{i}")
        cause = self._cause(olds)
        if cause is not None:
            columns.append(f"{cause.sql} AS revy_cause")
            params.extend(cause.params)
        return SQL(
            f"SELECT {', '.join(columns)} FROM {source} WHERE "
            + " OR ".join(f"({d})" for d in differs)
            + f" ORDER BY {pk}",
            params,
        )

    def _cause(self, olds: list[str]) -> SQL | None:
        """The key of the delta that caused a changed row's update, from the
        SQL of its old values; None: no cause."""
        return None

    # Running --------------------------------------------------------------

    def run(
        self,
        compiled: Compiled,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        values: ValuesInPython,
    ) -> Written:
        """Lock, update and write the history, ``values`` encoding those of
        fields without SQL. ``revision`` is written, or new and written only
        if a value changes: by these statements, or where it needs more than
        an insert by ``write_revision()``, which gives its key (not in one
        statement)."""
        if self.sql.history_in_one_statement:
            return self._run_in_one_statement(compiled, attribution, revision, values)
        return self._run_staged(compiled, attribution, revision, write_revision, values)

    def _run_in_one_statement(
        self,
        compiled: Compiled,
        attribution: Attribution,
        revision: Any,
        values: ValuesInPython,
    ) -> Written:
        quote = self.quote
        table = quote(self.model._meta.db_table)
        count = len(self.fields)
        olds = [f"revy_old_{i}" for i in range(count)]
        news = [f"revy_new_{i}" for i in range(count)]
        returning = ", ".join(
            [
                f"{table}.{quote(self.pk.column)}",
                *(f"revy_locked.{old}" for old in olds),
                *(f"{table}.{quote(f.column)}" for f in self.fields),
            ]
        )
        diff = self._diff(
            "revy_changed c",
            "c.revy_pk",
            [f"c.{old}" for old in olds],
            [f"c.{new}" for new in news],
        )
        written = [
            SQL(
                f"revy_locked (revy_pk, {', '.join(olds)}) AS MATERIALIZED "
                f"({compiled.locked.sql})",
                compiled.locked.params,
            ),
            SQL(
                f"revy_changed (revy_pk, {', '.join(olds + news)}) AS "
                f"({compiled.write.sql} RETURNING {returning})",
                compiled.write.params,
            ),
        ]
        shape = self._no_rows(
            ["revy_pk", *olds, *news], [self.pk, *self.fields, *self.fields]
        )
        return self._in_one_statement(
            written, diff, shape, attribution, revision, values
        )

    def _run_staged(
        self,
        compiled: Compiled,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        values: ValuesInPython,
    ) -> Written:
        sql, quote = self.sql, self.quote
        table = quote(self.model._meta.db_table)
        # The staged rows' columns are named by attname, the table's by column.
        pk = f"o.{quote(self.pk.attname)}"
        diff = self._diff(
            f"{ROWS} o JOIN {table} ON {table}.{quote(self.pk.column)} = {pk}",
            pk,
            [f"o.{quote(f.attname)}" for f in self.fields],
            [f"{table}.{quote(f.column)}" for f in self.fields],
        )
        tables = (ROWS, CHANGED, *self.encoded)
        with self.connection.cursor() as cursor:
            sql.unstage(cursor, tables, before=True)
            sql.stage(
                cursor,
                ROWS,
                quote(self.pk.attname),
                compiled.locked.sql,
                compiled.locked.params,
            )
            try:
                cursor.execute(compiled.write.sql, compiled.write.params)
                updated = cursor.rowcount
                rank = sql.stage_ranked(cursor, CHANGED, diff.sql, diff.params)
                written = self._insert_staged(
                    cursor, attribution, revision, write_revision, f"d.{rank}", values
                )
            finally:
                sql.unstage(cursor, tables, before=False)
        return Written(updated, *written)


class SetByDeletion(Update):
    """A deletion's ``SET_NULL``, ``SET_DEFAULT`` or ``SET()``: the foreign
    key ``field`` set to ``value`` on the rows of ``queryset``, which point
    at rows the deletion deletes. Each update delta carries the deletion's
    description, and is caused by the delete of the row its key pointed at
    (``cause``: those deletes; None where they are not recorded)."""

    def __init__(
        self,
        backend: Backend,
        queryset: QuerySet,
        field: Field,
        value: Any,
        masked: frozenset[str],
        history: HistoryModels,
        cause: Cause | None,
        in_python: Collection[str] = (),
    ) -> None:
        super().__init__(
            backend, queryset, {field.name: value}, [field], masked, history, in_python
        )
        self.cause = cause

    def compiled(self) -> Compiled | None:
        if self.cause and not self.cause.in_sql():
            return None  # Too many causes for a CASE, and no table: Python's.
        return super().compiled()

    def deletion_values(self, attribution: Attribution) -> dict[str, Any]:
        return {
            "deletion_description": Parameter(attribution.deletion_description),
            "cause_id": "d.revy_cause" if self.cause else Parameter(None),
        }

    def _cause(self, olds: list[str]) -> SQL | None:
        if self.cause is None:
            return None
        return caused_by([self.cause], olds, self.connection)
