"""``QuerySet.update()``, deletes by filter, the foreign keys a deletion
sets and many-to-many changes with their history written by the
database.

Where every field recorded has an SQL encoding on the database
(``backends/dialect.py``) and the history rows need nothing computed in
Python, the write and its history are one or a few statements
(``backends/sqlupdate.py``, ``backends/sqldelete.py``): no row is read
into Python, whatever the number of rows, but the values of fields
without one, which Python encodes a batch at a time while the database
writes the rest (``sqlwrite.py``). A write the database cannot write is
recorded in Python, a batch at a time (``bulk.py``, ``deletes.py``), and
so is every write under ``REVY_HISTORY_IN_SQL = False``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import models, transaction

from revy.contrib.django import backends, conf, transactions, writer
from revy.contrib.django.backends.sqldelete import Delete
from revy.contrib.django.backends.sqlmembers import (
    Members,
    Relation,
    RelationValue,
)
from revy.contrib.django.backends.sqltypes import (
    Attribution,
    Cause,
    HistoryModels,
    Written,
)
from revy.contrib.django.backends.sqlupdate import SetByDeletion, Update
from revy.contrib.django.backends.sqlwrite import HistoryWrite
from revy.contrib.django.capture import relations
from revy.contrib.django.encoding import ValueEncoder
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import recorded_fields


def fields_recorded_in_python(
    model: type[models.Model], fields: Sequence[models.Field], using: str
) -> list[str]:
    """The names of those of ``fields`` whose values the database cannot
    encode as revy does (every one, under another encoder or with
    ``REVY_HISTORY_IN_SQL`` off): Python encodes them."""
    if not conf.history_in_sql() or type(conf.value_encoder()) is not ValueEncoder:
        return [field.name for field in fields]
    dialect = backends.of(using).dialect
    masked = conf.field_rules(model).masked
    return [
        field.name
        for field in fields
        if field.name not in masked and dialect.json(field, "c") is None
    ]


def update(
    queryset: models.QuerySet,
    values: dict[str, Any],
    fields: Sequence[models.Field],
    recorder: Recorder,
) -> int | None:
    """Run ``queryset.update(**values)`` and record the changes of
    ``fields`` with the database writing the history; the number of rows
    updated, or None, having written nothing, where it cannot."""
    model = queryset.model._meta.concrete_model
    using = recorder.using
    if not may_write(model):
        return None
    write = Update(
        backends.of(using),
        queryset,
        values,
        fields,
        conf.field_rules(model).masked,
        _history_models(),
        fields_recorded_in_python(model, fields, using),
    )
    return _run(write, recorder)


def set_by_deletion(
    queryset: models.QuerySet,
    field: models.Field,
    value: Any,
    recorder: Recorder,
    cause: Cause | None,
) -> int | None:
    """Set the foreign key ``field`` of the rows of ``queryset`` to
    ``value``, as a deletion's ``SET_NULL``, ``SET_DEFAULT`` or ``SET()``
    does, and record it with the database writing the history, each update
    caused by the delete ``cause`` names; the number of rows updated, or
    None, having written nothing, where it cannot."""
    model = queryset.model._meta.concrete_model
    using = recorder.using
    if not may_write(model):
        return None
    write = SetByDeletion(
        backends.of(using),
        queryset,
        field,
        value,
        conf.field_rules(model).masked,
        _history_models(),
        cause,
        fields_recorded_in_python(model, [field], using),
    )
    return _run(write, recorder)


def delete(
    queryset: models.QuerySet, recorder: Recorder, causes: Sequence[Cause]
) -> int | None:
    """Delete the rows of ``queryset``, which nothing refers to, and record
    their deletes with the database writing the history, each caused by
    the delete its foreign keys of ``causes`` name; the number of rows
    deleted, or None, having written nothing, where it cannot."""
    model = queryset.model._meta.concrete_model
    using = recorder.using
    if not may_write(model):
        return None
    fields = recorded_fields(model)
    write = Delete(
        backends.of(using),
        queryset,
        fields,
        conf.field_rules(model).masked,
        _history_models(),
        causes,
        fields_recorded_in_python(model, fields, using),
    )
    return _run(write, recorder)


def may_write(model: type[models.Model]) -> bool:
    """Whether the database may write the history of writes by filter of
    rows of ``model``: not those of an explicit through model, whose rows
    are relation changes too."""
    return conf.history_in_sql() and not relations.is_through(model)


def _history_models() -> HistoryModels:
    history = conf.history_models()
    return HistoryModels(history.object_delta, history.attribute_delta)


def relation_changed(
    rows: models.QuerySet,
    relation: str,
    old: RelationValue,
    new: RelationValue,
    recorder: Recorder,
) -> int | None:
    """Record that the many-to-many relation ``relation`` of each row of
    ``rows`` went from ``old`` to ``new`` (member keys as stored, or those
    of the rows of a ``MemberKeys``), with the database writing the
    history; the number of rows recorded, or None, having written nothing,
    where it cannot."""
    if not conf.history_in_sql():
        return None
    write = Members(
        backends.of(recorder.using),
        rows,
        Relation(relation),
        old,
        new,
        _history_models(),
    )
    return _with_history(write, write.run, recorder)


def _run(write: Update | Delete, recorder: Recorder) -> int | None:
    """Run ``write`` with its history, in the revision of ``recorder``; the
    number of rows written, or None, having written nothing, where it
    cannot."""
    compiled = write.compiled()  # First: it asks the database nothing.
    if compiled is None:
        return None
    return _with_history(write, functools.partial(write.run, compiled), recorder)


def _with_history(
    write: HistoryWrite,
    run: Callable[..., Written],
    recorder: Recorder,
) -> int | None:
    """``run(attribution, revision, write_revision, values)`` the write
    ``write`` with its history, in the revision of ``recorder``; the number
    of rows written, or None, having written nothing, where it cannot."""
    using = recorder.using
    # History recorded before goes in first: keys keep the order of changes.
    transactions.flush(using)
    revision = transactions.revision_for(recorder.frame, using, write_new=False)
    new = revision._state.adding
    inserted_here = new and writer.inserts_directly(type(revision))
    if new and not inserted_here and write.sql.history_in_one_statement:
        return None  # A revision saved by its own save() cannot wait for the data.
    if not write.can_run(revision if inserted_here else None):
        return None
    model = write.model
    who = recorder.who
    # A value Python cannot encode fails the write after its data statement:
    # the transaction cannot then commit the data without its history.
    with transaction.mark_for_rollback_on_error(using):
        written = run(
            Attribution(
                who.content_type_id(model, using),
                *who.actor_ref,
                who.object_description,
                who.attribute_description,
                who.deletion_description,
            ),
            revision,
            None
            if inserted_here
            else lambda: transactions.write_revision(revision, using),
            recorder,
        )
    if written.revision_key is not None:
        transactions.revision_inserted(revision, written.revision_key, using)
    if written.first_delta is not None:
        transactions.written_by_database(
            using, revision, written.first_delta, written.last_delta
        )
    return written.count
