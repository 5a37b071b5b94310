"""PostgreSQL: many rows as one JSON array, a request's rows in one
statement, and ``COMMIT`` in the same round trip; the SQL of history the
database writes (``PostgreSQLDialect``).

Many rows go as ``INSERT ... SELECT`` from one JSON array of rows: neither
side parses thousands of placeholders, and the client's work is one
``json.dumps`` where array parameters would have psycopg quote every
element in Python (about eight times the client time, in a 12,000-row
insert). Rows holding a value the driver must adapt (an interval, say) go
as one array parameter per column through ``UNNEST``, as Django's own
``bulk_create`` does here. A request's revision, object deltas and
attribute deltas go in one statement of data-modifying CTEs (decision
0006).
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.sql import UpdateQuery

from revy.contrib.django import conf
from revy.contrib.django.backends.base import Backend, Linked, RowReader
from revy.contrib.django.backends.dialect import Dialect, decimal_places
from revy.contrib.django.backends.plan import FEW, Plan


class PostgreSQLDialect(Dialect):
    stages_rows = True
    null = "'null'::jsonb"
    json_parameter = "(%s)::jsonb"
    history_in_one_statement = True
    json_text_type = "jsonb"

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)
        self._sequences: dict[type[models.Model], str | None] = {}

    def keys_known_before_insert(self, model: type[models.Model]) -> bool:
        return (
            model._meta.pk is model._meta.auto_field
            and self._sequence_of(model) is not None
        )

    def key_sequence(self, model: type[models.Model]) -> str:
        return f"nextval('{self._sequence_of(model)}'::regclass)"

    def _sequence_of(self, model: type[models.Model]) -> str | None:
        """The sequence of a serial or identity key, asked once per
        connection and model."""
        if model not in self._sequences:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_get_serial_sequence(%s, %s)",
                    [
                        self.connection.ops.quote_name(model._meta.db_table),
                        model._meta.pk.column,
                    ],
                )
                [(name,)] = cursor.fetchall()
            self._sequences[model] = name
        return self._sequences[model]

    def stage_ranked(
        self, cursor: Any, table: str, select: str, params: Sequence[Any]
    ) -> str:
        # Numbered in the order selected: no query that locks rows runs in
        # parallel, so the subquery's rows reach row_number() in its order.
        cursor.execute(
            f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () "
            f"AS revy_rank, s.* FROM ({select}) AS s",
            params,
        )
        cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (revy_rank)", ())
        return "revy_rank"

    def stage_causes(
        self,
        cursor: Any,
        table: str,
        key_type: str,
        pairs: Iterable[tuple[Any, Any]],
    ) -> None:
        super().stage_causes(cursor, table, key_type, pairs)
        # A table without statistics may have its key's index passed over
        # for a scan of every row, once per row deleted.
        cursor.execute(f"ANALYZE {table}", ())

    def insert_causes(
        self, cursor: Any, table: str, key_type: str, pairs: list[tuple[Any, Any]]
    ) -> None:
        # One statement of arrays: executemany() sends a statement a row.
        cursor.execute(
            f"INSERT INTO {table} (revy_key, revy_delta) "
            f"SELECT * FROM UNNEST(%s::{key_type}[], %s::bigint[]) "
            "ON CONFLICT DO NOTHING",
            [list(column) for column in zip(*pairs, strict=True)],
        )

    def unstage(self, cursor: Any, tables: Sequence[str], before: bool) -> None:
        if before:
            return  # A failed write leaves none: its creation is undone.
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(tables)}", ())

    def insert_encoded(
        self, cursor: Any, table: str, names: Sequence[str], rows: list[list[Any]]
    ) -> None:
        # One statement of arrays: executemany() sends a statement a row.
        texts = range(1, len(names) + 1)
        cursor.execute(
            f"INSERT INTO {table} (revy_rank, {', '.join(names)}) "
            f"SELECT u.c0{''.join(f', u.c{i}::jsonb' for i in texts)} "
            f"FROM UNNEST(%s::bigint[]{', %s::text[]' * len(names)}) "
            f"AS u(c0{''.join(f', c{i}' for i in texts)})",
            [list(column) for column in zip(*rows, strict=True)],
        )

    def json_array(self, value: str, order: str) -> str:
        return f"jsonb_agg({value} ORDER BY {order})"

    def integer(self, column: str) -> str:
        return f"to_jsonb({column})"

    def integer_text(self, column: str) -> str:
        return f"({column})::text"

    def text(self, column: str) -> str:
        return f"to_jsonb({column})"

    def boolean(self, column: str) -> str:
        return f"to_jsonb({column})"

    def datetime(self, column: str, aware: bool) -> str:
        # isoformat(): microseconds only when there are any; UTC as +00:00.
        utc = f"({column} AT TIME ZONE 'UTC')" if aware else column
        return (
            f"to_jsonb(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN to_char({utc}, 'US') = '000000' THEN '' "
            f"ELSE to_char({utc}, '.US') END" + (" || '+00:00')" if aware else ")")
        )

    def date(self, column: str) -> str:
        return f"to_jsonb(to_char({column}, 'YYYY-MM-DD'))"

    def decimal(self, field: models.DecimalField, column: str) -> str | None:
        # numeric(m, d) as text has exactly d places, as the quantized
        # Decimal's str() has.
        return None if decimal_places(field) is None else f"to_jsonb(({column})::text)"

    def float(self, column: str) -> str:
        # PostgreSQL writes the shortest text that reads back exactly, as
        # Python does; a value JSON cannot hold is stored as Python's str().
        return (
            f"CASE WHEN {column} = 'Infinity'::float8 THEN '\"inf\"'::jsonb "
            f"WHEN {column} = '-Infinity'::float8 THEN '\"-inf\"'::jsonb "
            f"WHEN {column} = 'NaN'::float8 THEN '\"nan\"'::jsonb "
            f"ELSE to_jsonb({column}) END"
        )

    def uuid(self, column: str) -> str:
        return f"to_jsonb({self.uuid_text(column)})"

    def uuid_text(self, column: str) -> str:
        return f"({column})::text"

    def by_code_point(self, text: str) -> str:
        return f'({text}) COLLATE "C"'  # Its UTF-8 bytes, compared as such.


class PostgreSQLPlan(Plan):
    def __init__(
        self,
        backend: Backend,
        model: type[Model],
        fields: list[Field],
        attnames: tuple[str, ...],
        returning: bool,
    ) -> None:
        super().__init__(backend, model, fields, attnames, returning)
        types = [array_type(field, backend.connection) for field in fields]
        # The ordinality keeps the rows, and so the keys returned, in order.
        self.document_sql = (
            "SELECT {} FROM jsonb_array_elements(%s::jsonb) "
            "WITH ORDINALITY AS revy_rows(r, n) ORDER BY n".format(
                ", ".join(f"(r->>{i})::{t}" for i, t in enumerate(types))
            )
        )
        self.unnest_sql = "SELECT * FROM UNNEST({})".format(
            ", ".join(f"{p}[]" for p in self.placeholders)
        )

    def batch_size(self) -> int:
        return conf.batch_size()  # One parameter per batch, or per column.

    def run_batch(self, cursor: Any, columns: list[list[Any]]) -> None:
        document = _document(columns)
        if document is not None:
            cursor.execute(self.head + self.document_sql + self.tail, [document])
        else:
            cursor.execute(self.head + self.unnest_sql + self.tail, columns)


class PostgreSQLBackend(Backend):
    plan_class = PostgreSQLPlan
    # Many rows go as one JSON document, which escapes every character that
    # is not ASCII: an astral one takes twelve bytes there.
    bytes_per_character = 12
    updates_reading_rows = True
    supports_partitions = True
    dialect_class = PostgreSQLDialect

    def check_foreign_keys_at_once(self) -> None:
        # Django makes foreign keys DEFERRABLE INITIALLY DEFERRED; rolling
        # back the savepoint or the transaction undoes this.
        with self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def text_bytes(self, text: str) -> int:
        return len(json.dumps(text))

    def can_plan(self, fields: list[Field], returning: bool) -> bool:
        return all(array_type(field, self.connection) for field in fields)

    def placeholder(self, field: Field) -> str:
        return f"(%s)::{array_type(field, self.connection)}"

    def locking(self, queryset: QuerySet, for_delete: bool) -> QuerySet:
        # An update takes FOR NO KEY UPDATE, which lets rows that point at the
        # locked ones be written meanwhile; a delete takes FOR UPDATE, which
        # does not. OF: only the model's own table, not the tables it joins.
        return queryset.select_for_update(no_key=not for_delete, of=("self",))

    def in_values(self, field: Field, values: list[Any]) -> tuple[str, list[Any]]:
        # One array parameter, not a placeholder a key: Django joins the
        # querysets a delete's SET_NULL hands it into one UPDATE, whose SQL
        # and parameters would otherwise hold several hundred bytes a key,
        # and the driver reads every placeholder of a statement it is given.
        kind = array_type(field, self.connection)
        if kind is None:
            return super().in_values(field, values)
        return f"= ANY(%s::{kind}[])", [values]

    def update_reading_row(
        self, queryset: QuerySet, pk: Any, values: list[Any], reader: RowReader
    ) -> list[Any] | None:
        # One statement, one round trip: the UPDATE joins the row read FOR NO
        # KEY UPDATE and returns it. A plain self-join would return the
        # snapshot's values, stale when another transaction committed while
        # this one waited for the row.
        query = queryset.filter(pk=pk).query.chain(UpdateQuery)
        query.add_update_fields(values)
        query.annotations = {}  # As Django's QuerySet._update().
        if query.related_updates:
            return None
        compiler = query.get_compiler(self.connection.alias)
        try:
            sql, params = compiler.as_sql()
            where, where_params = compiler.compile(query.where)
        except (EmptyResultSet, FullResultSet):
            return None
        tail = f" WHERE {where}"
        set_params = params[: len(params) - len(where_params)]
        if not sql.endswith(tail) or params[len(set_params) :] != tuple(where_params):
            return None
        quote = compiler.quote_name_unless_alias
        table, column = quote(query.base_table), quote(reader.pk_field.column)
        # The read names its columns by attname (values_list()).
        read_key = quote(reader.pk_field.attname)
        folded = (
            f"{sql[: -len(tail)]} FROM ({reader.sql}) AS revy_old{tail}"
            f" AND {table}.{column} = revy_old.{read_key} RETURNING revy_old.*"
        )
        params = [*set_params, reader.key(pk), *where_params]
        return reader.rows(self.fetch(folded, self.driver_sql(folded), params))

    def can_link(self, parents: int) -> bool:
        # Many rows go faster in bulk, model by model.
        return parents < FEW

    def insert_linked(
        self, levels: Sequence[Linked], commit: bool = False
    ) -> list[list[Any]] | None:
        if not self.can_link(sum(len(level.rows) for level in levels[:-1])):
            return None
        plans = []
        for level in levels[:-1]:
            plan = self.plan(level.model, level.attnames, False)
            if plan is None or level.model._meta.pk is not level.model._meta.auto_field:
                return None  # Keys must come from the database, in insert order.
            plans.append(plan)
        if levels[-1].rows:
            plan = self.plan(levels[-1].model, levels[-1].attnames, False)
            if plan is None:
                return None
            plans.append(plan)
        if (
            sum(
                len(level.rows) * len(plan.columns)
                for level, plan in zip(levels, plans, strict=False)
            )
            > self.max_parameters()
        ):
            return None
        return self._insert_linked(levels, plans, commit)

    def _insert_linked(
        self, levels: Sequence[Linked], plans: list[Plan], commit: bool
    ) -> list[list[Any]] | None:
        quote = self.connection.ops.quote_name
        # WITH l0 AS (INSERT ... RETURNING id), l1 AS (INSERT ... VALUES
        # ((SELECT id FROM l0 ORDER BY id LIMIT 1 OFFSET 0), ...)) ...: keys
        # come in insert order, as Django's bulk_create relies on too.
        ctes = []
        params: list[Any] = []
        selects = []
        for number, (level, plan) in enumerate(zip(levels, plans, strict=False)):
            keys: list[str | None] = []
            if number:
                pk = quote(levels[number - 1].model._meta.pk.column)
                keys = [
                    None
                    if parent is None
                    else f"(SELECT {pk} FROM l{number - 1} ORDER BY {pk} "
                    f"LIMIT 1 OFFSET {parent})"
                    for parent in level.parents
                ]
            sql, values = plan.linked_values(level.rows, level.link, keys)
            params.extend(values)
            if number < len(levels) - 1:
                pk = quote(level.model._meta.pk.column)
                sql += f" RETURNING {pk}"
                selects.append(f"SELECT {number}, {pk} FROM l{number}")
            ctes.append(f"l{number} AS ({sql})")
        query = (
            "WITH "
            + ", ".join(ctes)
            + " SELECT * FROM ("
            + " UNION ALL ".join(selects)
            + ") keys ORDER BY 1, 2"
        )
        if self.may_exceed(params):
            return None  # Too large for one statement: model by model, in parts.
        if commit and self.can_commit_with():
            query += "; COMMIT"
        with self.connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        found: list[list[Any]] = [[] for _ in levels[:-1]]
        for number, key in rows:
            found[number].append(plans[number].key(key))
        return found

    def can_commit_with(self) -> bool:
        """psycopg 3 binding parameters on the client (Django's default)
        sends a statement and ``COMMIT`` as one simple query, and then finds
        its transaction already ended, so its own ``commit()`` sends nothing.
        psycopg 2 would send ``COMMIT`` again; server-side binding takes one
        statement per query."""
        if self.connection.connection is None:
            return False
        # Imported here: the driver is installed only where PostgreSQL is used.
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if not is_psycopg3:
            return False
        import psycopg

        return issubclass(
            self.connection.connection.cursor_factory, psycopg.ClientCursor
        )

    def json_quote(self, sql: str) -> str:
        return f"TO_JSONB(({sql})::text)::text"

    def text_param(self) -> str:
        return "(%s)::text"

    def as_text(self, sql: str) -> str:
        return f"({sql})::text"

    def joined_for_each(self, count: int, text: str, column: str) -> str | None:
        # Planned once for every value: a state's ten correlated lookups took
        # 0.42 ms to plan and 0.16 ms to run, as one subquery 0.17 and 0.08.
        alias, name = column.split(".")
        values = ", ".join(["((%s)::text)"] * count)
        listed = f"(VALUES {values}) {alias}({name})"
        return f"(SELECT string_agg({text}, ',') FROM {listed})"


def array_type(field: Field, connection: BaseDatabaseWrapper) -> str | None:
    """The PostgreSQL type of a column, as Django's UNNEST names it; None
    where a plan cannot type it."""
    target = field.target_field if field.is_relation else field
    if target.get_internal_type() not in connection.data_types:
        return None
    if hasattr(field, "get_placeholder"):
        return None
    db_type = field.db_type(connection)
    return None if db_type is None else db_type.split("(")[0]


def _document(columns: list[list[Any]]) -> str | None:
    """The rows as one JSON array, or None if a value has no JSON form that
    PostgreSQL casts back to it."""
    try:
        return json.dumps(
            list(zip(*columns, strict=True)),
            default=_json_default,
            allow_nan=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError):
        return None


def _json_default(value: Any) -> str:
    """The text PostgreSQL casts back to ``value``, for the values prepared
    for a column that are not JSON types."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")
