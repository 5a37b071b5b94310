"""History waiting for its transaction: a queue per connection, its
revisions, and the hooks into Django's transaction methods.

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

``transaction_hooks.install()`` calls the ``after_*`` functions from
Django's transaction methods and makes every read of a history model write
the queue first. ``writer.py`` does the writing.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from revy.context import Activation, Frame
from revy.contrib.django import backends, conf, routing, sealing, tracking, writer
from revy.contrib.django.encoding import clean_text
from revy.contrib.django.pending import PendingObjectDelta
from revy.contrib.django.tracking import Assignment

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


class OpenRevision(NamedTuple):
    """A revision made or inserted in the open transaction."""

    stamp: int
    activation: Activation | None  # The context holding it; None: written only.
    key: Any  # Its key in the activation: the alias, or (alias, token).
    revision: Any


class Written(NamedTuple):
    """An object delta inserted while a savepoint was open."""

    stamp: int
    delta: PendingObjectDelta


class Saved(NamedTuple):
    """An instance that learnt what its row holds in the open transaction."""

    stamp: int
    instance: weakref.ref
    attributions: dict[str, Assignment]  # Those the save took.


class Learning(NamedTuple):
    """A bulk write whose instances learnt what their rows hold, in the open
    transaction: one entry for all of them (``tracking.Learnt``)."""

    stamp: int
    learnt: tracking.Learnt


class Pending:
    """What one connection has recorded but not written yet."""

    __slots__ = (
        "deltas",
        "revisions",
        "written",
        "saved",
        "saved_alive",
        "learnt",
        "managed",
        "savepoints",
    )

    def __init__(self) -> None:
        # Object deltas queued, each with its attribute deltas and stamp.
        self.deltas: list[PendingObjectDelta] = []
        # Revisions revy made or inserted in the open transaction.
        self.revisions: list[OpenRevision] = []
        # Deltas written while a savepoint was open. Rolling that savepoint
        # back undoes the insert, so those recorded before it are queued again.
        self.written: list[Written] = []
        # Instances that learnt what their row holds in the open transaction.
        # That knowledge is void if it is undone, and the attributions are due.
        self.saved: list[Saved] = []
        # Its length when those of instances gone were last dropped.
        self.saved_alive = 0
        # The same, for the instances of bulk writes: one entry per write.
        self.learnt: list[Learning] = []
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


def revision_for(frame: Frame, using: str, write_new: bool = True) -> Any:
    """The revision that changes made now on ``using`` belong to: the one set
    with ``Context.via_revision``, else the outermost context's, made with
    its first change. A new revision is written at once, or with its first
    history rows in a transaction revy opened (see :func:`atomic`); not
    written without ``write_new``: history the database writes decides."""
    revision = frame.revision
    if revision is None:
        revision = _context_revision(frame.activation, using)
    if revision._state.adding:
        revision.description = clean_text(
            revision.description or frame.revision_description
        )
        if write_new and not connections[using].__dict__.get(_OWNED):
            write_revision(revision, using)
    return revision


def write_revision(revision: Any, using: str) -> Any:
    """Write a new ``revision`` of :func:`revision_for` now, for history the
    database writes; its key."""
    if revision._state.adding:
        writer.insert_revisions([revision], using, _written_revision(using))
    return revision.pk


def revision_inserted(revision: Any, key: Any, using: str) -> None:
    """A new ``revision`` was inserted by the database, with ``key``."""
    backends.mark_inserted([revision], [key], using)
    _written_revision(using)(revision)


def written_by_database(using: str, revision: Any, first: Any, last: Any) -> None:
    """The database wrote object deltas of ``revision`` with the data, with
    keys from ``first`` to ``last``."""
    connection = connections[using]
    routing.recorded(using)
    sealing.written_between(
        connection, revision.pk, first, last, next(_stamps), in_transaction(connection)
    )


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
            revision = activation.revisions[key] = conf.history_models().revision()
            # Claimed until it is committed; under the lock, so no other
            # thread can take it in between.
            revision.__dict__[_OPEN_ON] = token
            _remember_revision(revision, activation, key)
    return revision


def in_transaction(connection: BaseDatabaseWrapper) -> bool:
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


def _remember_revision(revision: Any, activation: Activation | None, key: Any) -> None:
    """Remember a revision made (with its ``activation``, under ``key``) or
    written (with None) in the open transaction, to forget it if that is
    undone and to let other connections use it once that commits."""
    connection = connections[key if isinstance(key, str) else key[0]]
    if in_transaction(connection):
        _pending(connection).revisions.append(
            OpenRevision(next(_stamps), activation, key, revision)
        )
    elif activation is None:
        revision.__dict__.pop(_OPEN_ON, None)  # Written and committed.


def _written_revision(using: str) -> writer.Inserted:
    return lambda revision: _remember_revision(revision, None, using)


def add(connection: BaseDatabaseWrapper, delta: PendingObjectDelta) -> None:
    """Queue one object delta, with its attribute deltas, for writing."""
    delta.stamp = next(_stamps)
    _pending(connection).deltas.append(delta)
    routing.recorded(connection.alias)
    if not connection.in_atomic_block:
        flush(connection.alias)


def flush(using: str, commit: bool = False) -> None:
    """Write everything queued on ``using`` now; with ``commit``, the
    transaction is to commit next, and may commit with the history."""
    connection = connections[using]
    pending = connection.__dict__.get(_PENDING)
    if pending is None or not pending.deltas:
        return
    deltas, pending.deltas = pending.deltas, []
    try:
        writer.write(using, deltas, _written_revision(using), commit)
    except BaseException:
        # Still to be written: a savepoint rollback that undoes this failed
        # write must not also lose what was recorded before it.
        for delta in deltas:
            delta.pk = None
        pending.deltas = deltas + pending.deltas
        raise
    now = next(_stamps)
    if pending.savepoints:
        # Only a delta recorded before a savepoint still open is queued again
        # when that savepoint is rolled back; one recorded after the newest is
        # dropped with it. Keeping just those keeps a bulk write inside a
        # savepoint from holding every delta it wrote.
        newest = max(pending.savepoints.values())
        pending.written.extend(
            Written(now, delta) for delta in deltas if delta.stamp <= newest
        )
    sealing.written(connection, deltas, now, in_transaction(connection))


def flush_if_full(using: str) -> None:
    """Write what is queued on ``using`` once it holds a batch
    (``REVY_BATCH_SIZE`` object deltas): a bulk write calls it between its
    batches, so that memory holds about one batch of history, however many
    rows the write changes."""
    pending = connections[using].__dict__.get(_PENDING)
    if pending is not None and len(pending.deltas) >= conf.batch_size():
        flush(using)


def saved(
    instance: Any,
    connection: BaseDatabaseWrapper | None = None,
    attributions: dict[str, Assignment] | None = None,
) -> None:
    """Note that ``instance`` remembers what its row holds in this
    transaction (a save wrote it, or a refresh read it), and the
    ``attributions`` of the assignments that save took."""
    if connection is None:
        connection = connections[instance._state.db or "default"]
    if in_transaction(connection):
        pending = _pending(connection)
        pending.saved.append(
            Saved(next(_stamps), weakref.ref(instance), attributions or {})
        )
        if len(pending.saved) >= max(conf.batch_size(), 2 * pending.saved_alive):
            # An instance gone has nothing left to forget: a loop of saves
            # holds an entry per instance it still holds, not per save.
            pending.saved = [e for e in pending.saved if e.instance() is not None]
            pending.saved_alive = len(pending.saved)


def learning(connection: BaseDatabaseWrapper) -> tracking.Learnt | None:
    """The mark for instances a bulk write saves now, so that a rollback
    that undoes it makes them forget (``tracking.Learnt``); None outside a
    transaction, where nothing can undo it."""
    if not in_transaction(connection):
        return None
    learnt = tracking.Learnt()
    _pending(connection).learnt.append(Learning(next(_stamps), learnt))
    return learnt


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


def _forget_saved(saved: list[Saved]) -> None:
    # The rows no longer hold what these instances knew: read them next time;
    # the assignments the undone saves took are due again, credited to
    # whoever made them.
    for entry in reversed(saved):
        instance = entry.instance()
        if instance is not None:
            tracking.forget_loaded(instance)
            tracking.restore_attributions(instance, entry.attributions)


def _forget_learnt(learnt: list[Learning]) -> None:
    # As _forget_saved(), for each instance when it is next used.
    for entry in learnt:
        entry.learnt.undone = True


def _forget_revisions(dropped: list[OpenRevision]) -> None:
    # The rows are gone: the next change inserts the revision again.
    for entry in dropped:
        revision = entry.revision
        if (
            entry.activation is not None
            and entry.activation.revisions.get(entry.key) is revision
        ):
            del entry.activation.revisions[entry.key]
        revision.pk = None
        revision._state.adding = True
        revision.__dict__.pop(_OPEN_ON, None)


# Hooks into BaseDatabaseWrapper ----------------------------------------------


def after_commit(connection: BaseDatabaseWrapper) -> None:
    pending = connection.__dict__.get(_PENDING)
    if pending is not None:
        for entry in pending.revisions:
            entry.revision.__dict__.pop(_OPEN_ON, None)  # Any connection may use it.
        pending.revisions, pending.written, pending.saved = [], [], []
        pending.saved_alive = 0
        for entry in pending.learnt:
            entry.learnt.committed = True
        pending.learnt = []
        pending.managed.clear()
        pending.savepoints.clear()


def after_rollback(connection: BaseDatabaseWrapper) -> None:
    sealing.forget(connection)
    pending = connection.__dict__.pop(_PENDING, None)
    if pending is not None:
        _forget_revisions(pending.revisions)
        _forget_saved(pending.saved)
        _forget_learnt(pending.learnt)


def after_savepoint(connection: BaseDatabaseWrapper, sid: str) -> None:
    _pending(connection).savepoints[sid] = next(_stamps)


def after_savepoint_rollback(connection: BaseDatabaseWrapper, sid: str) -> None:
    pending = connection.__dict__.get(_PENDING)
    if pending is None or sid not in pending.savepoints:
        return
    made = pending.savepoints[sid]
    sealing.rolled_back_to(connection, made)
    # Savepoints made after this one are gone with what followed it.
    pending.savepoints = {s: t for s, t in pending.savepoints.items() if t <= made}
    requeued = [w.delta for w in pending.written if w.stamp > made >= w.delta.stamp]
    pending.written = [w for w in pending.written if w.stamp <= made]
    pending.managed.clear()  # Only a failed operation is rolled back half way.
    for delta in requeued:
        delta.pk = None
    pending.deltas = requeued + [d for d in pending.deltas if d.stamp <= made]
    _forget_saved([s for s in pending.saved if s.stamp > made])
    pending.saved = [s for s in pending.saved if s.stamp <= made]
    _forget_learnt([e for e in pending.learnt if e.stamp > made])
    pending.learnt = [e for e in pending.learnt if e.stamp <= made]
    dropped = [entry for entry in pending.revisions if entry.stamp > made]
    if dropped:
        pending.revisions = [e for e in pending.revisions if e.stamp <= made]
        _forget_revisions(dropped)


def after_savepoint_release(connection: BaseDatabaseWrapper, sid: str) -> None:
    pending = connection.__dict__.get(_PENDING)
    if pending is not None:
        pending.savepoints.pop(sid, None)
