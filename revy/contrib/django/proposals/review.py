"""Reviewing a proposal: its changes against what changed since, its
conflicts, and a preview of a row as it would leave it.

A conflict is three-way, per field: the current value differs from both
the base (what the proposer saw) and the proposed value. A field changed to
the same value on both sides is no conflict. Rows that are gone, creates
that would break a unique constraint, deletes that would now cascade to
more rows and fields the model no longer has are conflicts too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.deletion import Collector

from revy.contrib.django import conf
from revy.contrib.django.encoding import key_text
from revy.contrib.django.proposals.loading import (
    ABSENT,
    Attribute,
    Delta,
    Loaded,
    encoded,
    load,
)

__all__ = [
    "BASE",
    "CURRENT",
    "PROPOSED",
    "FieldValues",
    "ObjectChange",
    "ProposalConflict",
    "ProposalConflictItem",
    "changes",
    "conflicts",
    "preview",
]

# The choices a reviewer makes per conflicting field (apply's resolutions).
BASE = "base"
PROPOSED = "proposed"
CURRENT = "current"
CHOICES = (BASE, PROPOSED, CURRENT)


@dataclass(frozen=True)
class FieldValues:
    """One field of a proposed change, its values as the field holds them in
    Python; ``ABSENT`` where there is no such side. For a many-to-many
    field, ``base`` is the member keys it removes, ``proposed`` those it
    adds and ``current`` the members now."""

    name: str
    base: Any
    proposed: Any
    current: Any
    many_to_many: bool = False

    @property
    def changed_since(self) -> bool:
        """Whether the current value is no longer the base."""
        return not self.many_to_many and self.current != self.base


@dataclass(frozen=True)
class ObjectChange:
    """One row a proposal creates, updates or deletes; a delete lists what
    it ``cascades`` to (cascaded deletes, and updates such as SET_NULL)."""

    model: type[models.Model] | None
    pk: str  # As history writes keys; a created row's key until applied.
    action: str
    fields: list[FieldValues]
    cascades: list[ObjectChange]
    exists: bool  # Whether the row exists now.
    description: str


@dataclass(frozen=True)
class ProposalConflictItem:
    """One reason a proposal does not apply cleanly.

    ``kind`` is ``"value"`` (the field changed on both sides), ``"deleted"``
    (the row is gone), ``"unique"`` (a created row breaks a unique
    constraint), ``"cascade"`` (a deleted row gained dependants),
    ``"field"`` (the model has no such field any more) or ``"model"``.
    """

    kind: str
    model_label: str
    pk: str
    field: str
    base: Any
    proposed: Any
    current: Any
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What ``apply(resolutions=...)`` takes for this conflict."""
        return (self.model_label, self.pk, self.field)

    @property
    def resolvable(self) -> bool:
        """Whether a reviewer can settle it by choosing a value."""
        return self.kind == "value"

    def __str__(self) -> str:
        return self.message


class ProposalConflict(Exception):
    """``apply()`` refused: the proposal conflicts with what changed since.
    Nothing was written."""

    def __init__(self, conflicts: list[ProposalConflictItem]) -> None:
        self.conflicts = conflicts
        listed = "\n".join(f"- {conflict}" for conflict in conflicts)
        super().__init__(
            f"The proposal conflicts with what changed since it was made:\n{listed}"
        )


def changes(proposal: Any) -> list[ObjectChange]:
    """The rows ``proposal`` changes, in the order recorded, each with its
    fields' base, proposed and current values."""
    loaded = load(proposal)
    return [_change(delta) for delta in loaded.roots]


def _change(delta: Delta) -> ObjectChange:
    return ObjectChange(
        delta.model,
        delta.key,
        delta.action,
        [_values(delta, attribute) for attribute in delta.attributes],
        [_change(effect) for effect in delta.effects],
        delta.current is not None,
        delta.row.description,
    )


