"""What every database backend does the same way; the subclasses say how
their database differs.

History rows are inserted without ``Model.save()`` and ``bulk_create()``,
through a :class:`~revy.contrib.django.backends.plan.Plan` per kind of
insert. A history model with a field that computes its value on save
(``auto_now``, a custom ``pre_save``) or that a plan cannot type goes
through Django's compiler instead.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, JSONField, Model, QuerySet, Value
from django.db.models.base import ModelState

from revy.contrib.django import tracking
from revy.contrib.django.backends.dialect import Dialect
from revy.contrib.django.backends.inkeys import InKeys
from revy.contrib.django.backends.plan import (
    Plan,
    attnames_of,
    computes_on_save,
    inserted_fields,
)
from revy.contrib.django.encoding import JSON_NULL


class Linked:
    """Rows of one history model for :meth:`Backend.insert_linked`: ``link``
    names the column that holds the key of a row inserted before in the same
    statement, and ``parents`` gives, per row, the index of that row among
    the previous model's rows (None: keep the value given)."""

    __slots__ = ("model", "attnames", "rows", "link", "parents")

    def __init__(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        link: str | None = None,
        parents: Sequence[int | None] = (),
    ) -> None:
        self.model, self.attnames, self.rows = model, attnames, rows
        self.link, self.parents = link, parents

    @classmethod
    def instances(cls, model: type[Model], objs: Sequence[Model]) -> Linked:
        """New, unsaved instances (see :func:`mark_inserted`)."""
        return cls(model, attnames_of(model), instance_rows(model, objs))


class RowReader(NamedTuple):
    """A compiled read of one row by key, and how its values are converted."""

    sql: str
    driver_sql: str  # ``sql`` in the driver's own parameter style
    compiler: Any
    converters: dict[int, Any]
    pk_field: Field
    connection: BaseDatabaseWrapper

    def key(self, pk: Any) -> Any:
        """The parameter of the row ``pk``."""
        return self.pk_field.get_db_prep_value(pk, self.connection, prepared=False)

    def rows(self, rows: list[Any]) -> list[tuple[Any, ...]]:
        """``rows``, as the database returned them, as Python values."""
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        return [tuple(row) for row in rows]


_UNCOMPILED: Any = object()


