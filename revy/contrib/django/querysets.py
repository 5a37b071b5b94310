"""The querysets and managers of revy's history models.

Every read of a history model first runs the read hooks, with which the
queue of history not yet written (``transactions.py``) writes it, so reads
see all the history of their transaction; this module only calls them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Subquery
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Coalesce
from django.db.models.query import ModelIterable

from revy.contrib.django import backends, conf
from revy.contrib.django.actors import ActorForeignKey, DeletedActor, actor_reference
from revy.contrib.django.encoding import key_text
from revy.contrib.django.inheritance import content_types_of_row, parent_content_types
from revy.contrib.django.ledger import AppendOnlyQuerySet

__all__ = [
    "HistoryManager",
    "HistoryQuerySet",
    "ObjectDeltaManager",
    "ObjectDeltaQuerySet",
    "add_read_hook",
    "flush_pending",
]

_read_hooks: list[Callable[[str], None]] = []


def add_read_hook(hook: Callable[[str], None]) -> None:
    """Call ``hook(alias)`` before every read of a history model, once added."""
    if hook not in _read_hooks:
        _read_hooks.append(hook)


def flush_pending(alias: str) -> None:
    """Run the read hooks, as every read of a history model does first."""
    for hook in _read_hooks:
        hook(alias)


class HistoryQuerySet(AppendOnlyQuerySet):
    """Writes revy's pending history before any read, so reads see it all;
    refuses updates and deletes (``ledger.AppendOnlyQuerySet``)."""

    def _flush_pending(self) -> None:
        flush_pending(self.db)

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._flush_pending()
        super()._fetch_all()

    def _prefetch_related_objects(self) -> None:
        lookups = self._prefetch_related_lookups
        if issubclass(self._iterable_class, ModelIterable) and self._result_cache:
            lookups = self._prefetch_by_revy(self._result_cache, lookups)
        models.prefetch_related_objects(self._result_cache, *lookups)
        self._prefetch_done = True

    def _prefetch_by_revy(self, rows: list[Any], lookups: tuple) -> tuple:
        """Prefetch on ``rows`` what revy prefetches faster than Django;
        return the lookups left for Django."""
        field = _actor_field(self.model) if _ACTOR in lookups else None
        if field is not None:
            _prefetch_actors(rows, field)
            lookups = tuple(lookup for lookup in lookups if lookup != _ACTOR)
        return lookups

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._flush_pending()
        return super().iterator(chunk_size)

    def count(self) -> int:
        self._flush_pending()
        return super().count()

    def exists(self) -> bool:
        self._flush_pending()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._flush_pending()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._flush_pending()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._flush_pending()
        return super().delete()

    def for_actor(self, actor: models.Model | DeletedActor | None) -> HistoryQuerySet:
        """The rows whose actor is ``actor`` (None: the system). A row given
        the key of a deleted actor is not credited with what that one did;
        a :class:`DeletedActor` finds what the deleted rows with its key did."""
        if isinstance(actor, DeletedActor):
            type_id = ContentType.objects.get_for_model(actor.model).pk
            key = actor.pk
        else:
            ref = actor_reference(actor)
            if ref.content_type_id is None:
                return self.filter(actor_content_type__isnull=True)
            type_id, key = ref
        mark = Subquery(
            apps.get_model("revy", "RetiredActor")
            .objects.filter(content_type_id=type_id, actor_id=key)
            .values("content_type_id")
            .annotate(mark=models.Max("last_object_delta"))
            .values("mark")
        )
        position = "object_delta" if _has_object_delta(self.model) else "pk"
        rows = self.filter(actor_content_type_id=type_id, actor_id=key)
        if isinstance(actor, DeletedActor):
            return rows.filter(**{f"{position}__lte": Coalesce(mark, _NEVER)})
        return rows.filter(**{f"{position}__gt": Coalesce(mark, 0)})


# A key no history row reaches: every row of a deleted actor never retired.
_NEVER = 2**62


def _has_object_delta(model: type[models.Model]) -> bool:
    return any(field.name == "object_delta" for field in model._meta.concrete_fields)


class ObjectDeltaQuerySet(HistoryQuerySet):
    def _prefetch_by_revy(self, rows: list[Any], lookups: tuple) -> tuple:
        # Django's prefetch builds a related manager and a filtered queryset
        # per object delta, several times the cost of reading the attribute
        # deltas: a history page of 1,000 deltas spent most of its time there.
        if any(
            isinstance(lookup, str) and lookup.split(LOOKUP_SEP)[0] == _ATTRIBUTES
            for lookup in lookups
        ):
            _prefetch_attribute_deltas(rows)
            lookups = tuple(lookup for lookup in lookups if lookup != _ATTRIBUTES)
        return super()._prefetch_by_revy(rows, lookups)

    def for_object(self, obj: models.Model) -> ObjectDeltaQuerySet:
        """The deltas of ``obj``, oldest first."""
        return self.for_key(type(obj), obj.pk)

    def for_rows_of(self, model: type[models.Model]) -> ObjectDeltaQuerySet:
        """The deltas of every ``model`` row. For a multi-table parent, also
        those saved through its children's models; for a multi-table child,
        also the updates saved through its parents' models (they change the
        fields the row shares)."""
        return self.filter(self._rows_of(model))

    def for_key(self, model: type[models.Model], pk: Any) -> ObjectDeltaQuerySet:
        """The deltas of the ``model`` row whose primary key is ``pk``, oldest
        first (see :meth:`for_rows_of`)."""
        return self.for_content_id(model, key_text(model, pk))

    def for_content_id(
        self, model: type[models.Model], content_id: str
    ) -> ObjectDeltaQuerySet:
        """:meth:`for_key`, given the key as history stores it (``content_id``)."""
        return self.filter(self._rows_of(model), content_id=content_id).order_by("pk")

    def _rows_of(self, model: type[models.Model]) -> models.Q:
        content_types = content_types_of_row(model)
        if content_types is None:
            own = ContentType.objects.get_for_model(model)
            return models.Q(content_type_id=own.pk)
        row = models.Q(content_type__in=content_types)
        parents = parent_content_types(model)
        if parents:
            row |= models.Q(content_type__in=parents, action=self.model.ACTION_UPDATE)
        return row


_ATTRIBUTES = "attribute_deltas"
_ACTOR = "actor"


def _actor_field(model: type[models.Model]) -> ActorForeignKey | None:
    return next(
        (
            field
            for field in model._meta.private_fields
            if field.name == _ACTOR and isinstance(field, ActorForeignKey)
        ),
        None,
    )


def _prefetch_actors(rows: list[Any], field: ActorForeignKey) -> None:
    """``prefetch_related("actor")``, with Django's prefetch only for the
    rows an actor made: a system row's actor is None without a query."""
    type_attname = rows[0]._meta.get_field(field.ct_field).attname
    acted = []
    for row in rows:
        if getattr(row, type_attname) is None:
            field.set_cached_value(row, None)
        else:
            acted.append(row)
    if acted:
        models.prefetch_related_objects(acted, _ACTOR)


