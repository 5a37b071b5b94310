"""How drf-spectacular describes the history and revert endpoints.

drf-spectacular is optional: without it the decorators change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from revy.contrib.rest_framework.serializers import (
    ConflictSerializer,
    ObjectDeltaSerializer,
    RevertSerializer,
    RevisionSerializer,
)

try:
    from drf_spectacular.utils import OpenApiResponse, extend_schema
except ImportError:  # pragma: no cover - drf-spectacular is not installed
    extend_schema = None

__all__ = ["history_schema", "revert_schema"]


class RevertedSerializer(serializers.Serializer):
    """What a revert answers: the revision that undid it, ``null`` if there
    was nothing to undo."""

    revision = RevisionSerializer(allow_null=True)


class RevertConflictSerializer(serializers.Serializer):
    """What a refused revert answers (409)."""

    detail = serializers.CharField()
    conflicts = ConflictSerializer(many=True)


def _described(**kwargs: Any) -> Callable[[Any], Any]:
    if extend_schema is None:  # pragma: no cover
        return lambda view: view
    return extend_schema(**kwargs)


history_schema = _described(
    summary="The object's history",
    description="Newest first: one entry per revision that changed the object.",
    request=None,
    responses=ObjectDeltaSerializer(many=True),
)
revert_schema = _described(
    summary="Revert a revision of the object",
    description=(
        "Undoes the revision as a whole, recorded as a new revision. 409 "
        "lists the later changes that conflict, unless overwrite is true."
    ),
    request=RevertSerializer,
    responses=(
        {
            200: RevertedSerializer,
            409: OpenApiResponse(RevertConflictSerializer, description="Conflicts"),
        }
        if extend_schema is not None
        else {}
    ),
)
