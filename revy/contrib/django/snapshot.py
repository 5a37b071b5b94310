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

import functools
import json
from typing import Any

from django.db import NotSupportedError, models
from django.db.models import Case, F, Func, OuterRef, Q, Subquery, Value, When
from django.db.models.base import DEFERRED
from django.db.models.functions import Coalesce

from revy.contrib.django import conf, tracking
from revy.contrib.django.deltas import content_types_of_row, saved_fields

_PK = "__pk__"


class _SnapshotField(models.TextField):
    """Turns the JSON text the database built into a model instance."""

    def __init__(self, model: type[models.Model]) -> None:
        super().__init__()
        self.snapshot_model = model

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return build_instance(self.snapshot_model, json.loads(value))


def build_instance(model: type[models.Model], values: dict[str, Any]) -> Any:
    """An unsaved instance of ``model`` from ``{name: [stored value] or None}``."""
    encoder = conf.value_encoder()
    pk_field = model._meta.pk
    stored = {
        field.attname: encoder.decode(field, boxed[0])
        for field in saved_fields(model, None)
        if (boxed := values.get(field.name)) is not None
    }
    # A multi-table child's key is its parents' keys too.
    key = pk_field.to_python(values[_PK])
    for parent in (model, *model._meta.all_parents):
        stored[parent._meta.pk.attname] = key
    row = [stored.get(field.attname, DEFERRED) for field in model._meta.concrete_fields]
    if tracking.can_build_directly(model):
        return tracking.build(model, row, adding=True)
    return model(*row)


def latest_value(field: models.Field) -> Coalesce:
    """The stored JSON of the value of ``field`` at the outer delta: the
    latest recorded up to it, else the old value of the first recorded after
    it (a row older than tracking); NULL if none was ever recorded."""
    from revy.contrib.django.models import get_attribute_delta_model

    content_types = content_types_of_row(field.model)
    return _latest_value(
        get_attribute_delta_model(),
        field.name,
        None if content_types is None else tuple(content_types),
    )


@functools.lru_cache(maxsize=1024)
def _latest_value(
    attribute_delta_model: type[models.Model],
    field_name: str,
    content_types: tuple[int, ...] | None,
) -> Coalesce:
    # Built once per field: expressions are copied, never changed, when a
    # query resolves them, and building two subqueries costs more than the
    # database takes to run them.
    if content_types is None:
        same_object = Q(content_type=OuterRef("content_type"))
    else:  # Recorded through the field's model or a multi-table child.
        same_object = Q(content_type__in=content_types)
    same_field = attribute_delta_model._base_manager.filter(
        same_object,
        content_id=OuterRef("content_id"),
        field_name=field_name,
    )
    # A delete's new value is NULL, so its old value is the one that counts
    # at the delete itself; after it, the row is a new one that may have
    # been made while nothing was recorded: its value is not known (NULL).
    # An object delta holds at most one attribute delta per field, and the
    # "field" index hands them over in order: the first row is the one.
    up_to = (
        same_field.filter(object_delta_id__lte=OuterRef("pk"))
        .order_by("-object_delta_id")
        .annotate(
            value=Case(
                When(
                    new_value__isnull=True,
                    object_delta_id__lt=OuterRef("pk"),
                    then=Value(None),
                ),
                default=Coalesce("new_value", "old_value"),
            )
        )
        .values("value")[:1]
    )
    # Only run where nothing was recorded up to the delta.
    after = (
        same_field.filter(object_delta_id__gt=OuterRef("pk"))
        .order_by("object_delta_id")
        .values("old_value")[:1]
    )
    json = models.JSONField()
    return Coalesce(
        Subquery(up_to, output_field=json),
        Subquery(after, output_field=json),
        output_field=json,
    )


class ObjectSnapshot(Func):
    """Annotate object deltas of ``model`` with the instance as it stood then.

    The snapshot is unsaved (``_state.adding`` is True) and keeps its
    primary key: ``snapshot.save()`` restores it, recorded like any save.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.snapshot_model = model
        fields = saved_fields(model, None)
        self.names = [field.name for field in fields]
        super().__init__(
            *[latest_value(field) for field in fields],
            F("content_id"),
            output_field=_SnapshotField(model),
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if connection.vendor not in _JSON_QUOTE:
            raise NotSupportedError(
                f"ObjectSnapshot supports SQLite, PostgreSQL and MySQL/MariaDB, "
                f"not {connection.display_name}."
            )
        # Stored values are JSON texts already: joining them as text is far
        # cheaper than having the database parse and rebuild each one.
        # Field names are Python identifiers, safe inside SQL and JSON quotes.
        pieces, params = [], []
        keys = [*self.names, _PK]
        for index, (key, expression) in enumerate(
            zip(keys, self.get_source_expressions(), strict=True)
        ):
            sql, expression_params = compiler.compile(expression)
            params.extend(expression_params)
            separator = "{" if index == 0 else ","
            pieces.append(f"""'{separator}"{key}":'""")  # '{"name":
            if key == _PK:
                pieces.append(_JSON_QUOTE[connection.vendor] % sql)
            else:
                boxed = _concat(connection, ["'['", _as_text(connection, sql), "']'"])
                pieces.append(f"COALESCE({boxed}, 'null')")
        pieces.append("'}'")
        return _concat(connection, pieces), params


_JSON_QUOTE = {
    "sqlite": "JSON_QUOTE(%s)",
    "postgresql": "TO_JSONB((%s)::text)::text",
    "mysql": "JSON_QUOTE(%s)",
}


def _as_text(connection: Any, sql: str) -> str:
    return f"({sql})::text" if connection.vendor == "postgresql" else sql


def _concat(connection: Any, pieces: list[str]) -> str:
    """SQL joining ``pieces`` as text; NULL if any piece is NULL."""
    if connection.vendor == "mysql":
        return f"CONCAT({', '.join(pieces)})"
    return "(" + " || ".join(pieces) + ")"
