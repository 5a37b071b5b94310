"""``QuerySet.update()`` with its history written by the database.

The rows the filter matches are locked, updated by key, and their history
rows inserted with ``INSERT ... SELECT`` from them, values encoded in SQL
(``sqlvalues.py``): no row passes through Python, whatever their number
(decision 0002, amended).

- PostgreSQL: one statement. A CTE reads the rows ``FOR NO KEY UPDATE``,
  the ``UPDATE`` of those keys returns the new values, and data-modifying
  CTEs insert the object deltas and their attribute deltas (and a new
  revision, only if a value changed).
- SQLite and MariaDB: the rows read (on MariaDB ``FOR UPDATE``) go into a
  temporary table created with its key (a separate index or ``ALTER`` on
  MariaDB would commit), the ``UPDATE`` takes its keys, and one
  ``INSERT ... SELECT`` per history table joins the old rows with the new.
  SQLite lets one connection write at a time, so no other commits between
  the read and the write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import Field, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery

from revy.contrib.django.backends.base import Backend, Linked
from revy.contrib.django.backends.plan import Plan
from revy.contrib.django.encoding import mask_marker

_TABLE = "revy_rows"  # The temporary table of the staged shape.


class HistoryModels(NamedTuple):
    object_delta: type[Model]
    attribute_delta: type[Model]


class Attribution(NamedTuple):
    """What every history row of one write holds besides its values."""

    content_type_id: int
    actor_content_type_id: int | None
    actor_id: str | None
    object_description: str
    attribute_description: str


class Written(NamedTuple):
    """What the database did: rows updated, and the object deltas written."""

    count: int
    revision_key: Any  # Of a revision the statement inserted; None: none.
    # The first key of the object deltas written (the revision's deltas from
    # there on are this write's); None: none written.
    first_delta: Any


class Update:
    """One ``QuerySet.update()`` to run with its history, or refused
    (:meth:`prepare` gives None) before anything is written."""

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
        self.sql = backend.values
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
        all have SQL here: the key and the history rows' columns have too.
        ``revision``: a new one to insert in the same statement (PostgreSQL)."""
        if self.sql.key_text(self.pk, "k") is None:
            return False
        attribution = Attribution(0, None, None, "", "")
        plans = [
            self.backend.plan(
                self.history.object_delta,
                tuple(self._object_delta_columns("", attribution, "")),
                False,
            ),
            self.backend.plan(
                self.history.attribute_delta,
                tuple(self._attribute_delta_columns(attribution, "", "", "")),
                False,
            ),
        ]
        if revision is not None:
            model = type(revision)
            plans.append(
                self.backend.plan(model, Linked.instances(model, []).attnames, False)
            )
        return all(plan is not None and _fixed(plan) for plan in plans)

    def _locked(self) -> tuple[str, tuple[Any, ...]]:
        attnames = [field.attname for field in self.fields]
        locked = self.backend.lock(self.queryset).order_by("pk")
        query = locked.values_list(self.pk.attname, *attnames).query
        return query.get_compiler(self.connection.alias).as_sql()

    def _update(self, keys_sql: str) -> tuple[str, tuple[Any, ...]] | None:
        by_keys = QuerySet(self.model, using=self.connection.alias).filter(
            pk__in=RawSQL(keys_sql, ())
        )
        query = by_keys.query.chain(UpdateQuery)
        query.add_update_values(self.values)
        query.annotations = {}  # As Django's QuerySet.update().
        if query.related_updates:
            return None  # Fields of a parent model: Django writes them apart.
        return query.get_compiler(self.connection.alias).as_sql()

    def compiled(self) -> tuple[tuple[str, tuple], tuple[str, tuple]] | None:
        """The locked read and the update by its keys, or None where the
        filter matches nothing (or everything) by itself, or a parent's
        fields are written: Django's own update then."""
        try:
            locked = self._locked()
            keys = f"SELECT {self._key_column()} FROM {self._keys_table()}"
            update = self._update(keys)
        except (EmptyResultSet, FullResultSet):
            return None
        return None if update is None else (locked, update)

    def _key_column(self) -> str:
        # The staged table's columns are named as values_list() names them.
        return (
            "revy_pk"
            if self.backend.history_in_one_statement
            else self.quote(self.pk.attname)
        )

    def _keys_table(self) -> str:
        return "revy_locked" if self.backend.history_in_one_statement else _TABLE

    # Columns of the history rows ------------------------------------------

    def _insert(
        self, model: type[Model], given: dict[str, Any]
    ) -> tuple[str, list[Any]]:
        """``INSERT INTO`` model's columns ``SELECT``: for those ``given``
        (attname: SQL text, :class:`_SQL` or :class:`_Parameter`) that, for
        the others their defaults, as parameters."""
        attnames = tuple(given)
        plan = self.backend.plan(model, attnames, False)
        assert plan is not None
        select = []
        params: list[Any] = []
        for column, placeholder in zip(plan.columns, plan.placeholders, strict=True):
            if column.index is None:
                select.append(placeholder)
                params.append(column.default)
                continue
            value = given[attnames[column.index]]
            if isinstance(value, _Parameter):
                select.append(placeholder)
                params.append(value.value)
            elif isinstance(value, _SQL):
                select.append(value.sql)
                params.extend(value.params)
            else:
                select.append(value)
        return plan.head + "SELECT " + ", ".join(select), params

    def _object_delta_columns(
        self, revision: str | _Parameter, attribution: Attribution, key: str
    ) -> dict[str, Any]:
        return {
            "revision_id": revision,
            "action": _Parameter("update"),
            "content_type_id": _Parameter(attribution.content_type_id),
            "content_id": key,
            "actor_content_type_id": _Parameter(attribution.actor_content_type_id),
            "actor_id": _Parameter(attribution.actor_id),
            "description": _Parameter(attribution.object_description),
            "deletion_description": _Parameter(""),
            "cause_id": _Parameter(None),
        }

    def _attribute_delta_columns(
        self, attribution: Attribution, delta: str, content_id: str, value: str
    ) -> dict[str, Any]:
        return {
            "object_delta_id": delta,
            "content_type_id": _Parameter(attribution.content_type_id),
            "content_id": content_id,
            "field_name": f"{value}.name",
            "old_value": f"{value}.old",
            "new_value": f"{value}.new",
            "actor_content_type_id": _Parameter(attribution.actor_content_type_id),
            "actor_id": _Parameter(attribution.actor_id),
            "description": _Parameter(attribution.attribute_description),
        }

    def _value(self, field: Field, column: str) -> _SQL:
        """A value as stored: a masked field's is its marker."""
        if field.name in self.masked:
            return _SQL(self.sql.json_parameter, [json.dumps(mask_marker())])
        sql = self.sql.json(field, column)
        assert sql is not None
        return _SQL(sql, [])

    # Running --------------------------------------------------------------

    def run(
        self,
        compiled: tuple[tuple[str, tuple], tuple[str, tuple]],
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any],
    ) -> Written:
        """Lock, update and write the history. ``revision`` is new (and
        inserted here only if a value changes) or written; where it is new
        and a statement cannot insert it, ``write_revision()`` writes it
        and gives its key."""
        if self.backend.history_in_one_statement:
            return self._run_in_one_statement(compiled, attribution, revision)
        return self._run_staged(compiled, attribution, revision, write_revision)

    def _run_in_one_statement(
        self,
        compiled: tuple[tuple[str, tuple], tuple[str, tuple]],
        attribution: Attribution,
        revision: Any,
    ) -> Written:
        (locked_sql, locked_params), (update_sql, update_params) = compiled
        quote = self.quote
        table = quote(self.model._meta.db_table)
        count = len(self.fields)
        olds = [f"revy_old_{i}" for i in range(count)]
        news = [f"revy_new_{i}" for i in range(count)]
        params: list[Any] = [*locked_params, *update_params]
        ctes = [
            f"revy_locked (revy_pk, {', '.join(olds)}) AS MATERIALIZED ({locked_sql})",
            f"revy_changed (revy_pk, {', '.join(news)}) AS ({update_sql} RETURNING "
            + ", ".join(f"{table}.{quote(f.column)}" for f in [self.pk, *self.fields])
            + ")",
        ]
        differs = [
            self.sql.differs(f"l.{old}", f"c.{new}", field)
            for field, old, new in zip(self.fields, olds, news, strict=True)
        ]
        columns = [
            "l.revy_pk",
            f"{self.sql.key_text(self.pk, 'l.revy_pk')} AS revy_key",
        ]
        for i, field in enumerate(self.fields):
            for side, name in (("old", f"l.{olds[i]}"), ("new", f"c.{news[i]}")):
                value = self._value(field, name)
                columns.append(f"{value.sql} AS revy_{side}_json_{i}")
                params.extend(value.params)
            columns.append(f"{differs[i]} AS revy_differs_{i}")
        ctes.append(
            "revy_diff AS MATERIALIZED (SELECT "
            + ", ".join(columns)
            + " FROM revy_locked l JOIN revy_changed c ON c.revy_pk = l.revy_pk"
            + " WHERE "
            + " OR ".join(f"({d})" for d in differs)
            + ")"
        )
        if revision._state.adding:
            model = type(revision)
            [row] = Linked.instances(model, [revision]).rows
            plan = self.backend.plan(model, Linked.instances(model, []).attnames, False)
            assert plan is not None
            ctes.append(
                "revy_revision AS ("
                + plan.head
                + "SELECT "
                + ", ".join(plan.placeholders)
                + " WHERE EXISTS (SELECT 1 FROM revy_diff) RETURNING "
                + quote(model._meta.pk.column)
                + ")"
            )
            params.extend(plan.prepared_row(row))
            revision_sql: Any = (
                f"(SELECT {quote(model._meta.pk.column)} FROM revy_revision)"
            )
        else:
            revision_sql = _Parameter(revision.pk)
        meta = self.history.object_delta._meta
        delta_pk = quote(meta.pk.column)
        content_id = quote(meta.get_field("content_id").column)
        insert, values = self._insert(
            self.history.object_delta,
            self._object_delta_columns(revision_sql, attribution, "d.revy_key"),
        )
        ctes.append(
            f"revy_deltas AS ({insert} FROM revy_diff d ORDER BY d.revy_pk "
            f"RETURNING {delta_pk}, {content_id})"
        )
        params.extend(values)
        insert, values = self._insert(
            self.history.attribute_delta,
            self._attribute_delta_columns(
                attribution, f"o.{delta_pk}", f"o.{content_id}", "v"
            ),
        )
        params.extend(values)
        rows = []
        for i, field in enumerate(self.fields):
            rows.append(
                f"({i}, %s, d.revy_old_json_{i}, d.revy_new_json_{i}, "
                f"d.revy_differs_{i})"
            )
            params.append(field.name)
        ctes.append(
            f"revy_attributes AS ({insert} FROM revy_deltas o "
            f"JOIN revy_diff d ON d.revy_key = o.{content_id} "
            f"CROSS JOIN LATERAL (VALUES {', '.join(rows)}) "
            "AS v(n, name, old, new, differs) WHERE v.differs "
            f"ORDER BY o.{delta_pk}, v.n)"
        )
        revision_key = (
            "(SELECT * FROM revy_revision)" if revision._state.adding else "NULL"
        )
        sql = (
            "WITH "
            + ", ".join(ctes)
            + f" SELECT (SELECT count(*) FROM revy_changed), {revision_key}, "
            f"(SELECT min({delta_pk}) FROM revy_deltas)"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            [(updated, key, first)] = cursor.fetchall()
        return Written(updated, key, first)

    def _run_staged(
        self,
        compiled: tuple[tuple[str, tuple], tuple[str, tuple]],
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any],
    ) -> Written:
        (locked_sql, locked_params), (update_sql, update_params) = compiled
        backend = self.backend
        with self.connection.cursor() as cursor:
            backend.stage(cursor, _TABLE, self._key_column(), locked_sql, locked_params)
            try:
                cursor.execute(update_sql, update_params)
                updated = cursor.rowcount
                first = self._insert_staged(
                    cursor, attribution, revision, write_revision
                )
            finally:
                backend.unstage(cursor, _TABLE)
        return Written(updated, None, first)

    def _insert_staged(
        self,
        cursor: Any,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any],
    ) -> Any:
        quote = self.quote
        table = quote(self.model._meta.db_table)
        # The staged rows' columns are named by attname, the table's by column.
        pk, staged_pk = quote(self.pk.column), f"o.{quote(self.pk.attname)}"
        joined = f"{_TABLE} o JOIN {table} ON {table}.{pk} = {staged_pk}"
        olds = [f"o.{quote(f.attname)}" for f in self.fields]
        news = [f"{table}.{quote(f.column)}" for f in self.fields]
        differs = [
            self.sql.differs(old, new, f)
            for f, old, new in zip(self.fields, olds, news, strict=True)
        ]
        any_differs = " OR ".join(f"({d})" for d in differs)
        if revision._state.adding:
            cursor.execute(f"SELECT 1 FROM {joined} WHERE {any_differs} LIMIT 1", ())
            if not cursor.fetchall():
                return None
            revision_key = write_revision()
        else:
            revision_key = revision.pk
        object_delta = self.history.object_delta
        key_text = self.sql.key_text(self.pk, staged_pk)
        insert, params = self._insert(
            object_delta,
            self._object_delta_columns(_Parameter(revision_key), attribution, key_text),
        )
        cursor.execute(
            f"{insert} FROM {joined} WHERE {any_differs} ORDER BY {staged_pk}", params
        )
        if not cursor.rowcount:
            return None
        first = self.backend.first_inserted_key(cursor)
        meta = object_delta._meta
        delta_pk = quote(meta.pk.column)
        content_id = quote(meta.get_field("content_id").column)
        revision_column = quote(meta.get_field("revision").column)
        numbers = " UNION ALL ".join(f"SELECT {i} AS n" for i in range(len(olds)))
        insert, params = self._insert(
            self.history.attribute_delta,
            {
                **self._attribute_delta_columns(
                    attribution, f"od.{delta_pk}", f"od.{content_id}", "v"
                ),
                "field_name": _case([_SQL("%s", [f.name]) for f in self.fields]),
                "old_value": _case(list(map(self._value, self.fields, olds))),
                "new_value": _case(list(map(self._value, self.fields, news))),
            },
        )
        key = self.sql.key_of_text(self.pk, f"od.{content_id}")
        changed = _case([_SQL(d, []) for d in differs])
        cursor.execute(
            f"{insert} FROM {quote(meta.db_table)} od "
            f"JOIN {_TABLE} o ON {staged_pk} = {key} "
            f"JOIN {table} ON {table}.{pk} = {staged_pk} "
            f"CROSS JOIN ({numbers}) v "
            f"WHERE od.{revision_column} = %s AND od.{delta_pk} >= %s "
            f"AND {changed.sql} ORDER BY od.{delta_pk}, v.n",
            [*params, revision_key, first],
        )
        return first


class _SQL(NamedTuple):
    """SQL with its parameters."""

    sql: str
    params: list[Any]


def _case(pieces: list[_SQL]) -> _SQL:
    """One of ``pieces`` by the number of the field (``v.n``)."""
    params: list[Any] = []
    whens = []
    for number, piece in enumerate(pieces):
        whens.append(f"WHEN {number} THEN {piece.sql}")
        params.extend(piece.params)
    return _SQL(f"CASE v.n {' '.join(whens)} END", params)


class _Parameter(NamedTuple):
    """A value given as a parameter, not as SQL."""

    value: Any


def _fixed(plan: Plan) -> bool:
    """Whether every column an insert leaves to its default gets the same
    value each row: an ``INSERT ... SELECT`` cannot call Python per row."""
    return all(column.make_default is None for column in plan.columns)
