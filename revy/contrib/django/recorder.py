"""History waiting to be written, per database connection, and its revisions.

Deltas are recorded as the data changes but inserted in batches: before the
transaction commits, before anything reads the history models, and at once
when no transaction is open. A rollback drops what it undid: a savepoint
rollback drops what was recorded after that savepoint, a full rollback
drops everything, and a revision whose row was undone is forgotten so that
the next change creates it again. History is therefore always written in
the transaction of the data it describes.

Savepoints are told apart by when they were made, not by name: everything
queued, written or saved is stamped from one counter, each savepoint notes
the counter when it is made, and rolling back to it drops what was stamped
after. That covers ``transaction.savepoint()`` as well as ``atomic()``.

``install()`` hooks this into ``BaseDatabaseWrapper`` (see
``docs/decisions/0002-capture-by-wrapping-django.md``).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, signals

from revy.context import (
    REVISION,
    REVISION_DESCRIPTION,
    Activation,
    Frame,
)
from revy.contrib.django import tracking, wrapping
from revy.contrib.django.deltas import (
    ATTRIBUTE_DELTA_FIELDS,
    PendingObjectDelta,
    build,
    history_models,
)
from revy.contrib.django.inserting import (
    Linked,
    can_link,
    insert,
    insert_instances,
    insert_linked,
    mark_inserted,
)

_PENDING = "_revy_pending"
# Set on a connection while revy's own atomic() is its outermost block.
_OWNED = "_revy_owns_transaction"
# Stamps, in the order things happen; next() on it is atomic in CPython.
_stamps = itertools.count()
# Set on a context's revision, to the token of the connection writing it in
# a transaction still open: until that commits, no other connection may use
# it. A token, not the connection, so that the revision still pickles.
_OPEN_ON = "_revy_open_on"
_TOKEN = "_revy_token"
# Held while a context's revision is made and claimed by a connection.
_claims = threading.Lock()


class Pending:
    """What one connection has recorded but not written yet."""

    __slots__ = ("entries", "revisions", "written", "saved", "managed", "savepoints")

    def __init__(self) -> None:
        # (stamp when recorded, object delta, its attribute deltas as
        # deltas.new_attribute_delta makes them)
        self.entries: list[tuple[int, PendingObjectDelta, list[tuple[Any, ...]]]] = []
        # Revisions revy made or inserted in the open transaction: (stamp,
        # the activation holding it or None, its key there or the alias,
        # revision).
        self.revisions: list[tuple[int, Activation | None, Any, Any]] = []
        # Entries written while a savepoint was open: (stamp when written,
        # the entry). Rolling that savepoint back undoes the insert, so the
        # entries recorded before it go back in the queue.
        self.written: list[tuple[int, Any]] = []
        # Instances that learnt what their row holds in the open transaction:
        # (stamp, weak reference, the attributions the save took). That
        # knowledge is void if it is undone, and the attributions are due.
        self.saved: list[tuple[int, weakref.ref, dict[str, Any]]] = []
        # The savepoints open in the transaction: {name: stamp when made}.
        self.savepoints: dict[str, int] = {}
        # Through models whose rows a related manager is writing right now
        # (between its pre_ and post_ m2m_changed signals). Kept with the
        # transaction, so an operation that fails half way cannot leave it.
        self.managed: set[type[Model]] = set()


def _pending(connection: BaseDatabaseWrapper) -> Pending:
    pending = connection.__dict__.get(_PENDING)
    if pending is None:
        pending = connection.__dict__[_PENDING] = Pending()
    return pending


@contextmanager
def atomic(using: str, inside_yours: bool = True) -> Iterator[None]:
    """``transaction.atomic(savepoint=False)`` around a write revy records.

    If it opens the transaction (autocommit mode), no code but the write's
    own signal receivers runs before it commits, so a new revision waits and
    goes in with its history at the commit: in one statement, where the
    database allows, instead of three. With ``inside_yours`` False, it does
    nothing inside a transaction already open: a write Django refuses then
    leaves that transaction as usable as without revy, and the caller guards
    what it records after the write (``transaction.mark_for_rollback_on_error``).
    """
    connection = connections[using]
    # In manual transaction mode (autocommit off) atomic() does not commit.
    owned = not connection.in_atomic_block and connection.get_autocommit()
    if not owned and not inside_yours:
        yield
        return
    with transaction.atomic(using=using, savepoint=False):
        if not owned:
            yield
            return
        connection.__dict__[_OWNED] = True
        try:
            yield
        finally:
            connection.__dict__[_OWNED] = False


def revision_for(frame: Frame, using: str) -> Any:
    """The revision that changes made now on ``using`` belong to: the one set
    with ``Context.via_revision``, else the outermost context's, made with
    its first change. A new revision is written at once, or with its first
    history rows in a transaction revy opened (see :func:`atomic`)."""
    revision = frame.values.get(REVISION)
    if revision is None:
        revision = _context_revision(frame.activation, using)
    if revision._state.adding:
        if not revision.description:
            revision.description = frame.values.get(REVISION_DESCRIPTION, "") or ""
        if not connections[using].__dict__.get(_OWNED):
            _write_revisions([revision], using)
    return revision


def _context_revision(activation: Activation, using: str) -> Any:
    """The context's revision on ``using``, unless another connection is
    writing it in a transaction still open (a thread started inside the
    context): this connection cannot use a row that may yet be undone, and
    gets a revision of its own instead, kept under ``(using, its token)``."""
    connection = connections[using]
    token = _token(connection)
    revisions = activation.revisions
    revision = revisions.get(using)
    usable = revision is not None and revision.__dict__.get(_OPEN_ON, token) == token
    if usable and len(revisions) == 1:
        return revision
    # A connection that had to take its own revision keeps to it.
    if (own := revisions.get((using, token))) is not None:
        return own
    if usable:
        return revision
    with _claims:
        key: Any = using
        revision = revisions.get(using)
        if revision is not None and revision.__dict__.get(_OPEN_ON, token) != token:
            key, revision = (using, token), None
        if revision is None:
            from revy.contrib.django.models import get_revision_model

            revision = activation.revisions[key] = build(get_revision_model(), {})
            # Claimed until it is committed; under the lock, so no other
            # thread can take it in between.
            revision.__dict__[_OPEN_ON] = token
            _remember_revision(revision, activation, key)
    return revision


def _in_transaction(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection`` has a transaction open: in an atomic block, in
    manual transaction mode, or committing (Django leaves the atomic block
    before it commits)."""
    return connection.in_atomic_block or (
        connection.connection is not None and not connection.autocommit
    )


