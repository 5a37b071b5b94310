"""``RevyMiddleware``: each request runs inside a ``revy.Context``."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from revy.context import Context, current_frame, restore_frame
from revy.contrib.django import conf, routing
from revy.contrib.django.request_actor import RequestActor, resolve_actor

__all__ = [
    "RevyMiddleware",
    "authenticates_itself",
    "resolve_actor",
    "revision_description",
]


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

    The actor is a :class:`RequestActor`. Before a view runs, the
    resolvers are asked, so that a refusal answers 403 before it runs;
    unless the view authenticates the request itself (a REST framework
    view): then they are asked when its first change is recorded, once the
    view has authenticated. Place it after ``AuthenticationMiddleware``. A
    request that writes nothing leaves no revision. Works under WSGI and
    ASGI.
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
            actor=RequestActor(request),
            revision_description=revision_description(request),
        )
        with _entered(context), routing.request_scope():
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        # Resolvers are plain sync callables that may touch the database:
        # asked now, in a thread, an async view can read the actor. A view
        # that authenticates replaces request.user, and they are asked again
        # where the change is saved, in the thread that saves it.
        actor = RequestActor(request)
        await sync_to_async(actor.prepare)()
        context = Context.via(
            actor=actor, revision_description=revision_description(request)
        )
        with _entered(context), routing.request_scope():
            return await self.get_response(request)  # type: ignore[misc]

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], *args: Any
    ) -> None:
        """Ask the resolvers before a view that takes the user the
        middleware authenticated (under ASGI, Django calls this in a
        thread)."""
        frame = current_frame()
        if frame is None or authenticates_itself(view):
            return
        if isinstance(frame.actor, RequestActor):
            frame.actor.resolve()


def authenticates_itself(view: Callable[..., Any]) -> bool:
    """Whether ``view`` authenticates the request in its own code, as REST
    framework's views (any view class with ``authentication_classes``) do."""
    view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
    return hasattr(view_class, "authentication_classes")
