"""Recording deletes: ``Collector.delete`` and the delete signals.

Django's deletion collector carries out every delete: ``Model.delete()``,
``QuerySet.delete()``, cascades, and the rows ``SET_NULL`` and friends
change. revy reads the rows it is about to delete (in batches, or from what
their instances know), records a delete delta per row with every field's
last value, links each cascaded delete to the delete that caused it, and
records the memberships the deleted rows leave and the foreign keys the
handlers set (``setbydeletion.py``). The rows the collector deletes by
filter, alone, have their history written by the database where it can
(``sqlhistory.py``). What the delete signals' receivers write is recorded
as any other write.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models
from django.db.models import signals
from django.db.models.deletion import Collector

from revy.context import Frame
from revy.contrib.django import backends, conf, transactions, wrapping
from revy.contrib.django.backends.sqltypes import Cause
from revy.contrib.django.backends.staging import CauseTables
from revy.contrib.django.capture import relations, sqlhistory
from revy.contrib.django.capture.database_on_delete import (
    database_effects,
    has_database_effects,
)
from revy.contrib.django.capture.deletedrows import (
    Deltas,
    Recorded,
    Removal,
    Rows,
    cause_of_row,
    collected_keys,
    deletes_pointed_at,
    drop_parent_rows,
    has_members,
    memberships,
    order_in_batches,
    parent_rows_kept,
)
from revy.contrib.django.capture.scope import (
    nested_writes_recorded,
    receivers_recorded,
    recording_frame,
)
from revy.contrib.django.capture.setbydeletion import record_field_updates
from revy.contrib.django.models import AbstractObjectDelta
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import (
    locked_batches,
    locked_key_batches,
    locked_rows,
    recorded_fields,
)

_DELETE = AbstractObjectDelta.ACTION_DELETE
_UPDATE = AbstractObjectDelta.ACTION_UPDATE


def _record_deletion(frame: Frame, collector: Collector) -> Recorded:
    """Record what ``collector`` deletes and changes: the rows it holds as
    instances now, the others as Django deletes them. What the deletion
    keeps until its end is returned."""
    using = collector.using
    recorder = Recorder(frame, using)
    # Django's own lists: _field_values() leaves them holding rows by key.
    field_updates = list(collector.field_updates.items())
    recorded = Recorded(CauseTables(backends.of(using)))
    # The rows Django holds as instances are recorded first: causes come
    # before their effects. Every row is read again locked, by key, before
    # Django deletes it: what is recorded is what the delete removes, as it
    # stood then.
    keys = collected_keys(collector)
    recorded.locked.update(keys)
    order = order_in_batches(keys)
    if order is None:
        collected = {
            model: locked_rows(model, using, pks, for_delete=True)
            for model, pks in keys.items()
        }
        recorded.collected = collected
        recorded.causes = _record_deleted_rows(recorder, collector, collected, recorded)
    else:
        # A batch at a time, model after model, causes first: each batch's
        # history written before the next is read, and only the keys of its
        # deltas kept, for the deletes they cause.
        for model in order:
            for rows in locked_key_batches(model, using, keys[model], for_delete=True):
                deltas = _record_deleted_rows(
                    recorder, collector, {model: rows}, recorded
                )
                transactions.flush(using)
                recorded.keep_written(deltas)
    # Then the querysets Django deletes without loading them: those of rows
    # deleted alone when Django deletes them (by the database where it can,
    # decision 0028), the others now; in Python a batch at a time, each
    # batch's history written before the next is read: memory does not
    # grow with the rows.
    fast_deletes: list[Any] = []
    for queryset in collector.fast_deletes:
        concrete = queryset.model._meta.concrete_model
        if queryset.model._meta.auto_created or not conf.is_tracked(concrete):
            fast_deletes.append(queryset)
        elif _deleted_alone(concrete):
            fast_deletes.append(
                _DeletedWithHistory(queryset, recorder, collector, recorded)
            )
        else:
            fast_deletes.extend(
                _record_fast_delete(recorder, collector, queryset, recorded)
            )
    # Once those are deleted, before Django sets the foreign keys: in the
    # order Django writes, and a row they deleted is no longer read.
    fast_deletes.append(_LeftBehind(recorder, field_updates, recorded))
    collector.fast_deletes = fast_deletes
    return recorded


class _LeftBehind:
    """What a deletion changes in the rows it leaves: the memberships it
    removes, known only once every deleted row has been read, and the
    foreign keys ``SET_*`` handlers set. The last of
    ``Collector.fast_deletes``, which deletes nothing: the rows deleted by
    filter are gone when it reads the rows the handlers set."""

    def __init__(
        self, recorder: Recorder, field_updates: list[Any], recorded: Recorded
    ) -> None:
        self.recorder = recorder
        self.field_updates = field_updates
        self.recorded = recorded

    def _raw_delete(self, using: str) -> int:
        recorder, recorded = self.recorder, self.recorded
        for removal in recorded.removals:
            if not recorded.is_gone(removal.model, removal.pk):
                recorder.add(removal.delta)
        record_field_updates(recorder, recorder.using, self.field_updates, recorded)
        return 0  # Django counts no row of it.


def _record_fast_delete(
    recorder: Recorder,
    collector: Collector,
    queryset: models.QuerySet,
    recorded: Recorded,
) -> Iterator[models.QuerySet]:
    """Record the delete of the rows of ``queryset``, a batch at a time,
    each batch's history queued before the next is read; yield the
    querysets that delete exactly the rows recorded, as soon as they are
    (deleted as they come, no key is kept past its batch)."""
    using = recorder.using
    concrete = queryset.model._meta.concrete_model
    backend = backends.of(using)
    alone, all_rows = backend.writes_alone, concrete._base_manager.using(using)
    for rows in locked_batches(concrete, using, queryset, for_delete=True):
        # Deleted by the keys read, not by the filter: a row that came to
        # match it since is not deleted unrecorded.
        by_keys = None if alone else backend.by_keys(all_rows, list(rows))
        transactions.flush_if_full(using)
        batch = {concrete: rows}
        _record_deleted_rows(recorder, collector, batch, recorded)
        # The batch now also holds the rows the database deletes with it.
        recorded.note_gone(batch)
        if by_keys is not None:
            yield by_keys
    if alone:
        yield queryset  # No other writer can commit before the delete.


def _deleted_alone(model: type[models.Model]) -> bool:
    """Whether a fast delete of rows of ``model`` deletes them alone: no
    parent rows, nothing the database deletes or sets with them, no
    many-to-many members. Then the database may write its history."""
    return (
        not model._meta.parents
        and not has_database_effects(model)
        and not has_members(model)
    )


class _DeletedWithHistory:
    """A queryset of ``Collector.fast_deletes`` deleted with its history
    when Django deletes it (``_raw_delete``), after the delete signals'
    receivers have run: by the database, or recorded in Python then where
    it cannot."""

    def __init__(
        self,
        queryset: models.QuerySet,
        recorder: Recorder,
        collector: Collector,
        recorded: Recorded,
    ) -> None:
        self.model = queryset.model  # Django counts the rows deleted by it.
        self.concrete = queryset.model._meta.concrete_model
        self.queryset = queryset
        self.recorder = recorder
        self.collector = collector
        self.recorded = recorded

    def _raw_delete(self, using: str) -> int:
        causes = self._causes_in_sql(using)
        if causes is not None:
            count = sqlhistory.delete(self.queryset, self.recorder, causes)
            if count is not None:
                return count
        deletes = _record_fast_delete(
            self.recorder,
            self.collector,
            self.queryset,
            self.recorded,
        )
        # Django's own gives None for a filter that matches nothing by itself.
        return sum(queryset._raw_delete(using) or 0 for queryset in deletes)

    def _causes_in_sql(self, using: str) -> list[Cause] | None:
        """The causes the database looks up, their deltas written; None
        where it cannot write this history."""
        if not sqlhistory.may_write(self.concrete):
            return None
        pointed_at = deletes_pointed_at(self.concrete, self.recorded.causes)
        if pointed_at:
            transactions.flush(using)  # The causes' deltas take their keys.
        tables = self.recorded.cause_tables
        return [tables.cause(pointed.written()) for pointed in pointed_at]


def _record_deleted_rows(
    recorder: Recorder, collector: Collector, deleted: Rows, recorded: Recorded
) -> Deltas:
    """Record the delete of the rows ``deleted`` (``{model: {pk: row}}``),
    of those the database deletes with them, and of their memberships;
    and of the foreign keys the database sets as it deletes them. Returns
    the delete deltas, by model and key."""
    using = recorder.using
    # What the database deletes and sets itself (on_delete=DB_*).
    effects = database_effects(deleted, using)
    for model, rows in effects.deleted.items():
        deleted.setdefault(model, {}).update(rows)
    drop_parent_rows(deleted)
    everything = recorded.deleted_with(deleted)
    for model, rows in deleted.items():
        relations.record_through_rows(
            recorder, model, list(rows.values()), added=False, deleted=everything
        )
    deltas: Deltas = {}
    if not deleted:
        return deltas
    for model, rows in deleted.items():
        fields = recorded_fields(model)
        # delete(keep_parents=True): the parents' fields are not deleted.
        kept = parent_rows_kept(collector, model, rows)
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
            cause = cause_of_row(model, deleted[model][pk], known)
            if cause is not None and delta is not cause and delta not in cause.causes():
                delta.cause = cause  # Rows deleting each other: only one way.
    # Causes first: a cascade's parents before the children it took.
    queued = sorted(
        (delta for by_pk in deltas.values() for delta in by_pk.values()),
        key=lambda delta: len(delta.causes()),
    )
    for model, by_pk in deltas.items():
        for relation in memberships(model, using, list(by_pk)):
            for pk, members in relation.members.items() if relation.name else ():
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
                recorded.removals.append(Removal(relation.other_model, member, delta))
    for delta in queued:
        recorder.add(delta)
    if effects.field_updates:
        # The database sets them as it deletes these rows: read them now.
        record_field_updates(
            recorder, using, list(effects.field_updates.items()), recorded, deltas
        )
    return deltas


def _wrap_collector_delete(original: Any) -> Any:
    def delete(self: Collector) -> tuple[int, dict[str, int]]:
        frame = recording_frame()
        if frame is None:
            return original(self)
        with transactions.atomic(self.using):
            recorded = _record_deletion(frame, self)
            try:
                with nested_writes_recorded():
                    return original(self)
            finally:
                recorded.cause_tables.drop()

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