def _token(connection: BaseDatabaseWrapper) -> int:
    """A number that names ``connection`` for as long as the process runs."""
    token = connection.__dict__.get(_TOKEN)
    if token is None:
        token = connection.__dict__[_TOKEN] = next(_stamps)
    return token


def _inserts_directly(model: type[Model]) -> bool:
    """Whether a revision of ``model`` can be inserted without its own
    ``save()``: none is defined, no signal listens, no parent table shares
    its rows."""
    return (
        not model._meta.parents
        and model.save is Model.save
        and model.save_base is Model.save_base
        and not signals.pre_save.has_listeners(model)
        and not signals.post_save.has_listeners(model)
    )


def _remember_revision(revision: Any, activation: Activation | None, key: Any) -> None:
    """Remember a revision made (with its ``activation``, under ``key``) or
    written (with None) in the open transaction, to forget it if that is
    undone and to let other connections use it once that commits."""
    connection = connections[key if isinstance(key, str) else key[0]]
    if _in_transaction(connection):
        _pending(connection).revisions.append(
            (next(_stamps), activation, key, revision)
        )
    elif activation is None:
        revision.__dict__.pop(_OPEN_ON, None)  # Written and committed.


def add(
    connection: BaseDatabaseWrapper,
    object_delta: PendingObjectDelta,
    attribute_deltas: list[tuple[Any, ...]],
) -> None:
    """Queue one object delta and its attribute deltas for writing."""
    _pending(connection).entries.append((next(_stamps), object_delta, attribute_deltas))
    if not connection.in_atomic_block:
        flush(connection.alias)


