"""What a deleted row is linked to: the delete that caused its own, the
many-to-many members it leaves, the parent rows of a multi-table child;
the order in which the rows Django collects are recorded a batch at a
time, causes first, their deltas kept by key once written (``deletes.py``);
and what a deletion has recorded that later rows still need
(:class:`Recorded`)."""

from __future__ import annotations

import functools
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from django.db import models
from django.db.models.deletion import Collector

from revy.contrib.django import conf
from revy.contrib.django.backends.sqltypes import Cause
from revy.contrib.django.backends.staging import CauseTables
from revy.contrib.django.capture.database_on_delete import has_database_effects
from revy.contrib.django.pending import PendingObjectDelta
from revy.contrib.django.rows import Row

__all__ = [
    "Causes",
    "Deltas",
    "Membership",
    "Recorded",
    "Removal",
    "Rows",
    "WrittenDelete",
    "WrittenDeletes",
    "cause_of_row",
    "cause_of_field",
    "collected_keys",
    "drop_parent_rows",
    "has_members",
    "memberships",
    "order_in_batches",
    "parent_rows_kept",
    "PointedAt",
    "deletes_pointed_at",
]

# {model: {pk: its delete delta}}
Deltas = dict[type[models.Model], dict[Any, PendingObjectDelta]]
# {model: {pk: its row}}
Rows = dict[type[models.Model], dict[Any, Row]]


class WrittenDelete:
    """A delete delta already written, as a later delta names its cause: by
    its key (its own causes were written with it)."""

    __slots__ = ("pk",)
    cause = None

    def __init__(self, pk: int) -> None:
        self.pk = pk

    def causes(self) -> list[PendingObjectDelta]:
        return []


# Keys an array of signed 64-bit integers holds.
_LOWEST, _HIGHEST = -(2**63), 2**63 - 1


class WrittenDeletes(Mapping[Any, WrittenDelete]):
    """``{key of a deleted row: its written delete delta}``, 16 bytes an
    entry where keys and deltas are integers added in rising key order, as
    batches read in key order add them: the causes of a delete of a million
    rows take 16 MB instead of the deltas themselves. Other entries go in a
    dict."""

    def __init__(self) -> None:
        self._keys = array("q")
        self._deltas = array("q")
        self._others: dict[Any, Any] = {}

    def add(self, key: Any, delta_pk: Any) -> None:
        keys = self._keys
        if (
            type(key) is int
            and type(delta_pk) is int
            and _LOWEST <= key <= _HIGHEST
            and (not keys or key > keys[-1])
        ):
            keys.append(key)
            self._deltas.append(delta_pk)
        else:
            self._others[key] = delta_pk

    def __getitem__(self, key: Any) -> WrittenDelete:
        if key in self._others:
            return WrittenDelete(self._others[key])
        keys = self._keys
        if type(key) is int and _LOWEST <= key <= _HIGHEST:
            at = bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                return WrittenDelete(self._deltas[at])
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        yield from self._keys
        yield from self._others

    def delta_keys(self) -> Iterator[tuple[Any, Any]]:
        """``(key, key of its delta)`` of every entry."""
        yield from zip(self._keys, self._deltas, strict=True)
        yield from self._others.items()

    def __len__(self) -> int:
        return len(self._keys) + len(self._others)


# {model: {pk: its delete delta}}, as pending deltas or written ones.
Causes = dict[type[models.Model], Mapping[Any, PendingObjectDelta | WrittenDelete]]


def has_members(model: type[models.Model]) -> bool:
    """Whether rows of ``model`` may have many-to-many members."""
    meta = model._meta
    return bool(meta.many_to_many) or any(
        rel.many_to_many for rel in meta.related_objects
    )


class Membership(NamedTuple):
    """The members a many-to-many relation gave the objects being deleted."""

    # The relation's names on the deleted model's side and on the other, if
    # it has one there: a symmetrical relation's rows to the deleted objects
    # have no name on their side, only on the members'.
    name: str | None
    other_model: type[models.Model]
    other_name: str | None
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
        if name is None and other_name is None:
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
    model: type[models.Model], row: dict[str, Any], deltas: Sequence[Causes]
) -> PendingObjectDelta | WrittenDelete | None:
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
    field: models.Field, value: Any, deltas: Sequence[Causes]
) -> PendingObjectDelta | WrittenDelete | None:
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


class PointedAt(NamedTuple):
    """The delete deltas of the rows a foreign key may point at, by the key
    of their row: those of the model pointed at first, then those of its
    multi-table children."""

    field: models.Field
    sources: tuple[Mapping[Any, PendingObjectDelta | WrittenDelete], ...]

    def written(self) -> Cause:
        """The same, by the keys of the deltas, once they are written."""
        return Cause(self.field, _WrittenKeys(self.sources))


class _WrittenKeys:
    """The ``DeltaKeys`` of written deltas, read from where they are kept
    each time they are iterated: nothing is copied per row."""

    def __init__(
        self, sources: tuple[Mapping[Any, PendingObjectDelta | WrittenDelete], ...]
    ) -> None:
        self.sources = sources

    def __len__(self) -> int:
        return sum(len(source) for source in self.sources)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for source in self.sources:
            if isinstance(source, WrittenDeletes):
                yield from source.delta_keys()
            else:
                yield from ((pk, delta.pk) for pk, delta in source.items())


