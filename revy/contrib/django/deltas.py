"""Building history rows: who acted, what changed, and reading stored values.

Shared by the capture of saves and deletes (``capture.py``), of bulk writes
(``bulk.py``) and of many-to-many changes (``relations.py``).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import operator
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.base import DEFERRED, ModelState
from django.db.models.expressions import Expression

from revy.context import (
    ACTOR,
    ATTRIBUTE_DELTA_DESCRIPTION,
    DELETION_DESCRIPTION,
    ENABLED,
    OBJECT_DELTA_DESCRIPTION,
    Activation,
    Context,
    Frame,
    current_frame,
)
from revy.contrib.django import conf, tracking
from revy.contrib.django.encoding import key_text

_SYSTEM = Context()

# Set while Django carries out a write that revy has recorded as a whole:
# the writes it makes on the way (bulk_update's updates, the SET_NULL
# updates of a delete) are part of that record.
_recorded_by_caller: ContextVar[bool] = ContextVar("revy_nested", default=False)


class NotRecordable(RuntimeError):
    """A write revy cannot record truthfully; nothing of it was written."""


@contextmanager
def nested_writes_recorded() -> Iterator[None]:
    """Run Django's own nested writes of a write revy records as a whole."""
    token = _recorded_by_caller.set(True)
    try:
        yield
    finally:
        _recorded_by_caller.reset(token)


@contextmanager
def receivers_recorded() -> Iterator[None]:
    """Record what signal receivers write, inside a write revy records as a
    whole: their writes are the user's, not Django's."""
    token = _recorded_by_caller.set(False)
    try:
        yield
    finally:
        _recorded_by_caller.reset(token)


def recording_frame() -> Frame | None:
    """The frame changes are recorded under now; None when nothing is recorded."""
    if _recorded_by_caller.get():
        return None
    frame = current_frame()
    if frame is None:
        if conf.record_outside_context():
            # A revision of its own for each change, by the system.
            return Frame(_SYSTEM, None, {}, Activation())
        return None
    return frame if frame.values.get(ENABLED, True) else None


def saved_fields(
    model: type[models.Model], update_fields: Iterable[str] | None
) -> list[models.Field]:
    """The concrete fields, except the primary key, that a save writes."""
    fields = _writable_fields(model)
    if update_fields is None:
        return fields
    names = set(update_fields)
    return [f for f in fields if f.name in names or f.attname in names]


@functools.cache
def _writable_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    ]


def content_types_of_row(model: type[models.Model]) -> tuple[int, ...] | None:
    """The content type ids a row of ``model``, or a value of one of its
    fields, is recorded under when multi-table children share it (a save
    through a child records under the child's model, with every field of
    the row); None when ``model`` shares its table with no other model. A
    parent's content type is not one of them: a parent row need not have a
    child row at all (see :func:`parent_content_types`)."""
    concrete = model._meta.concrete_model
    models_ = (concrete, *children_of(concrete))
    if len(models_) == 1 and not concrete._meta.parents:
        return None
    return content_type_ids(models_)


def parent_content_types(model: type[models.Model]) -> tuple[int, ...]:
    """The content type ids of ``model``'s multi-table parents. An update
    saved through a parent instance changes the fields the row shares with
    it, and is recorded under the parent's model."""
    parents = model._meta.concrete_model._meta.all_parents
    return content_type_ids(parents) if parents else ()


def content_type_ids(models_: Iterable[type[models.Model]]) -> tuple[int, ...]:
    """The content type ids of ``models_``, sorted."""
    found = ContentType.objects.get_for_models(*models_)
    return tuple(sorted(content_type.pk for content_type in found.values()))


@functools.cache
def children_of(model: type[models.Model]) -> tuple[type[models.Model], ...]:
    """The concrete models that inherit ``model``'s table, at any depth."""
    from django.apps import apps

    return tuple(
        other
        for other in apps.get_models()
        if not other._meta.proxy and model in other._meta.all_parents
    )


