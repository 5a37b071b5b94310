"""What the rows of tracked models hold: as an instance knows it, or read.

Every writer asks what a row held before a write and holds after it; this
module answers, from what a tracked instance remembers (``tracking.py``)
where it can, and from the database in batches where it cannot. Readers of
history use :func:`recorded_fields` for the fields a row's history covers.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.base import DEFERRED
from django.db.models.expressions import Expression
from django.db.models.sql.query import FORBIDDEN_ALIAS_PATTERN

from revy.contrib.django import backends, conf, tracking
from revy.contrib.django.backends.staging import key_pages

Row = dict[str, Any]  # {attname: value} of one row


def saved_fields(
    model: type[models.Model], update_fields: Iterable[str] | None
) -> list[models.Field]:
    """The concrete fields, except the primary key, that a save writes."""
    fields = _writable_fields(model)
    if update_fields is None:
        return fields
    names = set(update_fields)
    return [f for f in fields if f.name in names or f.attname in names]


def recorded_fields(
    model: type[models.Model], update_fields: Iterable[str] | None = None
) -> Sequence[models.Field]:
    """Those of :func:`saved_fields` that history records: all but those the
    per-field rules leave out (``conf.field_rules``). Every writer and
    reader of attribute deltas selects its fields here."""
    return only_recorded(model, saved_fields(model, update_fields))


def only_recorded(
    model: type[models.Model], fields: Sequence[models.Field]
) -> Sequence[models.Field]:
    """Those of ``fields`` of ``model`` that the per-field rules do not
    leave out of history."""
    excluded = conf.field_rules(model).excluded
    if not excluded:
        return fields
    return [field for field in fields if field.name not in excluded]


@functools.cache
def _writable_fields(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    ]


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
    an expression, a float NaN, which not every database stores, or a
    number finer than its DecimalField, which the database rounds its own
    way."""
    if is_expression(value):
        return True
    if type(value) is float and math.isnan(value):
        return True  # SQLite stores NaN as NULL.
    if (
        value is None
        or not isinstance(field, models.DecimalField)
        or field.decimal_places is None  # Unbounded (Django 6.1+): kept as is.
    ):
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
    queryset = model._base_manager.using(using).filter(pk=pk)
    row = next(iter(values_of(queryset, attnames)), None)
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


# What old_values() gives when the caller reads the row at its UPDATE.
READ_AT_UPDATE: Any = object()


def old_values(
    instance: models.Model,
    model: type[models.Model],
    using: str,
    fields: Sequence[models.Field],
    force_insert: bool,
    read_row: bool = False,
    read_at_update: bool = False,
) -> dict[str, Any] | None:
    """The stored values of ``fields`` before this save; None for a new row.

    They are read from the row, locked until the transaction ends, when the
    instance does not know them or ``read_row`` (``REVY_READ_BEFORE_SAVE``)
    says not to trust what it remembers; with ``read_at_update``, the
    caller reads them as the save's ``UPDATE`` runs, and gets
    :data:`READ_AT_UPDATE` instead."""
    pk = instance.pk
    if pk is None:
        return None  # A new row, a copy made by clearing the key included.
    known = tracking.is_known(instance)
    if known and tracking.stored_value(instance, model._meta.pk.attname) != pk:
        known = False  # The key changed since loading: another row.
    if read_row or not known:
        if force_insert:
            return None
        if instance._state.adding and model._meta.pk.has_default():
            return None  # Django inserts such rows without looking.
        if read_at_update:
            return READ_AT_UPDATE
        # Locked: the row holds these values until the write.
        return locked_row(model, using, pk, fields)
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
    pk_attname = model._meta.pk.attname
    attnames = _attnames(model, fields)
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
        for values in values_of(chunk, attnames, size):
            row = dict(zip(attnames, values, strict=True))
            rows[row[pk_attname]] = row
    return rows


def locked_batches(
    model: type[models.Model],
    using: str,
    queryset: models.QuerySet,
    fields: Sequence[models.Field] | None = None,
    for_delete: bool = False,
) -> Iterator[dict[Any, Row]]:
    """The rows of ``queryset``, ``{pk: {attname: value}}`` a batch at a
    time, in key order, each batch locked as it is read (``Backend.lock``):
    until the transaction ends no other writes them, so a write by their
    keys changes exactly these rows, and they hold these values then.

    Where more than one batch matches, the keys of the rest are staged at
    once, locked (``staging.py``): ``queryset`` is evaluated twice, not once
    per batch."""
    backend = backends.of(using)
    locked = backend.lock(queryset.using(using), for_delete).order_by("pk")
    attnames = _attnames(model, fields)
    size = conf.batch_size()
    # One row more than a batch tells whether more follow.
    values = list(values_of(locked[: size + 1], attnames))
    if values:
        yield _by_key(values[:size], attnames)
    if len(values) <= size:
        return
    rest = locked.filter(pk__gt=values[size - 1][0])
    if not backend.dialect.stages_rows:
        yield from batches(model, using, rest, fields)
        return
    for page in key_pages(backend, rest, size):
        rows = _read_locked(backend, page, attnames, for_delete)
        if rows:
            yield rows