def _values(delta: Delta, attribute: Attribute) -> FieldValues:
    model_field = attribute.field_of(delta.model)
    if model_field is None:  # Shown as stored: it cannot be read back.
        return FieldValues(attribute.name, attribute.base, attribute.proposed, ABSENT)
    if model_field.many_to_many:
        current: Any = ABSENT
        if delta.current is not None:
            current = sorted(
                getattr(delta.current, model_field.name).values_list("pk", flat=True)
            )
        return FieldValues(
            attribute.name, attribute.base, attribute.proposed, current, True
        )
    decode = conf.value_encoder().decode
    return FieldValues(
        attribute.name,
        ABSENT if attribute.base is ABSENT else decode(model_field, attribute.base),
        ABSENT
        if attribute.proposed is ABSENT
        else decode(model_field, attribute.proposed),
        ABSENT
        if delta.current is None
        else getattr(delta.current, model_field.attname),
    )


def conflicts(proposal: Any) -> list[ProposalConflictItem]:
    """What stops ``proposal`` from applying cleanly now: empty if nothing."""
    return find_conflicts(load(proposal))


def find_conflicts(
    loaded: Loaded, resolutions: Mapping[tuple[str, str, str], str] | None = None
) -> list[ProposalConflictItem]:
    """The conflicts of ``loaded``, leaving out the value conflicts that
    ``resolutions`` settle."""
    resolutions = resolutions or {}
    found: list[ProposalConflictItem] = []
    created = loaded.created_keys()
    for delta in loaded.roots:
        if delta.model is None:
            found.append(_item("model", delta, "", "the model no longer exists"))
            continue
        if delta.action == "create":
            found.extend(_missing_fields(delta))
            found.extend(_unique_conflicts(delta, created, loaded.using))
            continue
        if delta.current is None:
            what = "deleted" if delta.action == "delete" else "updated"
            found.append(
                _item("deleted", delta, "", f"the row it {what} was deleted since")
            )
            continue
        if delta.action == "delete":
            found.extend(_cascade_conflicts(delta, loaded.using))
            continue
        found.extend(_missing_fields(delta))
        for attribute, model_field, current in value_fields(delta):
            if current in (attribute.base, attribute.proposed):
                continue
            item = _value_item(delta, attribute, model_field, current)
            if resolutions.get(item.key) not in CHOICES:
                found.append(item)
    return found


def value_fields(delta: Delta) -> list[tuple[Attribute, models.Field, Any]]:
    """The plain (not many-to-many) fields an update sets that the model
    still has, each with its current value as history stores it."""
    found = []
    for attribute in delta.attributes:
        model_field = attribute.field_of(delta.model)
        if model_field is None or model_field.many_to_many:
            continue
        found.append((attribute, model_field, encoded(delta.current, model_field)))
    return found


def _value_item(
    delta: Delta, attribute: Attribute, model_field: models.Field, current: Any
) -> ProposalConflictItem:
    decode = conf.value_encoder().decode
    base = decode(model_field, attribute.base)
    proposed = decode(model_field, attribute.proposed)
    now = decode(model_field, current)
    return ProposalConflictItem(
        "value",
        delta.label,
        delta.key,
        attribute.name,
        base,
        proposed,
        now,
        f"{delta.label} {delta.key}: {attribute.name} was {base!r} when proposed, "
        f"is {now!r} now, and the proposal sets {proposed!r}",
    )


def _item(kind: str, delta: Delta, name: str, what: str) -> ProposalConflictItem:
    where = f"{delta.label} {delta.key}" + (f": {name}" if name else "")
    return ProposalConflictItem(
        kind, delta.label, delta.key, name, ABSENT, ABSENT, ABSENT, f"{where}: {what}"
    )


def _missing_fields(delta: Delta) -> list[ProposalConflictItem]:
    return [
        _item("field", delta, attribute.name, "the model no longer has this field")
        for attribute in delta.attributes
        if attribute.field_of(delta.model) is None
    ]


