"""What the history pages show, built in a fixed number of queries.

:func:`entries` turns a page of object deltas into :class:`Entry` rows:
revision, time, actors (None: the system), descriptions, cause, and the
field changes as :class:`~revy.contrib.django.admin.display.Change`. The
queries are those of the page itself: the deltas, their attribute deltas,
one per actor model, one per related model shown, and one for the deltas of
inline models in the same revisions; never one per delta.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote

from django.contrib.admin.sites import AdminSite
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from revy.contrib.django.actors import ActorRef, resolve_actors
from revy.contrib.django.admin.display import Change, Values, actor_label
from revy.contrib.django.models import get_object_delta_model
from revy.contrib.django.schema import RawValue

__all__ = [
    "Entry",
    "admin_url",
    "by_object",
    "by_revision",
    "entries",
    "model_of",
    "texts",
    "unreadable_in_state",
    "unreadable_old_values",
]


def texts() -> dict[str, str]:
    """The words of an entry (revy/admin/entry.html), translated once per
    page rather than once per entry."""
    return {
        "revision": _("Revision"),
        "compare_from": _("compare from"),
        "to": _("to"),
        "by": _("By"),
        "object": _("Object"),
        "deletion": _("Deletion"),
        "caused_by": _("Caused by"),
        "of": _("of"),
        "field": _("Field"),
        "old_value": _("Old value"),
        "new_value": _("New value"),
        "description": _("Description"),
        "no_longer_a_field": _("no longer a field"),
        "added": _("added"),
        "removed": _("removed"),
        "show_the_change": _("Show the change"),
        "also_in_this_revision": _("Also in this revision"),
        "view_as_of": _("View as of this revision"),
        "restore": _("Restore to this revision"),
        "revert": _("Revert this revision"),
    }


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
    actor_labels: list[str] = field(default_factory=list)
    action_label: str = ""

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
    return _merged(rows, lambda delta: delta.revision_id, newest_first=True)


def by_object(rows: list[Entry]) -> list[Entry]:
    """Entries of one revision, in the order recorded, with the deltas in a
    row of one object made one entry."""
    return _merged(
        rows,
        lambda delta: (delta.content_type_id, delta.content_id),
        newest_first=False,
    )


def _merged(rows: list[Entry], key: Any, newest_first: bool) -> list[Entry]:
    merged: list[Entry] = []
    for row in rows:
        last = merged[-1] if merged else None
        if last is not None and key(last.delta) == key(row.delta):
            if newest_first:
                last.changes = row.changes + last.changes
            else:
                last.changes = last.changes + row.changes
            for actor, label in zip(row.actors, row.actor_labels, strict=True):
                if actor not in last.actors:
                    last.actors.append(actor)
                    last.actor_labels.append(label)
            if row.action_label not in last.actions:
                last.actions.insert(
                    0 if newest_first else len(last.actions), row.action_label
                )
            last.others += [o for o in row.others if o not in last.others]
            last.delta = row.delta if row.action != "update" else last.delta
            for name in ("cause", "cause_model", "cause_url"):
                setattr(last, name, getattr(last, name) or getattr(row, name))
            continue
        row.actions = [row.action_label]
        merged.append(row)
    return merged


def model_of(content_type_id: int) -> type[models.Model] | None:
    """The model of a content type id, from Django's cache."""
    return ContentType.objects.get_for_id(content_type_id).model_class()


def admin_url(
    admin_site: AdminSite, model: type[models.Model] | None, view: str, *args: Any
) -> str | None:
    """The URL of ``view`` of ``model``'s admin, or None if it has none.

    Reversed once per view and urlconf, then filled with each key: a page
    holds hundreds of these links."""
    if model is None or not admin_site.is_registered(model):
        return None
    opts = model._meta
    pattern = _pattern(
        f"{admin_site.name}:{opts.app_label}_{opts.model_name}_{view}",
        len(args),
        get_urlconf(),
        get_script_prefix(),
    )
    if pattern is None:
        return None
    for index, arg in enumerate(args):
        text = url_quote(quote(str(arg)), safe=RFC3986_SUBDELIMS + "/~:@")
        pattern = pattern.replace(_SENTINEL.format(index), text, 1)
    return pattern


_SENTINEL = "revy{}sentinel"


