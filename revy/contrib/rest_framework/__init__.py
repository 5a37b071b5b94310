"""revy for Django REST framework: ``pip install revy[rest_framework]``.

- :class:`RevyViewSetMixin` adds ``GET .../{pk}/history/`` and
  ``POST .../{pk}/revert/`` to a model viewset.
- The serializers of revisions, object deltas and attribute deltas, and
  :class:`HistoryPermission`, for views of the project's own.

The actor of an API write needs nothing of this package: ``RevyMiddleware``
resolves it after the view has authenticated the request. See docs/api.md.
"""

from revy.contrib.rest_framework.permissions import HistoryPermission
from revy.contrib.rest_framework.serializers import (
    ActorSerializer,
    AttributeDeltaSerializer,
    ConflictSerializer,
    ObjectDeltaSerializer,
    RevertSerializer,
    RevisionSerializer,
    actors_of,
)
from revy.contrib.rest_framework.viewsets import RevyViewSetMixin

__all__ = [
    "ActorSerializer",
    "AttributeDeltaSerializer",
    "ConflictSerializer",
    "HistoryPermission",
    "ObjectDeltaSerializer",
    "RevertSerializer",
    "RevisionSerializer",
    "RevyViewSetMixin",
    "actors_of",
]