def flush(using: str, commit: bool = False) -> None:
    """Write everything queued on ``using`` now; with ``commit``, the
    transaction is to commit next, and may commit with the history."""
    connection = connections[using]
    pending = connection.__dict__.get(_PENDING)
    if pending is None or not pending.entries:
        return
    entries, pending.entries = pending.entries, []
    try:
        _write(using, entries, commit)
    except BaseException:
        # Still to be written: a savepoint rollback that undoes this failed
        # write must not also lose what was recorded before it.
        for _stamp, delta, _attributes in entries:
            delta.pk = None
        pending.entries = entries + pending.entries
        raise
    if pending.savepoints:
        now = next(_stamps)
        pending.written.extend((now, entry) for entry in entries)


def saved(
    instance: Any,
    connection: BaseDatabaseWrapper | None = None,
    attributions: dict[str, Any] | None = None,
) -> None:
    """Note that ``instance`` remembers what its row holds in this
    transaction (a save wrote it, or a refresh read it), and the
    ``attributions`` of the assignments that save took."""
    if connection is None:
        connection = connections[instance._state.db or "default"]
    if _in_transaction(connection):
        _pending(connection).saved.append(
            (next(_stamps), weakref.ref(instance), attributions or {})
        )


# The columns of the attribute delta rows ``_write`` inserts.
_ATTRIBUTE_DELTA_COLUMNS = (
    "object_delta_id",
    "content_type_id",
    "content_id",
    *ATTRIBUTE_DELTA_FIELDS,
)


def _write(using: str, entries: list[Any], commit: bool = False) -> None:
    object_delta_model, attribute_delta_model = history_models()
    revisions = list(
        {
            id(delta.revision): delta.revision
            for _stamp, delta, _attributes in entries
            if delta.revision._state.adding
        }.values()
    )
    # One new revision that needs no save() of its own can go in with them.
    new = None
    if len(revisions) == 1 and _inserts_directly(type(revisions[0])):
        [new] = revisions
    else:
        _write_revisions(revisions, using)
    models = (object_delta_model, attribute_delta_model)
    if _write_in_one_statement(using, entries, new, *models, commit):
        if new is not None:
            _remember_revision(new, None, using)
        return
    if new is not None:
        _write_revisions([new], using)
    _write_in_batches(using, entries, *models)


def _write_revisions(revisions: list[Any], using: str) -> None:
    """Insert new revisions: directly, as history rows are, unless the
    model needs its own ``save()``."""
    for revision in revisions:
        model = type(revision)
        if _inserts_directly(model):
            insert_instances(model, [revision], using)
        else:
            revision.save(using=using)
        _remember_revision(revision, None, using)


def _write_in_one_statement(
    using: str,
    entries: list[Any],
    revision: Any,
    object_delta_model: type[Model],
    attribute_delta_model: type[Model],
    commit: bool,
) -> bool:
    """Write ``revision`` (new, or None), the object deltas and their
    attribute deltas in one statement where the database allows; False
    where it does not, having written nothing. With ``commit``, the same
    round trip may commit the transaction (``inserting.can_commit_with``)."""
    if not can_link(using, len(entries)) or any(
        delta.cause is not None and delta.cause.pk is None
        for _stamp, delta, _attributes in entries
    ):
        return False  # An object delta whose cause is not written yet.
    levels = []
    if revision is not None:
        levels.append(Linked.instances(type(revision), [revision]))
    deltas = [delta for _stamp, delta, _attributes in entries]
    levels.append(
        Linked(
            object_delta_model,
            PendingObjectDelta.COLUMNS,
            [delta.row() for delta in deltas],
            "revision_id",
            [0 if delta.revision._state.adding else None for delta in deltas],
        )
    )
    rows = []
    parents = []
    for index, (_stamp, delta, attributes) in enumerate(entries):
        target = (None, delta.content_type_id, delta.content_id)
        rows.extend(target + attribute for attribute in attributes)
        parents.extend([index] * len(attributes))
    levels.append(
        Linked(
            attribute_delta_model,
            _ATTRIBUTE_DELTA_COLUMNS,
            rows,
            "object_delta_id",
            parents,
        )
    )
    keys = insert_linked(using, levels, commit)
    if keys is None:
        return False
    if revision is not None:
        mark_inserted([revision], keys.pop(0), using)
    for delta, key in zip(deltas, keys[0], strict=True):
        delta.pk = key
    return True