class Backend:
    """History SQL for one database connection. Subclasses override what
    their database does differently; :func:`backends.of` picks one."""

    plan_class: type[Plan] = Plan
    # Whether the database lets one connection write at a time, so that
    # between a read and a write of one transaction no other can commit.
    writes_alone = False
    # Whether a save's UPDATE can return the row as it was, read with the
    # lock a separate read would take (:meth:`update_reading_row`).
    updates_reading_rows = False
    # Whether an insert that skips or updates conflicting rows can return
    # exactly the rows it inserted (ON CONFLICT DO NOTHING RETURNING).
    returns_rows_inserted_despite_conflicts = True
    # Whether history tables can be partitioned (``partitions.py``).
    supports_partitions = False
    # History written by the database in this database's SQL (dialect.py).
    dialect_class: type[Dialect] = Dialect

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.dialect = self.dialect_class(connection)
        self._plans: dict[tuple[Any, ...], Plan | None] = {}
        self._readers: dict[tuple[Any, ...], RowReader | None] = {}

    # Foreign keys checked at once (a propose() block) ----------------------

    def check_foreign_keys_at_once(self) -> None:
        """Check foreign keys at each statement until the transaction (or
        the savepoint) ends; most databases do already."""

    def check_foreign_keys(self, tables: list[str]) -> None:
        """Raise IntegrityError now for a broken foreign key in ``tables``
        that the database would only report at the commit."""

    # Inserting history rows ---------------------------------------------------

    def insert(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        returning: bool = False,
        cursor: Any = None,
    ) -> list[Any]:
        """Insert ``rows`` (values of ``attnames``, the other fields taking
        their defaults) into ``model``; return their keys if ``returning``.
        ``cursor``, a cursor of this connection, saves opening one."""
        if not rows:
            return []
        plan = self.plan(model, attnames, returning)
        if plan is None:
            return self._insert_with_django(model, attnames, rows, returning)
        if cursor is None:
            with self.connection.cursor() as cursor:
                return plan.run(cursor, rows)
        return plan.run(cursor, rows)

    def _insert_with_django(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        returning: bool,
    ) -> list[Any]:
        json_null = Value(None, output_field=JSONField())  # Django's JSON null.
        objs = [
            build(
                model,
                {
                    a: json_null if v is JSON_NULL else v
                    for a, v in zip(attnames, row, strict=True)
                },
            )
            for row in rows
        ]
        fields = inserted_fields(model)
        using = self.connection.alias
        queryset = model._base_manager.using(using)
        if not returning:
            size = self.connection.ops.bulk_batch_size(fields, objs)
            for start in range(0, len(objs), size):
                queryset._insert(objs[start : start + size], fields=fields, using=using)
            return []
        pk = model._meta.pk
        return [
            queryset._insert([obj], fields=fields, returning_fields=[pk], using=using)[
                0
            ][0]
            for obj in objs
        ]

    def insert_instances(self, model: type[Model], objs: Sequence[Model]) -> None:
        """Insert new, unsaved instances of a history model; set their keys."""
        rows = instance_rows(model, objs)
        keys = self.insert(model, attnames_of(model), rows, returning=True)
        mark_inserted(objs, keys, self.connection.alias)

    def plan(
        self, model: type[Model], attnames: tuple[str, ...], returning: bool
    ) -> Plan | None:
        """The plan of this kind of insert, made once; None: use Django's."""
        key = (model, attnames, returning)
        if key not in self._plans:
            fields = inserted_fields(model)
            self._plans[key] = (
                None
                if any(computes_on_save(f) for f in fields)
                or not self.can_plan(fields, returning)
                else self.plan_class(self, model, fields, attnames, returning)
            )
        return self._plans[key]

    def can_plan(self, fields: list[Field], returning: bool) -> bool:
        """Whether a plan can insert into these fields."""
        return (
            not returning or self.connection.features.can_return_rows_from_bulk_insert
        )

    def placeholder(self, field: Field) -> str:
        """The placeholder of one value of ``field`` in a VALUES list."""
        return "%s"

    # How much one statement may carry ---------------------------------------

    # At most this many bytes per character of a parameter on the wire.
    bytes_per_character = 4  # UTF-8
    # Statements up to this size are sent without a closer look.
    fits_without_asking = 64 * 2**20

    def max_statement_bytes(self) -> int:
        """The most bytes of parameters revy sends in one statement."""
        return 64 * 2**20

    def limit(self) -> str:
        """What sets :meth:`max_statement_bytes`, for error messages."""
        return f"revy's own limit of {self.max_statement_bytes():,} bytes a statement"

    def text_bytes(self, text: str) -> int:
        """The bytes ``text`` takes as a parameter on the wire."""
        return len(text.encode())

    def params_bytes(self, params: Iterable[Any]) -> int:
        """The bytes ``params`` take on the wire, texts exactly, the rest
        (numbers, NULL) at a generous 24 bytes each."""
        return sum(self.text_bytes(p) if type(p) is str else 24 for p in params)

    def may_exceed(self, params: Iterable[Any]) -> bool:
        """Whether ``params`` might exceed :meth:`max_statement_bytes`: a
        quick upper bound, so that only large writes are measured exactly."""
        texts = 0
        others = 0
        for p in params:
            if type(p) is str:
                texts += len(p)
            else:
                others += 1
        bound = texts * self.bytes_per_character + others * 24
        return bound > self.fits_without_asking and bound > self.max_statement_bytes()

    def max_parameters(self) -> int:
        """The most parameters one statement may carry."""
        # PostgreSQL's and MariaDB's wire protocols count parameters in 16 bits.
        return self.connection.features.max_query_params or 65535

    def can_link(self, parents: int) -> bool:
        """Whether :meth:`insert_linked` may take ``parents`` rows whose keys
        later rows need."""
        return False

    def insert_linked(
        self, levels: Sequence[Linked], commit: bool = False
    ) -> list[list[Any]] | None:
        """Insert rows of several models in one statement, where a row may
        hold the key of a row inserted before it. Returns the keys of every
        level but the last, or None where this database or these models need
        one insert per model. With ``commit``, ``COMMIT`` may go in the same
        round trip (:meth:`can_commit_with`)."""
        return None

    def can_commit_with(self) -> bool:
        """Whether ``COMMIT`` may follow a statement in the same query string."""
        return False

    # Locking the rows a write changes ----------------------------------------

    def by_keys(
        self, queryset: QuerySet, keys: list[Any], field: Field | None = None
    ) -> QuerySet:
        """``queryset`` narrowed to the rows whose ``field`` (default: the
        primary key) is in ``keys``: as a write that must change exactly the
        rows revy read gets it, and as a prefetch reads the rows of a page.
        The keys go in prepared once: a lookup of a list prepares each key
        again on its way, a tenth of a history page's time."""
        field = field or queryset.model._meta.pk
        if not keys:
            return queryset.none()
        values = [
            field.get_db_prep_value(key, self.connection, prepared=False)
            for key in keys
        ]
        test, params = self.in_values(field, values)
        return queryset.filter(InKeys(field.attname, test, params))

    def in_values(self, field: Field, values: list[Any]) -> tuple[str, list[Any]]:
        """SQL that tests a column of ``field`` against ``values`` (prepared
        for the database), with its parameters: a placeholder a value."""
        marks = ", ".join(["%s"] * len(values))
        return f"IN ({marks})", values

    def lock(self, queryset: QuerySet, for_delete: bool = False) -> QuerySet:
        """``queryset`` reading its rows with a lock as strong as the write
        that follows takes (an update's, or a delete's), held to the end of
        the transaction: what revy reads is then what the write changes."""
        query = queryset.query
        if query.distinct or query.group_by is not None or query.combinator:
            # FOR UPDATE refuses these: lock the rows they select, by key.
            keys = queryset.order_by().values("pk")
            # A plain queryset: a base manager may annotate (GROUP BY) too.
            queryset = QuerySet(queryset.model, using=queryset.db).filter(pk__in=keys)
        return self.locking(queryset, for_delete)

    def locking(self, queryset: QuerySet, for_delete: bool) -> QuerySet:
        return queryset.select_for_update()

    def locked_row(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        pk: Any,
        for_delete: bool = False,
    ) -> tuple[Any, ...] | None:
        """The values of ``attnames`` of the row ``pk`` (None if there is
        none), read with :meth:`lock`'s lock. The query is compiled once per
        model and columns: one write of one row pays a round trip, not the
        ORM's compilation."""
        reader = self.row_reader(model, attnames, pk, for_delete)
        if reader is None:  # The query has parameters besides the key: the ORM.
            queryset = QuerySet(model, using=self.connection.alias).filter(pk=pk)
            rows = list(self.lock(queryset, for_delete).values_list(*attnames))
            return rows[0] if rows else None
        rows = reader.rows(self.fetch(reader.sql, reader.driver_sql, [reader.key(pk)]))
        return rows[0] if rows else None

    def row_reader(
        self,
        model: type[Model],
        attnames: tuple[str, ...],
        pk: Any,
        for_delete: bool = False,
    ) -> RowReader | None:
        """:meth:`locked_row`'s read, compiled with the key ``pk`` the first
        time, its one parameter the key; None where the query takes other
        parameters too."""
        key = (model, attnames, for_delete)
        reader = self._readers.get(key, _UNCOMPILED)
        if reader is _UNCOMPILED:
            alias = self.connection.alias
            # The row itself, whatever the base manager annotates.
            queryset = QuerySet(model, using=alias).filter(pk=pk)
            compiler = (
                self.lock(queryset, for_delete)
                .values_list(*attnames)
                .query.get_compiler(alias)
            )
            sql, params = compiler.as_sql()
            converters = compiler.get_converters(
                [column for column, _sql, _alias in compiler.select]
            )
            reader = self._readers[key] = (
                RowReader(
                    sql,
                    self.driver_sql(sql),
                    compiler,
                    converters,
                    model._meta.pk,
                    self.connection,
                )
                if len(params) == 1
                else None
            )
        return reader

    def fetch(self, sql: str, driver_sql: str, params: Sequence[Any]) -> list[Any]:
        """The rows ``sql`` returns. One short statement per save: when
        nothing watches the queries (no ``execute_wrapper``, no query log),
        it goes through the driver's own cursor, without the wrapper's cost,
        which is most of such a statement's time on the client."""
        connection = self.connection
        if connection.execute_wrappers or connection.queries_logged:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        # What Django's cursor checks first: no query in a broken atomic.
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            cursor = self.driver_cursor()
            try:
                cursor.execute(driver_sql, params)
                return cursor.fetchall()
            finally:
                cursor.close()

    def update_reading_row(
        self, queryset: QuerySet, pk: Any, values: list[Any], reader: RowReader
    ) -> list[Any] | None:
        """Run the ``UPDATE`` of a save (Django's ``values``, on the row
        ``pk`` of ``queryset``, the model's base queryset) so that it also
        returns the row as it was, read with ``reader``'s lock: one row per
        row updated. None where the database or the statement does not
        allow it; the caller then reads first."""
        return None

    def driver_cursor(self) -> Any:
        """A cursor of the driver itself, on this connection."""
        self.connection.ensure_connection()
        return self.connection.create_cursor()

    def driver_sql(self, sql: str) -> str:
        """``sql``, written with Django's ``%s`` parameters, as the driver's
        own cursor takes it."""
        return sql

    # Snapshot SQL (see snapshot.py) -------------------------------------------

    def json_quote(self, sql: str) -> str:
        """SQL of the JSON string of the text ``sql``."""
        raise NotSupportedError(
            f"revy's snapshots support SQLite, PostgreSQL and MySQL/MariaDB, "
            f"not {self.connection.display_name}."
        )

    def text_param(self) -> str:
        """SQL of a text parameter, ready to be joined to other text."""
        return "%s"

    def as_text(self, sql: str) -> str:
        """SQL of the JSON value ``sql`` as text."""
        return sql

    def concat(self, pieces: list[str]) -> str:
        """SQL joining ``pieces`` as text; NULL if any piece is NULL."""
        return "(" + " || ".join(pieces) + ")"

    def joined_for_each(self, count: int, text: str, column: str) -> str | None:
        """SQL of the text ``text`` for each of ``count`` text parameters (the
        ``column``, ``<alias>.<name>``, of a subquery), joined by commas;
        None where a subquery per value plans as fast."""
        return None


