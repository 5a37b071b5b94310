"""Actor resolvers: plain callables that take the request and return an actor.

``RevyMiddleware`` asks the resolvers of ``REVY_ACTOR_RESOLVERS`` in turn and
takes the first answer that is not None; None from all of them means the
system acts. A resolver that lets a request act for someone else (an
organisation, a service acting for a user) must check that it may: raise
``django.core.exceptions.PermissionDenied`` to answer 403. See docs/actors.md.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def authenticated_user(request: HttpRequest) -> Any:
    """The authenticated ``request.user``, or None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None