def _write_in_batches(
    using: str,
    entries: list[Any],
    object_delta_model: type[Model],
    attribute_delta_model: type[Model],
) -> None:
    with connections[using].cursor() as cursor:
        # Readers take primary key order for the order things happened, so
        # the deltas go in as recorded; an effect whose cause is not written
        # yet (a cascade's children after their parent) starts a new insert.
        run: list[PendingObjectDelta] = []
        in_run: set[int] = set()
        for _stamp, delta, _attributes in entries:
            if delta.cause is not None and id(delta.cause) in in_run:
                _insert_object_deltas(object_delta_model, run, using, cursor)
                run, in_run = [], set()
            run.append(delta)
            in_run.add(id(delta))
        _insert_object_deltas(object_delta_model, run, using, cursor)
        rows = []
        for _stamp, delta, attributes in entries:
            target = (delta.pk, delta.content_type_id, delta.content_id)
            rows.extend(target + attribute for attribute in attributes)
        insert(
            attribute_delta_model, _ATTRIBUTE_DELTA_COLUMNS, rows, using, cursor=cursor
        )


def _insert_object_deltas(
    model: type[Model], deltas: list[PendingObjectDelta], using: str, cursor: Any
) -> None:
    rows = [delta.row() for delta in deltas]
    keys = insert(model, PendingObjectDelta.COLUMNS, rows, using, True, cursor)
    for delta, key in zip(deltas, keys, strict=True):
        delta.pk = key


def set_managed(using: str, through: type[Model], managed: bool) -> None:
    """Note whether a related manager is writing rows of ``through`` now."""
    connection = connections[using]
    if managed:
        _pending(connection).managed.add(through)
    elif (pending := connection.__dict__.get(_PENDING)) is not None:
        pending.managed.discard(through)


def is_managed(using: str, through: type[Model]) -> bool:
    pending = connections[using].__dict__.get(_PENDING)
    return pending is not None and through in pending.managed


def _forget_saved(saved: list[tuple[int, weakref.ref, dict[str, Any]]]) -> None:
    # The rows no longer hold what these instances knew: read them next time;
    # the assignments the undone saves took are due again, credited to
    # whoever made them.
    for _stamp, reference, attributions in reversed(saved):
        instance = reference()
        if instance is not None:
            tracking.forget_loaded(instance)
            tracking.restore_attributions(instance, attributions)


def _forget_revisions(dropped: list[Any]) -> None:
    # The rows are gone: the next change inserts the revision again.
    for _stamp, activation, key, revision in dropped:
        if activation is not None and activation.revisions.get(key) is revision:
            del activation.revisions[key]
        revision.pk = None
        revision._state.adding = True
        revision.__dict__.pop(_OPEN_ON, None)


# Hooks into BaseDatabaseWrapper ----------------------------------------------


def _after_commit(connection: BaseDatabaseWrapper) -> None:
    pending = connection.__dict__.get(_PENDING)
    if pending is not None:
        for _stamp, _activation, _key, revision in pending.revisions:
            revision.__dict__.pop(_OPEN_ON, None)  # Any connection may use it.
        pending.revisions, pending.written, pending.saved = [], [], []
        pending.managed.clear()
        pending.savepoints.clear()


