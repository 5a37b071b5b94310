"""Undoing history: restoring one row to a point, bringing a deleted row
back with what its delete took, reverting a revision.

All three write through the ORM inside a revy context, so what they change is
recorded like any other write: a restore or a revert is a new revision,
never a rewrite of the old ones (decision 0010).
"""

from __future__ import annotations

import bisect
from array import array
from contextlib import nullcontext
from typing import Any

from django.apps import apps
from django.db import models, router, transaction

from revy.context import Context
from revy.contrib.django import conf, routing
from revy.contrib.django.deltasets import DeltaSet, Row, effect_keys
from revy.contrib.django.exceptions import (
    Conflict,
    RevertConflict,
    RevisionPartlyPruned,
)
from revy.contrib.django.points import Point
from revy.contrib.django.reading import removed_fields_at, state_at
from revy.contrib.django.reverting import WouldLose, conflicts, fill_defaults, undo
from revy.contrib.django.schema import drop_hidden

__all__ = ["restore", "restore_deleted", "revert", "revert_conflicts"]


@routing.primary()
def restore(model: type[models.Model], pk: Any, at: Point) -> Any:
    """Put the ``model`` row ``pk`` back as it stood at ``at``, recorded.

    Re-creates it if it was deleted since. Runs in the current context, or
    in a context of its own if none is active. Returns the saved instance;
    its ``revy_not_restored`` maps each field whose value then could not be
    put back to what history holds: a ``RawValue`` for a field the model no
    longer has (removed or renamed), ``REDACTED`` for a value recorded
    masked or redacted (the field keeps its value, or its default). Empty
    if there is none.
    """
    instance = state_at(model, pk, at)
    if instance is None:
        raise LookupError(
            f"{model._meta.label} {pk!r} did not exist at {at!r}: nothing to restore."
        )
    hidden = drop_hidden(instance)
    if model._base_manager.filter(pk=pk).exists():
        # An update of the live row; fields history never saw keep their value.
        instance._state.adding = False
        instance._state.db = router.db_for_write(model, instance=instance)
    else:
        fill_defaults(instance)
    with Context() if Context.get_current() is None else nullcontext():
        instance.save()
    instance.revy_not_restored = {**hidden, **removed_fields_at(model, pk, at)}
    return instance


# Restoring a deleted row with its cascade ----------------------------------------


@routing.primary()
def restore_deleted(
    model: type[models.Model],
    pk: Any,
    cascade: bool = False,
    overwrite: bool = False,
) -> Any:
    """Bring the deleted ``model`` row ``pk`` back, with its key, as it stood
    right before its latest delete; recorded as a new revision.

    With ``cascade``, also what that delete did to other rows, at any depth:
    the rows it deleted come back (parents first) and the foreign keys it
    set to null or to a default point at the row again. If a later revision
    changed one of those, or the delete recorded a field the model no longer
    has or a value masked or redacted, raises :class:`RevertConflict`
    listing each, unless ``overwrite`` is True (which leaves such fields
    out). Raises LookupError if the row exists or its history does not end
    with a delete. Returns the new revision.
    """
    object_delta_model = conf.history_models().object_delta
    latest = (
        object_delta_model.objects.for_key(model, pk)
        .select_related("revision")
        .order_by("-pk")
        .first()
    )
    if latest is None or latest.action != latest.ACTION_DELETE:
        raise LookupError(f"{model._meta.label} {pk!r} has no recorded delete to undo.")
    if model._base_manager.filter(pk=pk).exists():
        raise LookupError(f"{model._meta.label} {pk!r} exists: nothing to restore.")
    using = latest._state.db or router.db_for_write(model)
    keys = effect_keys(latest) if cascade else array("q")
    bisect.insort(keys, latest.pk)
    deltas = DeltaSet(latest.revision, using, keys)
    if not overwrite and (found := conflicts(deltas)):
        raise RevertConflict(found)
    description = (
        f"Restore of {model._meta.verbose_name} {pk}, deleted in revision "
        f"{latest.revision_id}"
    )
    new_revision = type(latest.revision)(description=description)
    with (
        transaction.atomic(using=using),
        Context.via(revision=new_revision, revision_description=description),
    ):
        undo(deltas, overwrite=True)
    return new_revision


# Reverting a revision -----------------------------------------------------------


@routing.primary()
def revert(revision: models.Model, overwrite: bool = False) -> Any:
    """Undo every change of ``revision`` at once, recorded as a new revision.

    Re-creates what it deleted (parents before the children their cascade
    took), restores what it updated, foreign keys set to null included, and
    deletes what it created. If a later revision changed any of those, a
    row the revision did not create points at one it created (deleting it
    would delete or change that row), or the revision changed a field the
    model no longer has (removed, or renamed with no ``RenameTrackedField``),
    or the value to put back was recorded masked or redacted, raises
    :class:`RevertConflict` listing each (``Conflict.reason`` says which
    of the last two), unless ``overwrite`` is True, which reverts the rest.
    Returns the new revision, or None if there was nothing to undo. A
    revision that a pruning left in part raises :class:`RevisionPartlyPruned`.
    """
    using = router.db_for_write(type(revision), instance=revision)
    if _partly_pruned(revision, using):
        raise RevisionPartlyPruned(revision)
    deltas = DeltaSet(revision, using)
    if not deltas:
        return None
    if not overwrite and (found := conflicts(deltas)):
        raise RevertConflict(found)
    description = f"Revert of revision {revision.pk}"
    if revision.description:
        description += f": {revision.description}"
    new_revision = type(revision)(description=description)
    try:
        with (
            transaction.atomic(using=using),
            Context.via(revision=new_revision, revision_description=description),
        ):
            undo(deltas, overwrite)
    except WouldLose as lost:
        latest = _latest_revisions(list(lost.rows), using)
        raise RevertConflict(
            [
                Conflict(row.model, row.key, field_name, latest.get(row))
                for row, field_name in lost.rows.items()
            ]
        ) from None
    return new_revision if not new_revision._state.adding else None


def _partly_pruned(revision: models.Model, using: str) -> bool:
    partly = apps.get_model("revy", "PartlyPrunedRevision")
    return partly.objects.using(using).filter(revision_id=revision.pk).exists()


@routing.primary()
def revert_conflicts(revision: models.Model) -> list[Conflict]:
    """The later changes that make reverting ``revision`` a conflict, as
    :func:`revert` would list them; empty if there are none. Rows that
    deleting what the revision created would take with them are found by
    :func:`revert` alone, as it does the deletes."""
    using = router.db_for_write(type(revision), instance=revision)
    return conflicts(DeltaSet(revision, using))


def _latest_revisions(rows: list[Row], using: str) -> dict[Row, Any]:
    """The revision of the latest recorded change of each row that has one;
    a query per model."""
    keys_by_model: dict[Any, list[str]] = {}
    for model, key in rows:
        keys_by_model.setdefault(model, []).append(key)
    latest = {}
    for model, keys in keys_by_model.items():
        deltas = (
            conf.history_models()
            .object_delta.objects.using(using)
            .for_rows_of(model)
            .filter(content_id__in=keys)
            .select_related("revision")
            .order_by("pk")
        )
        for delta in deltas:
            latest[Row(model, delta.content_id)] = delta.revision
    return latest
