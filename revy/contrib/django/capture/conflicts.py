"""Recording ``bulk_create(ignore_conflicts=True)`` and ``update_conflicts``.

A conflict-ignoring insert writes some rows and skips others, and Django
does not say which. revy inserts them itself with ``ON CONFLICT DO NOTHING
RETURNING`` every column, so the rows recorded as created are exactly the
rows written, with the values the database stored. ``update_conflicts`` is
that insert, then, for the objects whose row already existed, a locked read
of those rows and an update by key through revy's ``bulk_update``: history
holds the values each updated row held. If such a row is deleted between
the two statements, its object is inserted again, as the database's own
upsert would. PostgreSQL and SQLite return inserted rows; MariaDB's
``INSERT IGNORE`` and ``ON DUPLICATE KEY UPDATE`` do not say which rows they
wrote, so revy refuses them there (decision 0017).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models
from django.db.models import AutoField, Q
from django.db.models.constants import OnConflict

from revy.contrib.django import backends, conf
from revy.contrib.django.exceptions import NotRecordable
from revy.contrib.django.recording import Recorder

__all__ = ["ConflictOptions", "bulk_create_with_conflicts"]

# An upsert retries the objects whose conflicting row vanished meanwhile.
_ATTEMPTS = 3


class ConflictOptions:
    """``bulk_create``'s conflict arguments, checked as Django checks them."""

    def __init__(self, queryset: models.QuerySet, kwargs: dict[str, Any]) -> None:
        meta = queryset.model._meta
        unique = kwargs.get("unique_fields")
        update = kwargs.get("update_fields")
        self.unique_fields = [
            meta.get_field(meta.pk.name if name == "pk" else name)
            for name in unique or ()
        ]
        self.update_fields = [meta.get_field(name) for name in update or ()]
        self.on_conflict = queryset._check_bulk_create_options(
            kwargs.get("ignore_conflicts", False),
            kwargs.get("update_conflicts", False),
            self.update_fields or None,
            self.unique_fields or None,
        )
        self.batch_size = kwargs.get("batch_size")

    def targets_a_unique_constraint(self, model: type[models.Model]) -> bool:
        """Whether ``unique_fields`` are those of a unique constraint, as the
        database requires of an upsert's conflict target."""
        meta = model._meta
        target = {f.name for f in self.unique_fields}
        constraints = [{meta.pk.name}, *({f.name} for f in meta.fields if f.unique)]
        constraints += [set(names) for names in meta.unique_together]
        constraints += [set(c.fields) for c in meta.total_unique_constraints]
        return target in constraints


def bulk_create_with_conflicts(
    queryset: models.QuerySet,
    objs: list[models.Model],
    options: ConflictOptions,
    recorder: Recorder,
    record_created: Any,
    django_bulk_create: Any,
) -> list[models.Model]:
    """Insert ``objs`` skipping (or, with ``update_conflicts``, updating)
    the rows they conflict with; ``record_created(rows)`` records the rows
    inserted, as ``{pk: {attname: value}}``. ``django_bulk_create()`` is
    Django's own call, made where the database is to refuse it."""
    connection = connections[queryset.db]
    if not (
        connection.features.can_return_rows_from_bulk_insert
        and backends.of(queryset.db).returns_rows_inserted_despite_conflicts
    ):
        raise NotRecordable(
            "revy cannot record bulk_create(ignore_conflicts=...) or "
            f"bulk_create(update_conflicts=...) on {connection.display_name}: "
            "the database does not say which rows it wrote. Save those rows one "
            "by one, or run the call inside Context.as_disabled()."
        )
    upsert = options.on_conflict == OnConflict.UPDATE
    if upsert and not options.targets_a_unique_constraint(queryset.model):
        django_bulk_create()  # The database refuses the conflict target.
        raise NotRecordable(
            f"revy cannot record bulk_create(update_conflicts=True) of "
            f"{queryset.model._meta.label}: unique_fields are not those of a "
            "unique constraint."
        )
    pending = objs
    for _ in range(_ATTEMPTS):
        inserted = _insert_ignoring(queryset, pending, options.batch_size)
        record_created(inserted)
        if not upsert:
            break
        pending = _update_existing(queryset, pending, inserted, options)
        if not pending:
            break
    else:
        raise NotRecordable(
            f"revy cannot record bulk_create(update_conflicts=True) of "
            f"{queryset.model._meta.label}: the rows it conflicted with were "
            f"deleted {_ATTEMPTS} times while it wrote."
        )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = queryset.db
    return objs


