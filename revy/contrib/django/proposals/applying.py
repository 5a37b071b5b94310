"""Applying a proposal, rebasing it, rejecting or withdrawing it.

``apply()`` writes through the ORM inside a revy context, so its changes
are recorded like any other write: one new revision, each object and
attribute delta crediting the actor who proposed it (decision 0016).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from revy.context import Context
from revy.contrib.django import conf
from revy.contrib.django.actors import ActorRef, actor_reference, resolve_actors
from revy.contrib.django.encoding import key_text
from revy.contrib.django.proposals.exceptions import ProposalStateError
from revy.contrib.django.proposals.loading import ABSENT, Delta, Loaded, load
from revy.contrib.django.proposals.review import (
    BASE,
    CHOICES,
    CURRENT,
    PROPOSED,
    ProposalConflict,
    ProposalConflictItem,
    find_conflicts,
    has_auto_key,
    value_fields,
)

__all__ = ["KeyMap", "apply", "decide", "rebase", "write_changes"]

# {(concrete model, key as proposed): key given when written}
KeyMap = dict[tuple[type[models.Model], str], Any]


def apply(proposal: Any, resolutions: Mapping[Any, str] | None = None) -> Any:
    """Apply ``proposal`` in one transaction, as one new revision, and
    return that revision (None if nothing was left to change).

    Runs in the caller's context, or in a context of its own when none is
    active. The conflicts are checked again with the rows locked: if any is
    left that ``resolutions`` do not settle, :class:`ProposalConflict` is
    raised and nothing is written. ``resolutions`` maps a conflict (or its
    ``key``: model label, key, field name) to ``"base"``, ``"proposed"``
    or ``"current"``.
    """
    chosen = _resolutions(resolutions)
    using = _using(proposal)
    # Applied changes are always recorded, inside a disabled context too.
    if Context.get_current() is None:
        own: Any = Context()
    elif Context.is_disabled():
        own = Context.as_enabled()
    else:
        own = nullcontext()
    with own, transaction.atomic(using=using):
        locked = _locked(proposal, using)
        loaded = load(locked, lock=True)
        found = find_conflicts(loaded, chosen)
        if found:
            raise ProposalConflict(found)
        described = (
            Context.via_revision_description(locked.description)
            if not Context.get_revision_description() and locked.description
            else nullcontext()
        )
        with described:
            try:
                with transaction.atomic(using=using):
                    write_changes(loaded, chosen)
            except IntegrityError as error:
                # A row committed since the check (a unique value taken).
                raise ProposalConflict([_integrity_item(locked, error)]) from error
            revision = Context.get_revision()
        if revision is not None and revision.pk is None:
            revision = None
        _decided(locked, locked.STATUS_APPLIED, "")
        locked.revision = revision
        locked.save(using=using)
    _copy_decision(locked, proposal)
    return revision


def _integrity_item(proposal: Any, error: IntegrityError) -> ProposalConflictItem:
    return ProposalConflictItem(
        "unique",
        type(proposal)._meta.label,
        key_text(type(proposal), proposal.pk),
        "",
        ABSENT,
        ABSENT,
        ABSENT,
        f"the database refused a row of the proposal: {error}",
    )


def _resolutions(resolutions: Mapping[Any, str] | None) -> dict[Any, str]:
    chosen: dict[Any, str] = {}
    for conflict, choice in (resolutions or {}).items():
        if choice not in CHOICES:
            raise ValueError(
                f"A resolution is one of {', '.join(map(repr, CHOICES))}, "
                f"not {choice!r} (for {conflict})."
            )
        key = getattr(conflict, "key", conflict)
        if not (isinstance(key, tuple) and len(key) == 3):
            raise TypeError(
                "A resolution is given for a conflict, or for its key "
                f"(model label, key, field name), not for {conflict!r}."
            )
        chosen[(key[0], str(key[1]), key[2])] = choice
    return chosen


def _using(proposal: Any) -> str:
    if proposal.pk is None:
        raise ProposalStateError("The proposal was never saved: nothing to apply.")
    return proposal._state.db or "default"


def _locked(proposal: Any, using: str) -> Any:
    """The proposal row, locked; a clear error unless it is open."""
    locked = type(proposal)._base_manager.using(using).select_for_update()
    found = locked.get(pk=proposal.pk)
    if found.status != found.STATUS_OPEN:
        raise ProposalStateError(
            f"{found} is {found.status}, not open: it cannot be applied, "
            "rebased, rejected or withdrawn any more."
        )
    return found


def _decided(proposal: Any, status: str, reason: str) -> None:
    actor = Context.get_actor()
    proposal.status = status
    proposal.reason = reason
    proposal.decided_at = timezone.now()
    reference = actor_reference(actor)
    proposal.decided_by_content_type_id = reference.content_type_id
    proposal.decided_by_id = reference.id


def _copy_decision(source: Any, target: Any) -> None:
    if target is source:
        return
    for name in (
        "status",
        "reason",
        "decided_at",
        "decided_by_content_type_id",
        "decided_by_id",
        "revision_id",
    ):
        setattr(target, name, getattr(source, name))
    target.__dict__.pop("revision", None)
    target._state.fields_cache.pop("revision", None)


def decide(proposal: Any, status: str, reason: str = "") -> None:
    """Reject or withdraw an open ``proposal``, by the current actor."""
    using = _using(proposal)
    with transaction.atomic(using=using):
        locked = _locked(proposal, using)
        _decided(locked, status, reason)
        locked.save(using=using)
    _copy_decision(locked, proposal)


def rebase(
    proposal: Any, resolutions: Mapping[Any, str] | None = None
) -> list[ProposalConflictItem]:
    """Take the current values as the base of the fields that do not
    conflict, and of the value conflicts ``resolutions`` settle (their
    proposed value becomes the one chosen); return the conflicts left,
    which keep their base."""
    chosen = _resolutions(resolutions)
    using = _using(proposal)
    with transaction.atomic(using=using):
        locked = _locked(proposal, using)
        loaded = load(locked, lock=True)
        found = find_conflicts(loaded, chosen)
        conflicting = {conflict.key for conflict in found}
        changed = []
        for delta in loaded.all:
            if delta.action != "update" or delta.current is None:
                continue
            for attribute, _field, current in value_fields(delta):
                key = (delta.label, delta.key, attribute.name)
                if key in conflicting or current == attribute.base:
                    continue
                if current != attribute.proposed:  # A conflict resolutions settle.
                    attribute.row.proposed_value = [
                        {BASE: attribute.base, PROPOSED: attribute.proposed}.get(
                            chosen[key], current
                        )
                    ]
                attribute.row.base_value = [current]
                changed.append(attribute.row)
        if changed:
            manager = type(changed[0])._base_manager.using(using)
            manager.bulk_update(changed, ["base_value", "proposed_value"])
    return found


# Writing the changes -----------------------------------------------------------


def write_changes(
    loaded: Loaded, resolutions: Mapping[Any, str] | None = None
) -> KeyMap:
    """Make the changes of ``loaded`` to the live rows, in the order they
    were proposed, each credited to its actors; return the keys the rows it
    creates were given."""
    resolutions = resolutions or {}
    actors = _actors(loaded)
    keys: KeyMap = {}
    created = loaded.created_keys()
    due: list[tuple[Any, Delta, Any]] = []
    for delta in loaded.roots:
        if delta.model is None:
            continue
        with _acting(actors[delta.actor], delta):
            if delta.action == "delete":
                delta.current.delete(using=loaded.using)
                continue
            if delta.action == "create":
                instance = delta.model()
                auto = has_auto_key(delta.model)
                if not auto:
                    instance.pk = delta.pk()
            else:
                instance = delta.current
            assigned, members = _assign(
                instance, delta, actors, keys, created, resolutions
            )
            if delta.action == "create":
                instance.save(force_insert=True, using=loaded.using)
                concrete = delta.model._meta.concrete_model
                keys[concrete, delta.key] = instance.pk
            elif assigned:
                instance.save(update_fields=assigned, using=loaded.using)
            due.extend((instance, delta, change) for change in members)
    # Members last: a row the proposal adds as a member may be made later.
    for instance, delta, (model_field, removed, added, actor) in due:
        with _acting(actors[delta.actor], delta), Context.via_actor(actor):
            manager = getattr(instance, model_field.name)
            if removed:
                manager.remove(
                    *[_key(model_field.related_model, k, keys) for k in removed]
                )
            if added:
                manager.add(*[_key(model_field.related_model, k, keys) for k in added])
    return keys


def _assign(
    instance: models.Model,
    delta: Delta,
    actors: dict[ActorRef, Any],
    keys: KeyMap,
    created: dict[Any, set[str]],
    resolutions: Mapping[Any, str],
) -> tuple[list[str], list[tuple[Any, list, list, Any]]]:
    """Assign the proposed values to ``instance``, each under the actor who
    proposed it; return the fields assigned and the member changes due."""
    decode = conf.value_encoder().decode
    assigned: list[str] = []
    members = []
    for attribute in delta.attributes:
        model_field = attribute.field_of(delta.model)
        if model_field is None or model_field.primary_key:
            continue
        if model_field.many_to_many:
            members.append(
                (
                    model_field,
                    list(attribute.base or []),
                    list(attribute.proposed or []),
                    actors[attribute.actor],
                )
            )
            continue
        choice = resolutions.get((delta.label, delta.key, attribute.name), PROPOSED)
        if choice == CURRENT:
            continue
        stored = attribute.base if choice == BASE else attribute.proposed
        value = decode(model_field, stored)
        target = getattr(model_field, "related_model", None)
        if target is not None and value is not None:
            concrete = target._meta.concrete_model
            if key_text(target, value) in created.get(concrete, ()):
                value = _key(target, value, keys)
        with Context(
            actor=actors[attribute.actor],
            attribute_delta_description=attribute.description,
        ):
            setattr(instance, model_field.attname, value)
        assigned.append(model_field.name)
    return assigned, members


def _key(model: type[models.Model], key: Any, keys: KeyMap) -> Any:
    """A key as written: a row the proposal created has its new one."""
    return keys.get((model._meta.concrete_model, key_text(model, key)), key)


@contextmanager
def _acting(actor: Any, delta: Delta) -> Iterator[None]:
    row = delta.row
    with Context(
        actor=actor,
        object_delta_description=row.description,
        deletion_description=row.deletion_description,
    ):
        yield


def _actors(loaded: Loaded) -> dict[ActorRef, Any]:
    """The actors the deltas name, one query per actor model. An actor whose
    row is gone is still named by its key (an unsaved instance)."""
    refs = {delta.actor for delta in loaded.all}
    refs.update(a.actor for delta in loaded.all for a in delta.attributes)
    ordered = list(refs)
    found = dict(zip(ordered, resolve_actors(ordered), strict=True))
    for ref, actor in found.items():
        if ref.content_type_id is not None and not isinstance(actor, models.Model):
            model = ContentType.objects.get_for_id(ref.content_type_id).model_class()
            found[ref] = model(pk=model._meta.pk.to_python(ref.id))
    return found