def deletes_pointed_at(model: type[models.Model], known: Causes) -> list[PointedAt]:
    """The delete deltas among ``known`` that the foreign keys of ``model``
    may point at, as :func:`cause_of_row` finds them."""
    found = []
    for field in cause_fields(model):
        target = field.remote_field.model._meta.concrete_model
        # Rows of the model pointed at first, then its multi-table children.
        sources = tuple(
            by_pk
            for source, by_pk in sorted(
                known.items(), key=lambda item: item[0] is not target
            )
            if by_pk and (source is target or target in source._meta.all_parents)
        )
        if sources:
            found.append(PointedAt(field, sources))
    return found


def collected_keys(collector: Collector) -> dict[type[models.Model], list[Any]]:
    """``{concrete model: keys in rising order}`` of the tracked rows Django
    collected as instances."""
    keys: dict[type[models.Model], list[Any]] = {}
    for model, instances in collector.data.items():
        concrete = model._meta.concrete_model
        if model._meta.auto_created or not conf.is_tracked(concrete) or not instances:
            continue
        if concrete in keys:  # Proxies of one model may hold the same row.
            keys[concrete] = list({*keys[concrete], *(obj.pk for obj in instances)})
        else:
            keys[concrete] = [obj.pk for obj in instances]
    for pks in keys.values():
        pks.sort()
    return keys


def order_in_batches(
    keys: dict[type[models.Model], list[Any]],
) -> list[type[models.Model]] | None:
    """The order in which to record the collected rows ``keys`` a batch at
    a time: each model after those whose rows' deletes may cause the deletes
    of its rows (:func:`cause_fields`). None where they are recorded all at
    once: when they fit in one batch, or are rows of a multi-table family (a
    child and its parent rows are one object), have many-to-many members,
    have rows the database deletes or sets with them, or may cause deletes
    of rows of their own model, directly or through others."""
    if sum(len(pks) for pks in keys.values()) <= conf.batch_size():
        return None
    for model in keys:
        if (
            model._meta.parents
            or has_members(model)
            or has_database_effects(model)
            or any(model in other._meta.all_parents for other in keys)
        ):
            return None
    waiting = {
        model: {
            target
            for field in cause_fields(model)
            if (target := field.remote_field.model._meta.concrete_model) in keys
        }
        for model in keys
    }
    ordered: list[type[models.Model]] = []
    while waiting:
        ready = [model for model, targets in waiting.items() if not targets]
        if not ready:
            return None  # A cycle, or a model pointing at itself.
        for model in ready:
            del waiting[model]
            ordered.append(model)
        for targets in waiting.values():
            targets.difference_update(ready)
    return ordered


class Removal(NamedTuple):
    """The update recording that a deleted row left the members of the
    ``model`` row ``pk``: recorded unless that row is deleted too."""

    model: type[models.Model]
    pk: Any
    delta: PendingObjectDelta


class Recorded:
    """What a deletion has recorded so far that later rows still need: the
    delete deltas of the rows Django collected as instances (the causes of
    later deletes; written ones by their keys alone), the keys of other
    deleted rows that a membership may also name, and the membership
    removals waiting for every deleted row to be known."""

    def __init__(self, cause_tables: CauseTables) -> None:
        self.cause_tables = cause_tables  # Where SQL looks many causes up.
        # The models whose rows revy read locked, as Django collected them.
        self.locked: set[type[models.Model]] = set()
        self.collected: Rows = {}
        self.causes: Causes = {}
        self.gone: dict[type[models.Model], set[Any]] = {}
        self.removals: list[Removal] = []

    def keep_written(self, deltas: Deltas) -> None:
        """Keep ``deltas``, written, as causes: by their keys alone."""
        for model, by_pk in deltas.items():
            kept = self.causes.get(model)
            if not isinstance(kept, WrittenDeletes):
                kept = self.causes[model] = WrittenDeletes()
            for pk, delta in by_pk.items():
                kept.add(pk, delta.pk)

    def note_gone(self, deleted: Rows) -> None:
        """Keep the keys of the rows ``deleted`` that a membership may also
        name (``SET_*`` handlers read the rows left once these are gone)."""
        for model, rows in deleted.items():
            if has_members(model):
                self.gone.setdefault(model, set()).update(rows)

    def deleted_with(self, deleted: Rows) -> dict[type[models.Model], Any]:
        """``{model: keys}`` of the rows ``deleted`` and those collected."""
        keys: dict[type[models.Model], Any] = dict(self.collected)
        for model, rows in deleted.items():
            if rows is not self.collected.get(model):
                keys[model] = rows.keys() | keys.get(model, {}).keys()
        return keys

    def deletes_rows_of(self, model: type[models.Model]) -> bool:
        """Whether this deletion deletes rows of ``model`` it collected, or
        has deleted rows of it that a membership may name."""
        return bool(self.gone.get(model) or self.causes.get(model))

    def is_gone(self, model: type[models.Model], pk: Any) -> bool:
        return pk in self.gone.get(model, ()) or pk in self.causes.get(model, ())
