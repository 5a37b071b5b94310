"""Context values worked out when they are first needed.

``Context.via(actor=SomeDeferred(...))`` sets a value whose
:meth:`Deferred.resolve` is called only when the value is needed:
``Context.get_actor()`` answers what it resolves to, a frame holds the
deferred value itself, and integrations resolve it with :func:`resolved`
before they record a change. revy.contrib.django's middleware gives each
request such an actor, since some views authenticate the request themselves.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Deferred", "resolved"]


class Deferred:
    """A value resolved when it is needed, not when its context is entered."""

    __slots__ = ()

    def resolve(self) -> Any:
        """The value; called each time it is needed, so keep what it costs."""
        raise NotImplementedError


def resolved(value: Any) -> Any:
    """``value``, or what it resolves to if it is :class:`Deferred`."""
    return value.resolve() if isinstance(value, Deferred) else value
