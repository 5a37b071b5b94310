"""Reading history back: an object's history, past states, diffs, restores.

Every function answers in a fixed number of queries, whatever the length of
the history. A *point* in history is given as ``at=``: an object delta
(right after it), a revision (right after it), or a datetime.
"""

from __future__ import annotations

import datetime
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, router, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.deletion import Collector
from django.utils import timezone

from revy.context import Context
from revy.contrib.django import conf
from revy.contrib.django.deltas import (
    children_of,
    content_type_ids,
    content_types_of_row,
    parent_content_types,
    saved_fields,
)
from revy.contrib.django.encoding import key_text
from revy.contrib.django.models import (
    AbstractObjectDelta,
    AbstractRevision,
    get_attribute_delta_model,
    get_object_delta_model,
)
from revy.contrib.django.snapshot import ObjectSnapshot

__all__ = [
    "Conflict",
    "FieldChange",
    "RevertConflict",
    "changes",
    "diff",
    "history",
    "members_as_of",
    "restore",
    "revert",
    "rows_as_of",
    "snapshot_of",
    "state_at",
]

Point = AbstractObjectDelta | AbstractRevision | datetime.datetime


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two points, and who changed it last."""

    field: str
    old: Any
    new: Any
    actor: Any
    description: str
    object_delta: Any


def _up_to(at: Point | None) -> Q:
    """Deltas recorded at or before ``at``."""
    if at is None:
        return Q()
    if isinstance(at, AbstractObjectDelta):
        return Q(pk__lte=at.pk)
    if isinstance(at, AbstractRevision):
        return Q(revision__pk__lte=at.pk)
    if isinstance(at, datetime.datetime):
        return Q(revision__created_at__lte=_aware(at))
    raise TypeError(
        f"A point in history is an object delta, a revision or a datetime, not {at!r}."
    )


def _deltas_of(model: type[models.Model], pk: Any) -> QuerySet:
    return get_object_delta_model().objects.for_key(model._meta.concrete_model, pk)


def _with_row_action(deltas: QuerySet, model: type[models.Model]) -> QuerySet:
    """``deltas`` annotated with ``row_action``: the action of the row's latest
    delta up to each, among those that tell whether a ``model`` row existed.
    For a table shared by multi-table models, that is not always the delta's
    own: an update saved through a parent changes the fields the row shares
    but says nothing of a child row, and a child deleted with
    ``keep_parents=True`` (its delete records none of the parents' fields)
    leaves the parent's row in place."""
    children = children_of(model)
    if not children and not parent_content_types(model):
        return deltas.annotate(row_action=F("action"))
    object_delta_model = get_object_delta_model()
    own = object_delta_model.objects.filter(
        content_type__in=content_types_of_row(model),
        content_id=OuterRef("content_id"),
        pk__lte=OuterRef("pk"),
    )
    fields = [field.name for field in saved_fields(model, None)]
    if children and fields:
        parent_kept = Q(
            content_type__in=content_type_ids(children),
            action=object_delta_model.ACTION_DELETE,
        ) & ~Exists(
            get_attribute_delta_model().objects.filter(
                object_delta=OuterRef("pk"), field_name__in=fields
            )
        )
        own = own.exclude(parent_kept)
    return deltas.annotate(
        row_action=Subquery(own.order_by("-pk").values("action")[:1])
    )


def _existed(delta: Any) -> bool:
    """Whether the row existed right after ``delta`` (see _with_row_action)."""
    return delta.row_action not in (None, delta.ACTION_DELETE)


def history(obj: models.Model) -> QuerySet:
    """The object deltas of ``obj``, newest first, ready for a history page.

    Each comes with its revision, its attribute deltas (prefetched) and its
    actor (prefetched per actor model): a page costs two queries and one per
    actor model, whatever the length of the history. Slice it to paginate.
    An attribute delta's own actor (several actors in one revision) is read
    when used: add ``.prefetch_related("attribute_deltas__actor")`` for a
    page that shows it.
    """
    return (
        _deltas_of(type(obj), obj.pk)
        .order_by("-pk")
        .select_related("revision")
        .prefetch_related("attribute_deltas", "actor")
    )


def snapshot_of(object_delta: AbstractObjectDelta) -> Any:
    """The instance as it stood right after ``object_delta`` (before, for a
    delete), in one query."""
    model = ContentType.objects.get_for_id(object_delta.content_type_id).model_class()
    return (
        type(object_delta)
        .objects.filter(pk=object_delta.pk)
        .annotate(snapshot=ObjectSnapshot(model))
        .get()
        .snapshot
    )


def state_at(model: type[models.Model], pk: Any, at: Point | None = None) -> Any:
    """The ``model`` row ``pk`` as it stood at ``at`` (default: now), in one query.

    None if the row did not exist then (not yet created, or deleted).
    """
    delta = (
        _with_row_action(_deltas_of(model, pk).filter(_up_to(at)), model)
        .order_by("-pk")
        .annotate(snapshot=ObjectSnapshot(model))
        .first()
    )
    if delta is None or not _existed(delta):
        return None
    return delta.snapshot


def _states(
    model: type[models.Model], pk: Any, start: Point | None, end: Point | None
) -> tuple[Any, Any]:
    """The row as it stood at ``start`` (None: before its history) and at
    ``end`` (None: now), in one query; None where it did not exist then."""
    deltas = _deltas_of(model, pk)
    points = [end] if start is None else [start, end]
    wanted = Q()
    for point in points:
        latest = deltas.filter(_up_to(point)).order_by("-pk").values("pk")[:1]
        wanted |= Q(pk=Subquery(latest))
    found = sorted(
        _with_row_action(deltas.filter(wanted), model)
        .select_related("revision")
        .annotate(snapshot=ObjectSnapshot(model)),
        key=lambda delta: delta.pk,
    )

    def state(point: Point | None) -> Any:
        before = [delta for delta in found if _is_up_to(delta, point)]
        if not before or not _existed(before[-1]):
            return None
        return before[-1].snapshot

    return (None if start is None else state(start)), state(end)


def _is_up_to(delta: Any, point: Point | None) -> bool:
    if point is None:
        return True
    if isinstance(point, AbstractObjectDelta):
        return delta.pk <= point.pk
    if isinstance(point, AbstractRevision):
        return delta.revision_id <= point.pk
    return delta.revision.created_at <= _aware(point)


def _aware(point: datetime.datetime) -> datetime.datetime:
    """A naive point read in the current time zone (Django's lookups would
    read it in the default one, and warn)."""
    if settings.USE_TZ and timezone.is_naive(point):
        return timezone.make_aware(point)
    return point


def rows_as_of(model: type[models.Model], at: Point) -> list[Any]:
    """Every row of ``model`` that existed at ``at``, as it stood then.

    One query. Rows that history never saw are not included: record a
    baseline (``manage.py revy_baseline``) to include rows older than
    tracking.
    """
    object_delta_model = get_object_delta_model()
    concrete = model._meta.concrete_model
    deltas = object_delta_model.objects.for_rows_of(concrete).filter(_up_to(at))
    latest = deltas.values("content_id").annotate(latest=Max("pk")).values("latest")
    found = (
        _with_row_action(object_delta_model.objects.filter(pk__in=latest), concrete)
        .exclude(row_action=object_delta_model.ACTION_DELETE)
        .exclude(row_action__isnull=True)
        .annotate(snapshot=ObjectSnapshot(model))
        .order_by("pk")
    )
    return [delta.snapshot for delta in found]


def members_as_of(obj: models.Model, relation: str, at: Point | None = None) -> set:
    """The primary keys of the members of ``obj.<relation>`` (a many-to-many
    field or its reverse accessor) at ``at``, replayed from its deltas."""
    field = _relation_field(type(obj), relation)
    members: set = set()
    attribute_deltas = (
        get_attribute_delta_model()
        .objects.filter(
            object_delta__in=_deltas_of(type(obj), obj.pk).filter(_up_to(at)),
            field_name=relation,
        )
        .order_by("object_delta_id", "pk")
        .values_list("old_value", "new_value")
    )
    for removed, added in attribute_deltas:
        members.difference_update(removed or ())
        members.update(added or ())
    return {field.to_python(member) for member in members}


def _relation_field(model: type[models.Model], relation: str) -> models.Field:
    for field in model._meta.get_fields():
        if not field.many_to_many:
            continue
        if field.name == relation and not field.auto_created:
            return field.related_model._meta.pk
        if getattr(field, "get_accessor_name", None) and field.get_accessor_name() == (
            relation
        ):
            return field.related_model._meta.pk
    raise ValueError(f"{model._meta.label} has no many-to-many relation {relation!r}.")


def diff(
    model: type[models.Model], pk: Any, start: Point | None, end: Point | None = None
) -> list[FieldChange]:
    """The fields of one row that differ between ``start`` and ``end``.

    Each change names the actor and description of the last change of that
    field in between. Two queries, and one per model of the actors found.
    A field history never saw is skipped.
    """
    before, after = _states(model, pk, start, end)
    deltas = _deltas_of(model, pk)
    if start is not None:
        deltas = deltas.exclude(_up_to(start))
    deltas = deltas.filter(_up_to(end))
    last: dict[str, Any] = {}
    for attribute in (
        get_attribute_delta_model()
        .objects.filter(object_delta__in=deltas)
        .select_related("object_delta")
        .prefetch_related("actor")
        .order_by("object_delta_id", "pk")
    ):
        last[attribute.field_name] = attribute
    found = []
    deferred_before = before.get_deferred_fields() if before is not None else set()
    deferred_after = after.get_deferred_fields() if after is not None else set()
    for field in model._meta.concrete_model._meta.concrete_fields:
        if field.primary_key or field.attname in deferred_before | deferred_after:
            continue
        old = None if before is None else getattr(before, field.attname)
        new = None if after is None else getattr(after, field.attname)
        if old == new and (before is None) == (after is None):
            continue
        attribute = last.get(field.name)
        found.append(
            FieldChange(
                field=field.name,
                old=old,
                new=new,
                actor=None if attribute is None else attribute.actor,
                description="" if attribute is None else attribute.description,
                object_delta=None if attribute is None else attribute.object_delta,
            )
        )
    return found


def changes(obj: models.Model) -> list[FieldChange]:
    """Every recorded field change of ``obj``, oldest first, decoded."""
    encoder = conf.value_encoder()
    model = type(obj)._meta.concrete_model
    fields = {f.name: f for f in model._meta.concrete_fields}
    found = []
    for attribute in (
        get_attribute_delta_model()
        .objects.filter(object_delta__in=_deltas_of(model, obj.pk))
        .select_related("object_delta")
        .prefetch_related("actor")
        .order_by("object_delta_id", "pk")
    ):
        field = fields.get(attribute.field_name)
        old, new = attribute.old_value, attribute.new_value
        if field is not None:  # Else a many-to-many relation: lists of ids.
            old, new = encoder.decode(field, old), encoder.decode(field, new)
        found.append(
            FieldChange(
                field=attribute.field_name,
                old=old,
                new=new,
                actor=attribute.actor,
                description=attribute.description,
                object_delta=attribute.object_delta,
            )
        )
    return found


def restore(model: type[models.Model], pk: Any, at: Point) -> Any:
    """Put the ``model`` row ``pk`` back as it stood at ``at``, recorded.

    Re-creates it if it was deleted since. Runs in the current context, or
    in a context of its own if none is active. Returns the saved instance.
    """
    instance = state_at(model, pk, at)
    if instance is None:
        raise LookupError(
            f"{model._meta.label} {pk!r} did not exist at {at!r}: nothing to restore."
        )
    if model._base_manager.filter(pk=pk).exists():
        # An update of the live row; fields history never saw keep their value.
        instance._state.adding = False
        instance._state.db = router.db_for_write(model, instance=instance)
    else:
        _fill_defaults(instance)
    with Context() if Context.get_current() is None else nullcontext():
        instance.save()
    return instance


def _fill_defaults(instance: models.Model) -> None:
    """Give the fields history never saw (deferred on a snapshot) their
    defaults, for a row that is gone: there is no live value to load."""
    deferred = instance.get_deferred_fields()
    for field in instance._meta.concrete_fields:
        if field.attname in deferred:
            setattr(instance, field.attname, field.get_default())


# Reverting a revision -----------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A later revision changed what a revert would undo."""

    model: type[models.Model]
    pk: Any
    field: str
    revision: Any

    def __str__(self) -> str:
        if self.revision is None:
            return (
                f"{self.model._meta.label} {self.pk}: {self.field} points at a row "
                f"the revert deletes, and no recorded revision made it"
            )
        return (
            f"{self.model._meta.label} {self.pk}: {self.field} was changed later "
            f"in revision {self.revision.pk}"
        )


class RevertConflict(Exception):
    """``revert()`` refused: later revisions changed what it would undo."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        listed = "; ".join(str(conflict) for conflict in conflicts)
        super().__init__(
            f"Cannot revert: {listed}. Pass overwrite=True to revert anyway."
        )


def revert(revision: AbstractRevision, overwrite: bool = False) -> Any:
    """Undo every change of ``revision`` at once, recorded as a new revision.

    Re-creates what it deleted (parents before the children their cascade
    took), restores what it updated, foreign keys set to null included, and
    deletes what it created. If a later revision changed any of those, or a
    row the revision did not create points at one it created (deleting it
    would delete or change that row), raises :class:`RevertConflict` listing
    each, unless ``overwrite`` is True. Returns the new revision, or None if
    there was nothing to undo.
    """
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
    using = revision._state.db or router.db_for_write(type(revision))
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
                Conflict(model, key, field_name, latest.get((model, key)))
                for (model, key), field_name in lost.rows.items()
            ]
        ) from None
    return new_revision if not new_revision._state.adding else None


def _undo(
    deltas: list[Any],
    by_object: dict[tuple[int, str], list[Any]],
    using: str,
    overwrite: bool,
) -> None:
    """Undo ``deltas``, grouped ``by_object``: re-create, restore, delete."""
    create, delete = (
        AbstractObjectDelta.ACTION_CREATE,
        AbstractObjectDelta.ACTION_DELETE,
    )
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
        (owner, key)
        for model, key in created + [_row(delta) for delta in replaced]
        for owner in (model._meta.concrete_model, *model._meta.all_parents)
    }
    lost: dict[tuple[Any, str], str] = {}
    _delete_rows([_row(delta) for delta in replaced], reverted, using, overwrite, lost)
    # Deleted by this revision: back as they stood before the delete.
    deleted = [
        ds[-1] for ds in objects if ds[0].action != create and ds[-1].action == delete
    ] + replaced
    recreated = []
    for delta in _parents_first(deleted):
        instance = snapshot_of(delta)
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


def _row(delta: Any) -> tuple[Any, str]:
    """(model, key) of the row ``delta`` is about."""
    return ContentType.objects.get_for_id(delta.content_type_id).model_class(), (
        delta.content_id
    )


def _delete_rows(
    rows: list[tuple[Any, str]],
    reverted: set[tuple[Any, str]],
    using: str,
    overwrite: bool,
    lost: dict[tuple[Any, str], str],
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
            continue  # The reverse side of a relation: undone from its own side.
        if field.many_to_many:
            if (not field.auto_created or field.concrete) and _replayed(field):
                manager = getattr(instance, field.name)
                manager.remove(*(attribute.new_value or ()))
                manager.add(*(attribute.old_value or ()))
            continue
        if not field.concrete:
            continue
        setattr(instance, field.attname, encoder.decode(field, attribute.old_value))
        fields.append(field.name)
    if fields:
        instance.save(update_fields=fields, using=using)


def _conflicts(revision: AbstractRevision, deltas: list[Any]) -> list[Conflict]:
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
        get_object_delta_model()
        .objects.filter(
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

    def __init__(self, rows: dict[tuple[Any, str], str]) -> None:
        super().__init__(rows)
        self.rows = rows


def _rows_outside(
    collector: Collector, reverted: set[tuple[Any, str]]
) -> dict[tuple[Any, str], str]:
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
    found: dict[tuple[Any, str], str] = {}
    for instance, field_name in affected:
        model = instance._meta.concrete_model
        if model._meta.auto_created:
            # A membership: recorded on its two ends, which _conflicts() reads.
            continue
        row = (model, key_text(model, instance.pk))
        if row not in reverted and row not in found:
            found[row] = field_name or _field_pointing_at(instance, reverted)
    return found


def _field_pointing_at(instance: models.Model, rows: set[tuple[Any, str]]) -> str:
    """The name of ``instance``'s foreign key to one of ``rows``."""
    for field in instance._meta.concrete_fields:
        if field.many_to_one or field.one_to_one:
            target = field.related_model._meta.concrete_model
            value = getattr(instance, field.attname)
            if value is not None and (target, key_text(target, value)) in rows:
                return field.name
    return "(row)"


def _latest_revisions(
    rows: list[tuple[Any, str]], using: str
) -> dict[tuple[Any, str], Any]:
    """The revision of the latest recorded change of each row that has one;
    a query per model."""
    keys_by_model: dict[Any, list[str]] = {}
    for model, key in rows:
        keys_by_model.setdefault(model, []).append(key)
    latest = {}
    for model, keys in keys_by_model.items():
        deltas = (
            get_object_delta_model()
            .objects.using(using)
            .for_rows_of(model)
            .filter(content_id__in=keys)
            .select_related("revision")
            .order_by("pk")
        )
        for delta in deltas:
            latest[model, delta.content_id] = delta.revision
    return latest
