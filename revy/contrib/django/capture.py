"""Recording creates, updates and deletes of tracked models.

``install()`` wraps three Django methods: ``Model.save_base`` (creates and
updates), ``Model.refresh_from_db`` (what the database holds changed) and
``Collector.delete`` (deletes, cascades and the foreign keys they set).
Outside an enabled context each wrapper costs one ContextVar lookup and
calls Django's method unchanged. Why wrapping rather than signals is in
``docs/decisions/0002-capture-by-wrapping-django.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, router, transaction
from django.db.models.base import DEFERRED
from django.db.models.deletion import Collector
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
from revy.contrib.django import conf, recorder, tracking
from revy.contrib.django.encoding import encode

_SYSTEM = Context()


def recording_frame() -> Frame | None:
    """The frame changes are recorded under now; None when nothing is recorded."""
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
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    ]
    if update_fields is None:
        return fields
    names = set(update_fields)
    return [f for f in fields if f.name in names or f.attname in names]


def is_expression(value: Any) -> bool:
    return isinstance(value, Expression) or hasattr(value, "resolve_expression")


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


def old_values(
    instance: models.Model,
    model: type[models.Model],
    using: str,
    fields: Sequence[models.Field],
    force_insert: bool,
) -> dict[str, Any] | None:
    """The stored values of ``fields`` before this save; None for a new row."""
    loaded = tracking.loaded_values(instance)
    pk = instance.pk
    if loaded is None:
        if pk is None or force_insert:
            return None
        if instance._state.adding and model._meta.pk.has_default():
            return None  # Django inserts such rows without looking.
        return fetch_values(model, using, pk, fields)
    by_attname = dict(
        zip((f.attname for f in model._meta.concrete_fields), loaded, strict=True)
    )
    old = {f.attname: by_attname[f.attname] for f in fields}
    missing = [f for f in fields if old[f.attname] is DEFERRED]
    if missing:
        fetched = fetch_values(model, using, pk, missing)
        if fetched is None:
            return None
        old.update(fetched)
    return old


def _same(field: models.Field, old: Any, new: Any) -> bool:
    if old == new:
        return True
    try:
        return field.to_python(old) == field.to_python(new)
    except Exception:
        return False


class _Attribution:
    """Actor and descriptions of one recorded change, resolved once."""

    def __init__(self, frame: Frame) -> None:
        values = frame.values
        self.actor = values.get(ACTOR)
        self.actor_type, self.actor_id = _actor_reference(self.actor)
        self.object_description = values.get(OBJECT_DELTA_DESCRIPTION, "")
        self.attribute_description = values.get(ATTRIBUTE_DELTA_DESCRIPTION, "")
        self.deletion_description = values.get(DELETION_DESCRIPTION, "")
        self._references: dict[int, tuple[Any, Any]] = {}

    def reference(self, actor: Any) -> tuple[Any, Any]:
        if actor is self.actor:
            return self.actor_type, self.actor_id
        key = id(actor)
        if key not in self._references:
            self._references[key] = _actor_reference(actor)
        return self._references[key]


def _actor_reference(actor: Any) -> tuple[Any, Any]:
    from revy.contrib.django.models import actor_reference

    return actor_reference(actor)


def _models() -> tuple[Any, Any]:
    from revy.contrib.django.models import (
        get_attribute_delta_model,
        get_object_delta_model,
    )

    return get_object_delta_model(), get_attribute_delta_model()


def new_object_delta(
    revision: Any,
    action: str,
    model: type[models.Model],
    pk: Any,
    who: _Attribution,
    using: str,
    cause: Any = None,
) -> Any:
    object_delta_model, _ = _models()
    return object_delta_model(
        revision=revision,
        action=action,
        content_type=ContentType.objects.db_manager(using).get_for_model(model),
        content_id=str(pk),
        actor_content_type=who.actor_type,
        actor_id=who.actor_id,
        description=who.object_description,
        deletion_description=(
            who.deletion_description
            if action == object_delta_model.ACTION_DELETE
            else ""
        ),
        cause=cause,
    )


def new_attribute_delta(
    field: models.Field,
    old: Any,
    new: Any,
    who: _Attribution,
    assigned: tuple[Any, str] | None = None,
) -> Any:
    _, attribute_delta_model = _models()
    if assigned is None:
        actor_type, actor_id = who.actor_type, who.actor_id
        description = who.attribute_description
    else:
        actor_type, actor_id = who.reference(assigned[0])
        description = assigned[1]
    return attribute_delta_model(
        field_name=field.name,
        old_value=old,
        new_value=new,
        actor_content_type=actor_type,
        actor_id=actor_id,
        description=description,
    )


# Saves -----------------------------------------------------------------------


def _record_save(
    original: Any,
    instance: models.Model,
    frame: Frame,
    model: type[models.Model],
    using: str,
    save_args: tuple[Any, ...],
    update_fields: Iterable[str] | None,
) -> None:
    encoder = conf.value_encoder()
    force_insert = save_args[1]
    fields = saved_fields(model, update_fields)
    old = old_values(instance, model, using, fields, bool(force_insert))
    data = instance.__dict__
    # Encode before writing, so a value revy cannot store fails the save
    # before anything reaches the database.
    before = {f.attname: data.get(f.attname, DEFERRED) for f in fields}
    encoded = {
        attname: encode(encoder, field, value)
        for field in fields
        if not is_expression(value := before[attname := field.attname])
        and value is not DEFERRED
    }
    original(instance, *save_args, update_fields=update_fields)
    with transaction.mark_for_rollback_on_error(using):
        stored = {f.attname: data.get(f.attname, DEFERRED) for f in fields}
        computed = [f for f in fields if is_expression(stored[f.attname])]
        if computed:
            stored.update(fetch_values(model, using, instance.pk, computed) or {})
        if old is None:
            changed = fields
        else:
            changed = [
                f
                for f in fields
                if stored[f.attname] is not DEFERRED
                and not _same(f, old[f.attname], stored[f.attname])
            ]
        if changed:
            who = _Attribution(frame)
            object_delta_model, _ = _models()
            assigned = tracking.attributions(instance)
            attribute_deltas = []
            for field in changed:
                attname = field.attname
                new = stored[attname]
                attribute_deltas.append(
                    new_attribute_delta(
                        field,
                        None if old is None else encode(encoder, field, old[attname]),
                        encoded[attname]
                        if attname in encoded and before[attname] is new
                        else encode(encoder, field, new),
                        who,
                        assigned.get(attname),
                    )
                )
            object_delta = new_object_delta(
                recorder.revision_for(frame, using),
                object_delta_model.ACTION_CREATE
                if old is None
                else object_delta_model.ACTION_UPDATE,
                model,
                instance.pk,
                who,
                using,
            )
            recorder.add(using, object_delta, attribute_deltas)
        _remember_saved(instance, stored)


def _remember_saved(instance: models.Model, stored: dict[str, Any]) -> None:
    """The database now holds ``stored``; the rest is as it was loaded."""
    loaded = tracking.loaded_values(instance)
    data = instance.__dict__
    values = []
    for index, field in enumerate(instance._meta.concrete_fields):
        attname = field.attname
        if attname in stored:
            values.append(stored[attname])
        elif field.primary_key:
            values.append(data.get(attname, DEFERRED))
        elif loaded is not None:
            values.append(loaded[index])
        else:
            values.append(DEFERRED)
    instance._state.revy_loaded = tuple(values)
    tracking.forget_attributions(instance, stored)


def _wrap_save_base(original: Any) -> Any:
    def save_base(
        self: models.Model,
        raw: bool = False,
        force_insert: Any = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: Iterable[str] | None = None,
    ) -> None:
        model = self._meta.concrete_model
        frame = recording_frame()
        if frame is None or raw or not conf.is_tracked(model):
            original(self, raw, force_insert, force_update, using, update_fields)
            if tracking.is_installed(type(self)) and not raw:
                stored = {
                    f.attname: self.__dict__.get(f.attname, DEFERRED)
                    for f in saved_fields(model, update_fields)
                }
                _remember_saved(self, stored)
            return
        using = using or router.db_for_write(type(self), instance=self)
        args = (raw, force_insert, force_update, using)
        if connections[using].in_atomic_block:
            _record_save(original, self, frame, model, using, args, update_fields)
        else:
            with transaction.atomic(using=using, savepoint=False):
                _record_save(original, self, frame, model, using, args, update_fields)

    save_base.alters_data = True  # type: ignore[attr-defined]
    return save_base


def _wrap_refresh_from_db(original: Any) -> Any:
    def refresh_from_db(
        self: models.Model,
        using: str | None = None,
        fields: Iterable[str] | None = None,
        from_queryset: Any = None,
    ) -> None:
        original(self, using=using, fields=fields, from_queryset=from_queryset)
        if not tracking.is_installed(type(self)):
            return
        data = self.__dict__
        loaded = tracking.loaded_values(self)
        wanted = None if fields is None else set(fields)
        values = []
        refreshed = []
        for index, field in enumerate(self._meta.concrete_fields):
            attname = field.attname
            if attname in data and (
                wanted is None or attname in wanted or field.name in wanted
            ):
                values.append(data[attname])
                refreshed.append(attname)
            else:
                values.append(DEFERRED if loaded is None else loaded[index])
        self._state.revy_loaded = tuple(values)
        tracking.forget_attributions(self, refreshed)

    return refresh_from_db


# Deletes ---------------------------------------------------------------------


def _stored_rows(
    model: type[models.Model], using: str, instances: Sequence[models.Model]
) -> dict[Any, dict[str, Any]]:
    """``{pk: {attname: value}}`` as stored, for instances about to be deleted.

    Values come from what each instance remembers of the database; rows
    that were deferred or never loaded are read in batches.
    """
    fields = model._meta.concrete_fields
    attnames = [field.attname for field in fields]
    rows: dict[Any, dict[str, Any]] = {}
    unknown = []
    for instance in instances:
        loaded = tracking.loaded_values(instance)
        if loaded is None or DEFERRED in loaded:
            unknown.append(instance.pk)
        else:
            rows[instance.pk] = dict(zip(attnames, loaded, strict=True))
    rows.update(_read_rows(model, using, model._base_manager.all(), unknown))
    return rows


def _read_rows(
    model: type[models.Model],
    using: str,
    queryset: models.QuerySet,
    pks: Sequence[Any] | None = None,
) -> dict[Any, dict[str, Any]]:
    attnames = [field.attname for field in model._meta.concrete_fields]
    pk_attname = model._meta.pk.attname
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


def _record_deletion(frame: Frame, collector: Collector) -> None:
    using = collector.using
    deleted: dict[type[models.Model], dict[Any, dict[str, Any]]] = {}
    for model, instances in collector.data.items():
        concrete = model._meta.concrete_model
        if model._meta.auto_created or not conf.is_tracked(concrete) or not instances:
            continue
        deleted.setdefault(concrete, {}).update(
            _stored_rows(concrete, using, list(instances))
        )
    for queryset in collector.fast_deletes:
        concrete = queryset.model._meta.concrete_model
        if queryset.model._meta.auto_created or not conf.is_tracked(concrete):
            continue
        deleted.setdefault(concrete, {}).update(_read_rows(concrete, using, queryset))
    _drop_parent_rows(deleted)
    if not deleted and not collector.field_updates:
        return

    encoder = conf.value_encoder()
    who = _Attribution(frame)
    object_delta_model, _ = _models()
    revision = None
    deltas: dict[type[models.Model], dict[Any, Any]] = {}
    entries = []
    for model, rows in deleted.items():
        fields = saved_fields(model, None)
        for pk, row in rows.items():
            revision = revision or recorder.revision_for(frame, using)
            delta = new_object_delta(
                revision, object_delta_model.ACTION_DELETE, model, pk, who, using
            )
            deltas.setdefault(model, {})[pk] = (delta, row)
            attributes = [
                new_attribute_delta(f, encode(encoder, f, row[f.attname]), None, who)
                for f in fields
            ]
            entries.append((delta, attributes))
    for model, by_pk in deltas.items():
        for delta, row in by_pk.values():
            delta.cause = _cause(model, row, deltas)

    for (field, value), targets in collector.field_updates.items():
        model = field.model._meta.concrete_model
        if not conf.is_tracked(model):
            continue
        for pk, old in _field_values(model, using, field, targets):
            if old == value or pk in deleted.get(model, ()):
                continue
            revision = revision or recorder.revision_for(frame, using)
            delta = new_object_delta(
                revision,
                object_delta_model.ACTION_UPDATE,
                model,
                pk,
                who,
                using,
                cause=_cause_of_field(field, old, deltas),
            )
            attribute = new_attribute_delta(
                field,
                encode(encoder, field, old),
                encode(encoder, field, value),
                who,
            )
            entries.append((delta, [attribute]))
    for delta, attributes in entries:
        recorder.add(using, delta, attributes)


def _drop_parent_rows(deleted: dict[type[models.Model], dict[Any, Any]]) -> None:
    """A multi-table child and its parent rows are one object: keep the child."""
    for model in list(deleted):
        for parent, link in model._meta.parents.items():
            parent_rows = deleted.get(parent._meta.concrete_model)
            if not parent_rows or link is None:
                continue
            for row in deleted[model].values():
                parent_rows.pop(row[link.attname], None)
    for model in [m for m, rows in deleted.items() if not rows]:
        del deleted[model]


def _cause(
    model: type[models.Model],
    row: dict[str, Any],
    deltas: dict[type[models.Model], dict[Any, Any]],
) -> Any:
    for field in model._meta.concrete_fields:
        if field.many_to_one or field.one_to_one:
            if getattr(field.remote_field, "parent_link", False):
                continue
            cause = _cause_of_field(field, row[field.attname], deltas)
            if cause is not None:
                return cause
    return None


def _cause_of_field(
    field: models.Field, value: Any, deltas: dict[type[models.Model], dict[Any, Any]]
) -> Any:
    if value is None or not field.is_relation:
        return None
    target = field.remote_field.model._meta.concrete_model
    if field.target_field is not target._meta.pk:
        return None
    found = deltas.get(target, {}).get(value)
    return None if found is None else found[0]


def _field_values(
    model: type[models.Model], using: str, field: models.Field, targets: list[Any]
) -> list[tuple[Any, Any]]:
    """``(pk, value of field)`` of every row a SET/SET_NULL/SET_DEFAULT changes."""
    pairs = []
    for target in targets:
        if isinstance(target, models.QuerySet) and target._result_cache is None:
            pairs.extend(
                target.using(using).order_by().values_list("pk", field.attname)
            )
        else:
            pairs.extend(
                (instance.pk, getattr(instance, field.attname)) for instance in target
            )
    return pairs


def _wrap_collector_delete(original: Any) -> Any:
    def delete(self: Collector) -> tuple[int, dict[str, int]]:
        frame = recording_frame()
        if frame is None:
            return original(self)
        with transaction.atomic(using=self.using, savepoint=False):
            _record_deletion(frame, self)
            return original(self)

    return delete


def install() -> None:
    """Wrap Django's save, refresh and delete methods, once."""
    if getattr(models.Model.save_base, "_revy", False):
        return
    for owner, name, wrap in (
        (models.Model, "save_base", _wrap_save_base),
        (models.Model, "refresh_from_db", _wrap_refresh_from_db),
        (Collector, "delete", _wrap_collector_delete),
    ):
        original = getattr(owner, name)
        wrapper = wrap(original)
        wrapper._revy = True
        wrapper.__wrapped__ = original
        wrapper.__name__ = name
        wrapper.__doc__ = original.__doc__
        setattr(owner, name, wrapper)
    tracking.install_from_db()
    recorder.install()