# Types of the values fields hold that are never SQL expressions.
_PLAIN_VALUE_TYPES = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        str,
        bytes,
        decimal.Decimal,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        uuid.UUID,
    }
)


def is_expression(value: Any) -> bool:
    if type(value) in _PLAIN_VALUE_TYPES:
        return False
    return isinstance(value, Expression) or hasattr(value, "resolve_expression")


def read_back(field: models.Field, value: Any) -> bool:
    """Whether the value the database stores for ``value`` must be read back:
    an expression, or a number finer than its DecimalField, which the
    database rounds its own way."""
    if is_expression(value):
        return True
    if value is None or not isinstance(field, models.DecimalField):
        return False
    if not isinstance(value, decimal.Decimal):
        try:
            value = field.to_python(value)  # A float or text, as Django takes it.
        except ValidationError:
            return False
    return value.is_finite() and value.as_tuple().exponent < -field.decimal_places


def fetch_values(
    model: type[models.Model], using: str, pk: Any, fields: Sequence[models.Field]
) -> dict[str, Any] | None:
    """The stored values of ``fields`` of one row, or None if it does not exist."""
    if not fields:
        exists = model._base_manager.using(using).filter(pk=pk).exists()
        return {} if exists else None
    attnames = [field.attname for field in fields]
    row = model._base_manager.using(using).filter(pk=pk).values_list(*attnames).first()
    return None if row is None else dict(zip(attnames, row, strict=True))


def may_differ(
    instance: models.Model, model: type[models.Model], fields: Sequence[models.Field]
) -> Sequence[models.Field]:
    """Those of ``fields`` whose values on ``instance`` may differ from what
    its row holds: all of them, unless the instance knows its row; then the
    fields assigned since (``tracking.originals``), values that change in
    place and fields that compute their value on save."""
    if not tracking.is_known(instance):
        return fields
    originals = tracking.originals(instance)
    pk_attname = model._meta.pk.attname
    if pk_attname in originals and originals[pk_attname] != instance.pk:
        return fields  # The key changed since loading: another row.
    changeable = _changeable_unassigned(model)
    return [f for f in fields if f.attname in originals or f.attname in changeable]


@functools.cache
def _changeable_unassigned(model: type[models.Model]) -> frozenset[str]:
    """Attnames whose value may change with no assignment: values changed in
    place (JSON and the like) and fields with their own ``pre_save``."""
    return frozenset(tracking.mutable_attnames(model)) | {
        field.attname
        for field in model._meta.concrete_fields
        if type(field).pre_save is not models.Field.pre_save
    }


def old_values(
    instance: models.Model,
    model: type[models.Model],
    using: str,
    fields: Sequence[models.Field],
    force_insert: bool,
) -> dict[str, Any] | None:
    """The stored values of ``fields`` before this save; None for a new row."""
    pk = instance.pk
    if pk is None:
        return None  # A new row, a copy made by clearing the key included.
    known = tracking.is_known(instance)
    if known and tracking.stored_value(instance, model._meta.pk.attname) != pk:
        known = False  # The key changed since loading: another row.
    if not known:
        if force_insert:
            return None
        if instance._state.adding and model._meta.pk.has_default():
            return None  # Django inserts such rows without looking.
        return fetch_values(model, using, pk, fields)
    data = instance.__dict__
    originals = tracking.originals(instance)
    old = {
        attname: originals[attname]
        if attname in originals
        else data.get(attname, DEFERRED)
        for attname in (f.attname for f in fields)
    }
    # An expression computes from what the row holds now: read that.
    missing = [
        f
        for f in fields
        if old[f.attname] is DEFERRED or is_expression(data.get(f.attname))
    ]
    if missing:
        fetched = fetch_values(model, using, pk, missing)
        if fetched is None:
            return None
        old.update(fetched)
    return old


def same_value(field: models.Field, old: Any, new: Any) -> bool:
    """Whether the field writes the same to the database for both."""
    if old == new:
        return True
    try:
        return field.get_prep_value(old) == field.get_prep_value(new)
    except Exception:
        return False


