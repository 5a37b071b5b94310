"""Reading from replicas, and your own writes from the primary.

History reads (``history()``, ``state_at()``, snapshots, the admin's pages)
run through Django's database routers like any read, so a project's router
may send them to a replica. :class:`ReadYourWritesRouter`, placed first in
``DATABASE_ROUTERS``, sends reads to the primary (the database the routers
pick for writes) instead:

- inside a request that has recorded history (``RevyMiddleware`` opens the
  request's scope), so that a page shown after a save shows that save;
- inside a transaction on the primary, whose writes a replica cannot see;
- inside :func:`primary`, which ``revert()``, ``restore()``,
  ``restore_deleted()`` and their conflict checks use: they decide what to
  write from what they read, and a replica's lag would make them decide
  wrongly. Pruning names its database itself.

Otherwise it has no opinion, and the next router decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections, models, router

__all__ = ["ReadYourWritesRouter", "primary", "recorded", "request_scope"]

# The databases the current request recorded history on (None: no request).
_recorded: ContextVar[set[str] | None] = ContextVar("revy_recorded", default=None)
_primary: ContextVar[bool] = ContextVar("revy_primary", default=False)


def recorded(using: str) -> None:
    """History was queued on ``using``: the rest of the request reads there."""
    written = _recorded.get()
    if written is not None:
        written.add(using)


@contextmanager
def request_scope() -> Iterator[None]:
    """One request: what it records pins its later reads to the primary."""
    token = _recorded.set(set())
    try:
        yield
    finally:
        _recorded.reset(token)


@contextmanager
def primary() -> Iterator[None]:
    """Every read inside goes to the primary."""
    token = _primary.set(True)
    try:
        yield
    finally:
        _primary.reset(token)


class ReadYourWritesRouter:
    """Reads go to the primary where a replica could be behind (see the
    module); elsewhere the next router decides."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        using = router.db_for_write(model, **hints)
        if _primary.get() or using in (_recorded.get() or ()):
            return using
        if using in connections and connections[using].in_atomic_block:
            return using
        return None