def batches(
    model: type[models.Model],
    using: str,
    queryset: models.QuerySet,
    fields: Sequence[models.Field] | None = None,
) -> Iterator[dict[Any, Row]]:
    """The rows of ``queryset``, ``{pk: {attname: value}}`` a batch at a
    time, in key order, each batch a query of its own (``pk > last``): no
    driver holds more than a batch, MariaDB's included, which fetches a
    whole result at once."""
    attnames = _attnames(model, fields)
    size = conf.batch_size()
    ordered = queryset.using(using).order_by("pk")
    last = None
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        values = list(values_of(page[:size], attnames))
        if not values:
            return
        yield _by_key(values, attnames)
        if len(values) < size:
            return
        last = values[-1][0]


def locked_rows(
    model: type[models.Model],
    using: str,
    pks: Sequence[Any],
    fields: Sequence[models.Field] | None = None,
    for_delete: bool = False,
) -> dict[Any, Row]:
    """The rows with keys ``pks`` that still exist, locked as
    :func:`locked_batches` locks them, read in batches by key."""
    if len(pks) == 1:  # One row, as a write of one instance locks it.
        attnames = _attnames(model, fields)
        if not _odd_names(attnames):
            row = backends.of(using).locked_row(model, attnames, pks[0], for_delete)
            return (
                {} if row is None else {row[0]: dict(zip(attnames, row, strict=True))}
            )
    rows: dict[Any, Row] = {}
    for batch in locked_key_batches(model, using, pks, fields, for_delete):
        rows.update(batch)
    return rows


def locked_row(
    model: type[models.Model],
    using: str,
    pk: Any,
    fields: Sequence[models.Field] | None = None,
) -> Row | None:
    """The row ``pk`` as :func:`locked_rows` reads it; None if there is none."""
    return next(iter(locked_rows(model, using, [pk], fields).values()), None)


def locked_key_batches(
    model: type[models.Model],
    using: str,
    pks: Sequence[Any],
    fields: Sequence[models.Field] | None = None,
    for_delete: bool = False,
) -> Iterator[dict[Any, Row]]:
    """:func:`locked_rows` a batch at a time, each batch one query."""
    backend = backends.of(using)
    attnames = _attnames(model, fields)
    size = conf.batch_size()
    base = model._base_manager.using(using)
    for start in range(0, len(pks), size):
        chunk = backend.by_keys(base, list(pks[start : start + size]))
        rows = _read_locked(backend, chunk, attnames, for_delete)
        if rows:
            yield rows


def _read_locked(
    backend: backends.Backend,
    queryset: models.QuerySet,
    attnames: Sequence[str],
    for_delete: bool,
) -> dict[Any, Row]:
    """The rows of ``queryset`` (of a batch at most), locked, by key."""
    locked = backend.lock(queryset, for_delete).order_by("pk")
    return _by_key(values_of(locked, attnames), attnames)


def update_reading_rows(
    model: type[models.Model],
    queryset: models.QuerySet,
    pk: Any,
    values: list[Any],
    fields: Sequence[models.Field],
) -> list[Row] | None:
    """Run a save's ``UPDATE`` (Django's ``values`` on the row ``pk`` of
    ``queryset``) so that it also returns ``fields`` of the row as it was,
    locked as :func:`locked_rows` locks it: one row per row updated. None
    where the database or the statement does not allow it (nothing ran)."""
    attnames = _attnames(model, fields)
    if _odd_names(attnames):
        return None
    backend = backends.of(queryset.db)
    reader = backend.row_reader(model, attnames, pk)
    if reader is None:
        return None
    rows = backend.update_reading_row(queryset, pk, values, reader)
    if rows is None:
        return None
    return [dict(zip(attnames, row, strict=True)) for row in rows]


def values_of(
    queryset: models.QuerySet, attnames: Sequence[str], chunk_size: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """The values of ``attnames`` of each row of ``queryset``, as tuples: by
    ``values_list()``, or for a field whose name Django refuses as a column
    alias there (``it's``: ``add_to_class`` takes any name), by instances."""
    if not _odd_names(tuple(attnames)):
        rows = queryset.values_list(*attnames)
        return rows.iterator(chunk_size) if chunk_size else iter(rows)
    instances = queryset.iterator(chunk_size) if chunk_size else iter(queryset)
    return (tuple(obj.__dict__[name] for name in attnames) for obj in instances)


def _by_key(
    values: Iterable[tuple[Any, ...]], attnames: Sequence[str]
) -> dict[Any, Row]:
    """``{pk: row}`` of rows read as tuples of ``attnames``, the key first."""
    return {row[0]: dict(zip(attnames, row, strict=True)) for row in values}


@functools.cache
def _odd_names(attnames: tuple[str, ...]) -> bool:
    """Whether Django refuses one of ``attnames`` as a column alias."""
    return any(FORBIDDEN_ALIAS_PATTERN.search(name) for name in attnames)


def _attnames(
    model: type[models.Model], fields: Sequence[models.Field] | None
) -> tuple[str, ...]:
    """The primary key's attname first, then those of ``fields`` (default:
    every concrete field)."""
    if fields is None:
        return _all_attnames(model)
    pk_attname = model._meta.pk.attname
    return (pk_attname, *(f.attname for f in fields if f.attname != pk_attname))


@functools.cache
def _all_attnames(model: type[models.Model]) -> tuple[str, ...]:
    return _attnames(model, model._meta.concrete_fields)