class Attribution:
    """Actor and descriptions of one recorded change, resolved once.

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
        values = frame.values
        self.actor = values.get(ACTOR)
        self.actor_type_id, self.actor_id = _actor_reference(self.actor)
        self.object_description = values.get(OBJECT_DELTA_DESCRIPTION, "")
        self.attribute_description = values.get(ATTRIBUTE_DELTA_DESCRIPTION, "")
        self.deletion_description = values.get(DELETION_DESCRIPTION, "")
        self.object_delta_model = history_models()[0]
        # {id(actor): (actor, reference)}: holding the actor keeps its id
        # from being reused by another object while the frame lives.
        self._references: dict[int, tuple[Any, tuple[Any, Any]]] = {}
        self._content_types: dict[tuple[type[models.Model], str], int] = {}

    def reference(self, actor: Any) -> tuple[Any, Any]:
        """``(content type id, id)`` of an actor."""
        if actor is self.actor:
            return self.actor_type_id, self.actor_id
        found = self._references.get(id(actor))
        if found is None or found[0] is not actor:
            found = self._references[id(actor)] = (actor, _actor_reference(actor))
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


def _actor_reference(actor: Any) -> tuple[Any, Any]:
    from revy.contrib.django.models import actor_reference

    content_type, actor_id = actor_reference(actor)
    return (None if content_type is None else content_type.pk), actor_id


def history_models() -> tuple[Any, Any]:
    """The ObjectDelta and AttributeDelta models in use."""
    return conf.kept("history_models", _history_models)


def _history_models() -> tuple[Any, Any]:
    from revy.contrib.django.models import (
        get_attribute_delta_model,
        get_object_delta_model,
    )

    return get_object_delta_model(), get_attribute_delta_model()


@functools.cache
def _defaults(model: type[models.Model]) -> tuple[dict[str, Any], list[Any]]:
    """``({attname: default}, [(attname, make default)])`` of ``model``."""
    static, dynamic = {}, []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            dynamic.append((field.attname, field.get_default))
        else:
            static[field.attname] = field.get_default()
    return static, dynamic


def build(model: type[models.Model], values: dict[str, Any]) -> Any:
    """An unsaved instance of a history model, as ``model(**values)`` makes,
    without the cost of ``Model.__init__`` for the thousands a bulk write
    records. ``values`` are keyed by attname."""
    if not tracking.can_build_directly(model):
        return model(**values)
    obj = model.__new__(model)
    data = obj.__dict__
    static, dynamic = _defaults(model)
    data.update(static)
    for attname, make in dynamic:
        data[attname] = make()
    data.update(values)
    data["_state"] = ModelState()
    return obj


_OBJECT_DELTA_FIELDS = (
    "action",
    "content_type_id",
    "content_id",
    "actor_content_type_id",
    "actor_id",
    "description",
    "deletion_description",
)


class PendingObjectDelta:
    """An object delta waiting to be written (see recorder.py): far cheaper
    than a model instance for the thousands a bulk write records. ``pk`` is
    set once it is inserted; ``revision`` may itself wait to be written;
    ``cause`` is the pending delete that made it happen, if any."""

    __slots__ = ("revision", *_OBJECT_DELTA_FIELDS, "cause", "pk")

    # The columns of row(), in its order.
    COLUMNS = ("revision_id", *_OBJECT_DELTA_FIELDS, "cause_id")
    _values = operator.attrgetter(*_OBJECT_DELTA_FIELDS)

    def __init__(
        self,
        revision: Any,
        action: str,
        content_type_id: int,
        content_id: str,
        actor_content_type_id: int | None,
        actor_id: str | None,
        description: str,
        deletion_description: str,
        cause: PendingObjectDelta | None,
    ) -> None:
        self.revision = revision
        self.action = action
        self.content_type_id = content_type_id
        self.content_id = content_id
        self.actor_content_type_id = actor_content_type_id
        self.actor_id = actor_id
        self.description = description
        self.deletion_description = deletion_description
        self.cause = cause
        self.pk: Any = None

    def row(self) -> tuple[Any, ...]:
        """The values of ``COLUMNS``; the revision and a cause must be
        written first."""
        cause = self.cause
        return (
            self.revision.pk,
            *self._values(self),
            None if cause is None else cause.pk,
        )


def new_object_delta(
    revision: Any,
    action: str,
    model: type[models.Model],
    pk: Any,
    who: Attribution,
    using: str,
    cause: PendingObjectDelta | None = None,
    caused_by_deletion: bool = False,
) -> PendingObjectDelta:
    """An object delta to write; deletes, and the updates a delete causes
    (SET_NULL and friends), carry the deletion description."""
    return PendingObjectDelta(
        revision,
        action,
        who.content_type_id(model, using),
        key_text(model, pk),
        who.actor_type_id,
        who.actor_id,
        who.object_description,
        who.deletion_description
        if caused_by_deletion or action == who.object_delta_model.ACTION_DELETE
        else "",
        cause,
    )


# What an attribute delta holds until it is written, in this order; the
# object delta's key and target go before it then (see recorder.py).
ATTRIBUTE_DELTA_FIELDS = (
    "field_name",
    "old_value",
    "new_value",
    "actor_content_type_id",
    "actor_id",
    "description",
)


def new_attribute_delta(
    field_name: str,
    old: Any,
    new: Any,
    who: Attribution,
    assigned: tuple[Any, str] | None = None,
) -> tuple[Any, ...]:
    """An attribute delta to write, as the values of ``ATTRIBUTE_DELTA_FIELDS``:
    thousands of them cost far less as tuples than as model instances."""
    if assigned is None:
        return (
            field_name,
            old,
            new,
            who.actor_type_id,
            who.actor_id,
            who.attribute_description,
        )
    actor_type_id, actor_id = who.reference(assigned[0])
    return (field_name, old, new, actor_type_id, actor_id, assigned[1])


def stored_rows(
    model: type[models.Model],
    using: str,
    instances: Sequence[models.Model],
    fields: Sequence[models.Field] | None = None,
) -> dict[Any, dict[str, Any]]:
    """``{pk: {attname: value}}`` of ``fields`` (default: every concrete
    field) as the rows of ``instances`` hold them: what each instance knows,
    and the rest read in batches."""
    if fields is None:
        fields = model._meta.concrete_fields
    rows: dict[Any, dict[str, Any]] = {}
    unknown = []
    for instance in instances:
        if tracking.is_known(instance):
            row = {
                f.attname: tracking.stored_value(instance, f.attname) for f in fields
            }
            if DEFERRED not in row.values():
                rows[instance.pk] = row
                continue
        unknown.append(instance.pk)
    if unknown:
        rows.update(read_rows(model, using, model._base_manager.all(), unknown, fields))
    return rows


def read_rows(
    model: type[models.Model],
    using: str,
    queryset: models.QuerySet,
    pks: Sequence[Any] | None = None,
    fields: Sequence[models.Field] | None = None,
) -> dict[Any, dict[str, Any]]:
    """``{pk: {attname: value}}`` of the rows of ``queryset``, read in batches.

    ``pks`` narrows the rows to those primary keys; ``fields`` narrows the
    values to those fields (default: every concrete field).
    """
    if fields is None:
        fields = model._meta.concrete_fields
    pk_attname = model._meta.pk.attname
    attnames = [pk_attname] + [f.attname for f in fields if f.attname != pk_attname]
    size = conf.batch_size()
    queryset = queryset.using(using).order_by()
    if pks is None:
        chunks: Iterable[Any] = [queryset]
    else:
        chunks = (
            queryset.filter(pk__in=pks[start : start + size])
            for start in range(0, len(pks), size)
        )
    rows = {}
    for chunk in chunks:
        for values in chunk.values_list(*attnames).iterator(chunk_size=size):
            row = dict(zip(attnames, values, strict=True))
            rows[row[pk_attname]] = row
    return rows