def build(delta: Delta, auto_key: bool) -> Any:
    """An unsaved instance holding a create's proposed values; with
    ``auto_key`` its key is left for the database to give."""
    model = delta.model
    assert model is not None
    decode = conf.value_encoder().decode
    instance = model()
    for attribute in delta.attributes:
        model_field = attribute.field_of(model)
        if model_field is None or model_field.many_to_many:
            continue
        if attribute.proposed is not ABSENT:
            setattr(
                instance, model_field.attname, decode(model_field, attribute.proposed)
            )
    if auto_key:
        instance.pk = None
    else:
        instance.pk = delta.pk()
    return instance


def has_auto_key(model: type[models.Model]) -> bool:
    """Whether the database gives ``model``'s rows their keys."""
    return isinstance(model._meta.pk, models.AutoField)


def refers_to_created(
    model_field: models.Field, value: Any, created: dict[Any, set[str]]
) -> bool:
    """Whether ``value`` of a foreign key names a row the proposal creates."""
    target = getattr(model_field, "related_model", None)
    if target is None or not model_field.concrete or value is None:
        return False
    keys = created.get(target._meta.concrete_model)
    return bool(keys) and key_text(target, value) in keys


def _unique_conflicts(
    delta: Delta, created: dict[Any, set[str]], using: str
) -> list[ProposalConflictItem]:
    model = delta.model
    assert model is not None
    instance = build(delta, has_auto_key(model))
    instance._state.db = using
    # A key that names another row the proposal creates is not known yet.
    exclude = {
        f.name
        for f in model._meta.concrete_fields
        if refers_to_created(f, getattr(instance, f.attname), created)
    }
    try:
        instance.validate_unique(exclude=exclude)
        instance.validate_constraints(exclude=exclude)
    except ValidationError as error:
        messages = "; ".join(
            str(message)
            for messages in error.message_dict.values()
            for message in messages
        )
        return [
            _item("unique", delta, "", f"the row it creates would break {messages}")
        ]
    return []


def _cascade_conflicts(delta: Delta, using: str) -> list[ProposalConflictItem]:
    """A delete that would now take rows the proposal did not see go."""
    recorded = {(effect.model, effect.key) for effect in delta.effects}
    collector = Collector(using=using)
    collector.collect([delta.current])
    found = []
    for model, instances in collector.data.items():
        for obj in instances:
            key = key_text(model, obj.pk)
            if (model, key) == (delta.model, delta.key) or (model, key) in recorded:
                continue
            if not conf.is_tracked(model):
                continue
            found.append(
                _item(
                    "cascade",
                    delta,
                    "",
                    f"deleting it would now also delete {model._meta.label} {key}",
                )
            )
    for qs in collector.fast_deletes:
        for obj in qs:
            key = key_text(type(obj), obj.pk)
            if (type(obj), key) not in recorded and conf.is_tracked(type(obj)):
                found.append(
                    _item(
                        "cascade",
                        delta,
                        "",
                        f"deleting it would now also delete "
                        f"{type(obj)._meta.label} {key}",
                    )
                )
    return found


def preview(proposal: Any, model: type[models.Model], pk: Any) -> Any:
    """The ``model`` row ``pk`` as applying ``proposal`` would leave it: an
    unsaved instance, as ``state_at()`` returns; None if the proposal
    deletes it or it does not exist. A row the proposal creates is named
    by the key it had when it was proposed."""
    loaded = load(proposal)
    key = key_text(model, pk)
    concrete = model._meta.concrete_model
    for delta in loaded.all:
        if (
            delta.model is None
            or delta.model._meta.concrete_model is not concrete
            or delta.key != key
        ):
            continue
        if delta.action == "delete":
            return None
        if delta.action == "create":
            return build(delta, auto_key=False)
        instance = delta.current
        if instance is None:
            return None
        decode = conf.value_encoder().decode
        for attribute in delta.attributes:
            model_field = attribute.field_of(model)
            if model_field is not None and not model_field.many_to_many:
                setattr(
                    instance,
                    model_field.attname,
                    decode(model_field, attribute.proposed),
                )
        return instance
    return model._base_manager.using(loaded.using).filter(pk=pk).first()