def _insert_ignoring(
    queryset: models.QuerySet, objs: Sequence[models.Model], batch_size: int | None
) -> dict[Any, dict[str, Any]]:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING`` every column, in
    batches, as Django's ``bulk_create`` batches: the rows written."""
    meta = queryset.model._meta
    connection = connections[queryset.db]
    queryset._prepare_for_bulk_create(objs)
    columns = [f for f in meta.concrete_fields if not f.generated]
    attnames = [f.attname for f in meta.concrete_fields]
    inserted: dict[Any, dict[str, Any]] = {}
    for group, fields in (
        ([obj for obj in objs if obj.pk is not None], columns),
        (
            [obj for obj in objs if obj.pk is None],
            [f for f in columns if not isinstance(f, AutoField)],
        ),
    ):
        size = max(batch_size or connection.ops.bulk_batch_size(fields, group), 1)
        for start in range(0, len(group), size):
            batch = group[start : start + size]
            returned = queryset._insert(
                batch,
                fields=fields,
                returning_fields=meta.concrete_fields,
                using=queryset.db,
                on_conflict=OnConflict.IGNORE,
            )
            rows = [row for row in returned if row is not None]  # None: skipped.
            for position, row in enumerate(rows):
                values = dict(zip(attnames, row, strict=True))
                inserted[values[meta.pk.attname]] = values
                if len(rows) == len(batch):
                    # Nothing skipped: rows come back in the order of the
                    # objects, as Django's bulk_create relies on.
                    batch[position].pk = values[meta.pk.attname]
    return inserted


def _update_existing(
    queryset: models.QuerySet,
    objs: Sequence[models.Model],
    inserted: dict[Any, dict[str, Any]],
    options: ConflictOptions,
) -> list[models.Model]:
    """Give the objects inserted their keys, update by key the rows the
    others conflicted with, and return those whose row is gone."""
    unique = options.unique_fields
    attnames = [f.attname for f in unique]

    def identity(values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(f.to_python(v) for f, v in zip(unique, values, strict=True))

    def identity_of(obj: models.Model) -> tuple[Any, ...]:
        return identity([obj.__dict__[attname] for attname in attnames])

    inserted_keys = {
        identity([row[attname] for attname in attnames]): pk
        for pk, row in inserted.items()
    }
    existing = []
    for obj in objs:
        if obj.pk in inserted:
            continue
        pk = inserted_keys.get(identity_of(obj))
        if pk is None:
            existing.append(obj)
        else:
            obj.pk = pk
    found = {}
    lock = backends.of(queryset.db).lock
    size = conf.batch_size()
    for start in range(0, len(existing), size):
        match = Q()
        for obj in existing[start : start + size]:
            match |= Q(**{attname: obj.__dict__[attname] for attname in attnames})
        rows = lock(models.QuerySet(queryset.model, using=queryset.db).filter(match))
        for pk, *values in rows.values_list("pk", *attnames):
            found[identity(values)] = pk
    updated, gone = [], []
    for obj in existing:
        pk = found.get(identity_of(obj))
        if pk is None:
            gone.append(obj)
        else:
            obj.pk = pk
            updated.append(obj)
    if updated and options.update_fields:
        queryset.model._base_manager.using(queryset.db).bulk_update(
            updated, [f.name for f in options.update_fields], options.batch_size
        )
    return gone