# Rows of history model instances --------------------------------------------


def instance_rows(model: type[Model], objs: Sequence[Model]) -> list[tuple]:
    attnames = attnames_of(model)
    return [tuple(map(obj.__dict__.__getitem__, attnames)) for obj in objs]


def mark_inserted(objs: Sequence[Model], keys: Sequence[Any], using: str) -> None:
    """Give instances inserted without ``save()`` their keys, as saved."""
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using


@functools.cache
def _defaults(model: type[Model]) -> tuple[dict[str, Any], list[Any]]:
    """``({attname: default}, [(attname, make default)])`` of ``model``."""
    static, dynamic = {}, []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            dynamic.append((field.attname, field.get_default))
        else:
            static[field.attname] = field.get_default()
    return static, dynamic


def build(model: type[Model], values: dict[str, Any]) -> Any:
    """An unsaved instance of a history model, as ``model(**values)`` makes,
    without the cost of ``Model.__init__`` for the thousands a bulk write
    records. ``values`` are keyed by attname."""
    if not tracking.can_build_directly(model):
        return model(**values)
    obj = model.__new__(model)
    data = obj.__dict__
    static, dynamic = _defaults(model)
    data.update(static)
    for attname, make in dynamic:
        data[attname] = make()
    data.update(values)
    data["_state"] = ModelState()
    return obj
