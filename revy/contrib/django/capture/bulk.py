"""Recording ``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()``.

Each reads the old values of the rows it changes in batches before writing,
and the new ones after only where the database computed them (F() and other
expressions), so the history holds true old and new values in
O(rows / batch) queries. ``QuerySet.delete()`` goes through Django's
Collector and is recorded with the other deletes (``deletes.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections, models, transaction

from revy.contrib.django import conf, tracking, transactions, wrapping
from revy.contrib.django.capture import conflicts, relations, sqlhistory
from revy.contrib.django.capture.saves import remember_saved
from revy.contrib.django.capture.scope import frame_for, nested_writes_recorded
from revy.contrib.django.exceptions import NotRecordable
from revy.contrib.django.recording import Recorder, may_be_large, recordable_key
from revy.contrib.django.rows import (
    is_expression,
    locked_batches,
    locked_rows,
    only_recorded,
    read_back,
    read_rows,
    recorded_fields,
    same_value,
    stored_rows,
)
from revy.contrib.django.tracking import Assignment


def record_updates(
    recorder: Recorder,
    model: type[models.Model],
    fields: Sequence[models.Field],
    old_rows: dict[Any, dict[str, Any]],
    new_rows: dict[Any, dict[str, Any]],
    assigned: dict[Any, dict[str, Assignment]] | None = None,
) -> None:
    """Record an update delta for each row whose ``fields`` changed."""
    for pk, old in old_rows.items():
        new = new_rows.get(pk)
        if new is None:
            continue
        row_assigned = (assigned or {}).get(pk, {})
        attributes = [
            recorder.attribute(
                field.name,
                recorder.encode(field, old[field.attname]),
                recorder.encode(field, new[field.attname]),
                row_assigned.get(field.attname),
            )
            for field in fields
            if not same_value(field, old[field.attname], new[field.attname])
        ]
        if attributes:
            recorder.updated(model, pk, attributes)
    if relations.is_through(model):
        relations.record_through_updates(recorder, model, old_rows, new_rows)


def _fields_by_name(model: type[models.Model], names: Iterable[str]) -> list[Any]:
    return [model._meta.get_field(name) for name in names]


def _wrap_update(original: Any) -> Any:
    def update(self: models.QuerySet, **kwargs: Any) -> int:
        frame = frame_for(self.model)
        if frame is None or self.query.is_sliced or self.query.combinator:
            return original(self, **kwargs)  # Django refuses the last two itself.
        model = self.model._meta.concrete_model
        # Keyed by field: Django takes a field's name or its column's.
        values = dict(zip(_fields_by_name(model, kwargs), kwargs.values(), strict=True))
        fields = list(values)
        if any(not field.concrete or field.many_to_many for field in fields):
            return original(self, **kwargs)  # Django refuses them itself.
        if any(field.primary_key for field in fields):
            raise NotRecordable(
                f"revy cannot record QuerySet.update() of {model._meta.label}'s "
                "primary key: history is kept by key. Save the rows one by one "
                "under their new keys, or run the call inside "
                "Context.as_disabled()."
            )
        recorded = only_recorded(model, fields)
        if not recorded:
            return original(self, **kwargs)  # Only fields left out of history.
        values = {field: values[field] for field in recorded}
        fields = list(recorded)
        using = self.db
        recorder = Recorder(frame, using)
        count = 0
        written = False
        with transactions.atomic(using, inside_yours=False):
            in_sql = sqlhistory.update(self.using(using), kwargs, fields, recorder)
            if in_sql is not None:
                return in_sql
            # Locked a batch at a time and written by key: the rows recorded
            # are the rows written, with the values they held (decision 0002).
            for old_rows in locked_batches(model, using, self, fields):
                if count:
                    transactions.flush_if_full(using)  # Keep one batch in memory.
                for field, value in values.items():
                    if not is_expression(value):
                        for row in old_rows.values():
                            recorder.check_change(
                                model, field, row[field.attname], value
                            )
                count += original(self.filter(pk__in=list(old_rows)), **kwargs)
                written = True
                with transaction.mark_for_rollback_on_error(using):
                    new_rows = {pk: dict(row) for pk, row in old_rows.items()}
                    for field, value in values.items():
                        if isinstance(value, models.Model):
                            value = getattr(value, field.target_field.attname)
                        for row in new_rows.values():
                            row[field.attname] = value
                    _read_back_stored(model, using, fields, new_rows)
                    record_updates(recorder, model, fields, old_rows, new_rows)
            if not written:
                # No row matched: Django still refuses what it cannot update,
                # and writes nothing.
                original(self.filter(pk__in=[]), **kwargs)
        return count

    return update


# bulk_create()'s options, in the order Django takes them by position.
_BULK_CREATE_OPTIONS = (
    "batch_size",
    "ignore_conflicts",
    "update_conflicts",
    "update_fields",
    "unique_fields",
)


def _wrap_bulk_create(original: Any) -> Any:
    def bulk_create(
        self: models.QuerySet, objs: Iterable[models.Model], *args: Any, **kwargs: Any
    ) -> list[models.Model]:
        frame = frame_for(self.model)
        if frame is None:
            return original(self, objs, *args, **kwargs)
        model = self.model._meta.concrete_model
        objs = list(objs)
        if args:  # Options given by position, named as Django names them.
            kwargs = {**dict(zip(_BULK_CREATE_OPTIONS, args, strict=False)), **kwargs}
            args = ()
        using = self.db
        fields = recorded_fields(model)
        recorder = Recorder(frame, using)
        if not objs:
            return original(self, objs, **kwargs)  # Django's checks, no write.
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            options = conflicts.ConflictOptions(self, {"batch_size": None, **kwargs})
            with (
                transactions.atomic(using, inside_yours=False),
                _as_one_write(using, objs),
            ):
                for batch in _batches(using, objs):
                    conflicts.bulk_create_with_conflicts(
                        self,
                        batch,
                        options,
                        recorder,
                        lambda rows: _record_created(recorder, model, fields, rows),
                        lambda batch=batch: original(self, batch, **kwargs),
                    )
            return objs
        encoded = _fail_early(recorder, objs, fields, keep=conf.batch_size())
        with transactions.atomic(using, inside_yours=False), _as_one_write(using, objs):
            for batch in _batches(using, objs):
                original(self, batch, **kwargs)
                with transaction.mark_for_rollback_on_error(using):
                    _record_batch_created(recorder, model, fields, batch, encoded)
                encoded = {}  # Those of the first batch only: see _fail_early().
        return objs

    return bulk_create


def _batches(using: str, objs: list[Any]) -> Iterator[list[Any]]:
    """``objs`` a batch (``REVY_BATCH_SIZE``) at a time, the history of each
    written before the next: memory holds one batch of history, whatever
    the number of objects."""
    size = conf.batch_size()
    for start in range(0, len(objs), size):
        if start:
            transactions.flush_if_full(using)
        yield objs[start : start + size]


@contextmanager
def _as_one_write(using: str, objs: list[Any]) -> Iterator[None]:
    """A write of more than one batch fails as a whole, as Django's own does:
    if a later batch fails, the transaction is marked for rollback rather
    than left holding the batches written before it."""
    if len(objs) <= conf.batch_size():
        yield
    else:
        with transaction.atomic(using=using, savepoint=False):
            yield


def _record_batch_created(
    recorder: Recorder,
    model: type[models.Model],
    fields: Sequence[models.Field],
    created: list[models.Model],
    encoded: dict[int, dict[str, tuple[Any, Any]]],
) -> None:
    """Record one batch that ``bulk_create`` inserted, reusing the values
    ``encoded`` before the write where the stored value is that same one."""
    using = recorder.using
    missing = [obj for obj in created if obj.pk is None]
    if missing:
        raise NotRecordable(
            f"revy cannot record bulk_create on {using}: the database "
            "did not return the primary keys of the new rows."
        )
    try:
        rows = {obj.pk: _values(obj, fields) for obj in created}
    except TypeError:  # An unhashable key: say which, and why.
        for obj in created:
            recordable_key(model, obj.pk)
        raise
    _read_back_stored(model, using, fields, rows)
    learnt = transactions.learning(connections[using])
    # Saves read the row they overwrite anyway (REVY_READ_BEFORE_SAVE): new
    # objects are left not knowing theirs, which would cost a note each.
    learn = not conf.read_before_save()
    for obj in created:
        row = rows[obj.pk]
        assigned = tracking.attributions(obj)
        before = encoded.get(id(obj), {})
        attributes = []
        for field in fields:
            value = row[field.attname]
            known = before.get(field.attname)
            attributes.append(
                recorder.attribute(
                    field.name,
                    None,
                    known[1]
                    if known is not None and known[0] is value
                    else recorder.encode(field, value),
                    assigned.get(field.attname),
                )
            )
        recorder.created(model, obj.pk, attributes)
        remember_saved(obj, row, learnt=learnt, learn=learn)
    if relations.is_through(model):
        relations.record_through_rows(
            recorder,
            model,
            [{**row, "pk": pk} for pk, row in rows.items()],
            added=True,
        )


def _record_created(
    recorder: Recorder,
    model: type[models.Model],
    fields: Sequence[models.Field],
    rows: dict[Any, dict[str, Any]],
) -> None:
    """Record rows inserted as the database returned them, by key."""
    for pk, row in rows.items():
        attributes = [
            recorder.attribute(f.name, None, recorder.encode(f, row[f.attname]))
            for f in fields
        ]
        recorder.created(model, pk, attributes)
    if rows and relations.is_through(model):
        relations.record_through_rows(
            recorder, model, [{**row, "pk": pk} for pk, row in rows.items()], added=True
        )


def _read_back_stored(
    model: type[models.Model],
    using: str,
    fields: Sequence[models.Field],
    rows: dict[Any, dict[str, Any]],
) -> None:
    """Replace in ``rows`` the values the database computed or rounded by
    those it stored, read in batches."""
    computed = [
        f for f in fields if any(read_back(f, row[f.attname]) for row in rows.values())
    ]
    if computed:
        stored = read_rows(
            model, using, model._base_manager.all(), list(rows), computed
        )
        for pk, row in stored.items():
            rows[pk].update(row)


def _fail_early(
    recorder: Recorder,
    objs: Sequence[models.Model],
    fields: Sequence[models.Field],
    keep: int = 0,
) -> dict[int, dict[str, tuple[Any, Any]]]:
    """Encode every value first, so one revy cannot store fails the write
    before anything reaches the database. Returns the encodings of the
    first ``keep`` objects, ``{id(obj): {attname: (value, encoded)}}``, to
    reuse where the value stored is that same value; later ones are encoded
    again when recorded, so that memory does not grow with the objects."""
    encoded: dict[int, dict[str, tuple[Any, Any]]] = {}
    for index, obj in enumerate(objs):
        # By attribute, as Django's bulk writes read them: reading __dict__
        # would give each of the caller's objects a dictionary (64 bytes).
        values = {
            attname: (value, recorder.encode(field, value))
            for field in fields
            if not is_expression(value := getattr(obj, attname := field.attname))
        }
        for field in fields:
            stored = values.get(field.attname)
            if stored is not None and may_be_large(stored[1]):
                recorder.check_fits(field.model, field.name, None, stored[1])
        if index < keep:
            encoded[id(obj)] = values
    return encoded


def _values(obj: models.Model, fields: Sequence[models.Field]) -> dict[str, Any]:
    return {field.attname: getattr(obj, field.attname) for field in fields}


def _wrap_bulk_update(original: Any) -> Any:
    def bulk_update(
        self: models.QuerySet,
        objs: Iterable[models.Model],
        fields: Sequence[str],
        *args: Any,
        **kwargs: Any,
    ) -> int:
        frame = frame_for(self.model)
        if frame is None:
            return original(self, objs, fields, *args, **kwargs)
        model = self.model._meta.concrete_model
        objs = list(objs)
        original(self, [], fields, *args, **kwargs)  # Django's checks of fields.
        using = self.db
        targets = only_recorded(model, _fields_by_name(model, fields))
        if not targets:  # Only fields left out of history.
            return original(self, objs, fields, *args, **kwargs)
        recorder = Recorder(frame, using)
        _fail_early(recorder, objs, targets)
        count = 0
        with transactions.atomic(using, inside_yours=False), _as_one_write(using, objs):
            for batch in _batches(using, objs):
                count += _update_batch(
                    lambda batch=batch: original(self, batch, fields, *args, **kwargs),
                    self,
                    recorder,
                    batch,
                    targets,
                )
        return count

    return bulk_update


def _update_batch(
    django_bulk_update: Any,
    queryset: models.QuerySet,
    recorder: Recorder,
    objs: list[models.Model],
    targets: Sequence[models.Field],
) -> int:
    """Read one batch of ``bulk_update`` locked, write it with Django's
    ``django_bulk_update()``, and record the rows it changed."""
    model = queryset.model._meta.concrete_model
    using = recorder.using
    if conf.read_before_save():
        old_rows = locked_rows(model, using, [obj.pk for obj in objs], targets)
    else:
        old_rows = stored_rows(model, using, objs, targets)
    for obj in objs:
        old = old_rows.get(obj.pk)
        for field in targets:
            new = getattr(obj, field.attname)
            if not is_expression(new):  # Read back after the write.
                recorder.check_change(
                    model,
                    field,
                    None if old is None else old[field.attname],
                    new,
                )
    with nested_writes_recorded():
        count = django_bulk_update()
    with transaction.mark_for_rollback_on_error(using):
        # Django's CASE takes an object's first appearance.
        new_rows: dict[Any, dict[str, Any]] = {}
        for obj in objs:
            new_rows.setdefault(obj.pk, _values(obj, targets))
        if count != len(new_rows):  # Rows that are not there.
            found = set(read_rows(model, using, queryset, list(new_rows), []))
            old_rows = {pk: old_rows[pk] for pk in found}
            new_rows = {pk: new_rows[pk] for pk in found}
        _read_back_stored(model, using, targets, new_rows)
        assigned = {obj.pk: tracking.attributions(obj) for obj in objs}
        record_updates(recorder, model, targets, old_rows, new_rows, assigned)
        learnt = transactions.learning(connections[using])
        for obj in objs:
            if obj.pk in new_rows:
                remember_saved(obj, new_rows[obj.pk], connections[using], learnt)
    return count


def install() -> None:
    """Wrap the bulk write methods of ``QuerySet``, once."""
    wrapping.wrap(
        models.QuerySet,
        {
            "update": _wrap_update,
            "bulk_create": _wrap_bulk_create,
            "bulk_update": _wrap_bulk_update,
        },
    )
