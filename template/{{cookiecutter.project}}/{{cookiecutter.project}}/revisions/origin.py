"""Where the work being recorded comes from: set per request by the middleware.

A ContextVar, so each thread and asyncio task sees its own request, and
sync_to_async hands it on. ``Revision.save`` reads it when revy creates the
revision of a request.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_origin: ContextVar[dict[str, Any] | None] = ContextVar("request_origin", default=None)


def current() -> dict[str, Any]:
    """The fields of the current request's revision; empty outside requests."""
    return _origin.get() or {}


@contextmanager
def serving(**fields: Any) -> Iterator[None]:
    """Make ``fields`` the origin of the revisions created in this block."""
    token = _origin.set(fields)
    try:
        yield
    finally:
        _origin.reset(token)