@functools.lru_cache(maxsize=1024)
def _pattern(name: str, count: int, urlconf: Any, prefix: str) -> str | None:
    try:
        return reverse(
            name, args=[_SENTINEL.format(i) for i in range(count)], urlconf=urlconf
        )
    except NoReverseMatch:
        return None


def _refs(delta: Any, attributes: list[Any]) -> list[tuple[ActorRef, int]]:
    """The actors of a delta and its attributes, each with where it acted
    (a row given a deleted actor's key since is not that actor)."""
    refs = [(ActorRef(delta.actor_content_type_id, delta.actor_id), delta.pk)]
    refs += [
        (ActorRef(a.actor_content_type_id, a.actor_id), delta.pk) for a in attributes
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
    attributes = {delta.pk: list(delta.attribute_deltas.all()) for delta in every}
    refs = list(
        dict.fromkeys(
            ref for delta in every for ref in _refs(delta, attributes[delta.pk])
        )
    )
    resolved = resolve_actors([ref for ref, _ in refs], [at for _, at in refs])
    actors = dict(zip(refs, resolved, strict=True))
    labels = {ref: actor_label(actor) for ref, actor in actors.items()}
    actions = {
        action: str(label) for action, label in get_object_delta_model().ACTION_CHOICES
    }
    for delta in every:
        model = model_of(delta.content_type_id)
        if model is None:
            continue
        for attribute in attributes[delta.pk]:
            values.want(model, attribute.field_name, attribute.old_value)
            values.want(model, attribute.field_name, attribute.new_value)
    values.load()

    def entry(delta: Any, other: bool = False) -> Entry | None:
        model = model_of(delta.content_type_id)
        if model is None:
            return None
        ref = (ActorRef(delta.actor_content_type_id, delta.actor_id), delta.pk)
        found, changes, found_labels = [actors[ref]], [], [labels[ref]]
        for attribute in attributes[delta.pk]:
            change = values.change(
                model,
                attribute.field_name,
                attribute.old_value,
                attribute.new_value,
                delta.action,
            )
            ref = (
                ActorRef(attribute.actor_content_type_id, attribute.actor_id),
                delta.pk,
            )
            actor = actors[ref]
            change.actor = actor
            change.actor_text = labels[ref]
            change.description = attribute.description
            if actor not in found:
                found.append(actor)
                found_labels.append(labels[ref])
            changes.append(change)
        result = Entry(
            delta,
            model,
            found,
            changes,
            object_url=admin_url(admin_site, model, "history", delta.content_id)
            if other
            else None,
            actor_labels=found_labels,
            action_label=actions.get(delta.action, delta.action),
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
            for other in (
                entry(d, other=True) for d in others.get(delta.revision_id, [])
            )
            if other is not None
        ]
        built.append(made)
    return built


def _unreadable(model: Any, key: Any, field: Any, stored: Any) -> str:
    """How the confirmation pages name a value that cannot be put back."""
    return _("%(object)s: %(field)s, recorded as %(stored)s") % {
        "object": f"{capfirst(model._meta.verbose_name)} {key}",
        "field": field.verbose_name,
        "stored": json.dumps(stored, ensure_ascii=False),
    }


def unreadable_in_state(model: Any, key: Any, state: Any) -> list[str]:
    """The values of ``state`` (read with ``raw_values``) that their fields,
    retyped since, cannot read: restoring it would fail on them (the undo
    pages list them)."""
    return [
        _unreadable(model, key, field, value.stored)
        for field in model._meta.concrete_fields
        if isinstance(value := state.__dict__.get(field.attname), RawValue)
        and not value.field_missing
    ]


def unreadable_old_values(values: Values, deltas: list[Any]) -> list[str]:
    """The old values of ``deltas`` (with their attribute deltas loaded)
    that their fields, retyped since, cannot read: undoing would fail on
    them."""
    found = []
    for delta in deltas:
        model = model_of(delta.content_type_id)
        if model is None or delta.action not in (
            delta.ACTION_UPDATE,
            delta.ACTION_DELETE,
        ):
            continue
        for attribute in delta.attribute_deltas.all():
            try:
                field = model._meta.get_field(attribute.field_name)
            except FieldDoesNotExist:
                continue  # Reported as a conflict (the field is missing).
            if attribute.old_value is None or not field.concrete:
                continue
            shown = values.decode(field, attribute.old_value)
            if isinstance(shown, RawValue) and not shown.field_missing:
                found.append(_unreadable(model, delta.content_id, field, shown.stored))
    return found
