"""Undoing history: restoring one row to a point, bringing a deleted row
back with what its delete took, reverting a revision.

All three write through the ORM inside a revy context, so what they change is
recorded like any other write: a restore or a revert is a new revision,
never a rewrite of the old ones (decision 0010).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, router, transaction
from django.db.models.deletion import Collector

from revy.context import Context
from revy.contrib.django import conf, routing
from revy.contrib.django.encoding import REDACTED, key_text
from revy.contrib.django.exceptions import (
    Conflict,
    RevertConflict,
    RevisionPartlyPruned,
)
from revy.contrib.django.inheritance import content_types_of_row, parent_content_types
from revy.contrib.django.reading import (
    Point,
    effects_of,
    removed_fields_at,
    snapshot_of,
    state_at,
)
from revy.contrib.django.schema import decode, drop_hidden, unrestorable

__all__ = ["restore", "restore_deleted", "revert", "revert_conflicts"]


class Row(NamedTuple):
    """A row of a tracked model, by its key as history writes it."""

    model: type[models.Model]
    key: str


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
        _fill_defaults(instance)
    with Context() if Context.get_current() is None else nullcontext():
        instance.save()
    instance.revy_not_restored = {**hidden, **removed_fields_at(model, pk, at)}
    return instance


def _fill_defaults(instance: models.Model) -> None:
    """Give the fields history never saw (deferred on a snapshot) their
    defaults, for a row that is gone: there is no live value to load."""
    deferred = instance.get_deferred_fields()
    for field in instance._meta.concrete_fields:
        if field.attname in deferred:
            setattr(instance, field.attname, field.get_default())


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
        .prefetch_related("attribute_deltas")
        .order_by("-pk")
        .first()
    )
    if latest is None or latest.action != latest.ACTION_DELETE:
        raise LookupError(f"{model._meta.label} {pk!r} has no recorded delete to undo.")
    if model._base_manager.filter(pk=pk).exists():
        raise LookupError(f"{model._meta.label} {pk!r} exists: nothing to restore.")
    deltas = [latest, *(effects_of(latest) if cascade else [])]
    deltas.sort(key=lambda delta: delta.pk)
    by_object: dict[tuple[int, str], list[Any]] = {}
    for delta in deltas:
        by_object.setdefault((delta.content_type_id, delta.content_id), []).append(
            delta
        )
    if not overwrite and (conflicts := _conflicts(latest.revision, deltas)):
        raise RevertConflict(conflicts)
    description = (
        f"Restore of {model._meta.verbose_name} {pk}, deleted in revision "
        f"{latest.revision_id}"
    )
    new_revision = type(latest.revision)(description=description)
    using = latest._state.db or router.db_for_write(model)
    with (
        transaction.atomic(using=using),
        Context.via(revision=new_revision, revision_description=description),
    ):
        _undo(deltas, by_object, using, overwrite=True)
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
    deltas = list(
        revision.object_deltas.order_by("pk")
        .select_related("content_type")
        .prefetch_related("attribute_deltas")
    )
    if not deltas:
        return None
    by_object: dict[tuple[int, str], list[Any]] = {}
    for delta in deltas:
        by_object.setdefault((delta.content_type_id, delta.content_id), []).append(
            delta
        )
    if not overwrite and (conflicts := _conflicts(revision, deltas)):
        raise RevertConflict(conflicts)
    description = f"Revert of revision {revision.pk}"
    if revision.description:
        description += f": {revision.description}"
    new_revision = type(revision)(description=description)
    try:
        with (
            transaction.atomic(using=using),
            Context.via(revision=new_revision, revision_description=description),
        ):
            _undo(deltas, by_object, using, overwrite)
    except _WouldLose as lost:
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
    deltas = list(
        revision.object_deltas.order_by("pk").prefetch_related("attribute_deltas")
    )
    return _conflicts(revision, deltas) if deltas else []


def _undo(
    deltas: list[Any],
    by_object: dict[tuple[int, str], list[Any]],
    using: str,
    overwrite: bool,
) -> None:
    """Undo ``deltas``, grouped ``by_object``: re-create, restore, delete."""
    object_delta_model = conf.history_models().object_delta
    create, delete = object_delta_model.ACTION_CREATE, object_delta_model.ACTION_DELETE
    objects = list(by_object.values())
    # Rows it created and left, newest first.
    created = [
        _row(ds[0])
        for ds in reversed(objects)
        if ds[0].action == create and ds[-1].action != delete
    ]
    # Rows it deleted, then created again with the same key.
    replaced = [
        ds[0] for ds in objects if ds[0].action == delete and ds[-1].action != delete
    ]
    # Deleting these rows, and the parent rows of multi-table children, is
    # the revert; deleting or changing any other row would lose later work.
    reverted = {
        Row(owner, key)
        for model, key in created + [_row(delta) for delta in replaced]
        for owner in (model._meta.concrete_model, *model._meta.all_parents)
    }
    lost: dict[Row, str] = {}
    _delete_rows([_row(delta) for delta in replaced], reverted, using, overwrite, lost)
    # Deleted by this revision: back as they stood before the delete.
    deleted = [
        ds[-1] for ds in objects if ds[0].action != create and ds[-1].action == delete
    ] + replaced
    recreated = []
    for delta in _parents_first(deleted):
        instance = snapshot_of(delta)
        drop_hidden(instance)  # Reported as conflicts, unless overwritten.
        _fill_defaults(instance)
        instance.save(force_insert=True, using=using)
        recreated.append((instance, delta))
    for instance, delta in recreated:
        _restore_members(instance, delta)
    for delta in reversed(deltas):
        first = by_object[delta.content_type_id, delta.content_id][0]
        if delta.action == delta.ACTION_UPDATE and first.action not in (create, delete):
            _undo_update(delta, using)
    _delete_rows(created, reverted, using, overwrite, lost)
    if lost:
        raise _WouldLose(lost)  # Rolls the revert back.


def _row(delta: Any) -> Row:
    """The row ``delta`` is about."""
    model = ContentType.objects.get_for_id(delta.content_type_id).model_class()
    return Row(model, delta.content_id)


def _delete_rows(
    rows: list[Row],
    reverted: set[Row],
    using: str,
    overwrite: bool,
    lost: dict[Row, str],
) -> None:
    """Delete ``rows``; unless ``overwrite``, note in ``lost`` the other rows
    that would be deleted or changed with them."""
    for model, key in rows:
        for instance in model._base_manager.using(using).filter(pk=key):
            # What instance.delete() does, looked at before it is done.
            collector = Collector(using=using, origin=instance)
            collector.collect([instance])
            if not overwrite:
                lost.update(_rows_outside(collector, reverted))
            collector.delete()


def _parents_first(deltas: list[Any]) -> list[Any]:
    """Delete deltas ordered so that rows come after those they point to."""
    model_of = {
        delta.pk: ContentType.objects.get_for_id(delta.content_type_id).model_class()
        for delta in deltas
    }
    models_ = set(model_of.values())
    order: list[Any] = []

    def visit(model: Any, path: tuple[Any, ...]) -> None:
        if model in order or model in path:
            return
        for field in model._meta.concrete_fields:
            if not (field.many_to_one or field.one_to_one):
                continue
            target = field.related_model
            for other in models_:
                # A key to a parent model may point at a child's row.
                if other is not model and (
                    other is target or target in other._meta.all_parents
                ):
                    visit(other, (*path, model))
        order.append(model)

    for model in sorted(models_, key=lambda m: m._meta.label):
        visit(model, ())
    rank = {model: index for index, model in enumerate(order)}
    return sorted(deltas, key=lambda delta: (rank[model_of[delta.pk]], delta.pk))


def _restore_members(instance: models.Model, delete_delta: Any) -> None:
    """Give a re-created object back the many-to-many members it had."""
    forward = {
        field.name: field for field in instance._meta.many_to_many if _replayed(field)
    }
    for attribute in delete_delta.attribute_deltas.all():
        if attribute.field_name in forward and attribute.old_value:
            getattr(instance, attribute.field_name).add(*attribute.old_value)


def _replayed(field: models.Field) -> bool:
    """Whether reverting a change of the many-to-many ``field`` replays it
    through the relation's manager. Rows of a tracked explicit ``through``
    model have deltas of their own in the same revision, and undoing those
    puts back the very rows, with their other fields; replaying the relation
    would make new rows instead."""
    through = field.remote_field.through
    return through._meta.auto_created or not conf.is_tracked(through)


def _undo_update(delta: Any, using: str | None) -> None:
    model = delta.content_type.model_class()
    instance = model._base_manager.using(using).filter(pk=delta.content_id).first()
    if instance is None:
        return
    encoder = conf.value_encoder()
    fields = []
    for attribute in delta.attribute_deltas.all():
        try:
            field = model._meta.get_field(attribute.field_name)
        except FieldDoesNotExist:
            # The reverse side of a relation, undone from its own side, or a
            # field the model no longer has: a conflict, unless overwritten.
            continue
        if field.many_to_many:
            if (not field.auto_created or field.concrete) and _replayed(field):
                manager = getattr(instance, field.name)
                manager.remove(*(attribute.new_value or ()))
                manager.add(*(attribute.old_value or ()))
            continue
        if not field.concrete:
            continue
        where = f"attribute delta {attribute.pk} (object delta {delta.pk})"
        old = decode(encoder, field, attribute.old_value, where)
        if old is REDACTED:
            continue  # Masked or redacted: a conflict, unless overwritten.
        setattr(instance, field.attname, old)
        fields.append(field.name)
    if fields:
        instance.save(update_fields=fields, using=using)


def _conflicts(revision: models.Model, deltas: list[Any]) -> list[Conflict]:
    return unrestorable(deltas) + _later_changes(revision, deltas)


def _later_changes(revision: models.Model, deltas: list[Any]) -> list[Conflict]:
    touched: dict[tuple[int, str], set[str] | None] = {}
    for delta in deltas:
        key = (delta.content_type_id, delta.content_id)
        if delta.action == delta.ACTION_BASELINE:
            continue  # Its revert changes nothing.
        if delta.action == delta.ACTION_UPDATE:
            fields = touched.setdefault(key, set())
            if fields is not None:
                fields.update(a.field_name for a in delta.attribute_deltas.all())
        else:
            touched[key] = None  # Created or deleted: any later change conflicts.
    # A multi-table row changed later through a child's or a parent's model
    # is the same row.
    same_row: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for content_type_id, content_id in touched:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        for other in {
            *(content_types_of_row(model) or [content_type_id]),
            *parent_content_types(model),
        }:
            same_row.setdefault((other, content_id), []).append(
                (content_type_id, content_id)
            )
    last_pk = deltas[-1].pk
    later = (
        conf.history_models()
        .object_delta.objects.filter(
            pk__gt=last_pk,
            content_type_id__in={key[0] for key in same_row},
            content_id__in={key[1] for key in same_row},
        )
        .exclude(revision=revision)
        .select_related("revision", "content_type")
        .prefetch_related("attribute_deltas")
        .order_by("pk")
    )
    found = []
    for delta in later:
        keys = same_row.get((delta.content_type_id, delta.content_id), [])
        names = [a.field_name for a in delta.attribute_deltas.all()] or ["(row)"]
        for name in names:
            if any(touched[key] is None or name in touched[key] for key in keys):
                found.append(
                    Conflict(
                        delta.content_type.model_class(),
                        delta.content_id,
                        name,
                        delta.revision,
                    )
                )
    return found


class _WouldLose(Exception):
    """Deleting what the revision created would delete or change other rows."""

    def __init__(self, rows: dict[Row, str]) -> None:
        super().__init__(rows)
        self.rows = rows


def _rows_outside(collector: Collector, reverted: set[Row]) -> dict[Row, str]:
    """The rows ``collector`` would delete or change, other than ``reverted``
    ones, each with the foreign key that ties it to them."""
    affected: list[tuple[Any, str | None]] = [
        (instance, None)
        for instances in collector.data.values()
        for instance in instances
    ]
    affected += [
        (instance, None) for queryset in collector.fast_deletes for instance in queryset
    ]
    affected += [
        (instance, field.name)
        for (field, _value), batches in collector.field_updates.items()
        for batch in batches
        for instance in batch
    ]
    found: dict[Row, str] = {}
    for instance, field_name in affected:
        model = instance._meta.concrete_model
        if model._meta.auto_created:
            # A membership: recorded on its two ends, which _conflicts() reads.
            continue
        row = Row(model, key_text(model, instance.pk))
        if row not in reverted and row not in found:
            found[row] = field_name or _field_pointing_at(instance, reverted)
    return found


def _field_pointing_at(instance: models.Model, rows: set[Row]) -> str:
    """The name of ``instance``'s foreign key to one of ``rows``."""
    for field in instance._meta.concrete_fields:
        if field.many_to_one or field.one_to_one:
            target = field.related_model._meta.concrete_model
            value = getattr(instance, field.attname)
            if value is not None and Row(target, key_text(target, value)) in rows:
                return field.name
    return "(row)"


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
