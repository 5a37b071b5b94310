"""Recording deletes: ``Collector.delete`` and the delete signals.

Django's deletion collector carries out every delete: ``Model.delete()``,
``QuerySet.delete()``, cascades, and the rows ``SET_NULL`` and friends
change. revy reads the rows it is about to delete (in batches, or from what
their instances know), records a delete delta per row with every field's
last value, links each cascaded delete to the delete that caused it, and
records the memberships the deleted rows leave and the foreign keys the
handlers set. What the delete signals' receivers write is recorded as any
other write.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from django.db import models
from django.db.models import deletion, signals
from django.db.models.deletion import Collector

from revy.context import Frame
from revy.contrib.django import backends, conf, transactions, wrapping
from revy.contrib.django.capture import relations
from revy.contrib.django.capture.database_on_delete import database_effects
from revy.contrib.django.capture.scope import (
    nested_writes_recorded,
    receivers_recorded,
    recording_frame,
)
from revy.contrib.django.models import AbstractObjectDelta
from revy.contrib.django.pending import PendingObjectDelta
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import (
    Row,
    locked_batches,
    locked_key_batches,
    locked_rows,
    only_recorded,
    recorded_fields,
)

Rows = dict[type[models.Model], dict[Any, Row]]
# {model: {pk: its delete delta}}
Deltas = dict[type[models.Model], dict[Any, PendingObjectDelta]]

_DELETE = AbstractObjectDelta.ACTION_DELETE
_UPDATE = AbstractObjectDelta.ACTION_UPDATE


def _record_deletion(frame: Frame, collector: Collector) -> None:
    using = collector.using
    recorder = Recorder(frame, using)
    # Every row is read again locked, by key, before Django deletes it: what
    # is recorded is what the delete removes, as it stood then.
    collected: Rows = {}
    for model, instances in collector.data.items():
        concrete = model._meta.concrete_model
        if model._meta.auto_created or not conf.is_tracked(concrete) or not instances:
            continue
        pks = [obj.pk for obj in instances]
        rows = locked_rows(concrete, using, pks, for_delete=True)
        collected.setdefault(concrete, {}).update(rows)
    # Django's own lists: _field_values() leaves them holding rows by key.
    field_updates = list(collector.field_updates.items())
    # The rows Django holds as instances are recorded first: causes come
    # before their effects.
    recorded = _Recorded(field_updates)
    recorded.collected = collected
    recorded.causes = _record_deleted_rows(
        recorder, collector, collected, recorded, field_updates
    )
    # Then the querysets Django deletes without loading them, a batch at a
    # time, each batch's history written before the next is read: memory
    # does not grow with the rows.
    alone = backends.of(using).writes_alone
    fast_deletes = []
    for queryset in collector.fast_deletes:
        concrete = queryset.model._meta.concrete_model
        if queryset.model._meta.auto_created or not conf.is_tracked(concrete):
            fast_deletes.append(queryset)
            continue
        if alone:  # No other writer can commit before the delete: by filter.
            fast_deletes.append(queryset)
        for rows in locked_batches(concrete, using, queryset, for_delete=True):
            if not alone:
                # Deleted by the keys read, not by the filter: a row that came
                # to match it since is not deleted unrecorded.
                fast_deletes.append(_by_keys(concrete, using, rows))
            transactions.flush_if_full(using)
            _record_deleted_rows(
                recorder, collector, {concrete: rows}, recorded, field_updates
            )
    collector.fast_deletes = fast_deletes
    # Memberships the delete removes from rows it leaves: known only once
    # every deleted row has been read.
    for removal in recorded.removals:
        if not recorded.is_gone(removal.model, removal.pk):
            recorder.add(removal.delta)
    _record_field_updates(recorder, using, field_updates, recorded)


class _Recorded:
    """What a deletion has recorded so far that later rows still need: the
    delete deltas of the rows Django collected as instances (their causes,
    which Django holds in memory itself), the keys of deleted rows that a
    ``SET_*`` handler or a membership may also name, and the membership
    removals waiting for every deleted row to be known."""

    def __init__(self, field_updates: list[Any]) -> None:
        self.collected: Rows = {}
        self.causes: Deltas = {}
        self.gone: dict[type[models.Model], set[Any]] = {}
        self.removals: list[_Removal] = []
        # The models whose rows Django's collector sets a field of.
        self.set_by_collector = {
            field.model._meta.concrete_model for (field, _), _ in field_updates
        }

    def keeps_keys(self, model: type[models.Model]) -> bool:
        """Whether to keep the keys of the deleted rows of ``model``: those
        a ``SET_*`` handler or a membership may also name."""
        return model in self.set_by_collector or _may_be_named(model)

    def deleted_with(self, deleted: Rows) -> dict[type[models.Model], Any]:
        """``{model: keys}`` of the rows ``deleted`` and those collected."""
        keys: dict[type[models.Model], Any] = dict(self.collected)
        for model, rows in deleted.items():
            if rows is not self.collected.get(model):
                keys[model] = rows.keys() | keys.get(model, {}).keys()
        return keys

    def is_gone(self, model: type[models.Model], pk: Any) -> bool:
        return pk in self.gone.get(model, ())


def _record_deleted_rows(
    recorder: Recorder,
    collector: Collector,
    deleted: Rows,
    recorded: _Recorded,
    field_updates: list[Any],
) -> Deltas:
    """Record the delete of the rows ``deleted`` (``{model: {pk: row}}``),
    of those the database deletes with them, and of their memberships;
    add the foreign keys the database sets to ``field_updates``. Returns
    the delete deltas, by model and key."""
    using = recorder.using
    # What the database deletes and sets itself (on_delete=DB_*).
    effects = database_effects(deleted, using)
    for model, rows in effects.deleted.items():
        deleted.setdefault(model, {}).update(rows)
    field_updates.extend(effects.field_updates.items())
    _drop_parent_rows(deleted)
    everything = recorded.deleted_with(deleted)
    for model, rows in deleted.items():
        relations.record_through_rows(
            recorder, model, list(rows.values()), added=False, deleted=everything
        )
        if recorded.keeps_keys(model):
            recorded.gone.setdefault(model, set()).update(rows)
    deltas: Deltas = {}
    if not deleted:
        return deltas
    for model, rows in deleted.items():
        fields = recorded_fields(model)
        # delete(keep_parents=True): the parents' fields are not deleted.
        kept = _parent_rows_kept(collector, model, rows)
        own = [f for f in fields if f.model._meta.concrete_model is model]
        for pk, row in rows.items():
            attributes = []
            for field in own if pk in kept else fields:
                old = recorder.encode(field, row[field.attname])
                recorder.check_fits(model, field.name, old, None)
                attributes.append(recorder.attribute(field.name, old, None))
            deltas.setdefault(model, {})[pk] = recorder.delta(
                _DELETE, model, pk, attributes
            )
    known = (deltas, recorded.causes)
    for model, by_pk in deltas.items():
        for pk, delta in by_pk.items():
            cause = _cause(model, deleted[model][pk], known)
            if cause is not None and delta is not cause and delta not in cause.causes():
                delta.cause = cause  # Rows deleting each other: only one way.
    # Causes first: a cascade's parents before the children it took.
    queued = sorted(
        (delta for by_pk in deltas.values() for delta in by_pk.values()),
        key=lambda delta: len(delta.causes()),
    )
    for model, by_pk in deltas.items():
        for relation in _memberships(model, using, list(by_pk)):
            for pk, members in relation.members.items():
                by_pk[pk].attributes.append(
                    recorder.attribute(
                        relation.name,
                        recorder.member_keys(relation.other_model, members),
                        [],
                    )
                )
            if relation.other_name is None or not conf.is_tracked(relation.other_model):
                continue
            removed: dict[Any, list[Any]] = {}
            for pk, members in relation.members.items():
                for member in members:
                    removed.setdefault(member, []).append(pk)
            for member, pks in removed.items():
                attribute = recorder.attribute(
                    relation.other_name, recorder.member_keys(model, pks), []
                )
                delta = recorder.delta(
                    _UPDATE,
                    relation.other_model,
                    member,
                    [attribute],
                    cause=by_pk[pks[0]],
                )
                recorded.removals.append(_Removal(relation.other_model, member, delta))
    for delta in queued:
        recorder.add(delta)
    return deltas


def _record_field_updates(
    recorder: Recorder, using: str, field_updates: list[Any], recorded: _Recorded
) -> None:
    """Record the foreign keys ``SET_NULL`` and friends change, of the rows
    the delete leaves."""
    for (field, value), targets in field_updates:
        model = field.model._meta.concrete_model
        if not conf.is_tracked(model) or not only_recorded(model, [field]):
            continue
        if isinstance(value, models.Model):  # SET(instance), SET(callable)
            value = getattr(value, field.target_field.attname)
        for pk, old in _field_values(model, using, field, targets):
            transactions.flush_if_full(using)
            if old == value or recorded.is_gone(model, pk):
                continue
            attribute = recorder.attribute(
                field.name, recorder.encode(field, old), recorder.encode(field, value)
            )
            recorder.add(
                recorder.delta(
                    _UPDATE,
                    model,
                    pk,
                    [attribute],
                    cause=_cause_of_field(field, old, (recorded.causes,)),
                    caused_by_deletion=True,
                )
            )


# The handlers that delete the row, or leave it as it is: a row whose
# foreign keys all have one of these is never the target of a SET_* update.
_NOT_SETTING = {
    deletion.CASCADE,
    deletion.PROTECT,
    deletion.RESTRICT,
    deletion.DO_NOTHING,
    getattr(deletion, "DB_CASCADE", deletion.CASCADE),
}


@functools.cache
def _may_be_named(model: type[models.Model]) -> bool:
    """Whether a ``SET_*`` handler may change rows of ``model``, or it has
    many-to-many members: then the keys of its deleted rows are kept, so
    that no update of a row the delete removes is recorded."""
    meta = model._meta
    if meta.many_to_many or any(rel.many_to_many for rel in meta.related_objects):
        return True
    return any(
        field.remote_field.on_delete not in _NOT_SETTING
        for field in meta.concrete_fields
        if field.is_relation and field.remote_field is not None
    )


class _Removal(NamedTuple):
    """The update recording that a deleted row left the members of the
    ``model`` row ``pk``: recorded unless that row is deleted too."""

    model: type[models.Model]
    pk: Any
    delta: PendingObjectDelta


class _Membership(NamedTuple):
    """The members a many-to-many relation gave the objects being deleted."""

    name: str  # The relation's name on the deleted model's side.
    other_model: type[models.Model]
    other_name: str | None  # Its name on the other side, if it has one.
    members: dict[Any, list[Any]]  # {deleted pk: member pks}


def _memberships(
    model: type[models.Model], using: str, pks: list[Any]
) -> list[_Membership]:
    """Every many-to-many relation of ``model`` that the rows ``pks`` have
    members in: one query per relation."""
    found = []
    relations = [
        (
            f,
            f.m2m_field_name(),
            f.m2m_reverse_field_name(),
            f.name,
            f.remote_field.model,
            f.remote_field.get_accessor_name(),
        )
        for f in model._meta.many_to_many
    ] + [
        (
            rel.field,
            rel.field.m2m_reverse_field_name(),
            rel.field.m2m_field_name(),
            rel.get_accessor_name(),
            rel.related_model,
            rel.field.name,
        )
        for rel in model._meta.related_objects
        if rel.many_to_many
    ]
    size = conf.batch_size()
    for field, source, target, name, other_model, other_name in relations:
        if name is None:
            continue
        through = field.remote_field.through._base_manager.using(using)
        members: dict[Any, list[Any]] = {}
        for start in range(0, len(pks), size):
            rows = through.filter(**{f"{source}__in": pks[start : start + size]})
            for pk, member in rows.values_list(source, target):
                members.setdefault(pk, []).append(member)
        if members:
            found.append(
                _Membership(name, other_model._meta.concrete_model, other_name, members)
            )
    return found


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


def _parent_rows_kept(
    collector: Collector, model: type[models.Model], rows: dict[Any, dict[str, Any]]
) -> set[Any]:
    """The keys of deleted multi-table ``model`` rows whose parent rows the
    collector keeps, as ``delete(keep_parents=True)`` does."""
    kept: set[Any] = set()
    for parent, link in model._meta.parents.items():
        if link is None:
            continue
        gone = {obj.pk for obj in collector.data.get(parent, ())}
        kept.update(pk for pk, row in rows.items() if row[link.attname] not in gone)
    return kept


def _cause(
    model: type[models.Model], row: dict[str, Any], deltas: Sequence[Deltas]
) -> PendingObjectDelta | None:
    """The delete delta of the row ``row`` points at, if it is deleted too."""
    for field in model._meta.concrete_fields:
        if field.many_to_one or field.one_to_one:
            if getattr(field.remote_field, "parent_link", False):
                continue
            cause = _cause_of_field(field, row[field.attname], deltas)
            if cause is not None:
                return cause
    return None


def _cause_of_field(
    field: models.Field, value: Any, deltas: Sequence[Deltas]
) -> PendingObjectDelta | None:
    """The delete delta, among ``deltas``, of the row ``value`` points at."""
    if value is None or not field.is_relation:
        return None
    target = field.remote_field.model._meta.concrete_model
    if field.target_field is not target._meta.pk:
        return None
    for by_model in deltas:
        found = by_model.get(target, {}).get(value)
        if found is None:
            # A parent row is recorded as its multi-table child, whose key is
            # the same value.
            found = next(
                (
                    by_pk[value]
                    for model, by_pk in by_model.items()
                    if value in by_pk and target in model._meta.all_parents
                ),
                None,
            )
        if found is not None:
            return found
    return None


def _field_values(
    model: type[models.Model], using: str, field: models.Field, targets: list[Any]
) -> Iterator[tuple[Any, Any]]:
    """``(pk, value of field)`` of every row a SET/SET_NULL/SET_DEFAULT
    changes, read locked a batch at a time; once they are all read,
    ``targets`` is left holding the same rows by key, so that the update
    changes exactly those."""
    by_key = []
    alone = backends.of(using).writes_alone
    for target in targets:
        if isinstance(target, models.QuerySet) and target._result_cache is None:
            # On SQLite no other writer can commit before the update: it
            # updates by the filter.
            if alone:
                by_key.append(target)
            for rows in locked_batches(model, using, target, [field]):
                yield from ((pk, row[field.attname]) for pk, row in rows.items())
                if not alone:
                    by_key.append(_by_keys(model, using, rows))
        else:
            pks = [obj.pk for obj in target]
            for rows in locked_key_batches(model, using, pks, [field]):
                yield from ((pk, row[field.attname]) for pk, row in rows.items())
            by_key.append(target)  # Django updates these by their keys.
    targets[:] = by_key


def _by_keys(
    model: type[models.Model], using: str, rows: dict[Any, Row]
) -> models.QuerySet:
    return backends.of(using).by_keys(model._base_manager.using(using), list(rows))


def _wrap_collector_delete(original: Any) -> Any:
    def delete(self: Collector) -> tuple[int, dict[str, int]]:
        frame = recording_frame()
        if frame is None:
            return original(self)
        with transactions.atomic(self.using):
            _record_deletion(frame, self)
            with nested_writes_recorded():
                return original(self)

    return delete


def _wrap_send(send: Any) -> Any:
    def revy_send(*args: Any, **kwargs: Any) -> Any:
        with receivers_recorded():
            return send(*args, **kwargs)

    return revy_send


def install() -> None:
    """Wrap ``Collector.delete`` and the delete signals' ``send``, once."""
    # Collector.delete() runs as one recorded write; the delete signals'
    # receivers it calls write on their own account.
    for signal in (signals.pre_delete, signals.post_delete):
        wrapping.wrap(signal, {"send": _wrap_send})
    wrapping.wrap(Collector, {"delete": _wrap_collector_delete})
