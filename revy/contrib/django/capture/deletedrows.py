"""What a deleted row is linked to: the delete that caused its own, the
many-to-many members it leaves, the parent rows of a multi-table child,
and whether a ``SET_*`` handler may name it (``deletes.py``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import models
from django.db.models import deletion
from django.db.models.deletion import Collector

from revy.contrib.django import conf
from revy.contrib.django.backends.sqltypes import Cause
from revy.contrib.django.pending import PendingObjectDelta

__all__ = [
    "Deltas",
    "Membership",
    "cause_of_row",
    "cause_of_field",
    "drop_parent_rows",
    "has_members",
    "may_be_named",
    "memberships",
    "parent_rows_kept",
    "PointedAt",
    "deletes_pointed_at",
]

# {model: {pk: its delete delta}}
Deltas = dict[type[models.Model], dict[Any, PendingObjectDelta]]


# The handlers that delete the row, or leave it as it is: a row whose
# foreign keys all have one of these is never the target of a SET_* update.
_NOT_SETTING = {
    deletion.CASCADE,
    deletion.PROTECT,
    deletion.RESTRICT,
    deletion.DO_NOTHING,
    getattr(deletion, "DB_CASCADE", deletion.CASCADE),
}


def has_members(model: type[models.Model]) -> bool:
    """Whether rows of ``model`` may have many-to-many members."""
    meta = model._meta
    return bool(meta.many_to_many) or any(
        rel.many_to_many for rel in meta.related_objects
    )


@functools.cache
def may_be_named(model: type[models.Model]) -> bool:
    """Whether a ``SET_*`` handler may change rows of ``model``, or it has
    many-to-many members: then the keys of its deleted rows are kept, so
    that no update of a row the delete removes is recorded."""
    meta = model._meta
    if has_members(model):
        return True
    return any(
        field.remote_field.on_delete not in _NOT_SETTING
        for field in meta.concrete_fields
        if field.is_relation and field.remote_field is not None
    )


class Membership(NamedTuple):
    """The members a many-to-many relation gave the objects being deleted."""

    name: str  # The relation's name on the deleted model's side.
    other_model: type[models.Model]
    other_name: str | None  # Its name on the other side, if it has one.
    members: dict[Any, list[Any]]  # {deleted pk: member pks}


def memberships(
    model: type[models.Model], using: str, pks: list[Any]
) -> list[Membership]:
    """Every many-to-many relation of ``model`` that the rows ``pks`` have
    members in: one query per relation."""
    found = []
    relations = [
        (
            f,
            f.m2m_field_name(),
            f.m2m_reverse_field_name(),
            f.name,
            f.remote_field.model,
            f.remote_field.get_accessor_name(),
        )
        for f in model._meta.many_to_many
    ] + [
        (
            rel.field,
            rel.field.m2m_reverse_field_name(),
            rel.field.m2m_field_name(),
            rel.get_accessor_name(),
            rel.related_model,
            rel.field.name,
        )
        for rel in model._meta.related_objects
        if rel.many_to_many
    ]
    size = conf.batch_size()
    for field, source, target, name, other_model, other_name in relations:
        if name is None:
            continue
        through = field.remote_field.through._base_manager.using(using)
        members: dict[Any, list[Any]] = {}
        for start in range(0, len(pks), size):
            rows = through.filter(**{f"{source}__in": pks[start : start + size]})
            for pk, member in rows.values_list(source, target):
                members.setdefault(pk, []).append(member)
        if members:
            found.append(
                Membership(name, other_model._meta.concrete_model, other_name, members)
            )
    return found


def drop_parent_rows(deleted: dict[type[models.Model], dict[Any, Any]]) -> None:
    """A multi-table child and its parent rows are one object: keep the child."""
    for model in list(deleted):
        for parent, link in model._meta.parents.items():
            parent_rows = deleted.get(parent._meta.concrete_model)
            if not parent_rows or link is None:
                continue
            for row in deleted[model].values():
                parent_rows.pop(row[link.attname], None)
    for model in [m for m, rows in deleted.items() if not rows]:
        del deleted[model]


def parent_rows_kept(
    collector: Collector, model: type[models.Model], rows: dict[Any, dict[str, Any]]
) -> set[Any]:
    """The keys of deleted multi-table ``model`` rows whose parent rows the
    collector keeps, as ``delete(keep_parents=True)`` does."""
    kept: set[Any] = set()
    for parent, link in model._meta.parents.items():
        if link is None:
            continue
        gone = {obj.pk for obj in collector.data.get(parent, ())}
        kept.update(pk for pk, row in rows.items() if row[link.attname] not in gone)
    return kept


def cause_of_row(
    model: type[models.Model], row: dict[str, Any], deltas: Sequence[Deltas]
) -> PendingObjectDelta | None:
    """The delete delta of the row ``row`` points at, if it is deleted too."""
    for field in cause_fields(model):
        cause = cause_of_field(field, row[field.attname], deltas)
        if cause is not None:
            return cause
    return None


@functools.cache
def cause_fields(model: type[models.Model]) -> list[models.Field]:
    """The foreign keys of ``model`` by which a deleted row points at the
    row whose delete caused its own: to the key of the row pointed at."""
    return [
        field
        for field in model._meta.concrete_fields
        if (field.many_to_one or field.one_to_one)
        and not getattr(field.remote_field, "parent_link", False)
        and field.target_field is field.remote_field.model._meta.concrete_model._meta.pk
    ]


def cause_of_field(
    field: models.Field, value: Any, deltas: Sequence[Deltas]
) -> PendingObjectDelta | None:
    """The delete delta, among ``deltas``, of the row ``value`` points at."""
    if value is None or not field.is_relation:
        return None
    target = field.remote_field.model._meta.concrete_model
    if field.target_field is not target._meta.pk:
        return None
    for by_model in deltas:
        found = by_model.get(target, {}).get(value)
        if found is None:
            # A parent row is recorded as its multi-table child, whose key is
            # the same value.
            found = next(
                (
                    by_pk[value]
                    for model, by_pk in by_model.items()
                    if value in by_pk and target in model._meta.all_parents
                ),
                None,
            )
        if found is not None:
            return found
    return None


# A cause is found by a CASE with a branch per row pointed at: beyond this
# many, the rows are recorded in Python.
_MOST_CAUSES = 100


class PointedAt(NamedTuple):
    """The delete deltas of the rows a foreign key may point at."""

    field: models.Field
    deltas: dict[Any, PendingObjectDelta]  # {key of the row: its delta}

    def written(self) -> Cause:
        """The same, by the keys of the deltas, once they are written."""
        return Cause(self.field, {pk: delta.pk for pk, delta in self.deltas.items()})


def deletes_pointed_at(
    model: type[models.Model], known: Deltas
) -> list[PointedAt] | None:
    """The delete deltas among ``known`` that the foreign keys of ``model``
    may point at, as :func:`cause_of_row` finds them; None where there are
    too many to find in SQL."""
    found = []
    for field in cause_fields(model):
        target = field.remote_field.model._meta.concrete_model
        deltas: dict[Any, PendingObjectDelta] = {}
        # Rows of the model pointed at first, then its multi-table children.
        for source, by_pk in sorted(
            known.items(), key=lambda item: item[0] is not target
        ):
            if source is target or target in source._meta.all_parents:
                for pk, delta in by_pk.items():
                    deltas.setdefault(pk, delta)
        if deltas:
            found.append(PointedAt(field, deltas))
    if sum(len(pointed.deltas) for pointed in found) > _MOST_CAUSES:
        return None
    return found
