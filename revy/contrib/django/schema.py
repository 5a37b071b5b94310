"""Where history meets a model's schema as it is now.

History keeps what was recorded under the names and types fields had then.
After a schema change a field name may be gone (removed, or renamed with no
``RenameTrackedField``), and a stored value may no longer parse as the
field's new type. Readers ask here: :func:`known_names` says which names the
model still has, :func:`decode` turns a stored value into the field's value
or raises :class:`~revy.contrib.django.exceptions.UndecodableValue` naming
what it could not read, and :class:`RawValue` is how reads that only show
history mark a value they show as stored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from revy.contrib.django.encoding import REDACTED, redaction_of
from revy.contrib.django.exceptions import Conflict, UndecodableValue
from revy.contrib.django.inheritance import children_of

__all__ = [
    "UNDECODABLE",
    "RawValue",
    "decode",
    "decode_for_display",
    "drop_hidden",
    "known_names",
    "unrestorable",
]

# What a field's parser raises for a value it cannot read.
UNDECODABLE = (ValidationError, ValueError, TypeError, ArithmeticError)


@dataclass(frozen=True)
class RawValue:
    """A value as history stores it (JSON), shown because the model has no
    such field any more (``field_missing``) or the field cannot parse it."""

    stored: Any
    field_missing: bool = False

    def __str__(self) -> str:
        return f"{self.stored!r} (as recorded)"


@functools.cache
def known_names(model: type[models.Model]) -> frozenset[str]:
    """The names history records for ``model`` that it still has: its
    fields, the accessors of the many-to-many relations to it, and those of
    its multi-table children (whose rows share its key and its history)."""
    names = set()
    for owner in (model, *children_of(model)):
        for field in owner._meta.get_fields(include_hidden=True):
            names.add(field.name)
            accessor = getattr(field, "get_accessor_name", None)
            if field.auto_created and not field.concrete and accessor is not None:
                names.add(accessor())
    return frozenset(names)


def decode(encoder: Any, field: models.Field, stored: Any, where: str) -> Any:
    """``encoder.decode(field, stored)``, or :class:`UndecodableValue`
    naming the model, the field, ``where`` (the delta) and the stored value
    when the field cannot parse it (its type changed since)."""
    try:
        return encoder.decode(field, stored)
    except UNDECODABLE as error:
        message = getattr(error, "messages", None) or [str(error)]
        raise UndecodableValue(
            f"revy cannot read {field.model._meta.label}.{field.name} from "
            f"{where}: the stored value {stored!r} does not parse as a "
            f"{type(field).__name__} ({' '.join(map(str, message))}). Convert "
            "the field's history with ConvertTrackedField in the migration "
            "that changed its type (docs/schema-changes.md).",
            model=field.model,
            field=field.name,
            where=where,
            stored=stored,
        ) from error


def decode_for_display(encoder: Any, field: models.Field | None, stored: Any) -> Any:
    """The value to show for ``stored``: decoded, or a :class:`RawValue`
    where the model has no such field or it cannot parse the value."""
    if field is None:
        return RawValue(stored, field_missing=True)
    try:
        return decode(encoder, field, stored, "history")
    except UndecodableValue:
        return RawValue(stored)


def unrestorable(deltas: list[Any]) -> list[Conflict]:
    """The old values that undoing ``deltas`` (updates, and deletes to
    undo) cannot put back: of fields their models no longer have, and
    values recorded masked or redacted."""
    found = []
    for delta in deltas:
        if delta.action not in (delta.ACTION_UPDATE, delta.ACTION_DELETE):
            continue
        model = ContentType.objects.get_for_id(delta.content_type_id).model_class()
        if model is None:
            continue
        names = known_names(model)
        for attribute in delta.attribute_deltas.all():
            if attribute.field_name not in names:
                reason = Conflict.FIELD_MISSING
            elif redaction_of(attribute.old_value) is not None:
                reason = Conflict.VALUE_HIDDEN
            else:
                continue
            found.append(
                Conflict(model, delta.content_id, attribute.field_name, None, reason)
            )
    return found


def drop_hidden(instance: models.Model) -> dict[str, Any]:
    """Leave deferred the fields of a snapshot whose values were recorded
    masked or redacted (saving keeps what the row holds, or the default):
    ``{name: REDACTED}``."""
    dropped = {}
    for field in instance._meta.concrete_fields:
        if instance.__dict__.get(field.attname) is REDACTED:
            del instance.__dict__[field.attname]
            dropped[field.name] = REDACTED
    return dropped