def _prefetch_attribute_deltas(deltas: list[Any]) -> None:
    """What ``prefetch_related("attribute_deltas")`` leaves on each object
    delta, with one light queryset per delta: its rows, and the filter that
    a further ``filter()`` on it starts from. A query per ``REVY_BATCH_SIZE``
    deltas."""
    deltas = [
        delta
        for delta in deltas
        if _ATTRIBUTES not in getattr(delta, "_prefetched_objects_cache", {})
    ]
    if not deltas:
        return
    relation = deltas[0]._meta.get_field(_ATTRIBUTES)
    link = relation.field
    model = relation.related_model
    db = deltas[0]._state.db
    manager = model._default_manager.db_manager(db)
    backend = backends.of(db)
    found: dict[Any, list[Any]] = {delta.pk: [] for delta in deltas}
    keys = list(found)
    size = conf.batch_size()
    for start in range(0, len(keys), size):
        batch = backend.by_keys(manager.all(), keys[start : start + size], link)
        for attribute in batch:
            found[getattr(attribute, link.attname)].append(attribute)
    made = _rows_read_class(type(manager.get_queryset()))
    for delta in deltas:
        rows = found[delta.pk]
        for attribute in rows:
            link.set_cached_value(attribute, delta)
        queryset = made.__new__(made)
        queryset.__dict__.update(
            model=model, _db=db, _result_cache=rows, _made_by=(manager, link, delta)
        )
        delta.__dict__.setdefault("_prefetched_objects_cache", {})[_ATTRIBUTES] = (
            queryset
        )


@functools.cache
def _rows_read_class(queryset_class: type[models.QuerySet]) -> type:
    """A ``queryset_class`` of one delta's prefetched rows that makes its
    query only when asked: a page of deltas has one each, and a query is a
    dozen objects for the garbage collector to follow. Any use beyond
    reading the rows turns it into a plain ``queryset_class``."""

    class RowsRead(queryset_class):  # type: ignore[misc,valid-type]
        _prefetch_related_lookups = ()
        _prefetch_done = True
        _for_write = False

        def __getattr__(self, name: str) -> Any:
            if "_made_by" not in self.__dict__:
                raise AttributeError(name)
            _make_query(self)
            return getattr(self, name)

        @property
        def query(self) -> Any:
            _make_query(self)
            return self.query

        @query.setter
        def query(self, value: Any) -> None:
            _make_query(self)
            self.query = value

        def _clone(self) -> Any:
            _make_query(self)
            return self._clone()

        def __deepcopy__(self, memo: Any) -> Any:
            _make_query(self)
            return self.__deepcopy__(memo)

        def __reduce_ex__(self, protocol: Any) -> Any:
            _make_query(self)
            return self.__reduce_ex__(protocol)

    RowsRead.__name__ = RowsRead.__qualname__ = queryset_class.__name__
    return RowsRead


def _make_query(rows_read: Any) -> None:
    """Turn prefetched rows into the plain queryset a related manager makes:
    its query, hints, and the filter it defers to its first use (set without
    the copy of the queryset that ``filter()`` makes)."""
    manager, link, delta = rows_read.__dict__.pop("_made_by")
    queryset = manager.get_queryset()
    queryset._add_hints(instance=delta)
    queryset._deferred_filter = (False, (), {link.name: delta})
    queryset._known_related_objects = {link: {delta.pk: delta}}
    queryset._result_cache = rows_read._result_cache
    queryset._prefetch_done = True
    rows_read.__class__ = type(queryset)
    rows_read.__dict__ = queryset.__dict__


HistoryManager = models.Manager.from_queryset(HistoryQuerySet)
ObjectDeltaManager = models.Manager.from_queryset(ObjectDeltaQuerySet)
