"""Where the work being recorded comes from: set per request by the middleware.

A ContextVar, so each thread and asyncio task sees its own request, and
sync_to_async hands it on. ``Revision.save`` reads it when revy creates the
revision of a request.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Serving:
    """The request being served: its revision's fields, and the keys of the
    revisions it wrote (for its log line)."""

    fields: dict[str, Any]
    revisions: list[Any] = field(default_factory=list)


_serving: ContextVar[Serving | None] = ContextVar("request_origin", default=None)


def current() -> dict[str, Any]:
    """The fields of the current request's revision; empty outside requests."""
    served = _serving.get()
    return served.fields if served is not None else {}


def wrote(revision_id: Any) -> None:
    """Note that the current request wrote the revision ``revision_id``."""
    served = _serving.get()
    if served is not None:
        served.revisions.append(revision_id)


@contextmanager
def serving(**fields: Any) -> Iterator[Serving]:
    """Make ``fields`` the origin of the revisions created in this block."""
    served = Serving(fields)
    token = _serving.set(served)
    try:
        yield served
    finally:
        _serving.reset(token)
