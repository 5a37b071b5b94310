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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Field, Model, QuerySet

from revy.contrib.django.backends.base import Backend, Linked
from revy.contrib.django.backends.plan import Plan, attnames_of
from revy.contrib.django.backends.sqltypes import (
    ATTRIBUTE_DELTA_COLUMNS,
    OBJECT_DELTA_COLUMNS,
    SQL,
    Attribution,
    HistoryModels,
    Parameter,
    Written,
)
from revy.contrib.django.encoding import mask_marker

# The temporary table of the staged shape's changed rows.
CHANGED = "revy_changed_rows"


class HistoryWrite:
    """A write by filter of the rows of ``queryset`` with the history of
    ``fields`` (``masked``: those stored as the mask marker)."""

    action = ""  # The object deltas' action.

    def __init__(
        self,
        backend: Backend,
        queryset: QuerySet,
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
        self.fields = list(fields)
        self.masked = masked
        self.history = history
        self.pk = self.model._meta.pk

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
        return self._by_field("new")

    def recorded(self) -> str | None:
        """Which fields of a changed row ``d`` get an attribute delta (the
        one numbered ``v.n``); None: all of them."""
        return None

    # The history rows -----------------------------------------------------

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
        and field order; ``delta``: the object delta's key (SQL, or
        :class:`SQL`)."""
        values = (
            delta,
            Parameter(attribution.content_type_id),
            "d.revy_key",
            _by_field([SQL("%s", [f.name]) for f in self.fields]),
            self._by_field("old"),
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
        return SQL(
            f"{insert.sql} FROM {changed} d CROSS JOIN ({numbers}) v{where} "
            f"ORDER BY {order}, v.n",
            insert.params,
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
        attribution: Attribution,
        revision: Any,
    ) -> Written:
        """Run the CTEs ``written`` (the write; the last, ``revy_changed``,
        gives its rows) with the history of the rows ``changed`` selects
        from them, as one statement."""
        sequence = self.sql.key_sequence(self.history.object_delta)
        ctes = [
            *written,
            # Keys taken in key order: the object deltas go in in that order.
            SQL(
                f"revy_diff AS MATERIALIZED (SELECT {sequence} AS revy_delta, s.* "
                f"FROM ({changed.sql}) s)",
                changed.params,
            ),
        ]
        revision_sql: Any = Parameter(revision.pk)
        if revision._state.adding:
            insert = self._revision_insert(revision, "revy_diff")
            key = self.quote(type(revision)._meta.pk.column)
            ctes.append(
                SQL(f"revy_revision AS ({insert.sql} RETURNING {key})", insert.params)
            )
            revision_sql = f"(SELECT {key} FROM revy_revision)"
        insert = self._object_deltas(revision_sql, attribution, key="d.revy_delta")
        ctes.append(
            SQL(
                f"revy_deltas AS ({insert.sql} FROM revy_diff d ORDER BY d.revy_delta)",
                insert.params,
            )
        )
        if self.fields:  # A row whose every field is left out has none.
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
            [result] = cursor.fetchall()
        return Written(*result)

    def _insert_staged(
        self,
        cursor: Any,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        rank: str,
    ) -> tuple[Any, Any, Any]:
        """Insert the history of the changed rows staged in ``CHANGED``
        (``rank``: their order); the key of a revision inserted here, and
        the first and last object delta keys (None: none written).
        ``revision`` is written, or new and written only if a row changed:
        by an insert here, or where it needs more than an insert by
        ``write_revision()``, which gives its key."""
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
