"""``RevyMiddleware``: each request runs inside a ``revy.Context``."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from revy.context import Context, current_frame, restore_frame
from revy.contrib.django import conf


def resolve_actor(request: HttpRequest) -> Any:
    """The first answer of ``REVY_ACTOR_RESOLVERS`` that is not None."""
    for resolver in conf.actor_resolvers():
        actor = resolver(request)
        if actor is not None:
            return actor
    return None


def revision_description(request: HttpRequest) -> str:
    """The revision description the request sends in its header, cut to length."""
    header = conf.revision_description_header()
    if not header:
        return ""
    value = request.headers.get(header, "")
    # Servers hand header bytes over as latin-1, clients send UTF-8; text
    # that is not UTF-8 stays as the server gave it.
    with contextlib.suppress(UnicodeError):
        value = value.encode("latin-1").decode("utf-8")
    return value.strip()[: conf.revision_description_max_length()]


@contextlib.contextmanager
def _entered(context: Context) -> Iterator[None]:
    """``with context:``, leaving the stack as it found it: a view that left
    a context open must not leave it to the next request of this thread."""
    outer = current_frame()
    try:
        with context:
            yield
    finally:
        restore_frame(outer)


class RevyMiddleware:
    """Run each request in a context: its actor from the resolvers, its
    revision description from the ``X-Commit-Message`` header.

    Place it after ``AuthenticationMiddleware``. A request that writes
    nothing leaves no revision. Works under WSGI and ASGI.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        context = Context.via(
            actor=resolve_actor(request),
            revision_description=revision_description(request),
        )
        with _entered(context):
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        # Resolvers are plain sync callables; they may touch the database.
        actor = await sync_to_async(resolve_actor)(request)
        context = Context.via(
            actor=actor, revision_description=revision_description(request)
        )
        with _entered(context):
            return await self.get_response(request)  # type: ignore[misc]
