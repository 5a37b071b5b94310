"""Turning a change into history rows: the one way every writer records.

A :class:`Recorder` is made for one write (a save, a delete, a bulk write, a
many-to-many change, a baseline) on one database, under the context frame
in force. It knows who acts and why (:class:`Attribution`), finds the
revision the first time something is recorded, and queues object deltas
with their attribute deltas on the connection (``transactions.py``). The
writers in ``capture/``, the baseline command and ``undoing.py`` say *what*
changed; this module decides how that becomes rows, so a new kind of delta
is added here.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connections, models

from revy.context import Frame
from revy.contrib.django import backends, conf, transactions
from revy.contrib.django.actors import ActorRef, actor_reference
from revy.contrib.django.encoding import (
    JSON_NULL,
    clean_text,
    encode,
    key_text,
    mask_marker,
)
from revy.contrib.django.exceptions import HistoryRowTooLarge, NotRecordable
from revy.contrib.django.models import AbstractObjectDelta
from revy.contrib.django.pending import AttributeRow, PendingObjectDelta
from revy.contrib.django.tracking import Assignment
from revy.deferred import resolved

__all__ = ["Attribution", "Recorder", "may_be_large"]

# Texts shorter than this fit in any statement, however they are escaped.
_SHORT = 4096


def may_be_large(value: Any) -> bool:
    """Whether ``value`` may be too large for a row of history: only long
    texts, binary data and JSON values are looked at closer."""
    if type(value) is str:
        return len(value) >= _SHORT
    return isinstance(value, list | dict | bytes | bytearray | memoryview)


_CREATE = AbstractObjectDelta.ACTION_CREATE
_UPDATE = AbstractObjectDelta.ACTION_UPDATE
_DELETE = AbstractObjectDelta.ACTION_DELETE
_BASELINE = AbstractObjectDelta.ACTION_BASELINE


class Attribution:
    """Actor and descriptions of the changes recorded under one frame.

    ``Attribution.of(frame)`` keeps it on the frame, which is replaced when a
    value changes, so it is resolved once per frame rather than per change.
    """

    @classmethod
    def of(cls, frame: Frame) -> Attribution:
        found = frame.memo.get("attribution")
        if found is None:
            found = frame.memo["attribution"] = cls(frame)
        return found

    def __init__(self, frame: Frame) -> None:
        self.actor = frame.actor
        self.actor_ref = actor_reference(self.actor)
        self.object_description = clean_text(frame.object_delta_description)
        self.attribute_description = clean_text(frame.attribute_delta_description)
        self.deletion_description = clean_text(frame.deletion_description)
        # {id(actor): (actor, reference)}: holding the actor keeps its id
        # from being reused by another object while the frame lives.
        self._references: dict[int, tuple[Any, ActorRef]] = {}
        self._content_types: dict[tuple[type[models.Model], str], int] = {}

    def reference(self, actor: Any) -> ActorRef:
        """The stored form of an actor who assigned a field."""
        if actor is self.actor:
            return self.actor_ref
        found = self._references.get(id(actor))
        if found is None or found[0] is not actor:
            found = self._references[id(actor)] = (actor, actor_reference(actor))
        return found[1]

    def content_type_id(self, model: type[models.Model], using: str) -> int:
        key = (model, using)
        if key not in self._content_types:
            manager = _content_type_managers.get(using)
            if manager is None:
                # Copies share ContentType's cache, which Django clears when
                # content types change; making one per change costs more.
                manager = _content_type_managers[using] = (
                    ContentType.objects.db_manager(using)
                )
            self._content_types[key] = manager.get_for_model(model).pk
        return self._content_types[key]


_content_type_managers: dict[str, Any] = {}


class Recorder:
    """Records the changes of one write on ``using``, under ``frame``.

    :meth:`attribute` makes the attribute deltas; :meth:`created`,
    :meth:`updated`, :meth:`deleted` and :meth:`baseline` queue an object
    delta with them. A writer that must order or link its deltas before
    they are queued (a cascade) makes them with :meth:`delta` and queues
    them with :meth:`add`.
    """

    __slots__ = (
        "frame",
        "using",
        "encoder",
        "_connection",
        "_revision",
        "_who",
        "_masked",
    )

    def __init__(self, frame: Frame, using: str) -> None:
        self.frame = frame
        self.using = using
        self.encoder = conf.value_encoder()
        self._connection = connections[using]
        self._revision: Any = None
        self._who: Attribution | None = None
        # {model: its masked fields}: read once per write, not once a value.
        self._masked: dict[type[models.Model], frozenset[str]] = {}
        # A deferred actor (a request's) is resolved before anything is
        # written: a resolver's refusal comes before the change it refuses.
        resolved(frame.actor)

    @property
    def who(self) -> Attribution:
        """Who acts: resolved when the first change is recorded."""
        if self._who is None:
            self._who = Attribution.of(self.frame)
        return self._who

    @property
    def revision(self) -> Any:
        """The revision this write adds to, made with its first change."""
        if self._revision is None:
            self._revision = transactions.revision_for(self.frame, self.using)
        return self._revision

    def encode(self, field: models.Field, value: Any) -> Any:
        """``value`` of ``field`` as history stores it: the mask marker for
        a masked field (``REVY_MASKED_FIELDS``)."""
        masked = self._masked.get(field.model)
        if masked is None:
            masked = self._masked[field.model] = conf.field_rules(field.model).masked
        if field.name in masked:
            return mask_marker()
        return encode(self.encoder, field, value, self._connection)

    def check_fits(
        self, model: type[models.Model], name: str, old: Any, new: Any
    ) -> None:
        """Refuse, before the data is written, a change whose attribute delta
        (``old`` and ``new`` as stored) would not fit in one statement."""
        if not (may_be_large(old) or may_be_large(new)):
            return
        backend = backends.of(self.using)
        texts = [
            "null" if value is JSON_NULL else json.dumps(value)
            for value in (old, new)
            if value is not None
        ]
        if not backend.may_exceed(texts):
            return
        size = backend.params_bytes(texts)
        if size > backend.max_statement_bytes():
            shown = repr(new if new is not None else old)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            raise HistoryRowTooLarge(
                f"revy cannot record {model._meta.label}.{name} = {shown}: its "
                f"old and new values take {size:,} bytes as a row of history, "
                f"more than {backend.limit()}. Raise that limit, or make the "
                "change inside Context.as_disabled() to leave it unrecorded."
            )

    def check_change(
        self, model: type[models.Model], field: models.Field, old: Any, new: Any
    ) -> None:
        """:meth:`check_fits` for the values of ``field`` before and after a
        change, as the row holds them; encoded only when they may be large."""
        if may_be_large(old) or may_be_large(new):
            self.check_fits(
                model,
                field.name,
                None if old is None else self.encode(field, old),
                None if new is None else self.encode(field, new),
            )

    def attribute(
        self, name: str, old: Any, new: Any, assigned: Assignment | None = None
    ) -> AttributeRow:
        """An attribute delta: ``old`` and ``new`` as stored (None: no such
        side), credited to whoever ``assigned`` the field, else to the
        frame's actor."""
        who = self.who
        if assigned is None:
            ref = who.actor_ref
            return AttributeRow(name, old, new, *ref, who.attribute_description)
        ref = who.reference(assigned.actor)
        return AttributeRow(name, old, new, *ref, clean_text(assigned.description))

    def delta(
        self,
        action: str,
        model: type[models.Model],
        pk: Any,
        attributes: list[AttributeRow],
        cause: PendingObjectDelta | None = None,
        caused_by_deletion: bool = False,
    ) -> PendingObjectDelta:
        """An object delta, not queued yet. Deletes, and the updates a
        delete causes (SET_NULL and friends), carry the deletion
        description."""
        who = self.who
        deleting = caused_by_deletion or action == _DELETE
        return PendingObjectDelta(
            self.revision,
            action,
            who.content_type_id(model, self.using),
            recordable_key(model, pk),
            *who.actor_ref,
            who.object_description,
            who.deletion_description if deleting else "",
            cause,
            attributes,
        )

    def add(self, delta: PendingObjectDelta) -> None:
        """Queue ``delta`` for writing with the data's transaction."""
        transactions.add(self._connection, delta)

    def created(
        self, model: type[models.Model], pk: Any, attributes: list[AttributeRow]
    ) -> None:
        self.add(self.delta(_CREATE, model, pk, attributes))

    def updated(
        self,
        model: type[models.Model],
        pk: Any,
        attributes: list[AttributeRow],
        cause: PendingObjectDelta | None = None,
        caused_by_deletion: bool = False,
    ) -> PendingObjectDelta:
        delta = self.delta(_UPDATE, model, pk, attributes, cause, caused_by_deletion)
        self.add(delta)
        return delta

    def baseline(
        self, model: type[models.Model], pk: Any, attributes: list[AttributeRow]
    ) -> None:
        """The state of a row, recorded without being a change (decision 0010)."""
        self.add(self.delta(_BASELINE, model, pk, attributes))

    def members_changed(
        self,
        model: type[models.Model],
        pk: Any,
        relation: str,
        member_model: type[models.Model],
        removed: Any,
        added: Any,
        cause: PendingObjectDelta | None = None,
    ) -> PendingObjectDelta:
        """An update of ``model`` row ``pk`` whose many-to-many ``relation``
        lost the ``removed`` and gained the ``added`` member keys."""
        attribute = self.attribute(
            relation,
            self.member_keys(member_model, removed),
            self.member_keys(member_model, added),
        )
        return self.updated(model, pk, [attribute], cause=cause)

    def member_keys(self, model: type[models.Model], pks: Any) -> list[Any]:
        """Member keys as a many-to-many attribute delta stores them: sorted."""
        field = model._meta.pk
        return sorted(self.encoder.encode(field, pk) for pk in pks)


def recordable_key(model: type[models.Model], pk: Any) -> str:
    """``key_text``, refusing a key its own field cannot read back: history
    could not find the row again."""
    try:
        return key_text(model, pk)
    except (TypeError, ValueError, ValidationError) as error:
        raise NotRecordable(
            f"revy cannot record {model._meta.label} row {pk!r}: its primary "
            f"key field cannot read the key back ({type(error).__name__}). Give "
            "the key field a to_python() that accepts the values it holds, or "
            "leave the model untracked (REVY_UNTRACKED_MODELS)."
        ) from error
