"""Recording creates and updates: ``Model.save_base`` and ``refresh_from_db``.

A save computes the change against what the row held (``rows.py``), writes
through Django, and records the fields whose stored value changed, each
credited to whoever assigned it. In autocommit mode the save and its
history run in one ``atomic()``. A refresh tells the instance what its row
holds now. Outside an enabled context each wrapper costs one ContextVar
lookup and calls Django's method unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connections, models, router
from django.db.models.base import DEFERRED

from revy.context import Frame
from revy.contrib.django import conf, tracking, transactions, wrapping
from revy.contrib.django.capture import relations
from revy.contrib.django.capture.scope import recording_frame
from revy.contrib.django.exceptions import EncodingError
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import (
    fetch_values,
    is_expression,
    may_differ,
    old_values,
    read_back,
    recorded_fields,
    same_value,
    saved_fields,
)


def _record_save(
    original: Any,
    instance: models.Model,
    frame: Frame,
    model: type[models.Model],
    connection: Any,
    save_args: tuple[Any, ...],
    update_fields: Iterable[str] | None,
) -> None:
    using = connection.alias
    recorder = Recorder(frame, using)
    force_insert = save_args[1]
    fields = recorded_fields(model, update_fields)
    read_row = conf.read_before_save()
    if not read_row:
        fields = may_differ(instance, model, fields)
    old = old_values(instance, model, using, fields, bool(force_insert), read_row)
    data = instance.__dict__
    # Encode before writing, so a value too large for a row of history
    # fails the save before anything reaches the database. A value revy
    # cannot encode is Django's to refuse first, with its own error; if
    # Django writes it, revy's error undoes the write.
    before = {}
    encoded = {}
    unencodable = None
    for field in fields:
        attname = field.attname
        value = before[attname] = data.get(attname, DEFERRED)
        if value is DEFERRED or is_expression(value):
            continue
        if old is None or not same_value(field, old[attname], value):
            try:
                encoded[attname] = recorder.encode(field, value)
            except EncodingError as error:
                unencodable = unencodable or error
                continue
            recorder.check_change(
                model, field, None if old is None else old[attname], value
            )
    original(instance, *save_args, update_fields=update_fields)
    try:
        if unencodable is not None:
            raise unencodable
        stored = {}
        computed = []
        for field in fields:
            attname = field.attname
            value = stored[attname] = data.get(attname, DEFERRED)
            if read_back(field, value):
                computed.append(field)
        if computed:
            stored.update(fetch_values(model, using, instance.pk, computed) or {})
        if old is None:
            changed = fields
        else:
            changed = [
                f
                for f in fields
                if (new := stored[f.attname]) is not DEFERRED
                and (
                    # Unchanged by the save and compared above.
                    f.attname in encoded
                    if new is before[f.attname]
                    else not same_value(f, old[f.attname], new)
                )
            ]
        assigned = tracking.attributions(instance)
        attributes = []
        for field in changed:
            attname = field.attname
            new = stored[attname]
            attributes.append(
                recorder.attribute(
                    field.name,
                    None if old is None else recorder.encode(field, old[attname]),
                    encoded[attname]
                    if attname in encoded and before[attname] is new
                    else recorder.encode(field, new),
                    assigned.get(attname),
                )
            )
        if old is None:  # A row whose only field is its key too.
            recorder.created(model, instance.pk, attributes)
        elif attributes:
            recorder.updated(model, instance.pk, attributes)
        if (old is None or attributes) and relations.is_through(model):
            _record_through_save(recorder, instance, model, old, stored, changed)
    except Exception as error:
        if connection.in_atomic_block:  # As transaction.mark_for_rollback_on_error.
            connection.needs_rollback = True
            connection.rollback_exc = error
        raise
    remember_saved(instance, stored, connection)


def _record_through_save(
    recorder: Recorder,
    instance: models.Model,
    model: type[models.Model],
    old: dict[str, Any] | None,
    stored: dict[str, Any],
    changed: list[models.Field],
) -> None:
    """A saved row of an explicit through model joins the relation, or
    moves within it, on both sides."""
    if old is None:
        relations.record_through_rows(
            recorder, model, [{**stored, "pk": instance.pk}], added=True
        )
        return
    attnames = [field.attname for field in changed]
    relations.record_through_updates(
        recorder,
        model,
        {instance.pk: {a: old[a] for a in attnames}},
        {instance.pk: {a: stored[a] for a in attnames}},
    )


def remember_saved(
    instance: models.Model,
    stored: dict[str, Any],
    connection: Any = None,
    learnt: tracking.Learnt | None = None,
    learn: bool = True,
) -> None:
    """The database now holds ``stored``; the rest is as it was loaded.
    ``learnt``: a bulk write saved it (``transactions.learning()``);
    ``learn``: False leaves an instance that knew nothing of its row so."""
    tracking.remember_stored(instance, stored, learnt, learn)
    if learnt is not None:
        return
    taken = {a: v for a, v in tracking.attributions(instance).items() if a in stored}
    transactions.saved(instance, connection, taken)
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
                    for f in may_differ(self, model, saved_fields(model, update_fields))
                }
                remember_saved(self, stored)
            return
        using = using or router.db_for_write(type(self), instance=self)
        connection = connections[using]
        args = (raw, force_insert, force_update, using)
        if connection.in_atomic_block:
            _record_save(original, self, frame, model, connection, args, update_fields)
        else:
            with transactions.atomic(using):
                _record_save(
                    original, self, frame, model, connection, args, update_fields
                )

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
        wanted = None if fields is None else set(fields)
        refreshed = {
            field.attname: data[field.attname]
            for field in self._meta.concrete_fields
            if not field.primary_key
            and field.attname in data
            and (wanted is None or field.attname in wanted or field.name in wanted)
        }
        tracking.remember_stored(self, refreshed)
        tracking.forget_attributions(self, refreshed)
        transactions.saved(self)  # What it read is void if the transaction is undone.

    return refresh_from_db


def install() -> None:
    """Wrap ``Model.save_base``, ``refresh_from_db`` and ``from_db``, once."""
    wrapping.wrap(
        models.Model,
        {"save_base": _wrap_save_base, "refresh_from_db": _wrap_refresh_from_db},
    )
    tracking.install_from_db()
