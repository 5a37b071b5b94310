"""What every write by filter whose history the database writes shares
(decision 0028): the history rows of the rows it changed, inserted with
``INSERT ... SELECT``, values encoded in SQL (``dialect.py``).

A write (``sqlupdate.py``, ``sqldelete.py``) selects its changed rows, in
key order, as the key (``revy_pk``), its text (``revy_key``) and each
field's old JSON (``revy_old_<n>``), with what the write itself adds; this
module inserts their revision, object deltas and attribute deltas:

- PostgreSQL: data-modifying CTEs of the write's one statement; the object
  deltas take keys from the sequence in key order.
- SQLite and MariaDB: from a temporary table of the ranked rows, one
  ``INSERT ... SELECT`` per history table; the object deltas' keys follow
  each other, so an attribute delta finds its object delta's key by rank.

A field without SQL on the database (``in_python``) keeps its raw values
in the changed rows, staged in a temporary table (on PostgreSQL by the
write's statement, the history then inserted by a second one): Python
reads them a batch at a time, encodes them as its own path would, and
puts them by rank in a second temporary table, which the attribute
deltas' insert joins.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.db import DatabaseError
from django.db.models import Field, Model, QuerySet

from revy.contrib.django.backends.base import Backend, Linked
from revy.contrib.django.backends.plan import Plan, attnames_of, json_text
from revy.contrib.django.backends.pythonvalues import (
    ENCODED,
    Staged,
    StagedColumn,
    encode_staged,
)
from revy.contrib.django.backends.sqltypes import (
    ATTRIBUTE_DELTA_COLUMNS,
    OBJECT_DELTA_COLUMNS,
    SQL,
    Attribution,
    HistoryModels,
    Parameter,
    ValuesInPython,
    Written,
)
from revy.contrib.django.encoding import mask_marker

# The temporary table of the staged shape's changed rows.
CHANGED = "revy_changed_rows"


class HistoryWrite:
    """A write by filter of the rows of ``queryset`` with the history of
    ``fields`` (``masked``: those stored as the mask marker; ``in_python``:
    those whose values Python encodes, on a database that stages rows)."""

    action = ""  # The object deltas' action.
    sides = ("old", "new")  # The values an attribute delta holds.

    def __init__(
        self,
        backend: Backend,
        queryset: QuerySet,
        fields: Sequence[Field],
        masked: frozenset[str],
        history: HistoryModels,
        in_python: Collection[str] = (),
    ) -> None:
        self.backend = backend
        self.connection = backend.connection
        self.sql = backend.dialect
        self.quote = self.connection.ops.quote_name
        self.queryset = queryset
        self.model = queryset.model._meta.concrete_model
        self.fields = list(fields)
        self.masked = masked
        self.history = history
        self.pk = self.model._meta.pk
        # The numbers of the fields whose values Python encodes.
        self.in_python = [
            i for i, field in enumerate(self.fields) if field.name in in_python
        ]
        # The temporary table of their values, where there are any.
        self.encoded = (ENCODED,) if self.in_python else ()

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

    # What a write says of its history ------------------------------------

    def deletion_values(self, attribution: Attribution) -> dict[str, Any]:
        """The object deltas' deletion description and cause."""
        return {"deletion_description": Parameter(""), "cause_id": Parameter(None)}

    def new_value(self) -> Any:
        """The new value of the field numbered ``v.n`` of the changed row
        ``d``."""
        return self._stored("new")

    def recorded(self) -> str | None:
        """Which fields of a changed row ``d`` get an attribute delta (the
        one numbered ``v.n``); None: all of them."""
        return None

    # The history rows -----------------------------------------------------

    def _value(self, field: Field, column: str) -> SQL:
        """A value as stored: a masked field's is its marker; a value Python
        encodes stays as the column holds it."""
        if field.name in self.masked:
            return SQL(self.sql.json_parameter, [json.dumps(mask_marker())])
        if self.fields.index(field) in self.in_python:
            return SQL(column, [])
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

    def _object_deltas(
        self, revision: Any, attribution: Attribution, key: str | None = None
    ) -> SQL:
        """The insert of an object delta per changed row ``d``; ``key``: the
        SQL of its key, where taken beforehand."""
        given = {
            "revision_id": revision,
            "action": Parameter(self.action),
            "content_type_id": Parameter(attribution.content_type_id),
            "content_id": "d.revy_key",
            "actor_content_type_id": Parameter(attribution.actor_content_type_id),
            "actor_id": Parameter(attribution.actor_id),
            "description": Parameter(attribution.object_description),
            **self.deletion_values(attribution),
        }
        return self._insert(
            self.history.object_delta,
            {column: given[column] for column in OBJECT_DELTA_COLUMNS},
            key=key,
        )

    def _attribute_deltas(
        self, attribution: Attribution, changed: str, delta: Any, order: str
    ) -> SQL:
        """The insert of the attribute deltas of the changed rows in table
        ``changed`` (``d``): one per field :meth:`recorded`, in ``order``
        (their rank where Python encoded values) and field order; ``delta``:
        the object delta's key (SQL, or :class:`SQL`)."""
        values = (
            delta,
            Parameter(attribution.content_type_id),
            "d.revy_key",
            _by_field([SQL("%s", [f.name]) for f in self.fields]),
            self._stored("old"),
            self.new_value(),
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
        recorded = self.recorded()
        where = "" if recorded is None else f" WHERE {recorded}"
        source = f"{changed} d"
        if self.in_python:
            source += f" LEFT JOIN {ENCODED} e ON e.revy_rank = {order}"
        return SQL(
            f"{insert.sql} FROM {source} CROSS JOIN ({numbers}) v{where} "
            f"ORDER BY {order}, v.n",
            insert.params,
        )

    def _stored(self, side: str) -> SQL:
        """The stored value on ``side`` of the field numbered ``v.n``: from
        the changed row ``d``, or encoded by Python (``e``)."""
        return _by_field(
            [
                SQL(f"{'e' if i in self.in_python else 'd'}.revy_{side}_{i}", [])
                for i in range(len(self.fields))
            ]
        )

    def _by_field(self, column: str) -> SQL:
        """The changed row's ``revy_<column>_<n>`` of the field numbered
        ``v.n``."""
        return _by_field(
            [SQL(f"d.revy_{column}_{i}", []) for i in range(len(self.fields))]
        )

    # Running --------------------------------------------------------------

    def _in_one_statement(
        self,
        written: Sequence[SQL],
        changed: SQL,
        shape: SQL,
        attribution: Attribution,
        revision: Any,
        values: ValuesInPython,
    ) -> Written:
        """Run the CTEs ``written`` (the write; the last, ``revy_changed``,
        gives its rows, as ``shape`` does with none) with the history of the
        rows ``changed`` selects from them, as one statement; or, with
        values Python encodes, as two around its encoding."""
        sequence = self.sql.key_sequence(self.history.object_delta)
        # Keys taken in key order: the object deltas go in in that order.
        diff = SQL(
            f"SELECT {sequence} AS revy_delta, s.* FROM ({changed.sql}) s",
            changed.params,
        )
        if self.in_python:
            return self._around_python(
                written, diff, shape, attribution, revision, values
            )
        ctes = [
            *written,
            SQL(f"revy_diff AS MATERIALIZED ({diff.sql})", diff.params),
        ]
        count = "(SELECT count(*) FROM revy_changed)"
        return self._with_history(ctes, "revy_diff", count, attribution, revision)

    def _around_python(
        self,
        written: Sequence[SQL],
        diff: SQL,
        shape: SQL,
        attribution: Attribution,
        revision: Any,
        values: ValuesInPython,
    ) -> Written:
        """:meth:`_in_one_statement` with values Python encodes: the write
        puts its changed rows, their keys taken, in ``CHANGED``; Python
        encodes their values into ``ENCODED``; the history goes in from
        there."""
        tables = (CHANGED, ENCODED)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {CHANGED} AS WITH {shape.sql} {diff.sql} "
                "WITH NO DATA",
                [*shape.params, *diff.params],
            )
            aborted = False
            try:
                ctes = [
                    *written,
                    SQL(
                        f"revy_staged AS (INSERT INTO {CHANGED} {diff.sql})",
                        diff.params,
                    ),
                ]
                cursor.execute(
                    "WITH "
                    + ", ".join(cte.sql for cte in ctes)
                    + " SELECT count(*) FROM revy_changed",
                    [p for cte in ctes for p in cte.params],
                )
                [(count,)] = cursor.fetchall()
                cursor.execute(f"CREATE UNIQUE INDEX ON {CHANGED} (revy_delta)", ())
                self._encode_in_python(cursor, "d.revy_delta", values)
                return self._with_history(
                    [], CHANGED, str(int(count)), attribution, revision
                )
            except DatabaseError:
                # The transaction takes no statement but a rollback now, which
                # drops the tables with the rest: the error is the database's.
                aborted = True
                raise
            finally:
                if not aborted:
                    self.sql.unstage(cursor, tables, before=False)

    def _with_history(
        self,
        ctes: Sequence[SQL],
        source: str,
        count: str,
        attribution: Attribution,
        revision: Any,
    ) -> Written:
        """Run the CTEs ``ctes`` with the history of the rows of ``source``
        (their object delta keys taken: ``revy_delta``) as one statement;
        ``count``: the SQL of the number of rows written."""
        ctes = list(ctes)
        revision_sql: Any = Parameter(revision.pk)
        if revision._state.adding:
            insert = self._revision_insert(revision, source)
            key = self.quote(type(revision)._meta.pk.column)
            ctes.append(
                SQL(f"revy_revision AS ({insert.sql} RETURNING {key})", insert.params)
            )
            revision_sql = f"(SELECT {key} FROM revy_revision)"
        insert = self._object_deltas(revision_sql, attribution, key="d.revy_delta")
        ctes.append(
            SQL(
                f"revy_deltas AS ({insert.sql} FROM {source} d ORDER BY d.revy_delta)",
                insert.params,
            )
        )
        if self.fields:  # A row whose every field is left out has none.
            insert = self._attribute_deltas(
                attribution, source, "d.revy_delta", "d.revy_delta"
            )
            ctes.append(SQL(f"revy_attributes AS ({insert.sql})", insert.params))
        key = "(SELECT * FROM revy_revision)" if revision._state.adding else "NULL"
        sql = (
            "WITH " + ", ".join(cte.sql for cte in ctes) + f" SELECT {count}, {key}, "
            f"(SELECT min(revy_delta) FROM {source}), "
            f"(SELECT max(revy_delta) FROM {source})"
        )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, [p for cte in ctes for p in cte.params])
            [result] = cursor.fetchall()
        return Written(*result)

    def _no_rows(self, names: Sequence[str], fields: Sequence[Field]) -> SQL:
        """The CTE ``revy_changed`` of columns ``names``, of the types of
        the columns of ``fields``, with no row: the shape of a write's. It
        reads no table: the write itself is the first to read its rows."""
        columns = ", ".join(
            f"CAST(NULL AS {field.cast_db_type(self.connection)})" for field in fields
        )
        return SQL(
            f"revy_changed ({', '.join(names)}) AS (SELECT {columns} WHERE false)",
            [],
        )

    def _insert_staged(
        self,
        cursor: Any,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        rank: str,
        values: ValuesInPython,
    ) -> tuple[Any, Any, Any]:
        """Insert the history of the changed rows staged in ``CHANGED``
        (``rank``: their order), ``values`` encoding those of fields without
        SQL; the key of a revision inserted here, and the first and last
        object delta keys (None: none written). ``revision`` is written, or
        new and written only if a row changed: by an insert here, or where
        it needs more than an insert by ``write_revision()``, which gives
        its key."""
        if self.in_python:
            self._encode_in_python(cursor, rank, values)
        inserted = None
        if not revision._state.adding:
            revision_key = revision.pk
        elif write_revision is None:
            insert = self._revision_insert(revision, CHANGED)
            cursor.execute(insert.sql, insert.params)
            if not cursor.rowcount:
                return None, None, None  # No row changed.
            revision_key = inserted = cursor.lastrowid
        else:
            cursor.execute(f"SELECT 1 FROM {CHANGED} LIMIT 1", ())
            if not cursor.fetchall():
                return None, None, None
            revision_key = write_revision()
        insert = self._object_deltas(Parameter(revision_key), attribution)
        cursor.execute(f"{insert.sql} FROM {CHANGED} d ORDER BY {rank}", insert.params)
        count = cursor.rowcount
        if not count:
            return inserted, None, None
        # The keys followed each other: the row of rank r took first + r - 1.
        first = self.sql.first_inserted_key(cursor)
        if self.fields:  # A row whose every field is left out has none.
            insert = self._attribute_deltas(
                attribution, CHANGED, SQL(f"%s + {rank}", [first - 1]), rank
            )
            cursor.execute(insert.sql, insert.params)
        return inserted, first, first + count - 1

    def _encode_in_python(self, cursor: Any, rank: str, values: ValuesInPython) -> None:
        """Put the values of the fields without SQL of the rows staged in
        ``CHANGED`` into ``ENCODED``, encoded by ``values``, by ``rank``."""
        encode_staged(
            cursor,
            self.backend,
            Staged(
                CHANGED,
                rank,
                self.model,
                [
                    StagedColumn(f"revy_{side}_{i}", self.fields[i])
                    for i in self.in_python
                    for side in self.sides
                ],
                len(self.sides),
            ),
            values,
            json_text(self.history.attribute_delta._meta.get_field("old_value")),
        )

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
