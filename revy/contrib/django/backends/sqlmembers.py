"""Many-to-many changes with their history written by the database
(decision 0028, amendment "many-to-many changes"): an update delta per row
whose relation changed, each with one attribute delta of the relation,
inserted from the rows without reading them into Python. The members' side
gives each member the same two values (the one object it gained or lost);
the owner's side lists the members it lost, aggregated by the database.

- PostgreSQL: one statement, the members read by a CTE and their history
  inserted by the CTEs that follow.
- SQLite and MariaDB: the members go ranked into a temporary table, which
  the history inserts read.

No data is written here: Django's manager writes the through rows itself,
before (``add``) or after (``remove``, ``clear``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db.models import F, QuerySet

from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.sqltypes import (
    SQL,
    Attribution,
    HistoryModels,
    ValuesInPython,
    Written,
)
from revy.contrib.django.backends.sqlwrite import CHANGED, HistoryWrite


class Relation(NamedTuple):
    """The relation whose members changed, named as its attribute deltas
    are (the accessor of the rows' side)."""

    name: str


class MemberKeys(NamedTuple):
    """The keys of the rows of ``members``, as an attribute delta lists
    them: a JSON array, sorted."""

    members: QuerySet


# A value of a relation: member keys as stored (a list), or read by the SQL.
RelationValue = list[Any] | MemberKeys


class Members(HistoryWrite):
    """The update deltas of the rows of ``rows``, whose relation
    ``relation`` went from ``old`` to ``new``, where :meth:`can_run`
    allows."""

    action = "update"

    def __init__(
        self,
        backend: Backend,
        rows: QuerySet,
        relation: Relation,
        old: RelationValue,
        new: RelationValue,
        history: HistoryModels,
    ) -> None:
        super().__init__(backend, rows, (), frozenset(), history)
        self.fields = [relation]  # type: ignore[list-item]  # Only its name is read.
        self.relation_values = (old, new)

    def can_run(self, revision: Any | None) -> bool:
        # Keys the database can sort as Python sorts them.
        return super().can_run(revision) and all(
            self.sql.key_order(value.members.model._meta.pk, "k") is not None
            for value in self.relation_values
            if isinstance(value, MemberKeys)
        )

    def _keys(self, rows: QuerySet) -> SQL | None:
        """The keys of ``rows``, as ``revy_pk``, in order; None: there are
        none."""
        keys = rows.annotate(revy_pk=F("pk")).values_list("revy_pk").order_by("pk")
        try:
            return SQL(*keys.query.get_compiler(self.connection.alias).as_sql())
        except EmptyResultSet:
            return None

    def _relation_value(self, value: RelationValue) -> SQL:
        """The SQL of a value of the relation, as stored."""
        if not isinstance(value, MemberKeys):
            return SQL(self.sql.json_parameter, [json.dumps(value)])
        keys = self._keys(value.members)
        if keys is None:
            return SQL(self.sql.json_parameter, ["[]"])
        pk = value.members.model._meta.pk
        order = self.sql.key_order(pk, "k.revy_pk")
        assert order is not None  # can_run() saw to it.
        array = self.sql.json_array(self.sql.json(pk, "k.revy_pk"), order)
        # Ordered before it is aggregated too: SQLite's aggregate keeps the
        # order its rows come in.
        ordered = f"SELECT k.revy_pk AS revy_pk FROM ({keys.sql}) k ORDER BY {order}"
        return SQL(f"(SELECT {array} FROM ({ordered}) k)", keys.params)

    def _changed(self, source: str) -> SQL:
        """The rows of ``source`` (``m``, its key ``m.revy_pk``) in key
        order: the key, its text and the two values."""
        old, new = (self._relation_value(value) for value in self.relation_values)
        return SQL(
            f"SELECT m.revy_pk AS revy_pk, "
            f"{self.sql.key_text(self.pk, 'm.revy_pk')} AS revy_key, "
            f"{old.sql} AS revy_old_0, {new.sql} AS revy_new_0 "
            f"FROM {source} ORDER BY m.revy_pk",
            [*old.params, *new.params],
        )

    def run(
        self,
        attribution: Attribution,
        revision: Any,
        write_revision: Callable[[], Any] | None,
        values: ValuesInPython,
    ) -> Written:
        """Write the history. ``revision`` is written, or new and written
        only if there are rows: by these statements, or where it needs more
        than an insert by ``write_revision()`` (not in one statement)."""
        keys = self._keys(self.queryset)
        if keys is None:
            return Written(0, None, None, None)
        aggregates = any(isinstance(v, MemberKeys) for v in self.relation_values)
        with (
            self.connection.cursor() as cursor,
            (
                self.sql.long_aggregates(cursor)
                if aggregates
                else contextlib.nullcontext()
            ),
        ):
            if self.sql.history_in_one_statement:
                written = [SQL(f"revy_changed (revy_pk) AS ({keys.sql})", keys.params)]
                shape = self._no_rows(["revy_pk"], [self.pk])
                changed = self._changed("revy_changed m")
                return self._in_one_statement(
                    written, changed, shape, attribution, revision, values
                )
            changed = self._changed(f"({keys.sql}) m")
            self.sql.unstage(cursor, (CHANGED,), before=True)
            rank = self.sql.stage_ranked(
                cursor, CHANGED, changed.sql, [*changed.params, *keys.params]
            )
            try:
                inserted, first, last = self._insert_staged(
                    cursor, attribution, revision, write_revision, f"d.{rank}", values
                )
            finally:
                self.sql.unstage(cursor, (CHANGED,), before=False)
        count = 0 if first is None else last - first + 1
        return Written(count, inserted, first, last)
