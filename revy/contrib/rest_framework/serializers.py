"""Serializers of history for REST framework: revisions, object deltas with
their attribute deltas, actors, revert requests and revert conflicts.

The object delta serializer reads actors from ``context["actors"]``, a
mapping that :func:`actors_of` fills with one query per actor model for a
whole page, so that a page of history costs the same number of queries
whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rest_framework import serializers

from revy.contrib.django.actors import ActorRef, DeletedActor, resolve_actors
from revy.contrib.django.admin.display import MASK, is_masked
from revy.contrib.django.models import get_revision_model

__all__ = [
    "ActorSerializer",
    "AttributeDeltaSerializer",
    "ConflictSerializer",
    "ObjectDeltaSerializer",
    "RevertSerializer",
    "RevisionSerializer",
    "actors_of",
]


def actors_of(object_deltas: Iterable[Any]) -> dict[ActorRef, Any]:
    """``{ActorRef: actor}`` for the object deltas and their (prefetched)
    attribute deltas: one query per actor model."""
    refs: dict[ActorRef, None] = {}
    for delta in object_deltas:
        refs.setdefault(ActorRef(delta.actor_content_type_id, delta.actor_id), None)
        for attribute in delta.attribute_deltas.all():
            refs.setdefault(
                ActorRef(attribute.actor_content_type_id, attribute.actor_id), None
            )
    return dict(zip(refs, resolve_actors(refs), strict=True))


class ActorSerializer(serializers.Serializer):
    """An actor: its model label, key and text; ``null`` for the system.
    ``deleted`` is true for an actor whose row is gone."""

    model = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField()
    deleted = serializers.BooleanField()

    def to_representation(self, actor: Any) -> dict[str, Any]:
        if isinstance(actor, DeletedActor):
            model = actor.model
            return {
                "model": None if model is None else model._meta.label_lower,
                "id": actor.pk,
                "label": str(actor),
                "deleted": True,
            }
        return {
            "model": actor._meta.label_lower,
            "id": str(actor.pk),
            "label": str(actor),
            "deleted": False,
        }


_UNKNOWN = object()


def _actor(serializer: serializers.Serializer, delta: Any) -> Any:
    actors = serializer.context.get("actors", {})
    ref = ActorRef(delta.actor_content_type_id, delta.actor_id)
    # Read through the relation (a query) only for an actor not given.
    actor = actors.get(ref, _UNKNOWN)
    if actor is _UNKNOWN:
        actor = delta.actor
    return None if actor is None else ActorSerializer(actor).data


class AttributeDeltaSerializer(serializers.Serializer):
    """One field's change: old and new value as history stores them (JSON),
    who assigned it and why. Fields matching ``context["masked_fields"]``
    (fnmatch patterns) show a mask instead of their values."""

    field = serializers.CharField(source="field_name")
    old = serializers.JSONField(source="old_value", allow_null=True)
    new = serializers.JSONField(source="new_value", allow_null=True)
    actor = serializers.SerializerMethodField()
    description = serializers.CharField()

    def get_actor(self, delta: Any) -> dict[str, Any] | None:
        return _actor(self, delta)

    def to_representation(self, delta: Any) -> dict[str, Any]:
        data = super().to_representation(delta)
        patterns: Sequence[str] = self.context.get("masked_fields", ())
        if patterns and is_masked(delta.field_name, patterns):
            data["old"] = None if delta.old_value is None else MASK
            data["new"] = None if delta.new_value is None else MASK
        return data


class RevisionSerializer(serializers.Serializer):
    """A revision: its key, description and time."""

    id = serializers.IntegerField(source="pk")
    description = serializers.CharField()
    created_at = serializers.DateTimeField()


class ObjectDeltaSerializer(serializers.Serializer):
    """One entry of an object's history: what one revision did to it."""

    id = serializers.IntegerField(source="pk")
    revision = RevisionSerializer()
    action = serializers.CharField()
    actor = serializers.SerializerMethodField()
    description = serializers.CharField()
    deletion_description = serializers.CharField()
    changes = AttributeDeltaSerializer(source="attribute_deltas.all", many=True)

    def get_actor(self, delta: Any) -> dict[str, Any] | None:
        return _actor(self, delta)


class RevisionField(serializers.PrimaryKeyRelatedField):
    """A revision, by its key; the revision model is looked up when used,
    since it can be swapped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=False, queryset=None, **kwargs)

    def get_queryset(self) -> Any:
        return get_revision_model()._default_manager.all()


class RevertSerializer(serializers.Serializer):
    """A revert request: the revision to undo; ``overwrite`` to undo it even
    where later revisions changed the same fields."""

    revision = RevisionField()
    overwrite = serializers.BooleanField(default=False)


class ConflictSerializer(serializers.Serializer):
    """A later change that stops a revert: which row, which field, and the
    revision that changed it (``null``: none that was recorded)."""

    model = serializers.SerializerMethodField()
    pk = serializers.CharField()
    field = serializers.CharField()
    revision = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()

    def get_model(self, conflict: Any) -> str:
        return conflict.model._meta.label_lower

    def get_revision(self, conflict: Any) -> int | None:
        return None if conflict.revision is None else conflict.revision.pk

    def get_message(self, conflict: Any) -> str:
        return str(conflict)
