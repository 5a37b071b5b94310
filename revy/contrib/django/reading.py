"""Reading history back: an object's history, past states, diffs.

Every function answers in a fixed number of queries, whatever the length of
the history. A *point* in history is given as ``at=``: an object delta
(right after it), a revision (right after it), or a datetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery

from revy.contrib.django import compiled, conf
from revy.contrib.django.encoding import key_text
from revy.contrib.django.inheritance import (
    children_of,
    content_type_ids,
    content_types_of_row,
    family_content_types,
    parent_content_types,
)
from revy.contrib.django.points import Point, bound_of, is_up_to, up_to
from revy.contrib.django.rows import recorded_fields
from revy.contrib.django.schema import RawValue, decode_for_display, known_names
from revy.contrib.django.snapshot import ObjectSnapshot

__all__ = [
    "FieldChange",
    "changes",
    "deletions",
    "diff",
    "effects_of",
    "history",
    "members_as_of",
    "removed_fields_at",
    "rows_as_of",
    "snapshot_of",
    "state_at",
]


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two points, and who changed it last."""

    field: str
    old: Any
    new: Any
    actor: Any
    description: str
    object_delta: Any


def _deltas_of(model: type[models.Model], pk: Any) -> QuerySet:
    return conf.history_models().object_delta.objects.for_key(
        model._meta.concrete_model, pk
    )


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
    object_delta_model = conf.history_models().object_delta
    own = object_delta_model.objects.filter(
        content_type__in=content_types_of_row(model),
        content_id=OuterRef("content_id"),
        pk__lte=OuterRef("pk"),
    )
    fields = [field.name for field in recorded_fields(model)]
    if children and fields:
        parent_kept = Q(
            content_type__in=content_type_ids(children),
            action=object_delta_model.ACTION_DELETE,
        ) & ~Exists(
            conf.history_models().attribute_delta.objects.filter(
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


def snapshot_of(object_delta: models.Model) -> Any:
    """The instance as it stood right after ``object_delta`` (before, for a
    delete), in one query."""
    model = ContentType.objects.get_for_id(object_delta.content_type_id).model_class()
    return (
        type(object_delta)
        .objects.filter(pk=object_delta.pk)
        .annotate(snapshot=ObjectSnapshot(model, few_rows=True))
        .get()
        .snapshot
    )


def state_at(
    model: type[models.Model],
    pk: Any,
    at: Point | int | None = None,
    *,
    raw_values: bool = False,
) -> Any:
    """The ``model`` row ``pk`` as it stood at ``at`` (default: now), in one query.

    ``at`` is a point in history, or a position among the row's own object
    deltas, counted as a list's items are: ``0`` is right after its first
    delta, ``-1`` after its latest; a position past them raises
    ``IndexError``. None if the row did not exist then (not yet created, or
    deleted). A value its field cannot parse (its type changed) raises
    ``UndecodableValue``; with ``raw_values``, for pages that only show
    history, it is kept as a :class:`RawValue`.
    """
    object_delta_model = conf.history_models().object_delta
    concrete = model._meta.concrete_model
    arguments = [
        compiled.Argument(
            object_delta_model._meta.get_field("content_id"), key_text(concrete, pk)
        )
    ]

    def deltas_of(content_id: str) -> QuerySet:
        return object_delta_model.objects.for_content_id(concrete, content_id)

    def state_of(deltas: QuerySet) -> QuerySet:
        return (
            _with_row_action(deltas, model)
            .annotate(snapshot=ObjectSnapshot(model, raw_values, few_rows=True))
            .values_list("row_action", "snapshot")
        )

    position = isinstance(at, int) and not isinstance(at, bool)
    if position:
        newest_first = at < 0
        offset = -at - 1 if newest_first else at
        arguments.append(compiled.Argument(compiled.OFFSET, offset))
        kind: Any = ("position", newest_first)

        def read(content_id: str, offset: int) -> QuerySet:
            # Picked in a subquery: PostgreSQL and MariaDB would build the
            # snapshot of every delta an OFFSET skips.
            picked = deltas_of(content_id).order_by("-pk" if newest_first else "pk")
            picked = picked.values("pk")[offset : offset + 1]
            return state_of(object_delta_model.objects.filter(pk=Subquery(picked)))

    else:
        bound = bound_of(at)
        if bound is not None:
            arguments.append(compiled.Argument(bound.field, bound.value))
        kind = bound and bound.lookup

        def read(content_id: str, up_to: Any = None) -> QuerySet:
            deltas = deltas_of(content_id)
            if bound is not None:
                deltas = deltas.filter(**{bound.lookup: up_to})
            return state_of(deltas).order_by("-pk")[:1]

    # A content type made again (a migration back and forth) has a new id.
    types = family_content_types(model)
    shape = ("state_at", model, kind, raw_values, types)
    found = compiled.rows(shape, object_delta_model.objects.db, read, arguments)
    if not found and position:
        raise IndexError(
            f"{model._meta.label} row {pk!r} has no object delta at position {at}."
        )
    if not found or found[0][0] in (None, object_delta_model.ACTION_DELETE):
        return None
    return found[0][1]


def _states(
    model: type[models.Model], pk: Any, start: Point | None, end: Point | None
) -> tuple[Any, Any]:
    """The row as it stood at ``start`` (None: before its history) and at
    ``end`` (None: now), in one query; None where it did not exist then.
    Values their fields cannot parse are kept as :class:`RawValue` values."""
    deltas = _deltas_of(model, pk)
    points = [end] if start is None else [start, end]
    wanted = Q()
    for point in points:
        latest = deltas.filter(up_to(point)).order_by("-pk").values("pk")[:1]
        wanted |= Q(pk=Subquery(latest))
    found = sorted(
        _with_row_action(deltas.filter(wanted), model)
        .select_related("revision")
        .annotate(snapshot=ObjectSnapshot(model, raw_values=True, few_rows=True)),
        key=lambda delta: delta.pk,
    )

    def state(point: Point | None) -> Any:
        before = [delta for delta in found if is_up_to(delta, point)]
        if not before or not _existed(before[-1]):
            return None
        return before[-1].snapshot

    return (None if start is None else state(start)), state(end)


def rows_as_of(model: type[models.Model], at: Point) -> list[Any]:
    """Every row of ``model`` that existed at ``at``, as it stood then.

    One query. Rows that history never saw are not included: record a
    baseline (``manage.py revy_baseline``) to include rows older than
    tracking.
    """
    object_delta_model = conf.history_models().object_delta
    concrete = model._meta.concrete_model
    deltas = object_delta_model.objects.for_rows_of(concrete).filter(up_to(at))
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
        conf.history_models()
        .attribute_delta.objects.filter(
            object_delta__in=_deltas_of(type(obj), obj.pk).filter(up_to(at)),
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
    A field history never saw is skipped. A value its field cannot parse any
    more is a :class:`RawValue`; a field the model no longer has that
    changed in between comes last, its values as ``RawValue`` values marked
    ``field_missing`` (``None`` for a side it was not recorded).
    """
    before, after = _states(model, pk, start, end)
    deltas = _deltas_of(model, pk)
    if start is not None:
        deltas = deltas.exclude(up_to(start))
    deltas = deltas.filter(up_to(end))
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for attribute in (
        conf.history_models()
        .attribute_delta.objects.filter(object_delta__in=deltas)
        .select_related("object_delta")
        .prefetch_related("actor")
        .order_by("object_delta_id", "pk")
    ):
        last[attribute.field_name] = attribute
        first.setdefault(attribute.field_name, attribute)
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
    names = known_names(model)
    for name, attribute in last.items():
        if name in names:
            continue
        old, new = first[name].old_value, attribute.new_value
        found.append(
            FieldChange(
                field=name,
                old=None if old is None else RawValue(old, field_missing=True),
                new=None if new is None else RawValue(new, field_missing=True),
                actor=attribute.actor,
                description=attribute.description,
                object_delta=attribute.object_delta,
            )
        )
    return found


def removed_fields_at(
    model: type[models.Model], pk: Any, at: Point | None = None
) -> dict[str, RawValue]:
    """``{name: value as recorded}`` of the fields the ``model`` row ``pk``
    had at ``at`` (default: now) that the model no longer has (removed, or
    renamed with no ``RenameTrackedField``): the part of its state a
    snapshot cannot hold. One query."""
    names = known_names(model)
    found: dict[str, RawValue] = {}
    for name, old, new in (
        conf.history_models()
        .attribute_delta.objects.filter(
            object_delta__in=_deltas_of(model, pk).filter(up_to(at))
        )
        .exclude(field_name__in=names)
        .order_by("object_delta_id", "pk")
        .values_list("field_name", "old_value", "new_value")
    ):
        value = old if new is None else new  # A delete records the old one.
        found[name] = RawValue(value, field_missing=True)
    return found


def changes(obj: models.Model) -> list[FieldChange]:
    """Every recorded field change of ``obj``, oldest first, decoded.

    A value its field cannot parse any more (its type changed), and the
    values of a field the model no longer has, are :class:`RawValue` values:
    as stored, marked (``field_missing`` for the latter)."""
    encoder = conf.value_encoder()
    model = type(obj)._meta.concrete_model
    fields = {f.name: f for f in model._meta.concrete_fields}
    names = known_names(model)
    found = []
    for attribute in (
        conf.history_models()
        .attribute_delta.objects.filter(object_delta__in=_deltas_of(model, obj.pk))
        .select_related("object_delta")
        .prefetch_related("actor")
        .order_by("object_delta_id", "pk")
    ):
        field = fields.get(attribute.field_name)
        old, new = attribute.old_value, attribute.new_value
        if field is not None:
            old = decode_for_display(encoder, field, old)
            new = decode_for_display(encoder, field, new)
        elif attribute.field_name not in names:  # Removed, or renamed.
            old = None if old is None else RawValue(old, field_missing=True)
            new = None if new is None else RawValue(new, field_missing=True)
        # Else a many-to-many relation: lists of keys.
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


def deletions(model: type[models.Model]) -> QuerySet:
    """The delete delta of each ``model`` row whose history ends with its
    delete, newest first, with its revision: the rows that can be restored
    (one query; a row made again while nothing was recorded is included,
    since history cannot know of it)."""
    object_delta_model = conf.history_models().object_delta
    concrete = model._meta.concrete_model
    deltas = object_delta_model.objects.for_rows_of(concrete)
    latest = deltas.values("content_id").annotate(latest=Max("pk")).values("latest")
    return (
        _with_row_action(object_delta_model.objects.filter(pk__in=latest), concrete)
        .filter(row_action=object_delta_model.ACTION_DELETE)
        .select_related("revision")
        .order_by("-pk")
    )


def effects_of(object_delta: models.Model) -> list[Any]:
    """The deltas a delete caused (cascaded deletes, keys set to null or to
    a default), and theirs in turn, oldest first, with their attribute
    deltas: a query per level of the cascade."""
    found: list[Any] = []
    causes = [object_delta.pk]
    while causes:
        level = list(
            type(object_delta)
            .objects.filter(cause__in=causes)
            .prefetch_related("attribute_deltas")
            .order_by("pk")
        )
        found += level
        causes = [delta.pk for delta in level if delta.action == delta.ACTION_DELETE]
    return sorted(found, key=lambda delta: delta.pk)
