"""``QuerySet.update()`` with its history written by the database
(decision 0028): the rows are locked, updated by key, and their history
inserted with ``INSERT ... SELECT``, values encoded in SQL
(``dialect.py``). No row passes through Python.

- PostgreSQL: one statement. A CTE reads the rows ``FOR NO KEY UPDATE``,
  the ``UPDATE`` of their keys returns the new values, the changed rows
  take object delta keys from the sequence in key order, and
  data-modifying CTEs insert the history (a new revision only if a value
  changed).
- SQLite and MariaDB: the rows read go into a temporary table, the
  ``UPDATE`` takes its keys, the changed rows go ranked into a second one,
  and one ``INSERT ... SELECT`` per history table reads it; the object
  deltas' keys follow each other, so an attribute delta finds its object
  delta's key by rank.

The changed rows are one select (:meth:`Update._diff`): the key, its text,
each field's old and new JSON and whether they differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FieldError, FullResultSet
from django.db.models import BooleanField, Field, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery

from revy.contrib.django.backends.base import Backend, Linked
from revy.contrib.django.backends.plan import Plan, attnames_of
from revy.contrib.django.backends.sqltypes import (
    ATTRIBUTE_DELTA_COLUMNS,
    OBJECT_DELTA_COLUMNS,
    SQL,
    Attribution,
    Compiled,
    HistoryModels,
    Parameter,
    Written,
)
from revy.contrib.django.encoding import mask_marker

# The temporary tables of the staged shape: the rows read, the rows changed.
_ROWS = "revy_rows"
_CHANGED = "revy_changed_rows"


class Update:
    """One ``QuerySet.update()`` to run with its history, where
    :meth:`can_run` and :meth:`compiled` allow, else not run at all."""

    def __init__(
        self,
        backend: Backend,
        queryset: QuerySet,
        values: dict[str, Any],
        fields: Sequence[Field],
        masked: frozenset[str],
        history: HistoryModels,
    ) -> None:
        self.backend = backend
        self.connection = backend.connection
        self.sql = backend.dialect
        self.quote = self.connection.ops.quote_name
        self.queryset = queryset
        self.model = queryset.model._meta.concrete_model
        self.values = values
        self.fields = list(fields)
        self.masked = masked
        self.history = history
        self.pk = self.model._meta.pk

    # What can be done in SQL ----------------------------------------------

    def can_run(self, revision: Any | None) -> bool:
        """Whether the database can write this history, given values that
        all have SQL here: the key and the history rows' columns have too,
        and object delta keys can be known. ``revision``: a new one to
        insert in the same statement (PostgreSQL)."""
        if self.sql.key_text(self.pk, "k") is None:
            return False
        object_delta = self.history.object_delta
        if not self.sql.keys_known_before_insert(object_delta):
            return False
        plans = [
            self.backend.plan(object_delta, OBJECT_DELTA_COLUMNS, False),
            self.backend.plan(
                self.history.attribute_delta, ATTRIBUTE_DELTA_COLUMNS, False
            ),
        ]
        if revision is not None:
            model = type(revision)
            plans.append(self.backend.plan(model, attnames_of(model), False))
        return all(plan is not None and _fixed(plan) for plan in plans)

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
            keys = f"SELECT {self.quote(self.pk.attname)} FROM {_ROWS}"
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
        return SQL(
            f"SELECT {', '.join(columns)} FROM {source} WHERE "
            + " OR ".join(f"({d})" for d in differs)
            + f" ORDER BY {pk}",
            params,
        )

    def _value(self, field: Field, column: str) -> SQL:
        """A value as stored: a masked field's is its marker."""
        if field.name in self.masked:
            return SQL(self.sql.json_parameter, [json.dumps(mask_marker())])
        sql = self.sql.json(field, column)
        assert sql is not None
        return SQL(sql, [])

    def _insert(
        self, model: type[Model], given: dict[str, Any], key: str | None = None
    ) -> SQL:
        """``INSERT INTO`` model's columns ``SELECT``: for those ``given``
        (attname: SQL text, :class:`SQL` or :class:`Parameter`) that, for
        the others their defaults, as parameters; ``key``: the SQL of the
        primary key, which the database makes otherwise."""
        names = tuple(given)
        plan = self.backend.plan(model, names, False)
        assert plan is not None
        head, select = plan.head, []
        if key is not None:
            column = self.quote(model._meta.pk.column)
            head = head.replace(" (", f" ({column}, ", 1)
            select.append(key)
        params: list[Any] = []
        for column, placeholder in zip(plan.columns, plan.placeholders, strict=True):
            value = (
                Parameter(column.default)
                if column.index is None
                else given[names[column.index]]
            )
            if isinstance(value, Parameter):
                select.append(placeholder)
                params.append(value.value)
            elif isinstance(value, SQL):
                select.append(value.sql)
                params.extend(value.params)
            else:
                select.append(value)
        return SQL(f"{head}{self.sql.select_in_order} {', '.join(select)}", params)

    def _object_delta_columns(
        self, revision: Any, attribution: Attribution, key_text: str
    ) -> dict[str, Any]:
        values = (
            revision,
            Parameter("update"),
            Parameter(attribution.content_type_id),
            key_text,
            Parameter(attribution.actor_content_type_id),
            Parameter(attribution.actor_id),
            Parameter(attribution.object_description),
            Parameter(""),
            Parameter(None),
        )
        return dict(zip(OBJECT_DELTA_COLUMNS, values, strict=True))

    def _attribute_deltas(
        self, attribution: Attribution, changed: str, delta: Any, order: str
    ) -> SQL:
        """The insert of the attribute deltas of the changed rows in table
        ``changed`` (``d``): one per field that differs, in ``order`` and field
        order; ``delta``: the object delta's key (SQL, or :class:`SQL`)."""
        values = (
            delta,
            Parameter(attribution.content_type_id),
            "d.revy_key",
            _by_field([SQL("%s", [f.name]) for f in self.fields]),
            self._by_field("old"),
            self._by_field("new"),
            Parameter(attribution.actor_content_type_id),
            Parameter(attribution.actor_id),
            Parameter(attribution.attribute_description),
        )
        insert = self._insert(
            self.history.attribute_delta,
            dict(zip(ATTRIBUTE_DELTA_COLUMNS, values, strict=True)),
        )
        numbers = " UNION ALL ".join(
            f"SELECT {i} AS n" for i in range(len(self.fields))
        )
        return SQL(
            f"{insert.sql} FROM {changed} d CROSS JOIN ({numbers}) v "
            f"WHERE {self._by_field('differs').sql} ORDER BY {order}, v.n",
            insert.params,
        )

    def _by_field(self, column: str) -> SQL:
        """The changed row's ``revy_<column>_<n>`` of the field numbered
        ``v.n``."""
        return _by_field(
            [SQL(f"d.revy_{column}_{i}", []) for i in range(len(self.fields))]
        )

    # Running --------------------------------------------------------------

    def run(
        self,
        compiled: Compiled,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
    ) -> Written:
        """Lock, update and write the history. ``revision`` is written, or
        new and written only if a value changes: by these statements, or
        where it needs more than an insert by ``write_revision()``, which
        gives its key (not in one statement)."""
        if self.sql.history_in_one_statement:
            return self._run_in_one_statement(compiled, attribution, revision)
        return self._run_staged(compiled, attribution, revision, write_revision)

    def _run_in_one_statement(
        self, compiled: Compiled, attribution: Attribution, revision: Any
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
        sequence = self.sql.key_sequence(self.history.object_delta)
        ctes = [
            SQL(
                f"revy_locked (revy_pk, {', '.join(olds)}) AS MATERIALIZED "
                f"({compiled.locked.sql})",
                compiled.locked.params,
            ),
            SQL(
                f"revy_changed (revy_pk, {', '.join(olds + news)}) AS "
                f"({compiled.update.sql} RETURNING {returning})",
                compiled.update.params,
            ),
            # Keys taken in key order: the object deltas go in in that order.
            SQL(
                f"revy_diff AS MATERIALIZED (SELECT {sequence} AS revy_delta, s.* "
                f"FROM ({diff.sql}) s)",
                diff.params,
            ),
        ]
        revision_sql: Any = Parameter(revision.pk)
        if revision._state.adding:
            insert = self._revision_insert(revision, "revy_diff")
            key = quote(type(revision)._meta.pk.column)
            ctes.append(
                SQL(f"revy_revision AS ({insert.sql} RETURNING {key})", insert.params)
            )
            revision_sql = f"(SELECT {key} FROM revy_revision)"
        insert = self._insert(
            self.history.object_delta,
            self._object_delta_columns(revision_sql, attribution, "d.revy_key"),
            key="d.revy_delta",
        )
        ctes.append(
            SQL(
                f"revy_deltas AS ({insert.sql} FROM revy_diff d ORDER BY d.revy_delta)",
                insert.params,
            )
        )
        insert = self._attribute_deltas(
            attribution, "revy_diff", "d.revy_delta", "d.revy_delta"
        )
        ctes.append(SQL(f"revy_attributes AS ({insert.sql})", insert.params))
        key = "(SELECT * FROM revy_revision)" if revision._state.adding else "NULL"
        sql = (
            "WITH "
            + ", ".join(cte.sql for cte in ctes)
            + f" SELECT (SELECT count(*) FROM revy_changed), {key}, "
            "(SELECT min(revy_delta) FROM revy_diff), "
            "(SELECT max(revy_delta) FROM revy_diff)"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [p for cte in ctes for p in cte.params])
            [written] = cursor.fetchall()
        return Written(*written)

    def _run_staged(
        self,
        compiled: Compiled,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
    ) -> Written:
        sql, quote = self.sql, self.quote
        table = quote(self.model._meta.db_table)
        # The staged rows' columns are named by attname, the table's by column.
        pk = f"o.{quote(self.pk.attname)}"
        diff = self._diff(
            f"{_ROWS} o JOIN {table} ON {table}.{quote(self.pk.column)} = {pk}",
            pk,
            [f"o.{quote(f.attname)}" for f in self.fields],
            [f"{table}.{quote(f.column)}" for f in self.fields],
        )
        tables = (_ROWS, _CHANGED)
        with self.connection.cursor() as cursor:
            sql.unstage(cursor, tables, before=True)
            sql.stage(
                cursor,
                _ROWS,
                quote(self.pk.attname),
                compiled.locked.sql,
                compiled.locked.params,
            )
            try:
                cursor.execute(compiled.update.sql, compiled.update.params)
                updated = cursor.rowcount
                rank = sql.stage_ranked(cursor, _CHANGED, diff.sql, diff.params)
                written = self._insert_staged(
                    cursor, attribution, revision, write_revision, f"d.{rank}"
                )
            finally:
                sql.unstage(cursor, tables, before=False)
        return Written(updated, *written)

    def _insert_staged(
        self,
        cursor: Any,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        rank: str,
    ) -> tuple[Any, Any, Any]:
        """Insert the history of the changed rows staged in ``_CHANGED``
        (``rank``: their order); the key of a revision inserted here, and
        the first and last object delta keys (None: none written)."""
        inserted = None
        if not revision._state.adding:
            revision_key = revision.pk
        elif write_revision is None:
            insert = self._revision_insert(revision, _CHANGED)
            cursor.execute(insert.sql, insert.params)
            if not cursor.rowcount:
                return None, None, None  # No value changed.
            revision_key = inserted = cursor.lastrowid
        else:
            cursor.execute(f"SELECT 1 FROM {_CHANGED} LIMIT 1", ())
            if not cursor.fetchall():
                return None, None, None
            revision_key = write_revision()
        insert = self._insert(
            self.history.object_delta,
            self._object_delta_columns(
                Parameter(revision_key), attribution, "d.revy_key"
            ),
        )
        cursor.execute(f"{insert.sql} FROM {_CHANGED} d ORDER BY {rank}", insert.params)
        count = cursor.rowcount
        if not count:
            return inserted, None, None
        # The keys followed each other: the row of rank r took first + r - 1.
        first = self.sql.first_inserted_key(cursor)
        insert = self._attribute_deltas(
            attribution, _CHANGED, SQL(f"%s + {rank}", [first - 1]), rank
        )
        cursor.execute(insert.sql, insert.params)
        return inserted, first, first + count - 1

    def _revision_insert(self, revision: Any, changed: str) -> SQL:
        """The insert of a new ``revision``, made only if the table
        ``changed`` holds a row."""
        model = type(revision)
        [row] = Linked.instances(model, [revision]).rows
        plan = self.backend.plan(model, attnames_of(model), False)
        assert plan is not None
        return SQL(
            f"{plan.head}SELECT {', '.join(plan.placeholders)} "
            f"WHERE EXISTS (SELECT 1 FROM {changed})",
            plan.prepared_row(row),
        )


def _by_field(pieces: list[SQL]) -> SQL:
    """The piece of the field numbered ``v.n``."""
    whens = " ".join(f"WHEN {i} THEN {piece.sql}" for i, piece in enumerate(pieces))
    return SQL(f"CASE v.n {whens} END", [p for piece in pieces for p in piece.params])


def _fixed(plan: Plan) -> bool:
    """Whether every column an insert leaves to its default gets the same
    value each row: an ``INSERT ... SELECT`` cannot call Python per row."""
    return all(column.make_default is None for column in plan.columns)
