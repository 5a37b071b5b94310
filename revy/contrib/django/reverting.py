"""Undoing a set of object deltas a batch at a time: the engine of
``revert()`` and ``restore_deleted()`` (``undoing.py``).

The steps, in order, each reading the set (``deltasets.py``) again rather
than holding it: conflicts (unless overwritten); delete the rows the set
deleted and created again; re-create what it deleted, parents first; give
those back their many-to-many members; undo updates, newest first; delete
what it created, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.deletion import Collector

from revy.contrib.django import conf
from revy.contrib.django.deltasets import DeltaSet, Row, let_go
from revy.contrib.django.encoding import REDACTED, key_text
from revy.contrib.django.exceptions import Conflict
from revy.contrib.django.inheritance import content_types_of_row, parent_content_types
from revy.contrib.django.schema import decode, drop_hidden, unrestorable
from revy.contrib.django.snapshot import ObjectSnapshot

__all__ = ["WouldLose", "conflicts", "fill_defaults", "undo"]


class WouldLose(Exception):
    """Deleting what the set created would delete or change other rows,
    each given with the foreign key that ties it to them."""

    def __init__(self, rows: dict[Row, str]) -> None:
        super().__init__(rows)
        self.rows = rows


# Conflicts ----------------------------------------------------------------------


def conflicts(deltas: DeltaSet) -> list[Conflict]:
    """What undoing ``deltas`` cannot do without losing work: old values it
    cannot put back, then the later changes of the same rows and fields."""
    hidden: list[Conflict] = []
    later: dict[tuple[int, int], Conflict] = {}
    for batch in deltas.batches():
        hidden += unrestorable(batch)
        # A row whose deltas fall in several batches is looked at in each:
        # the same later change is found once per key.
        later |= _later_changes(deltas, batch)
    return hidden + [later[key] for key in sorted(later)]


def _later_changes(
    deltas: DeltaSet, batch: list[Any]
) -> dict[tuple[int, int], Conflict]:
    """The later changes of ``batch``'s rows and fields, each keyed by its
    object delta and the field's place in it."""
    touched: dict[tuple[int, str], set[str] | None] = {}
    for delta in batch:
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
    if not same_row:
        return {}
    later = list(
        conf.history_models()
        .object_delta.objects.using(deltas.using)
        .filter(
            pk__gt=deltas.last_pk,
            content_type_id__in={key[0] for key in same_row},
            content_id__in={key[1] for key in same_row},
        )
        .exclude(revision=deltas.revision)
        .select_related("revision", "content_type")
        .prefetch_related("attribute_deltas")
        .order_by("pk")
    )
    found = {}
    for delta in later:
        keys = same_row.get((delta.content_type_id, delta.content_id), [])
        names = [a.field_name for a in delta.attribute_deltas.all()] or ["(row)"]
        for place, name in enumerate(names):
            if any(touched[key] is None or name in touched[key] for key in keys):
                found[delta.pk, place] = Conflict(
                    delta.content_type.model_class(),
                    delta.content_id,
                    name,
                    delta.revision,
                )
    let_go(later)
    return found


# Undoing ------------------------------------------------------------------------


def undo(deltas: DeltaSet, overwrite: bool) -> None:
    """Undo ``deltas``: re-create, restore, delete. Unless ``overwrite``,
    raises :class:`WouldLose` (the caller rolls back) if deleting what the
    set created would delete or change other rows."""
    lost: dict[Row, str] = {}
    # A row deleted and created again has two deltas at least.
    for batch in deltas.batches(action=deltas.DELETE) if deltas.repeats else ():
        replaced = [_row(delta) for delta in batch if deltas.replaced(delta)]
        _delete_rows(replaced, deltas, overwrite, lost)
    deleted = deltas.models_deleted()
    order = _parents_first(list(deleted))
    for model in order:
        for batch in _recreated_batches(deltas, deleted[model]):
            _recreate(model, batch, deltas.using)
    for model in order:
        if _replayed_fields(model):
            for batch in _recreated_batches(deltas, deleted[model]):
                _restore_members(model, batch, deltas.using)
    for batch in deltas.batches(action=deltas.UPDATE, newest_first=True):
        updates = [delta for delta in batch if deltas.undone_update(delta)]
        live = _live([_row(delta) for delta in updates], deltas.using)
        for delta in updates:
            if (instance := live.get(_row(delta))) is not None:
                _undo_update(delta, instance, deltas.using)
    for batch in deltas.batches(action=deltas.CREATE, newest_first=True):
        created = [_row(delta) for delta in batch if deltas.created(delta)]
        _delete_rows(created, deltas, overwrite, lost)
    if lost:
        raise WouldLose(lost)


def fill_defaults(instance: models.Model) -> None:
    """Give the fields history never saw (deferred on a snapshot) their
    defaults, for a row that is gone: there is no live value to load."""
    deferred = instance.get_deferred_fields()
    for field in instance._meta.concrete_fields:
        if field.attname in deferred:
            setattr(instance, field.attname, field.get_default())


def _row(delta: Any) -> Row:
    """The row ``delta`` is about."""
    model = ContentType.objects.get_for_id(delta.content_type_id).model_class()
    return Row(model, delta.content_id)


