"""Who acts: the actor resolvers of RevyMiddleware, and the system.

An actor is any model instance, or None for the system. For each request
RevyMiddleware asks the resolvers listed in settings.REVY_ACTOR_RESOLVERS in
turn and takes the first answer that is not None:

1. ``organization``: the organisation named by the X-Perform-As-Organization
   header, when the signed-in user is one of its members. Anyone else gets
   403 Forbidden: before the view runs, or, for an API view (which
   authenticates the request itself), before anything is written.
2. ``authenticated_user``: the signed-in user.

Nobody answers for anonymous requests and management commands: there the
system (None) acts. Wrap such work in ``system()`` to say so. A task enqueued
in a request runs as the request's actor (revy.contrib.tasks).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from revy import Context
from revy.contrib.django.actors import authenticated_user

from {{ cookiecutter.project }}.accounts.models import Organization

__all__ = ["ORGANIZATION_HEADER", "authenticated_user", "organization", "system"]

ORGANIZATION_HEADER = "X-Perform-As-Organization"


def organization(request: HttpRequest) -> Organization | None:
    """The organisation the request acts for, by its slug in the header.

    Sets ``request.organization`` for the views. Raises PermissionDenied (403)
    when the user is not signed in or not a member of it.
    """
    slug = request.headers.get(ORGANIZATION_HEADER, "").strip()
    if not slug:
        return None
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise PermissionDenied(f"Sign in to act for the organisation {slug!r}.")
    found = Organization.objects.filter(slug=slug, members=user).first()
    if found is None:
        raise PermissionDenied(f"You are not a member of the organisation {slug!r}.")
    request.organization = found  # type: ignore[attr-defined]
    return found


def system() -> Context:
    """A context in which the system acts: for commands, tasks and automations.

    Use it as ``with system():`` or as a decorator, ``@system()``.
    """
    return Context.via_actor(None)
