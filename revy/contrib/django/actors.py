"""Actors: who made a change, how that is stored, and how a request names one.

An actor is any model instance, or None for the system. History stores it as
an :class:`ActorRef` (its content type and its key as text) and reads it
back as the instance, or as a :class:`DeletedActor` once its row is gone.

Actor resolvers are plain callables that take the request and return an
actor. ``RevyMiddleware`` asks those of ``REVY_ACTOR_RESOLVERS`` in turn and
takes the first answer that is not None; None from all of them means the
system acts. A resolver that lets a request act for someone else (an
organisation, a service acting for a user) must check that it may: raise
``django.core.exceptions.PermissionDenied`` to answer 403. See docs/actors.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.contenttypes import fields as generic
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpRequest

from revy.contrib.django.encoding import key_text
from revy.contrib.django.retirement import retirement_marks
from revy.deferred import resolved

__all__ = [
    "ActorForeignKey",
    "ActorRef",
    "DeletedActor",
    "actor_reference",
    "authenticated_user",
    "history_position",
]


def authenticated_user(request: HttpRequest) -> Any:
    """The authenticated ``request.user``, or None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


class ActorRef(NamedTuple):
    """How an actor is stored: its content type id and key; both None for
    the system."""

    content_type_id: int | None
    id: str | None


SYSTEM = ActorRef(None, None)


def actor_reference(actor: models.Model | None) -> ActorRef:
    """The stored form of ``actor``; a clear error for anything else. A
    :class:`revy.deferred.Deferred` actor is resolved first."""
    actor = resolved(actor)
    if actor is None:
        return SYSTEM
    if not isinstance(actor, models.Model):
        raise TypeError(f"A revy actor is a model instance or None, not {actor!r}.")
    if actor.pk is None:
        raise ValueError(f"The actor {actor!r} has no primary key: save it first.")
    return ActorRef(
        ContentType.objects.get_for_model(actor).pk,
        key_text(actor._meta.model, actor.pk),
    )


@dataclass(frozen=True)
class DeletedActor:
    """An actor whose row no longer exists; None stays the system's."""

    model: type[models.Model] | None
    pk: str

    def __str__(self) -> str:
        label = "unknown model" if self.model is None else self.model._meta.label
        return f"deleted {label} {self.pk}"


def resolve_actors(
    refs: Iterable[ActorRef], positions: Iterable[int] | None = None
) -> list[Any]:
    """The actors ``refs`` name, in order: a query per actor model; None for
    the system, a :class:`DeletedActor` for a row that is gone. With
    ``positions`` (the object delta key each ref was recorded in), also for
    a row deleted after that and made again with its key."""
    refs = list(refs)
    positions = None if positions is None else list(positions)
    by_type: dict[Any, list[Any]] = {}
    for type_id, actor_id in refs:
        if type_id is not None:
            by_type.setdefault(type_id, []).append(actor_id)
    loaded: dict[tuple[Any, str], Any] = {}
    marks: dict[tuple[Any, str], int] = {}
    unmarked: list[tuple[Any, str]] = []
    for type_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        rows = model._base_manager.filter(pk__in=ids)
        annotated = positions is not None and _can_annotate(model)
        if annotated:
            rows = rows.annotate(**{_MARK: retirement_subquery(model, type_id)})
        for obj in rows:
            key = (type_id, key_text(type(obj), obj.pk))
            loaded[key] = obj
            if annotated and getattr(obj, _MARK) is not None:
                marks[key] = getattr(obj, _MARK)
            elif not annotated:
                unmarked.append(key)
    if positions is not None and unmarked:
        marks.update(retirement_marks(unmarked))
    found = []
    for index, (type_id, actor_id) in enumerate(refs):
        actor = None if type_id is None else loaded.get((type_id, actor_id))
        if type_id is not None and (
            actor is None
            or (
                positions is not None
                and marks.get((type_id, actor_id), -1) >= positions[index]
            )
        ):
            actor = DeletedActor(
                ContentType.objects.get_for_id(type_id).model_class(), actor_id
            )
        found.append(actor)
    return found


# The annotation on an actor's row: the last retirement of its key.
_MARK = "revy_retired_after"


def _can_annotate(model: type[models.Model]) -> bool:
    """Whether the database can match ``model``'s keys to ``actor_id`` text
    in SQL: integer and text keys, not UUIDs (stored without dashes)."""
    field = model._meta.pk
    return isinstance(field, (models.IntegerField | models.AutoField, models.CharField))


