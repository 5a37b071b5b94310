"""From the history a propose block recorded to a proposal's rows.

The block's history is read back before it is rolled back, then folded: a
row changed several times in the block becomes one proposed change (a
create and its later updates one create, an update and a delete one
delete, a create and a delete nothing), each field keeping its first base
and its last proposed value. Fields set back to their base are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, transaction

from revy.contrib.django import conf
from revy.contrib.django.actors import ActorRef
from revy.contrib.django.encoding import key_text
from revy.contrib.django.proposals.loading import ABSENT, Loaded

__all__ = ["Recorded", "read", "store"]


@dataclass
class _Attribute:
    base: Any
    proposed: Any
    actor: ActorRef
    description: str


@dataclass(eq=False)  # Entries are told apart by identity.
class _Entry:
    """One row's folded change."""

    content_type_id: int
    key: str
    action: str
    actor: ActorRef
    description: str
    deletion_description: str
    attributes: dict[str, _Attribute] = field(default_factory=dict)
    cause: _Entry | None = None
    gone: bool = False  # Created and deleted again: no change at all.

    def model(self) -> type[models.Model] | None:
        return ContentType.objects.get_for_id(self.content_type_id).model_class()


@dataclass
class Recorded:
    """The object deltas a block recorded, with their attribute deltas, as
    value dicts in the order recorded."""

    deltas: list[dict[str, Any]]
    attributes: dict[Any, list[dict[str, Any]]]

    def models(self) -> list[type[models.Model]]:
        """The models of the rows recorded, in the order first recorded."""
        found: dict[Any, None] = {}
        for delta in self.deltas:
            model = ContentType.objects.get_for_id(delta["content_type_id"])
            if (model_class := model.model_class()) is not None:
                found.setdefault(model_class, None)
        return list(found)

    def tables(self) -> list[str]:
        found = set()
        for delta in self.deltas:
            model = ContentType.objects.get_for_id(delta["content_type_id"])
            model_class = model.model_class()
            if model_class is not None:
                found.add(model_class._meta.db_table)
        return sorted(found)


_DELTA_COLUMNS = (
    "pk",
    "action",
    "content_type_id",
    "content_id",
    "actor_content_type_id",
    "actor_id",
    "description",
    "deletion_description",
    "cause_id",
)
_ATTRIBUTE_COLUMNS = (
    "object_delta_id",
    "field_name",
    "old_value",
    "new_value",
    "actor_content_type_id",
    "actor_id",
    "description",
)


def read(activation: Any, using: str) -> Recorded:
    """What the context of ``activation`` recorded on ``using``: two queries."""
    history = conf.history_models()
    revisions = [r.pk for r in activation.revisions.values() if r.pk is not None]
    if not revisions:
        return Recorded([], {})
    deltas = list(
        history.object_delta.objects.using(using)
        .filter(revision__in=revisions)
        .order_by("pk")
        .values(*_DELTA_COLUMNS)
    )
    attributes: dict[Any, list[dict[str, Any]]] = {}
    for row in (
        history.attribute_delta.objects.using(using)
        .filter(object_delta__revision__in=revisions)
        .order_by("pk")
        .values(*_ATTRIBUTE_COLUMNS)
    ):
        attributes.setdefault(row["object_delta_id"], []).append(row)
    return Recorded(deltas, attributes)


def _many_to_many(model: type[models.Model] | None, name: str) -> bool:
    if model is None:
        return False
    try:
        return model._meta.get_field(name).many_to_many
    except FieldDoesNotExist:
        return False


def _implied(model: type[models.Model] | None, name: str) -> bool:
    """Whether a change of relation ``name`` follows from another one the
    proposal keeps: the other side of a many-to-many relation, or a relation
    whose through model's rows are recorded as rows of their own."""
    if model is None:
        return False
    try:
        relation = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    if not relation.many_to_many:
        return False
    if not isinstance(relation, models.ManyToManyField):
        return True
    return not relation.remote_field.through._meta.auto_created


