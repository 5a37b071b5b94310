"""A proposal's deltas as plain objects, with the rows they are about as
they stand now: what review, rebase and apply all start from.

Two queries read a proposal's deltas, one per model its rows now; apply
reads those rows locked, so that nothing changes them between its check
for conflicts and its writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models, router

from revy.contrib.django import conf
from revy.contrib.django.actors import ActorRef
from revy.contrib.django.encoding import key_text

__all__ = ["ABSENT", "Attribute", "Delta", "Loaded", "load", "unbox"]


class _Absent:
    """No such side: a create's base, a delete's proposed value, the current
    value of a row that does not exist."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


def unbox(boxed: Any) -> Any:
    """A stored value from its one-item box; :data:`ABSENT` for NULL."""
    return ABSENT if boxed is None else boxed[0]


@dataclass
class Attribute:
    """One proposed attribute delta, its values as history stores them."""

    row: Any  # The ProposedAttributeDelta.
    name: str
    base: Any
    proposed: Any
    actor: ActorRef
    description: str

    def field_of(self, model: type[models.Model] | None) -> models.Field | None:
        """The model's field of this name; None if it has none any more."""
        if model is None:
            return None
        try:
            return model._meta.get_field(self.name)
        except FieldDoesNotExist:
            return None


@dataclass
class Delta:
    """One proposed object delta and the row it is about."""

    row: Any  # The ProposedObjectDelta.
    model: type[models.Model] | None  # None: the model is gone.
    key: str
    action: str
    attributes: list[Attribute]
    actor: ActorRef
    effects: list[Delta] = field(default_factory=list)
    current: Any = None  # The live instance, or None.

    @property
    def label(self) -> str:
        if self.model is None:
            return f"(removed model, content type {self.row.content_type_id})"
        return self.model._meta.label

    def pk(self) -> Any:
        """The key as the model's key field holds it."""
        assert self.model is not None
        return self.model._meta.pk.to_python(self.key)


@dataclass
class Loaded:
    """A proposal's deltas: ``roots`` in the order recorded, each with its
    ``effects`` (what a delete cascades); ``all`` holds both."""

    proposal: Any
    roots: list[Delta]
    all: list[Delta]
    using: str

    def created_keys(self) -> dict[type[models.Model], set[str]]:
        """The keys of the rows the proposal creates, by concrete model."""
        found: dict[type[models.Model], set[str]] = {}
        for delta in self.all:
            if delta.action == "create" and delta.model is not None:
                concrete = delta.model._meta.concrete_model
                found.setdefault(concrete, set()).add(delta.key)
        return found


def load(proposal: Any, lock: bool = False) -> Loaded:
    """The deltas of ``proposal``, with the current rows they touch (locked
    for update with ``lock``)."""
    using = proposal._state.db or router.db_for_read(type(proposal))
    object_deltas = list(
        proposal.deltas.using(using).order_by("pk").prefetch_related("attribute_deltas")
    )
    by_pk: dict[Any, Delta] = {}
    deltas: list[Delta] = []
    for row in object_deltas:
        model = ContentType.objects.db_manager(using).get_for_id(row.content_type_id)
        delta = Delta(
            row,
            model.model_class(),
            row.content_id,
            row.action,
            [
                Attribute(
                    attribute,
                    attribute.field_name,
                    unbox(attribute.base_value),
                    unbox(attribute.proposed_value),
                    ActorRef(attribute.actor_content_type_id, attribute.actor_id),
                    attribute.description,
                )
                for attribute in sorted(row.attribute_deltas.all(), key=_pk)
            ],
            ActorRef(row.actor_content_type_id, row.actor_id),
        )
        by_pk[row.pk] = delta
        deltas.append(delta)
    roots = []
    for delta in deltas:
        cause = by_pk.get(delta.row.cause_id)
        if cause is None:
            roots.append(delta)
        else:
            cause.effects.append(delta)
    _read_current(deltas, using, lock)
    return Loaded(proposal, roots, deltas, using)


def _pk(row: Any) -> Any:
    return row.pk


def _read_current(deltas: list[Delta], using: str, lock: bool) -> None:
    """Set ``current`` on the deltas of rows that exist: one query a model."""
    by_model: dict[type[models.Model], list[Delta]] = {}
    for delta in deltas:
        if delta.model is not None and delta.action != "create":
            by_model.setdefault(delta.model, []).append(delta)
    for model, group in by_model.items():
        queryset = model._base_manager.using(using)
        if lock:
            queryset = queryset.select_for_update()
        rows = {
            key_text(model, obj.pk): obj
            for obj in queryset.filter(pk__in=[d.pk() for d in group])
        }
        for delta in group:
            delta.current = rows.get(delta.key)


def encoded(instance: Any, model_field: models.Field) -> Any:
    """The value of ``model_field`` that ``instance`` holds, as history
    stores it (None for None)."""
    return conf.value_encoder().encode(
        model_field, getattr(instance, model_field.attname)
    )
