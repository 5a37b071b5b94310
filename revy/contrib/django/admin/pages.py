"""What the history pages show, built in a fixed number of queries.

:func:`entries` turns a page of object deltas into :class:`Entry` rows:
revision, time, actors (None: the system), descriptions, cause, and the
field changes as :class:`~revy.contrib.django.admin.display.Change`. The
queries are those of the page itself: the deltas, their attribute deltas,
one per actor model, one per related model shown, and one for the deltas of
inline models in the same revisions; never one per delta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.sites import AdminSite
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import NoReverseMatch, reverse

from revy.contrib.django.actors import ActorRef, resolve_actors
from revy.contrib.django.admin.display import Change, Values
from revy.contrib.django.models import get_object_delta_model

__all__ = ["Entry", "admin_url", "by_revision", "entries", "model_of"]


@dataclass
class Entry:
    """One object delta on a history page."""

    delta: Any
    model: type[models.Model]
    actors: list[Any]
    changes: list[Change]
    cause: Any = None
    cause_model: type[models.Model] | None = None
    cause_url: str | None = None
    object_url: str | None = None
    others: list[Entry] = field(default_factory=list)

    actions: list[str] = field(default_factory=list)

    @property
    def revision(self) -> Any:
        return self.delta.revision

    @property
    def action(self) -> str:
        return self.delta.action

    @property
    def model_name(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def cause_model_name(self) -> str:
        return str(self.cause_model._meta.verbose_name) if self.cause_model else ""


def by_revision(rows: list[Entry]) -> list[Entry]:
    """Entries of one object, newest first, with the deltas that one
    revision recorded for it (a create, then its many-to-many members) made
    one entry, its changes in the order recorded."""
    merged: list[Entry] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last is not None and last.delta.revision_id == row.delta.revision_id:
            last.changes = row.changes + last.changes
            last.actors += [actor for actor in row.actors if actor not in last.actors]
            if row.delta.get_action_display() not in last.actions:
                last.actions.insert(0, row.delta.get_action_display())
            last.others += [o for o in row.others if o not in last.others]
            last.delta = row.delta if row.action != "update" else last.delta
            for name in ("cause", "cause_model", "cause_url"):
                setattr(last, name, getattr(last, name) or getattr(row, name))
            continue
        row.actions = [row.delta.get_action_display()]
        merged.append(row)
    return merged


def model_of(content_type_id: int) -> type[models.Model] | None:
    """The model of a content type id, from Django's cache."""
    return ContentType.objects.get_for_id(content_type_id).model_class()


def admin_url(
    admin_site: AdminSite, model: type[models.Model] | None, view: str, *args: Any
) -> str | None:
    """The URL of ``view`` of ``model``'s admin, or None if it has none."""
    if model is None or not admin_site.is_registered(model):
        return None
    opts = model._meta
    try:
        return reverse(
            f"{admin_site.name}:{opts.app_label}_{opts.model_name}_{view}",
            args=[quote(arg) for arg in args],
        )
    except NoReverseMatch:
        return None


def _refs(delta: Any) -> list[ActorRef]:
    refs = [ActorRef(delta.actor_content_type_id, delta.actor_id)]
    refs += [
        ActorRef(a.actor_content_type_id, a.actor_id)
        for a in delta.attribute_deltas.all()
    ]
    return refs


def entries(
    deltas: Sequence[Any],
    values: Values,
    inline_models: Sequence[type[models.Model]] = (),
) -> list[Entry]:
    """The entries of ``deltas`` (object deltas with their revision, cause
    and attribute deltas loaded), each with the deltas of ``inline_models``
    recorded in its revision, their values shown by ``values``."""
    admin_site = values.admin_site
    deltas = list(deltas)
    others: dict[Any, list[Any]] = {}
    if inline_models and deltas:
        content_types = ContentType.objects.get_for_models(*inline_models).values()
        for other in (
            get_object_delta_model()
            .objects.filter(
                revision__in={delta.revision_id for delta in deltas},
                content_type__in=[ct.pk for ct in content_types],
            )
            .exclude(pk__in=[delta.pk for delta in deltas])
            .select_related("revision", "cause")
            .prefetch_related("attribute_deltas")
            .order_by("pk")
        ):
            others.setdefault(other.revision_id, []).append(other)
    every = deltas + [other for found in others.values() for other in found]
    known = {delta.pk: delta for delta in every}
    refs = list(dict.fromkeys(ref for delta in every for ref in _refs(delta)))
    actors = dict(zip(refs, resolve_actors(refs), strict=True))
    for delta in every:
        model = model_of(delta.content_type_id)
        if model is None:
            continue
        for attribute in delta.attribute_deltas.all():
            values.want(model, attribute.field_name, attribute.old_value)
            values.want(model, attribute.field_name, attribute.new_value)
    values.load()

    def entry(delta: Any) -> Entry | None:
        model = model_of(delta.content_type_id)
        if model is None:
            return None
        own = actors[ActorRef(delta.actor_content_type_id, delta.actor_id)]
        found, changes = [own], []
        for attribute in delta.attribute_deltas.all():
            change = values.change(
                model,
                attribute.field_name,
                attribute.old_value,
                attribute.new_value,
                delta.action,
            )
            actor = actors[
                ActorRef(attribute.actor_content_type_id, attribute.actor_id)
            ]
            change.actor = actor
            change.description = attribute.description
            if actor not in found:
                found.append(actor)
            changes.append(change)
        result = Entry(
            delta,
            model,
            found,
            changes,
            object_url=admin_url(admin_site, model, "history", delta.content_id),
        )
        cause = None
        if delta.cause_id:
            link = delta._meta.get_field("cause")
            cause = (
                link.get_cached_value(delta)
                if link.is_cached(delta)
                else known.get(delta.cause_id)
            )
        if cause is not None:
            result.cause = cause
            result.cause_model = model_of(cause.content_type_id)
            result.cause_url = admin_url(
                admin_site, result.cause_model, "history", cause.content_id
            )
        return result

    built = []
    for delta in deltas:
        made = entry(delta)
        if made is None:
            continue
        made.others = [
            other
            for other in map(entry, others.get(delta.revision_id, []))
            if other is not None
        ]
        built.append(made)
    return built
