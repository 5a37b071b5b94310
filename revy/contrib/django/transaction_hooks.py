"""The hooks into Django's transaction methods: every database backend's
``commit``, ``rollback``, savepoints and ``close`` tell ``transactions``
what happened to the history waiting for them (see
``docs/decisions/0002-capture-by-wrapping-django.md``)."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from revy.contrib.django import querysets, sealing, transactions, wrapping

__all__ = ["install"]


def _wrap_commit(commit: Any) -> Any:
    def revy_commit(self: BaseDatabaseWrapper) -> None:
        # What commit() checks first, since the history may commit.
        self.validate_thread_sharing()
        self.validate_no_atomic_block()
        try:
            sealed = sealing.enabled()
            transactions.flush(self.alias, commit=not sealed)
            if sealed:
                sealing.seal(self)  # Before the commit: see sealing.py.
        except BaseException as error:
            # atomic() rolls back when the commit fails with a DatabaseError
            # only; after anything else it would go on to commit the data
            # without its history.
            if not isinstance(error, DatabaseError):
                self.rollback()
            raise
        commit(self)
        transactions.after_commit(self)

    return revy_commit


def _wrap_rollback(rollback: Any) -> Any:
    def revy_rollback(self: BaseDatabaseWrapper) -> None:
        rollback(self)
        transactions.after_rollback(self)

    return revy_rollback


def _wrap_savepoint(savepoint: Any) -> Any:
    def revy_savepoint(self: BaseDatabaseWrapper) -> str | None:
        sid = savepoint(self)
        if sid is not None:
            transactions.after_savepoint(self, sid)
        return sid

    return revy_savepoint


def _wrap_savepoint_commit(savepoint_commit: Any) -> Any:
    def revy_savepoint_commit(self: BaseDatabaseWrapper, sid: str) -> None:
        savepoint_commit(self, sid)
        transactions.after_savepoint_release(self, sid)

    return revy_savepoint_commit


def _wrap_savepoint_rollback(savepoint_rollback: Any) -> Any:
    def revy_savepoint_rollback(self: BaseDatabaseWrapper, sid: str) -> None:
        savepoint_rollback(self, sid)
        transactions.after_savepoint_rollback(self, sid)

    return revy_savepoint_rollback


def _wrap_close(close: Any) -> Any:
    def revy_close(self: BaseDatabaseWrapper) -> None:
        # A connection closed inside a transaction loses that transaction.
        if transactions.in_transaction(self):
            transactions.after_rollback(self)
        close(self)

    return revy_close


def install() -> None:
    """Wrap the transaction methods of every database backend, and write the
    queue before reads of the history models, once."""
    querysets.add_read_hook(transactions.flush)
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
