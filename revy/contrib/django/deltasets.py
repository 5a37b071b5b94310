"""A set of one revision's object deltas to undo, read a batch at a time.

Memory holds one batch of deltas (``REVY_BATCH_SIZE``) with their attribute
deltas, and a :class:`Span` for each of the batch's rows that more than one
delta of the set is about; nothing per row of the set (decision 0019).
``reverting.py`` undoes the set a step at a time, each step reading it
again.
"""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count

from revy.contrib.django import conf
from revy.contrib.django.inheritance import content_types_of_row

__all__ = ["DeltaSet", "Row", "Span", "effect_keys", "let_go"]


class Row(NamedTuple):
    """A row of a tracked model, by its key as history writes it."""

    model: type[models.Model]
    key: str


class Span(NamedTuple):
    """The first and the last of a set's deltas about one row."""

    first_pk: int
    first_action: str
    last_pk: int
    last_action: str


class DeltaSet:
    """Object deltas of one revision to undo, read a batch at a time in key
    order: all of the revision's, or those of ``keys`` (sorted)."""

    def __init__(
        self, revision: models.Model, using: str, keys: array | None = None
    ) -> None:
        self.revision = revision
        self.using = using
        self._keys = keys
        object_delta = conf.history_models().object_delta
        self.CREATE = object_delta.ACTION_CREATE
        self.UPDATE = object_delta.ACTION_UPDATE
        self.DELETE = object_delta.ACTION_DELETE
        self._deltas = object_delta.objects.using(using).filter(revision_id=revision.pk)
        if keys is None:
            last = self._deltas.order_by("-pk").values_list("pk", flat=True).first()
        else:
            last = keys[-1] if keys else None
        self.last_pk = last
        # Whether any row has more than one delta in the revision: if not,
        # a delta is its row's first and last, and no batch asks for spans.
        self.repeats = last is not None and (
            self._deltas.order_by()
            .values("content_type_id", "content_id")
            .annotate(count=Count("pk"))
            .filter(count__gt=1)
            .exists()
        )
        self._spans: dict[tuple[int, str], Span] = {}  # The current batch's.

    def __bool__(self) -> bool:
        return self.last_pk is not None

    def batches(
        self, *, newest_first: bool = False, **filters: Any
    ) -> Iterator[list[Any]]:
        """The set's deltas matching ``filters``, with their attribute
        deltas, a batch at a time, oldest first unless ``newest_first``.
        While a batch is out, :meth:`span` knows its rows."""
        deltas = self._deltas.filter(**filters).prefetch_related("attribute_deltas")
        for batch in self._pages(deltas, newest_first):
            if batch:
                self._spans = self._spans_of(batch)
                yield batch
                let_go(batch)
                self._spans = {}

    def _pages(
        self, deltas: models.QuerySet, newest_first: bool
    ) -> Iterator[list[Any]]:
        """``deltas`` of the set, ``REVY_BATCH_SIZE`` keys at a time: by
        ``keys``, or by the last key read."""
        order, after = ("-pk", "pk__lt") if newest_first else ("pk", "pk__gt")
        size = conf.batch_size()
        if self._keys is not None:
            starts = range(0, len(self._keys), size)
            for start in reversed(starts) if newest_first else starts:
                keys = self._keys[start : start + size].tolist()
                yield list(deltas.filter(pk__in=keys).order_by(order))
            return
        last = None
        while page := list(
            (deltas if last is None else deltas.filter(**{after: last})).order_by(
                order
            )[:size]
        ):
            yield page
            last = page[-1].pk

    def span(self, delta: Any) -> Span:
        """The first and last deltas of the set about ``delta``'s row, in
        the batch out now."""
        found = self._spans.get((delta.content_type_id, delta.content_id))
        return found or Span(delta.pk, delta.action, delta.pk, delta.action)

    def created(self, delta: Any, span: Span | None = None) -> bool:
        """Whether ``delta`` created a row the set leaves in place: undoing
        the set deletes it."""
        span = span or self.span(delta)
        return (
            delta.pk == span.first_pk
            and span.first_action == self.CREATE
            and span.last_action != self.DELETE
        )

    def replaced(self, delta: Any, span: Span | None = None) -> bool:
        """Whether ``delta`` deleted a row the set then created again with
        the same key: undoing the set deletes the new row, brings the old
        one back."""
        span = span or self.span(delta)
        return (
            delta.pk == span.first_pk
            and span.first_action == self.DELETE
            and span.last_action != self.DELETE
        )

    def recreated(self, delta: Any) -> bool:
        """Whether undoing the set brings back the row as ``delta`` found it."""
        span = self.span(delta)
        deleted = (
            delta.pk == span.last_pk
            and span.first_action != self.CREATE
            and span.last_action == self.DELETE
        )
        return deleted or self.replaced(delta, span)

    def undone_update(self, delta: Any) -> bool:
        """Whether undoing the set undoes the update ``delta`` (not of a row
        it creates or deletes)."""
        return delta.action == self.UPDATE and self.span(delta).first_action not in (
            self.CREATE,
            self.DELETE,
        )

    def models_deleted(self) -> dict[type[models.Model], int]:
        """The models of the rows the set deleted, with their content types."""
        ids = (
            self._deltas.filter(action=self.DELETE)
            .order_by()
            .values_list("content_type_id", flat=True)
            .distinct()
        )
        return {ContentType.objects.get_for_id(pk).model_class(): pk for pk in ids}

    def reverted(self, rows: Iterable[Row]) -> set[Row]:
        """Those of ``rows`` that undoing the set deletes: rows it created
        or replaced, and their multi-table parent rows."""
        keys_by_model: dict[type[models.Model], set[str]] = {}
        for model, key in rows:
            keys_by_model.setdefault(model, set()).add(key)
        found = set()
        for model, keys in keys_by_model.items():
            types = content_types_of_row(model) or (
                ContentType.objects.get_for_model(model).pk,
            )
            deltas = self._member_deltas(
                self._deltas.filter(
                    content_type_id__in=types,
                    content_id__in=keys,
                    action__in=(self.CREATE, self.DELETE),
                )
            )
            spans = self._spans_of(deltas)
            for delta in deltas:
                span = spans.get((delta.content_type_id, delta.content_id))
                if self.created(delta, span) or self.replaced(delta, span):
                    found.add(Row(model, delta.content_id))
        return found

    def _spans_of(self, deltas: list[Any]) -> dict[tuple[int, str], Span]:
        """The first and last deltas of the set about those rows of
        ``deltas`` that more than one delta is about."""
        if not self.repeats:
            return {}
        ids_by_type: dict[int, set[str]] = {}
        for delta in deltas:
            ids_by_type.setdefault(delta.content_type_id, set()).add(delta.content_id)
        by_row: dict[tuple[int, str], list[Any]] = {}
        for content_type_id, ids in ids_by_type.items():
            rows = self._deltas.filter(
                content_type_id=content_type_id, content_id__in=ids
            ).order_by("pk")
            for delta in self._member_deltas(rows):
                row = (delta.content_type_id, delta.content_id)
                by_row.setdefault(row, []).append(delta)
        return {
            row: Span(ds[0].pk, ds[0].action, ds[-1].pk, ds[-1].action)
            for row, ds in by_row.items()
            if len(ds) > 1
        }

    def _member_deltas(self, deltas: models.QuerySet) -> list[Any]:
        """``deltas``, light (key, row, action), keeping those of the set."""
        light = list(deltas.only("pk", "content_type_id", "content_id", "action"))
        if self._keys is None:
            return light
        return [delta for delta in light if self._has_key(delta.pk)]

    def _has_key(self, pk: Any) -> bool:
        keys = self._keys
        place = bisect.bisect_left(keys, pk)
        return place < len(keys) and keys[place] == pk


