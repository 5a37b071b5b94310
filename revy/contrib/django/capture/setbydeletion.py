"""Recording the foreign keys a deletion sets: ``SET_NULL``,
``SET_DEFAULT`` and ``SET()`` on the rows left pointing at deleted rows.

Each row whose key changes gets an update delta carrying the deletion's
description, caused by the delete of the row it pointed at. Where Django
sets the key by a filter, the database sets it and writes that history
(``sqlhistory.set_by_deletion``); elsewhere the rows are read locked a
batch at a time and recorded in Python, then set by Django by their keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models

from revy.contrib.django import backends, conf, transactions
from revy.contrib.django.backends.sqltypes import Cause
from revy.contrib.django.capture import sqlhistory
from revy.contrib.django.capture.deletedrows import (
    Deltas,
    Recorded,
    cause_of_field,
    deletes_pointed_at,
)
from revy.contrib.django.models import AbstractObjectDelta
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import locked_batches, locked_key_batches, only_recorded

__all__ = ["record_field_updates"]

_UPDATE = AbstractObjectDelta.ACTION_UPDATE


def record_field_updates(
    recorder: Recorder,
    using: str,
    field_updates: list[Any],
    recorded: Recorded,
    deleted_now: Deltas | None = None,
) -> None:
    """Record the foreign keys ``SET_NULL`` and friends change, of the rows
    the delete leaves; ``deleted_now``: the delete deltas of rows deleted
    with them that ``recorded`` does not hold yet."""
    now = deleted_now or {}
    known = (now, recorded.causes)
    for (field, value), targets in field_updates:
        model = field.model._meta.concrete_model
        if not conf.is_tracked(model) or not only_recorded(model, [field]):
            continue
        if isinstance(value, models.Model):  # SET(instance), SET(callable)
            value = getattr(value, field.target_field.attname)
        if deleted_now is None and not recorded.deletes_rows_of(model):
            targets[:] = _set_by_database(recorder, field, value, targets, recorded)
        # Rows that point at rows revy locked cannot come to point at them
        # before the update: it may update by its filter.
        pointed_at = field.remote_field.model._meta.concrete_model
        by_their_filter = pointed_at in recorded.locked
        for pk, old in _field_values(model, using, field, targets, by_their_filter):
            transactions.flush_if_full(using)
            if old == value or recorded.is_gone(model, pk) or pk in now.get(model, ()):
                continue
            attribute = recorder.attribute(
                field.name, recorder.encode(field, old), recorder.encode(field, value)
            )
            recorder.add(
                recorder.delta(
                    _UPDATE,
                    model,
                    pk,
                    [attribute],
                    cause=cause_of_field(field, old, known),
                    caused_by_deletion=True,
                )
            )


def _set_by_database(
    recorder: Recorder,
    field: models.Field,
    value: Any,
    targets: list[Any],
    recorded: Recorded,
) -> list[Any]:
    """Set ``field`` to ``value`` on the rows of each queryset of
    ``targets`` with the database writing their history, where it can;
    the targets left for Django to update and Python to record."""
    if not any(_by_filter(target) for target in targets):
        return targets  # Instances: Django updates them by key.
    cause = _cause_in_sql(recorder.using, field, recorded)
    return [
        target
        for target in targets
        if not _by_filter(target)
        or sqlhistory.set_by_deletion(target, field, value, recorder, cause) is None
    ]


def _by_filter(target: Any) -> bool:
    """Whether Django updates ``target`` by its filter: a queryset not read."""
    return isinstance(target, models.QuerySet) and target._result_cache is None


def _cause_in_sql(using: str, field: models.Field, recorded: Recorded) -> Cause | None:
    """The deletes whose rows ``field`` may point at, their deltas written,
    as the database looks them up; None: none are recorded."""
    model = field.model._meta.concrete_model
    for pointed in deletes_pointed_at(model, recorded.causes):
        if pointed.field is field:
            transactions.flush(using)  # The causes' deltas take their keys.
            return recorded.cause_tables.cause(pointed.written())
    return None


def _field_values(
    model: type[models.Model],
    using: str,
    field: models.Field,
    targets: list[Any],
    by_their_filter: bool,
) -> Iterator[tuple[Any, Any]]:
    """``(pk, value of field)`` of every row a SET/SET_NULL/SET_DEFAULT
    changes, read locked a batch at a time; once they are all read,
    ``targets`` is left holding the same rows by key, so that the update
    changes exactly those, unless ``by_their_filter`` says no other row can
    match its filter before the update."""
    by_key, backend = [], backends.of(using)
    # On SQLite no other writer can commit before the update either.
    by_their_filter = by_their_filter or backend.writes_alone
    for target in targets:
        if _by_filter(target):
            if by_their_filter:
                by_key.append(target)
            for rows in locked_batches(model, using, target, [field]):
                yield from ((pk, row[field.attname]) for pk, row in rows.items())
                if not by_their_filter:
                    by_key.append(
                        backend.by_keys(model._base_manager.using(using), list(rows))
                    )
        else:
            pks = [obj.pk for obj in target]
            for rows in locked_key_batches(model, using, pks, [field]):
                yield from ((pk, row[field.attname]) for pk, row in rows.items())
            by_key.append(target)  # Django updates these by their keys.
    targets[:] = by_key
