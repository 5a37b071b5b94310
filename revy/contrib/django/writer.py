"""Writing queued history: revisions, object deltas and attribute deltas.

The queue (``transactions.py``) hands over the object deltas it holds, each
with its attribute deltas; this module inserts them through the database's
backend (``backends/``), in as few statements as it allows: where it can,
a new revision and all its rows in one statement, else a statement per
model and batch. Readers take primary key order for the order things
happened (decision 0010), so rows go in as recorded, and an effect whose
cause is not written yet starts a new insert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model, signals

from revy.contrib.django import backends, conf
from revy.contrib.django.backends import Linked
from revy.contrib.django.backends.sqltypes import ATTRIBUTE_DELTA_COLUMNS
from revy.contrib.django.pending import AttributeRow, PendingObjectDelta

# The columns of the attribute delta rows written: the object delta's key
# and target, then the row's own.
assert ATTRIBUTE_DELTA_COLUMNS[3:] == AttributeRow._fields

Inserted = Callable[[Any], None]


def inserts_directly(model: type[Model]) -> bool:
    """Whether a revision of ``model`` can be inserted without its own
    ``save()``: none is defined, no signal listens, no parent table shares
    its rows."""
    return (
        not model._meta.parents
        and model.save is Model.save
        and model.save_base is Model.save_base
        and not _receivers_for(signals.pre_save, model)
        and not _receivers_for(signals.post_save, model)
    )


def _receivers_for(signal: signals.ModelSignal, model: type[Model]) -> bool:
    """Whether a receiver was connected with ``sender=model``: receivers
    connected without a sender are not sent revy's own rows."""
    sender = id(model)
    return any(lookup_key[1] == sender for lookup_key, *_ in signal.receivers)


def insert_revisions(revisions: Sequence[Any], using: str, inserted: Inserted) -> None:
    """Insert new revisions: directly, as history rows are, unless the model
    needs its own ``save()``; ``inserted(revision)`` after each."""
    for revision in revisions:
        model = type(revision)
        if inserts_directly(model):
            backends.of(using).insert_instances(model, [revision])
        else:
            revision.save(using=using)
        inserted(revision)


def write(
    using: str,
    deltas: list[PendingObjectDelta],
    inserted: Inserted,
    commit: bool = False,
) -> None:
    """Insert ``deltas``, their attribute deltas, and the revisions among
    theirs that are new; ``inserted(revision)`` after each revision. With
    ``commit``, the transaction is to commit next, and may commit in the
    same round trip."""
    revisions = list(
        {
            id(delta.revision): delta.revision
            for delta in deltas
            if delta.revision._state.adding
        }.values()
    )
    # One new revision that needs no save() of its own can go in with them.
    new = None
    if len(revisions) == 1 and inserts_directly(type(revisions[0])):
        [new] = revisions
    else:
        insert_revisions(revisions, using, inserted)
    if _write_in_one_statement(using, deltas, new, commit):
        if new is not None:
            inserted(new)
        return
    if new is not None:
        insert_revisions([new], using, inserted)
    _write_in_batches(using, deltas)


def _write_in_one_statement(
    using: str, deltas: list[PendingObjectDelta], revision: Any, commit: bool
) -> bool:
    """Write ``revision`` (new, or None), the object deltas and their
    attribute deltas in one statement where the database allows; False
    where it does not, having written nothing."""
    backend = backends.of(using)
    if not backend.can_link(len(deltas)) or any(
        delta.cause is not None and delta.cause.pk is None for delta in deltas
    ):
        return False  # An object delta whose cause is not written yet.
    history = conf.history_models()
    levels = []
    if revision is not None:
        levels.append(Linked.instances(type(revision), [revision]))
    levels.append(
        Linked(
            history.object_delta,
            PendingObjectDelta.COLUMNS,
            [delta.row() for delta in deltas],
            "revision_id",
            [0 if delta.revision._state.adding else None for delta in deltas],
        )
    )
    rows = []
    parents = []
    for index, delta in enumerate(deltas):
        target = (None, delta.content_type_id, delta.content_id)
        rows.extend(target + attribute for attribute in delta.attributes)
        parents.extend([index] * len(delta.attributes))
    levels.append(
        Linked(
            history.attribute_delta,
            ATTRIBUTE_DELTA_COLUMNS,
            rows,
            "object_delta_id",
            parents,
        )
    )
    keys = backend.insert_linked(levels, commit)
    if keys is None:
        return False
    if revision is not None:
        backends.mark_inserted([revision], keys.pop(0), using)
    for delta, key in zip(deltas, keys[0], strict=True):
        delta.pk = key
    return True


def _write_in_batches(using: str, deltas: list[PendingObjectDelta]) -> None:
    backend = backends.of(using)
    history = conf.history_models()
    with connections[using].cursor() as cursor:
        # An effect whose cause is not written yet (a cascade's children
        # after their parent) starts a new insert.
        run: list[PendingObjectDelta] = []
        in_run: set[int] = set()
        for delta in deltas:
            if delta.cause is not None and id(delta.cause) in in_run:
                _insert_object_deltas(backend, history.object_delta, run, cursor)
                run, in_run = [], set()
            run.append(delta)
            in_run.add(id(delta))
        _insert_object_deltas(backend, history.object_delta, run, cursor)
        rows = []
        for delta in deltas:
            target = (delta.pk, delta.content_type_id, delta.content_id)
            rows.extend(target + attribute for attribute in delta.attributes)
        backend.insert(
            history.attribute_delta, ATTRIBUTE_DELTA_COLUMNS, rows, cursor=cursor
        )


def _insert_object_deltas(
    backend: backends.Backend,
    model: type[Model],
    deltas: list[PendingObjectDelta],
    cursor: Any,
) -> None:
    rows = [delta.row() for delta in deltas]
    keys = backend.insert(model, PendingObjectDelta.COLUMNS, rows, True, cursor)
    for delta, key in zip(deltas, keys, strict=True):
        delta.pk = key
