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
from contextvars import ContextVar
from typing import Any

from django.db import connections, models, router
from django.db.models.base import DEFERRED

from revy.context import Frame
from revy.contrib.django import backends, conf, tracking, transactions, wrapping
from revy.contrib.django.capture import relations
from revy.contrib.django.capture.scope import recording_frame
from revy.contrib.django.exceptions import EncodingError
from revy.contrib.django.recording import Recorder, may_be_large
from revy.contrib.django.rows import (
    READ_AT_UPDATE,
    fetch_values,
    is_expression,
    locked_row,
    may_differ,
    old_values,
    read_back,
    recorded_fields,
    same_value,
    saved_fields,
    update_reading_rows,
)


class _ReadAtUpdate:
    """A save's locked read of its row, run as Django's ``_do_update`` runs:
    folded into the ``UPDATE`` where the database allows, else just before
    it. ``row``: the row as it was (None: no row was updated)."""

    __slots__ = ("instance", "model", "fields", "row")

    def __init__(
        self, instance: models.Model, model: type[models.Model], fields: list[Any]
    ) -> None:
        self.instance, self.model, self.fields = instance, model, fields
        self.row: dict[str, Any] | None = None


_read_at_update: ContextVar[_ReadAtUpdate | None] = ContextVar(
    "revy_read_at_update", default=None
)


def _reads_at_update(
    instance: models.Model, model: type[models.Model], fields: list[Any], using: str
) -> bool:
    """Whether the save's read of its row can wait for its ``UPDATE``: one
    table (no parents), something to write, and no value large enough to
    check against history's limits before the write."""
    if not backends.of(using).updates_reading_rows or model._meta.parents:
        return False
    data = instance.__dict__
    return bool(fields) and not any(may_be_large(data.get(f.attname)) for f in fields)


def _encode_changes(
    recorder: Recorder,
    model: type[models.Model],
    fields: list[Any],
    old: dict[str, Any] | None,
    before: dict[str, Any],
) -> tuple[dict[str, Any], EncodingError | None]:
    """The changed values of ``before`` encoded, and the first error of a
    value revy cannot encode. Encoded before writing where the old values
    are known, so that a value too large for a row of history fails the save
    before anything reaches the database."""
    encoded = {}
    unencodable = None
    for field in fields:
        attname = field.attname
        value = before[attname]
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
    return encoded, unencodable


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
    old = old_values(
        instance,
        model,
        using,
        fields,
        bool(force_insert),
        read_row,
        read_at_update=instance.pk is not None
        and _reads_at_update(instance, model, fields, using),
    )
    data = instance.__dict__
    before = {f.attname: data.get(f.attname, DEFERRED) for f in fields}
    read = _ReadAtUpdate(instance, model, fields) if old is READ_AT_UPDATE else None
    if read is None:
        # A value revy cannot encode is Django's to refuse first, with its
        # own error; if Django writes it, revy's error undoes the write.
        encoded, unencodable = _encode_changes(recorder, model, fields, old, before)
        original(instance, *save_args, update_fields=update_fields)
    else:
        token = _read_at_update.set(read)
        try:
            original(instance, *save_args, update_fields=update_fields)
        finally:
            _read_at_update.reset(token)
        old = read.row
    try:
        if read is not None:  # The old values came with the write.
            encoded, unencodable = _encode_changes(recorder, model, fields, old, before)
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
    # A loop of saves in one transaction holds a batch of history at most.
    transactions.flush_if_full(using)


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


def _wrap_do_update(original: Any) -> Any:
    def _do_update(
        self: models.Model,
        base_qs: models.QuerySet,
        using: str,
        pk_val: Any,
        values: list[Any],
        update_fields: Any,
        forced_update: bool,
        *returning_fields: Any,  # Django 6 and later
    ) -> Any:
        args = (base_qs, using, pk_val, values, update_fields, forced_update)
        read = _read_at_update.get()
        if read is None or read.instance is not self or base_qs.model is not read.model:
            return original(self, *args, *returning_fields)
        if (
            values
            and not (returning_fields and returning_fields[0])
            and not (self._meta.select_on_save and not forced_update)
        ):
            rows = update_reading_rows(read.model, base_qs, pk_val, values, read.fields)
            if rows is not None:
                read.row = rows[0] if rows else None
                return [()] * len(rows) if returning_fields else bool(rows)
        # Django writes the row otherwise: read it, locked, first.
        read.row = locked_row(read.model, using, pk_val, read.fields)
        return original(self, *args, *returning_fields)

    return _do_update


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
    """Wrap ``Model.save_base``, ``_do_update``, ``refresh_from_db`` and
    ``from_db``, once."""
    wrapping.wrap(
        models.Model,
        {
            "save_base": _wrap_save_base,
            "_do_update": _wrap_do_update,
            "refresh_from_db": _wrap_refresh_from_db,
        },
    )
    tracking.install_from_db()
