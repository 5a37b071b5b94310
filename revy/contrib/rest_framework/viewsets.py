"""``RevyViewSetMixin``: history and revert endpoints on a model viewset.

::

    class PostViewSet(RevyViewSetMixin, viewsets.ModelViewSet):
        queryset = Post.objects.all()
        serializer_class = PostSerializer

adds ``GET .../{pk}/history/`` (the object's history, newest first, paginated
with the viewset's pagination) and ``POST .../{pk}/revert/`` (undo one of
its revisions, recorded as a new revision by the request's actor). See
docs/api.md.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from revy.context import Context
from revy.contrib.django import history as revy_history
from revy.contrib.django.admin.display import DEFAULT_MASKED_FIELDS
from revy.contrib.django.exceptions import RevertConflict
from revy.contrib.rest_framework.permissions import HistoryPermission, missing_to_revert
from revy.contrib.rest_framework.schema import history_schema, revert_schema
from revy.contrib.rest_framework.serializers import (
    ConflictSerializer,
    ObjectDeltaSerializer,
    RevertSerializer,
    RevisionSerializer,
    actors_of,
)

__all__ = ["RevyViewSetMixin"]


class RevyViewSetMixin:
    """Adds the ``history`` and ``revert`` actions to a ``GenericViewSet``.

    The object is found with ``get_object()``, so the viewset's queryset,
    lookup and object permissions apply; the actions also need the model's
    permissions (:class:`HistoryPermission`). Once REST framework has
    authenticated the request, the actor is resolved, so that a resolver's
    refusal answers 403 before the action runs.
    """

    history_serializer_class = ObjectDeltaSerializer
    # Fields whose recorded values the history shows masked (fnmatch).
    history_masked_fields: tuple[str, ...] = DEFAULT_MASKED_FIELDS

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        Context.get_actor()

    def get_permissions(self) -> list[Any]:
        permissions = super().get_permissions()  # type: ignore[misc]
        if self.action in ("history", "revert"):  # type: ignore[attr-defined]
            permissions.append(HistoryPermission())
        return permissions

    @history_schema
    @action(detail=True, methods=["get"])
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The object's history, newest first: one entry per revision that
        changed it, with its actors, descriptions and field changes."""
        obj = self.get_object()  # type: ignore[attr-defined]
        deltas = revy_history.history(obj).prefetch_related(None)
        deltas = deltas.prefetch_related("attribute_deltas")
        page = self.paginate_queryset(deltas)  # type: ignore[attr-defined]
        entries = list(deltas if page is None else page)
        serializer = self.history_serializer_class(
            entries,
            many=True,
            context={
                **self.get_serializer_context(),  # type: ignore[attr-defined]
                "actors": actors_of(entries),
                "masked_fields": self.history_masked_fields,
            },
        )
        if page is None:
            return Response(serializer.data)
        return self.get_paginated_response(serializer.data)  # type: ignore[attr-defined]

    @revert_schema
    @action(detail=True, methods=["post"])
    def revert(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Undo one revision that changed the object, as a whole (it may
        have changed other objects too). Answers 409, listing the conflicts,
        if later revisions changed what it would undo, unless ``overwrite``."""
        obj = self.get_object()  # type: ignore[attr-defined]
        asked = RevertSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        revision = asked.validated_data["revision"]
        if not revy_history.history(obj).filter(revision=revision).exists():
            raise ValidationError(
                {"revision": [f"Revision {revision.pk} did not change this object."]}
            )
        missing = missing_to_revert(request.user, revision)
        if missing:
            raise PermissionDenied(
                "Reverting this revision needs the permissions: "
                + ", ".join(missing)
                + "."
            )
        try:
            new = revy_history.revert(
                revision, overwrite=asked.validated_data["overwrite"]
            )
        except RevertConflict as conflict:
            return Response(
                {
                    "detail": str(conflict),
                    "conflicts": ConflictSerializer(conflict.conflicts, many=True).data,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {"revision": None if new is None else RevisionSerializer(new).data}
        )