def retirement_subquery(model: type[models.Model], type_id: int) -> Any:
    """The latest retirement mark of the ``model`` row's key, for annotate()."""
    key: Any = OuterRef("pk")
    if not isinstance(model._meta.pk, models.CharField):
        # Concatenated, not cast: a cast to text takes the connection's
        # collation, which MariaDB refuses to compare with the column's.
        key = Concat(key, Value(""), output_field=models.CharField(max_length=255))
    return Subquery(
        apps.get_model("revy", "RetiredActor")
        .objects.filter(content_type_id=type_id, actor_id=key)
        .order_by("-last_object_delta")
        .values("last_object_delta")[:1]
    )


def history_position(row: models.Model) -> int:
    """Where a history row stands in key order: its object delta's key."""
    return getattr(row, "object_delta_id", None) or row.pk


# Django 6.1+ reads generic keys through this descriptor; before, none.
_GenericForeignKeyDescriptor = getattr(generic, "GenericForeignKeyDescriptor", None)


def _actor_of(field: GenericForeignKey, instance: Any, read: Any) -> Any:
    """The actor of a history row: ``read()`` (Django's own read of the
    generic key), unless the row that acted is gone: then a DeletedActor."""
    cached = field.get_cached_value(instance, default=None)
    if isinstance(cached, DeletedActor):
        return cached
    checked = field.is_cached(instance)
    actor = read()
    type_id = getattr(instance, field.ct_field + "_id", None)
    actor_id = getattr(instance, field.fk_field)
    if type_id is None or actor_id is None:
        return actor
    if actor is not None and not checked:
        marks = retirement_marks([(type_id, actor_id)], instance._state.db)
        if marks.get((type_id, actor_id), -1) < history_position(instance):
            return actor
    elif actor is not None:
        return actor
    model = ContentType.objects.db_manager(instance._state.db).get_for_id(type_id)
    gone = DeletedActor(model.model_class(), actor_id)
    field.set_cached_value(instance, gone)
    return gone


def _prefetch_actors(
    field: GenericForeignKey, instances: Any, querysets: Any, prefetch: Any
) -> Any:
    """``prefetch(instances, querysets)`` (Django's own prefetch of the
    generic key), with each actor model's query also reading the
    retirements of its keys."""
    type_field = field.ct_field + "_id"
    types = {getattr(row, type_field) for row in instances} - {None}
    given = {qs.model for qs in querysets or ()}
    own = []
    for type_id in types:
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is not None and model not in given and _can_annotate(model):
            own.append(
                model._base_manager.annotate(
                    **{_MARK: retirement_subquery(model, type_id)}
                )
            )
    found = prefetch(instances, [*(querysets or ()), *own] or None)
    ret_val, key_func, instance_key_func, *rest = found
    retired = {
        key_func(actor): getattr(actor, _MARK)
        for actor in ret_val
        if getattr(actor, _MARK, None) is not None
    }
    annotated = {qs.model for qs in own}
    rest_marks = retirement_marks(
        (getattr(row, type_field), getattr(row, field.fk_field))
        for row in instances
        if getattr(row, type_field) is not None
        and ContentType.objects.get_for_id(getattr(row, type_field)).model_class()
        not in annotated
    )
    if not retired and not rest_marks:
        return found

    def instance_key(row: Any) -> Any:
        key = instance_key_func(row)
        pair = (getattr(row, type_field), getattr(row, field.fk_field))
        mark = retired.get(key, rest_marks.get(pair, -1))
        if mark >= history_position(row):
            return None  # Matches no actor: the row that acted is gone.
        return key

    return (ret_val, key_func, instance_key, *rest)


class ActorForeignKey(GenericForeignKey):
    """A history row's ``actor``: the row that acted, a :class:`DeletedActor`
    once it is gone (also when another row has its key since), None for the
    system. ``prefetch_related("actor")`` reads the actors' retirements in
    one query more."""

    def contribute_to_class(self, cls: Any, name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        if _GenericForeignKeyDescriptor is not None:
            # Django 6.1+ reads a generic key through a descriptor of its own.
            setattr(cls, self.attname, _ActorDescriptor(self))

    # Django 5.2 and 6.0: the field is its own descriptor.
    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        return _actor_of(
            self, instance, lambda: super(ActorForeignKey, self).__get__(instance, cls)
        )

    def get_prefetch_querysets(self, instances: Any, querysets: Any = None) -> Any:
        return _prefetch_actors(
            self, instances, querysets, super().get_prefetch_querysets
        )


if _GenericForeignKeyDescriptor is not None:

    class _ActorDescriptor(_GenericForeignKeyDescriptor):
        def __get__(self, instance: Any, cls: Any = None) -> Any:
            if instance is None:
                return self
            return _actor_of(
                self.field,
                instance,
                lambda: super(_ActorDescriptor, self).__get__(instance, cls),
            )

        def get_prefetch_querysets(self, instances: Any, querysets: Any = None) -> Any:
            return _prefetch_actors(
                self.field, instances, querysets, super().get_prefetch_querysets
            )
