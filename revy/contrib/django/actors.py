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

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest

from revy.contrib.django.encoding import key_text
from revy.deferred import resolved

__all__ = ["ActorRef", "DeletedActor", "actor_reference", "authenticated_user"]


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


def resolve_actors(refs: Iterable[ActorRef]) -> list[Any]:
    """The actors ``refs`` name, in order: a query per actor model; None for
    the system, a :class:`DeletedActor` for a row that is gone."""
    refs = list(refs)
    by_type: dict[Any, list[Any]] = {}
    for type_id, actor_id in refs:
        if type_id is not None:
            by_type.setdefault(type_id, []).append(actor_id)
    loaded: dict[tuple[Any, str], Any] = {}
    for type_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        for obj in model._base_manager.filter(pk__in=ids):
            loaded[type_id, key_text(type(obj), obj.pk)] = obj
    return [
        None
        if type_id is None
        else loaded.get(
            (type_id, actor_id),
            DeletedActor(
                ContentType.objects.get_for_id(type_id).model_class(), actor_id
            ),
        )
        for type_id, actor_id in refs
    ]
