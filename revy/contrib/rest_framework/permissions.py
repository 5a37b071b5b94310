"""Who may read and undo history over the API: the model's permissions.

Reading an object's history needs the model's view (or change) permission;
reverting a revision needs the model's change permission and, for every
model the revision touched, the permission of what undoing it does (change
to restore an update, add to re-create what it deleted, delete to remove
what it created).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename
from django.db import models
from rest_framework.permissions import BasePermission

from revy.contrib.django.admin.permissions import revert_needs

__all__ = ["HistoryPermission", "has_model_permission", "missing_to_revert"]


def has_model_permission(user: Any, model: type[models.Model], action: str) -> bool:
    """Whether ``user`` has the ``action`` ("view", "add", "change",
    "delete") permission on ``model``."""
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


def missing_to_revert(user: Any, revision: models.Model) -> list[str]:
    """What ``user`` lacks to revert ``revision``, as "permission model"
    texts; empty if nothing."""
    return sorted(
        f"{permission} {model._meta.label}"
        for model, permission in revert_needs(revision)
        if not has_model_permission(user, model, permission)
    )


class HistoryPermission(BasePermission):
    """The ``history`` action needs the view (or change) permission of the
    view's model, the ``revert`` action its change permission."""

    message = "You may not read or undo the history of these objects."

    def has_permission(self, request: Any, view: Any) -> bool:
        model = view.get_queryset().model
        user = request.user
        if view.action == "history":
            return has_model_permission(user, model, "view") or has_model_permission(
                user, model, "change"
            )
        if view.action == "revert":
            return has_model_permission(user, model, "change")
        return True
