"""History is append-only: the guard every history model and queryset asks.

revy inserts history rows; nothing updates or deletes them, except the
operations decision 0010 allows, each through an explicit revy API that
records it: ``prune`` (the fold of old history), ``redact`` (erasure of
personal data), ``migrate`` (a schema change's conversion of stored values)
and ``flush`` (emptying the whole database, as ``manage.py flush`` and the
test runner do). Such an API runs its writes inside :func:`declared`, which
lets the ORM guards pass and tells the database session (for the optional
triggers of ``manage.py revy_triggers``) which operation is under way.

Everything else that would change a history row (``save()`` of an existing
row, ``delete()``, ``QuerySet.update()`` or ``.delete()``, a cascade) raises
:class:`~revy.contrib.django.exceptions.HistoryIsAppendOnly`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

from revy.contrib.django.backends import guards
from revy.contrib.django.exceptions import HistoryIsAppendOnly

__all__ = [
    "OPERATIONS",
    "declared",
    "declared_operation",
    "refuse",
    "sqlite_declared_operation",
]

# The operations that may change committed history, each through its API.
OPERATIONS = ("prune", "redact", "migrate", "flush")

_declared: ContextVar[str | None] = ContextVar("revy_declared_operation", default=None)

_ALLOWED_WAYS = (
    "revy.contrib.django.redaction.redact() or manage.py revy_redact to "
    "erase values, revy.contrib.django.pruning.prune_revisions() to remove "
    "old revisions"
)


def declared_operation() -> str | None:
    """The operation declared in this thread or task, if any."""
    return _declared.get()


def refuse(what: str, model: type) -> None:
    """Raise :class:`HistoryIsAppendOnly` for ``what`` done to ``model``,
    unless an allowed operation is declared."""
    if _declared.get() is None:
        raise HistoryIsAppendOnly(
            f"{model._meta.label} is append-only history: {what} would rewrite "
            f"it. Change history only through {_ALLOWED_WAYS}; each records "
            "who did it, when and what (see docs/integrity.md)."
        )


@contextmanager
def declared(operation: str, using: str) -> Iterator[None]:
    """Run the block as ``operation``, one of :data:`OPERATIONS`: the ORM
    guards let it update and delete history rows on ``using``, and the
    database session says so to revy's triggers. For revy's own APIs, which
    record what they change: code of a project calls those."""
    if operation not in OPERATIONS:
        raise ValueError(
            f"{operation!r} is not an operation allowed on history; "
            f"the allowed ones are {', '.join(OPERATIONS)}."
        )
    token = _declared.set(operation)
    _set_session(using, operation)
    try:
        yield
    finally:
        _declared.reset(token)
        outer = _declared.get()
        _set_session(using, outer)


def _set_session(using: str, operation: str | None) -> None:
    guards.declare(connections[using], operation)


def sqlite_declared_operation() -> str:
    """What revy's SQLite triggers ask (the SQL function revy_operation())."""
    return _declared.get() or ""