class _Folder:
    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], _Entry] = {}

    def add_earlier(self, loaded: Loaded, keys: dict[Any, Any]) -> None:
        """The deltas of the proposal so far, the rows it creates under the
        keys they were given when the block began."""
        renamed = {
            (model, old): key_text(model, new) for (model, old), new in keys.items()
        }
        by_row: dict[Any, _Entry] = {}
        for delta in loaded.all:
            key = delta.key
            if delta.model is not None:
                key = renamed.get((delta.model._meta.concrete_model, key), key)
            entry = _Entry(
                delta.row.content_type_id,
                key,
                delta.action,
                delta.actor,
                delta.row.description,
                delta.row.deletion_description,
                cause=by_row.get(delta.row.cause_id),
            )
            for attribute in delta.attributes:
                entry.attributes[attribute.name] = _Attribute(
                    _renamed(delta.model, attribute.name, attribute.base, renamed),
                    _renamed(delta.model, attribute.name, attribute.proposed, renamed),
                    attribute.actor,
                    attribute.description,
                )
            by_row[delta.row.pk] = entry
            self.entries[entry.content_type_id, entry.key] = entry

    def add_recorded(self, recorded: Recorded) -> None:
        by_delta: dict[Any, _Entry] = {}
        for row in recorded.deltas:
            at = (row["content_type_id"], row["content_id"])
            entry = self.entries.get(at)
            action = row["action"]
            if action == "baseline":
                continue
            cause = by_delta.get(row["cause_id"])
            actor = ActorRef(row["actor_content_type_id"], row["actor_id"])
            if entry is None or entry.gone:
                entry = _Entry(
                    row["content_type_id"],
                    row["content_id"],
                    action,
                    actor,
                    row["description"],
                    row["deletion_description"],
                    cause=cause,
                )
                self.entries.pop(at, None)
                self.entries[at] = entry
            elif action == "delete":
                if entry.action == "create":
                    entry.gone = True
                else:
                    entry.action = "delete"
                    entry.cause = cause
                    entry.deletion_description = row["deletion_description"]
            elif action == "create" and entry.action == "delete":
                entry.action = "update"  # Deleted, then made again: changed.
            by_delta[row["pk"]] = entry
            model = entry.model()
            for attribute in recorded.attributes.get(row["pk"], []):
                self._attribute(entry, model, action, attribute)

    def _attribute(
        self,
        entry: _Entry,
        model: type[models.Model] | None,
        action: str,
        row: dict[str, Any],
    ) -> None:
        name = row["field_name"]
        if _implied(model, name):
            return
        old = ABSENT if action == "create" else row["old_value"]
        new = ABSENT if action == "delete" else row["new_value"]
        actor = ActorRef(row["actor_content_type_id"], row["actor_id"])
        found = entry.attributes.get(name)
        if found is None:
            entry.attributes[name] = _Attribute(old, new, actor, row["description"])
            return
        if _many_to_many(model, name):
            removed, added = set(found.base or []), set(found.proposed or [])
            new_removed, new_added = set(old or []), set(new or [])
            added = (added - new_removed) | new_added
            removed = (removed | new_removed) - added
            found.base, found.proposed = sorted(removed), sorted(added)
        elif action == "delete":
            return  # The row's base stays what the proposer first saw.
        else:
            found.proposed = new
        found.actor, found.description = actor, row["description"]

    def result(self) -> list[_Entry]:
        """The folded changes in the order recorded, without those that
        change nothing."""
        kept = []
        for entry in self.entries.values():
            if entry.gone:
                continue
            if entry.cause is not None and entry.cause.gone:
                entry.cause = None
            if entry.action == "update":
                model = entry.model()
                entry.attributes = {
                    name: a
                    for name, a in entry.attributes.items()
                    if not _unchanged(model, name, a)
                }
                if not entry.attributes:
                    continue
            kept.append(entry)
        return kept


def _unchanged(model: type[models.Model] | None, name: str, a: _Attribute) -> bool:
    if _many_to_many(model, name):
        return not a.base and not a.proposed
    return a.base == a.proposed


def _renamed(
    model: type[models.Model] | None, name: str, value: Any, renamed: dict[Any, str]
) -> Any:
    """``value`` of field ``name`` with the keys of created rows renamed."""
    if model is None or value is ABSENT or value is None or not renamed:
        return value
    try:
        model_field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    target = getattr(model_field, "related_model", None)
    if target is None or not model_field.concrete:
        return value
    concrete = target._meta.concrete_model
    encode = conf.value_encoder().encode

    def one(key: Any) -> Any:
        new = renamed.get((concrete, key_text(target, key)))
        return key if new is None else encode(target._meta.pk, new)

    if model_field.many_to_many:
        return sorted(one(key) for key in value)
    return one(value)


def store(
    proposal: Any, earlier: Loaded | None, keys: dict[Any, Any], recorded: Recorded
) -> None:
    """Write ``proposal`` with its changes so far and those ``recorded``."""
    folder = _Folder()
    if earlier is not None:
        folder.add_earlier(earlier, keys)
    folder.add_recorded(recorded)
    entries = folder.result()
    using = proposal._state.db or "default"
    object_model = type(proposal).deltas.rel.related_model
    attribute_model = object_model.attribute_deltas.rel.related_model
    with transaction.atomic(using=using):
        if proposal.pk is None:
            proposal.save(using=using)
        else:
            object_model._base_manager.using(using).filter(proposal=proposal).delete()
        rows: dict[int, Any] = {}
        pending = entries
        while pending:  # Causes first: one insert per depth of cascade.
            ready = [e for e in pending if e.cause is None or id(e.cause) in rows]
            if not ready:  # A cause that is no change of its own: none.
                for entry in pending:
                    entry.cause = None
                ready = pending
            later = [
                e for e in pending if e.cause is not None and id(e.cause) not in rows
            ]
            made = [
                object_model(
                    proposal=proposal,
                    action=e.action,
                    content_type_id=e.content_type_id,
                    content_id=e.key,
                    actor_content_type_id=e.actor.content_type_id,
                    actor_id=e.actor.id,
                    description=e.description,
                    deletion_description=e.deletion_description,
                    cause=None if e.cause is None else rows[id(e.cause)],
                )
                for e in ready
            ]
            _insert(object_model, made, using)
            rows.update((id(e), row) for e, row in zip(ready, made, strict=True))
            pending = later
        attributes = [
            attribute_model(
                object_delta=rows[id(e)],
                field_name=name,
                base_value=None if a.base is ABSENT else [a.base],
                proposed_value=None if a.proposed is ABSENT else [a.proposed],
                actor_content_type_id=a.actor.content_type_id,
                actor_id=a.actor.id,
                description=a.description,
            )
            for e in entries
            for name, a in e.attributes.items()
        ]
        attribute_model._base_manager.using(using).bulk_create(attributes)


def _insert(model: type[models.Model], rows: list[Any], using: str) -> None:
    """Insert ``rows``, learning their keys: in one statement where the
    database returns them."""
    if connections[using].features.can_return_rows_from_bulk_insert:
        model._base_manager.using(using).bulk_create(rows)
    else:
        for row in rows:
            row.save(using=using, force_insert=True)
