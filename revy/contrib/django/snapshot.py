"""``ObjectSnapshot``: rebuild model instances from attribute deltas in SQL.

``ObjectDelta.objects.filter(...).annotate(snapshot=ObjectSnapshot(User))``
gives each object delta a ``User`` instance as it stood right after that
delta (for a delete delta: right before the delete), in the one query that
loads the deltas. For each field, a correlated subquery finds the latest
value recorded for that object up to the delta; the database packs them in
one JSON object, and revy decodes each value with the field's own parser.

A field history never saw (the row existed before tracking began, and no
baseline was recorded) is left *deferred* on the instance: reading it loads
the live value while the row exists, as Django does for ``.defer()``. Run
``manage.py revy_baseline`` to record the current state of existing rows.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Case, F, OuterRef, Subquery, TextField, Value, When
from django.db.models.base import DEFERRED
from django.db.models.functions import Cast, Coalesce, JSONObject

from revy.contrib.django import conf, tracking
from revy.contrib.django.deltas import saved_fields

_PK = "__pk__"


class _SnapshotField(models.JSONField):
    """Turns the JSON object the database built into a model instance."""

    def __init__(self, model: type[models.Model]) -> None:
        super().__init__()
        self.snapshot_model = model

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        values = super().from_db_value(value, expression, connection)
        if values is None:
            return None
        return build_instance(self.snapshot_model, values)


def build_instance(model: type[models.Model], values: dict[str, Any]) -> Any:
    """An unsaved instance of ``model`` from ``{name: json text or None}``."""
    encoder = conf.value_encoder()
    pk_field = model._meta.pk
    stored = {
        field.attname: encoder.decode(field, json.loads(values[field.name]))
        for field in saved_fields(model, None)
        if values.get(field.name) is not None
    }
    stored[pk_field.attname] = pk_field.to_python(values[_PK])
    row = [stored.get(field.attname, DEFERRED) for field in model._meta.concrete_fields]
    if tracking.can_build_directly(model):
        return tracking.build(model, row, adding=True)
    return model(*row)


def latest_value(field_name: str) -> Subquery:
    """The JSON text of the latest value of ``field_name`` up to the outer delta.

    A recorded None comes back as ``'null'``; a field never recorded, NULL.
    """
    from revy.contrib.django.models import get_attribute_delta_model

    attribute_delta_model = get_attribute_delta_model()
    value = Case(
        When(object_delta__action="delete", then=F("old_value")),
        default=F("new_value"),
        output_field=models.JSONField(),
    )
    queryset = (
        attribute_delta_model._base_manager.filter(
            object_delta__content_type=OuterRef("content_type"),
            object_delta__content_id=OuterRef("content_id"),
            object_delta__pk__lte=OuterRef("pk"),
            field_name=field_name,
        )
        .order_by("-object_delta_id", "-pk")
        .annotate(
            text=Coalesce(
                Cast(value, TextField()), Value("null"), output_field=TextField()
            )
        )
        .values("text")[:1]
    )
    return Subquery(queryset, output_field=TextField())


class ObjectSnapshot(JSONObject):
    """Annotate object deltas of ``model`` with the instance as it stood then.

    The snapshot is unsaved (``_state.adding`` is True) and keeps its
    primary key: ``snapshot.save()`` restores it, recorded like any save.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.snapshot_model = model
        fields = {
            field.name: latest_value(field.name) for field in saved_fields(model, None)
        }
        super().__init__(**fields, **{_PK: F("content_id")})
        self.output_field = _SnapshotField(model)
