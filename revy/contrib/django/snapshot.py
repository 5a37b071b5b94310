"""``ObjectSnapshot``: rebuild model instances from attribute deltas in SQL.

``ObjectDelta.objects.filter(...).annotate(snapshot=ObjectSnapshot(User))``
gives each object delta a ``User`` instance as it stood right after that
delta (for a delete delta: right before the delete), in the one query that
loads the deltas. For each field, a correlated subquery finds the latest
value recorded for that object up to the delta: one lookup in the attribute
deltas' "field" index. The database joins the stored JSON texts into one
JSON object, ``{"name": [value], ...}`` (the one-element array tells a
recorded null from nothing recorded), which revy parses once and decodes
with each field's own parser.

For a row older than tracking, a field not recorded up to the delta takes
the old value of its first change recorded after it (a delete records every
field's). A field history never saw at all is left *deferred* on the
instance: reading it loads the live value while the row exists, as Django
does for ``.defer()``. Run ``manage.py revy_baseline`` to record the
current state of existing rows.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import F, Func
from django.db.models.base import DEFERRED

from revy.contrib.django import backends, conf, tracking
from revy.contrib.django.backends import Backend
from revy.contrib.django.encoding import decoder
from revy.contrib.django.inheritance import content_types_of_row
from revy.contrib.django.rows import recorded_fields
from revy.contrib.django.schema import UNDECODABLE, decode, decode_for_display

__all__ = ["ObjectSnapshot", "build_instance"]

_PK = "__pk__"


class _SnapshotField(models.TextField):
    """Turns the JSON text the database built into a model instance."""

    def __init__(self, model: type[models.Model], raw_values: bool) -> None:
        super().__init__()
        self.snapshot_model = model
        self.raw_values = raw_values

    def get_db_converters(self, connection: Any) -> list[Any]:
        # Asked once a query: each row then only parses and builds.
        return [_Builder(self.snapshot_model, self.raw_values).convert]


def build_instance(
    model: type[models.Model], values: dict[str, Any], raw_values: bool = False
) -> Any:
    """An unsaved instance of ``model`` from ``{name: [stored value] or None}``
    of the fields history records.

    A value its field cannot parse (its type changed) raises
    :class:`~revy.contrib.django.exceptions.UndecodableValue`, or with
    ``raw_values`` is kept as a :class:`~revy.contrib.django.schema.RawValue`.
    """
    return _Builder(model, raw_values).build(values)


class _Builder:
    """Builds the snapshots of one query, with what they need from the
    model and the settings in force read once."""

    def __init__(self, model: type[models.Model], raw_values: bool) -> None:
        self.model = model
        self.raw_values = raw_values
        self.decoders = _decoders(model)
        self.key_to_python = model._meta.pk.to_python
        # A multi-table child's key is its parents' keys too.
        self.keys = [
            parent._meta.pk.attname for parent in (model, *model._meta.all_parents)
        ]
        self.attnames = [field.attname for field in model._meta.concrete_fields]
        self.direct = tracking.can_build_directly(model)

    def convert(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else self.build(json.loads(value))

    def build(self, values: dict[str, Any]) -> Any:
        key = self.key_to_python(values[_PK])
        stored = None
        if not self.raw_values:
            try:  # noqa: SIM105 (per row: cheaper than contextlib.suppress)
                stored = {
                    attname: decode_stored(boxed[0])
                    for name, attname, decode_stored in self.decoders
                    if (boxed := values.get(name)) is not None
                }
            except UNDECODABLE:
                pass  # Said below, field by field.
        if stored is None:
            stored = self.as_stored_or_explained(values, key)
        for attname in self.keys:
            stored[attname] = key
        row = [stored.get(attname, DEFERRED) for attname in self.attnames]
        if self.direct:
            return tracking.build(self.model, row, adding=True)
        return self.model(*row)

    def as_stored_or_explained(self, values: dict[str, Any], key: Any) -> dict:
        """Values shown as stored, or the error naming the field whose type
        changed so that its stored value no longer parses."""
        encoder = conf.value_encoder()
        where = f"the history of {self.model._meta.label} row {key}"
        return {
            field.attname: decode_for_display(encoder, field, boxed[0])
            if self.raw_values
            else decode(encoder, field, boxed[0], where)
            for field in recorded_fields(self.model)
            if (boxed := values.get(field.name)) is not None
        }


def _decoders(model: type[models.Model]) -> list[tuple[str, str, Any]]:
    """``(name, attname, decode)`` of each field history records, made once
    while the same settings (the per-field rules among them) are in force."""

    def make() -> list[tuple[str, str, Any]]:
        encoder = conf.value_encoder()
        return [
            (field.name, field.attname, decoder(encoder, field))
            for field in recorded_fields(model)
        ]

    return conf.kept(("snapshot decoders", model), make)


class ObjectSnapshot(Func):
    """Annotate object deltas of ``model`` with the instance as it stood then.

    The snapshot is unsaved (``_state.adding`` is True) and keeps its
    primary key: ``snapshot.save()`` restores it, recorded like any save.
    A value its field cannot parse raises ``UndecodableValue``, or with
    ``raw_values`` (for reads that only show history) is kept as a
    :class:`~revy.contrib.django.schema.RawValue`.

    With ``few_rows``, for a query that reads one row or a few (a state at a
    point), the fields' lookups are written as one subquery over their
    names where the database plans that faster: on PostgreSQL in a third of
    the time, but run more slowly for each of many rows.
    """

    def __init__(
        self,
        model: type[models.Model],
        raw_values: bool = False,
        *,
        few_rows: bool = False,
    ) -> None:
        self.snapshot_model = model
        self.few_rows = few_rows
        # The outer object delta's columns the field subqueries look up.
        super().__init__(
            F("pk"),
            F("content_type_id"),
            F("content_id"),
            output_field=_SnapshotField(model, raw_values),
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        backend = backends.of(connection)
        outer = []
        for expression in self.get_source_expressions():
            sql, params = compiler.compile(expression)
            assert not params, "columns of the outer object delta"
            outer.append(sql)
        fields = recorded_fields(self.snapshot_model)
        content_types = tuple(content_types_of_row(field.model) for field in fields)
        attribute_delta_model = conf.history_models().attribute_delta
        key = (
            self.snapshot_model,
            attribute_delta_model,
            type(backend),
            *outer,
            tuple(field.name for field in fields),  # The rules may change.
            content_types,
            self.few_rows,
        )
        if key not in _SQL:
            _SQL[key] = _snapshot_sql(
                backend,
                attribute_delta_model,
                fields,
                content_types,
                self.few_rows,
                *outer,
            )
        return _SQL[key]


# The SQL of each kind of snapshot: the model, the history model, the
# database and the outer columns. Compiling ten correlated subqueries through
# the ORM took several times longer than the database takes to run them.
_SQL: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def _snapshot_sql(
    backend: Backend,
    model: type[models.Model],
    fields: list[models.Field],
    content_types: tuple[tuple[int, ...] | None, ...],
    few_rows: bool,
    pk: str,
    content_type: str,
    content_id: str,
) -> tuple[str, list[Any]]:
    """The JSON text ``{"name": [stored value] or null, ..., "__pk__": key}``
    of the outer object delta ``pk`` (SQL of its columns), and its params."""
    outer = (pk, content_type, content_id)
    end = [f"""'{"," if fields else "{"}"{_PK}":'""", backend.json_quote(content_id)]
    if few_rows and fields and len(set(content_types)) == 1:
        # One subquery over the names, its lookups written once.
        sql, params = _latest_value(backend, model, None, content_types[0], *outer)
        entry = backend.concat(
            [backend.json_quote(_FIELD_NAME), "':'", _boxed(backend, sql)]
        )
        names = [field.name for field in fields]
        joined = backend.joined_for_each(len(names), entry, _FIELD_NAME)
        if joined is not None:
            return backend.concat(["'{'", joined, *end, "'}'"]), [*params, *names]
    pieces, params = [], []
    for index, (field, types) in enumerate(zip(fields, content_types, strict=True)):
        # '{"name":' as a parameter: a field's name may hold any character.
        pieces.append(backend.text_param())
        params.append(("{" if index == 0 else ",") + json.dumps(field.name) + ":")
        sql, value_params = _latest_value(backend, model, field.name, types, *outer)
        params.extend(value_params)
        pieces.append(_boxed(backend, sql))
    return backend.concat([*pieces, *end, "'}'"]), params


# The column of field names in the subquery of a snapshot of few rows.
_FIELD_NAME = "revy_field.name"


def _boxed(backend: Backend, sql: str) -> str:
    """SQL of ``[value]`` for the stored JSON value ``sql``, ``null`` for none."""
    boxed = backend.concat(["'['", backend.as_text(sql), "']'"])
    return f"COALESCE({boxed}, 'null')"


def _latest_value(
    backend: Backend,
    model: type[models.Model],
    field_name: str | None,
    content_types: tuple[int, ...] | None,
    pk: str,
    content_type: str,
    content_id: str,
) -> tuple[str, list[Any]]:
    """The stored JSON of the value of the field at the outer delta: the
    latest recorded up to it, else the old value of the first recorded after
    it (a row older than tracking); NULL if none was ever recorded. The
    field is ``field_name``, or with None each of the column ``_FIELD_NAME``."""
    quote = backend.connection.ops.quote_name
    # Django never names a table so: it cannot hide the outer object delta.
    alias = quote("revy_value")

    def column(name: str) -> str:
        return f"{alias}.{quote(model._meta.get_field(name).column)}"

    delta, new, old = column("object_delta"), column("new_value"), column("old_value")
    if content_types is None:
        same_object, params = f"{column('content_type')} = {content_type}", []
    else:  # Recorded through the field's model or a multi-table child.
        marks = ", ".join(["%s"] * len(content_types))
        same_object, params = f"{column('content_type')} IN ({marks})", [*content_types]
    if field_name is None:
        name = _FIELD_NAME
    else:
        name, params = "%s", [*params, field_name]
    same_field = (
        f"FROM {quote(model._meta.db_table)} {alias} WHERE {same_object} "
        f"AND {column('content_id')} = {content_id} "
        f"AND {column('field_name')} = {name}"
    )
    # A delete's new value is NULL, so its old value is the one that counts
    # at the delete itself; after it, the row is a new one that may have
    # been made while nothing was recorded: its value is not known (NULL).
    # An object delta holds at most one attribute delta per field, and the
    # "field" index hands them over in order: the first row is the one.
    up_to = (
        f"SELECT CASE WHEN {new} IS NULL AND {delta} < {pk} THEN NULL "
        f"ELSE COALESCE({new}, {old}) END {same_field} "
        f"AND {delta} <= {pk} ORDER BY {delta} DESC LIMIT 1"
    )
    # Only run where nothing was recorded up to the delta.
    after = f"SELECT {old} {same_field} AND {delta} > {pk} ORDER BY {delta} ASC LIMIT 1"
    sql = f"COALESCE(({up_to}), ({after}))"
    return sql, [*params, *params]
