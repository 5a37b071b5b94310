"""What the database itself does when rows are deleted (Django 6.1+).

A foreign key with ``on_delete=DB_CASCADE``, ``DB_SET_NULL`` or
``DB_SET_DEFAULT`` is carried out by the database: Django's collector
neither reads nor deletes the referring rows. So that history still equals
the rows, revy reads them before the delete, locked, following cascades
through untracked models too, and the deletion records them as it records
Django's own ``CASCADE`` and ``SET_NULL``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from django.db import models
from django.db.models import Value, deletion

from revy.contrib.django import conf
from revy.contrib.django.exceptions import NotRecordable
from revy.contrib.django.rows import Row, locked_batches

__all__ = ["DatabaseEffects", "database_effects", "has_database_effects"]

# Django 5.2 has no database-level on_delete.
_DatabaseOnDelete = getattr(deletion, "DatabaseOnDelete", None)
_CASCADE = getattr(deletion, "DB_CASCADE", None)
_SET_NULL = getattr(deletion, "DB_SET_NULL", None)

Rows = dict[type[models.Model], dict[Any, Row]]


class DatabaseEffects(NamedTuple):
    """The rows of tracked models the database deletes, and the foreign keys
    it sets, as ``{(field, value): [queryset of the rows]}`` like Django's
    ``Collector.field_updates``."""

    deleted: Rows
    field_updates: dict[tuple[models.Field, Any], list[Any]]


def database_effects(deleted: Rows, using: str) -> DatabaseEffects:
    """What deleting the rows ``deleted`` (``{model: {pk: row}}``, every
    concrete field) makes the database delete and set besides."""
    effects = DatabaseEffects({}, {})
    frontier = deleted
    while frontier:
        following: Rows = {}
        for model, rows in frontier.items():
            for field in _database_referrers(model):
                values = [row[field.target_field.attname] for row in rows.values()]
                referrer = field.model._meta.concrete_model
                referring = referrer._base_manager.using(using).filter(
                    **{f"{field.attname}__in": values}
                )
                on_delete = field.remote_field.on_delete
                if on_delete is _CASCADE:
                    known = effects.deleted.get(referrer, {})
                    for batch in locked_batches(
                        referrer, using, referring, for_delete=True
                    ):
                        new = {pk: row for pk, row in batch.items() if pk not in known}
                        following.setdefault(referrer, {}).update(new)
                        if conf.is_tracked(referrer):
                            effects.deleted.setdefault(referrer, {}).update(new)
                elif conf.is_tracked(referrer):
                    value = _value_set(field, on_delete)
                    effects.field_updates.setdefault((field, value), []).append(
                        referring
                    )
        frontier = following
    return effects


def _value_set(field: models.Field, on_delete: Any) -> Any:
    """The value ``DB_SET_NULL`` or ``DB_SET_DEFAULT`` writes."""
    if on_delete is _SET_NULL:
        return None
    default = field.db_default
    if isinstance(default, Value):
        return default.value
    if not hasattr(default, "resolve_expression"):
        return default  # A constant, as Django wraps it in Value().
    raise NotRecordable(
        f"revy cannot record the delete that sets {field.model._meta.label}."
        f"{field.name} to its db_default: {default!r} is computed by the "
        "database. Give the field a constant db_default, or use SET_DEFAULT."
    )


def has_database_effects(model: type[models.Model]) -> bool:
    """Whether deleting rows of ``model`` makes the database delete or set
    other rows itself."""
    return bool(_database_referrers(model))


@functools.cache
def _database_referrers(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The foreign keys to ``model`` whose ``on_delete`` the database runs."""
    if _DatabaseOnDelete is None:
        return ()
    return tuple(
        relation.field
        for relation in model._meta.related_objects
        if isinstance(relation.field.remote_field.on_delete, _DatabaseOnDelete)
    )