def _recreated_batches(deltas: DeltaSet, content_type_id: int) -> Iterator[list[Any]]:
    """The deltas of rows of ``content_type_id`` that undoing ``deltas``
    brings back, a batch at a time, oldest first."""
    for batch in deltas.batches(action=deltas.DELETE, content_type_id=content_type_id):
        if kept := [delta for delta in batch if deltas.recreated(delta)]:
            yield kept


def _recreate(model: Any, batch: list[Any], using: str) -> None:
    """Insert ``batch``'s rows as they stood before it deleted them: their
    snapshots in one query."""
    snapshots = (
        type(batch[0])
        .objects.using(using)
        .filter(pk__in=[delta.pk for delta in batch])
        .annotate(snapshot=ObjectSnapshot(model))
        .order_by("pk")
        .values_list("snapshot", flat=True)
    )
    for instance in snapshots:
        drop_hidden(instance)  # Reported as conflicts, unless overwritten.
        fill_defaults(instance)
        instance.save(force_insert=True, using=using)


def _parents_first(models_: list[Any]) -> list[Any]:
    """``models_`` ordered so that a model comes after those it points to."""
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
    return order


def _restore_members(model: Any, batch: list[Any], using: str) -> None:
    """Give re-created rows back the many-to-many members they had."""
    forward = _replayed_fields(model)
    live = _live([Row(model, delta.content_id) for delta in batch], using)
    for delta in batch:
        instance = live[Row(model, delta.content_id)]
        for attribute in delta.attribute_deltas.all():
            if attribute.field_name in forward and attribute.old_value:
                getattr(instance, attribute.field_name).add(*attribute.old_value)


def _replayed_fields(model: Any) -> set[str]:
    """``model``'s many-to-many fields that undoing replays through the
    relation's manager. Rows of a tracked explicit ``through`` model have
    deltas of their own in the same revision, and undoing those puts back
    the very rows, with their other fields; replaying the relation would
    make new rows instead."""
    return {field.name for field in model._meta.many_to_many if _replayed(field)}


def _replayed(field: models.Field) -> bool:
    through = field.remote_field.through
    return through._meta.auto_created or not conf.is_tracked(through)


def _undo_update(delta: Any, instance: models.Model, using: str) -> None:
    """Put back on ``instance``, the live row, what the update ``delta``
    changed, and save those fields."""
    model = type(instance)
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


def _live(rows: Iterable[Row], using: str) -> dict[Row, models.Model]:
    """The instances of those of ``rows`` that exist: a query per model."""
    keys_by_model: dict[Any, list[str]] = {}
    for model, key in rows:
        keys_by_model.setdefault(model, []).append(key)
    return {
        Row(model, key_text(model, instance.pk)): instance
        for model, keys in keys_by_model.items()
        for instance in model._base_manager.using(using).filter(pk__in=keys)
    }


def _delete_rows(
    rows: list[Row], deltas: DeltaSet, overwrite: bool, lost: dict[Row, str]
) -> None:
    """Delete ``rows`` with what Django's delete takes with them, as one
    delete; unless ``overwrite``, note in ``lost`` the other rows that would
    be deleted or changed with them."""
    live = _live(rows, deltas.using)
    if not live:
        return
    # These rows and their parent rows are the revert's to delete.
    ours = {
        Row(owner, key)
        for model, key in rows
        for owner in (model._meta.concrete_model, *model._meta.all_parents)
    }

    def is_reverted(row: Row) -> bool:
        return row in ours or bool(deltas.reverted([row]))

    # What deleting them does, looked at before it is done.
    by_model: dict[Any, list[models.Model]] = {}
    for row, instance in live.items():
        by_model.setdefault(row.model, []).append(instance)
    collector = Collector(using=deltas.using)
    for instances in by_model.values():
        collector.collect(instances)
    if not overwrite:
        lost.update(_rows_lost(collector, ours, deltas, is_reverted))
    collector.delete()


def _rows_lost(
    collector: Collector,
    ours: set[Row],
    deltas: DeltaSet,
    is_reverted: Callable[[Row], bool],
) -> dict[Row, str]:
    """The rows ``collector`` would delete or change that undoing ``deltas``
    does not delete, each with the foreign key that ties it to them."""
    outside: dict[Row, tuple[Any, str | None]] = {}
    for row, change in _affected_rows(collector):
        if row not in ours:
            outside.setdefault(row, change)
    reverted = deltas.reverted(outside) if outside else set()
    return {
        row: field_name or _field_pointing_at(instance, is_reverted)
        for row, (instance, field_name) in outside.items()
        if row not in reverted
    }


def _affected_rows(
    collector: Collector,
) -> Iterator[tuple[Row, tuple[Any, str | None]]]:
    """The rows ``collector`` would delete or change, each with its instance
    and, for a change, the foreign key it changes."""
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
    for instance, field_name in affected:
        model = instance._meta.concrete_model
        if model._meta.auto_created:
            # A membership: recorded on its two ends, which conflicts() reads.
            continue
        yield Row(model, key_text(model, instance.pk)), (instance, field_name)


def _field_pointing_at(
    instance: models.Model, is_reverted: Callable[[Row], bool]
) -> str:
    """The name of ``instance``'s foreign key to a row the revert deletes."""
    for field in instance._meta.concrete_fields:
        if field.many_to_one or field.one_to_one:
            target = field.related_model._meta.concrete_model
            value = getattr(instance, field.attname)
            if value is not None and is_reverted(Row(target, key_text(target, value))):
                return field.name
    return "(row)"
