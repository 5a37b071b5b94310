"""The actor of a request: asked of ``REVY_ACTOR_RESOLVERS`` when first needed.

``RevyMiddleware`` gives each request's context a :class:`RequestActor`
rather than an actor, because many views authenticate the request
themselves (Django REST framework's token, JWT and session checks run in the
view, after every middleware). The resolvers are asked when the request
records its first change, or when code asks ``Context.get_actor()``, and
asked again if the request's user has been replaced since (a view that
authenticated). Decision 0018 tells why.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from revy.context import Context
from revy.contrib.django import conf
from revy.deferred import Deferred

__all__ = ["RequestActor", "resolve_actor"]


def resolve_actor(request: HttpRequest) -> Any:
    """The first answer of ``REVY_ACTOR_RESOLVERS`` that is not None."""
    for resolver in conf.actor_resolvers():
        actor = resolver(request)
        if actor is not None:
            return actor
    return None


class _Answer(NamedTuple):
    """What the resolvers answered for one ``request.user``: an actor, or
    the refusal they raised."""

    user: Any
    actor: Any
    refusal: PermissionDenied | None


_NOT_ASKED = _Answer(object(), None, None)


class RequestActor(Deferred):
    """The actor of ``request``, resolved when it is needed.

    The answer is kept for the ``request.user`` object it was given for:
    REST framework replaces ``request.user`` when it authenticates, and the
    resolvers are then asked again. A resolver's refusal
    (``PermissionDenied``) is kept too, and raised wherever the actor is
    needed: before the change that needs it is stored. What a resolver
    itself writes is recorded as the system's.
    """

    __slots__ = ("request", "_answer", "_lock")

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self._answer = _NOT_ASKED
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RequestActor of {self.request!r}>"

    def resolve(self) -> Any:
        user = getattr(self.request, "user", None)
        answer = self._answer
        if answer.user is not user:
            with self._lock:
                answer = self._answer
                if answer.user is not user:
                    answer = self._answer = self._ask(user)
        if answer.refusal is not None:
            raise answer.refusal
        return answer.actor

    def prepare(self) -> None:
        """Ask the resolvers now, keeping a refusal for when the actor is
        needed: the user may yet be replaced by a view that authenticates."""
        with contextlib.suppress(PermissionDenied):
            self.resolve()

    def _ask(self, user: Any) -> _Answer:
        try:
            with Context.via_actor(None):
                return _Answer(user, resolve_actor(self.request), None)
        except PermissionDenied as refusal:
            return _Answer(user, None, refusal)