def _after_rollback(connection: BaseDatabaseWrapper) -> None:
    pending = connection.__dict__.pop(_PENDING, None)
    if pending is not None:
        _forget_revisions(pending.revisions)
        _forget_saved(pending.saved)


def _after_savepoint(connection: BaseDatabaseWrapper, sid: str) -> None:
    _pending(connection).savepoints[sid] = next(_stamps)


def _after_savepoint_rollback(connection: BaseDatabaseWrapper, sid: str) -> None:
    pending = connection.__dict__.get(_PENDING)
    if pending is None or sid not in pending.savepoints:
        return
    made = pending.savepoints[sid]
    # Savepoints made after this one are gone with what followed it.
    pending.savepoints = {s: t for s, t in pending.savepoints.items() if t <= made}
    requeued = [
        entry for written, entry in pending.written if written > made >= entry[0]
    ]
    pending.written = [w for w in pending.written if w[0] <= made]
    pending.managed.clear()  # Only a failed operation is rolled back half way.
    for _stamp, object_delta, _attributes in requeued:
        object_delta.pk = None
    pending.entries = requeued + [e for e in pending.entries if e[0] <= made]
    _forget_saved([s for s in pending.saved if s[0] > made])
    pending.saved = [s for s in pending.saved if s[0] <= made]
    dropped = [entry for entry in pending.revisions if entry[0] > made]
    if dropped:
        pending.revisions = [e for e in pending.revisions if e[0] <= made]
        _forget_revisions(dropped)


def _after_savepoint_release(connection: BaseDatabaseWrapper, sid: str) -> None:
    pending = connection.__dict__.get(_PENDING)
    if pending is not None:
        pending.savepoints.pop(sid, None)


def _wrap_commit(commit: Any) -> Any:
    def revy_commit(self: BaseDatabaseWrapper) -> None:
        # What commit() checks first, since the history may commit.
        self.validate_thread_sharing()
        self.validate_no_atomic_block()
        try:
            flush(self.alias, commit=True)
        except BaseException as error:
            # atomic() rolls back when the commit fails with a DatabaseError
            # only; after anything else it would go on to commit the data
            # without its history.
            if not isinstance(error, DatabaseError):
                self.rollback()
            raise
        commit(self)
        _after_commit(self)

    return revy_commit


def _wrap_rollback(rollback: Any) -> Any:
    def revy_rollback(self: BaseDatabaseWrapper) -> None:
        rollback(self)
        _after_rollback(self)

    return revy_rollback


def _wrap_savepoint(savepoint: Any) -> Any:
    def revy_savepoint(self: BaseDatabaseWrapper) -> str | None:
        sid = savepoint(self)
        if sid is not None:
            _after_savepoint(self, sid)
        return sid

    return revy_savepoint


def _wrap_savepoint_commit(savepoint_commit: Any) -> Any:
    def revy_savepoint_commit(self: BaseDatabaseWrapper, sid: str) -> None:
        savepoint_commit(self, sid)
        _after_savepoint_release(self, sid)

    return revy_savepoint_commit


def _wrap_savepoint_rollback(savepoint_rollback: Any) -> Any:
    def revy_savepoint_rollback(self: BaseDatabaseWrapper, sid: str) -> None:
        savepoint_rollback(self, sid)
        _after_savepoint_rollback(self, sid)

    return revy_savepoint_rollback


def _wrap_close(close: Any) -> Any:
    def revy_close(self: BaseDatabaseWrapper) -> None:
        # A connection closed inside a transaction loses that transaction.
        if _in_transaction(self):
            _after_rollback(self)
        close(self)

    return revy_close


def install() -> None:
    """Wrap the transaction methods of every database backend, once."""
    wrapping.wrap(
        BaseDatabaseWrapper,
        {
            "commit": _wrap_commit,
            "rollback": _wrap_rollback,
            "savepoint": _wrap_savepoint,
            "savepoint_commit": _wrap_savepoint_commit,
            "savepoint_rollback": _wrap_savepoint_rollback,
            "close": _wrap_close,
        },
    )