def let_go(deltas: list[Any]) -> None:
    """Free ``deltas`` as soon as they are dropped: a delta and its
    prefetched attribute deltas point at each other, a cycle only Python's
    garbage collector would free, after many batches have piled up."""
    for delta in deltas:
        delta.__dict__.pop("_prefetched_objects_cache", None)


def effect_keys(delete: Any) -> array:
    """The keys of the deltas ``delete`` caused (cascaded deletes, keys set
    to null or to a default), and theirs in turn, sorted, 8 bytes each: a
    query per level of the cascade and batch of its causes and effects."""
    object_delta = type(delete)
    levels = []
    causes = array("q", [delete.pk])
    size = conf.batch_size()
    while causes:
        parts, deletes = [], array("q")
        for start in range(0, len(causes), size):
            caused = (
                object_delta.objects.filter(
                    cause__in=causes[start : start + size].tolist()
                )
                .order_by("pk")
                .values_list("pk", "action")
            )
            part = array("q")
            while page := list(
                (caused.filter(pk__gt=part[-1]) if part else caused)[:size]
            ):
                for pk, action in page:
                    part.append(pk)
                    if action == delete.ACTION_DELETE:
                        deletes.append(pk)
            parts.append(part)
        levels.append(array("q", heapq.merge(*parts)))
        causes = deletes
    return array("q", heapq.merge(*levels))
