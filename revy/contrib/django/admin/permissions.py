"""Who may do what on revy's admin pages (docs/admin.md, "Permissions").

Reading an object's history needs the model's view (or change) permission,
and whatever ``has_view_history_permission(request, obj)`` adds. Undoing
needs the permission of what the undo does to each row: change to restore
a row that exists, add to re-create one, delete to remove one; reverting a
revision needs the matching permission on every model it touches. A model
registered on the admin site is asked through its ModelAdmin (so its
overrides count); any other through the user's own permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.admin.sites import AdminSite
from django.contrib.auth import get_permission_codename
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest

from revy.contrib.django.models import get_object_delta_model

__all__ = ["missing_permissions", "may", "revert_needs", "undo_needs"]

# What undoing a delta of each action does to its row, as a permission.
_UNDO = {"create": "delete", "update": "change", "delete": "add"}


def may(
    request: HttpRequest, admin_site: AdminSite, model: type[models.Model], action: str
) -> bool:
    """Whether ``request.user`` has the ``action`` permission on ``model``
    ("view", "add", "change" or "delete")."""
    model_admin = admin_site._registry.get(model)
    if model_admin is not None:
        if action == "view":
            return model_admin.has_view_or_change_permission(request)
        return getattr(model_admin, f"has_{action}_permission")(request)
    opts = model._meta
    codename = get_permission_codename(action, opts)
    return request.user.has_perm(f"{opts.app_label}.{codename}")


def undo_needs(deltas: Iterable[tuple[int, str]]) -> set[tuple[Any, str]]:
    """The ``(model, permission)`` pairs that undoing deltas given as
    ``(content_type_id, action)`` needs; a baseline needs none."""
    needed = set()
    for content_type_id, action in deltas:
        permission = _UNDO.get(action)
        if permission is not None:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            if model is not None:
                needed.add((model, permission))
    return needed


def revert_needs(revision: models.Model) -> set[tuple[Any, str]]:
    """The ``(model, permission)`` pairs that reverting ``revision`` needs.
    One query."""
    deltas = (
        get_object_delta_model()
        .objects.filter(revision=revision)
        .values_list("content_type_id", "action")
        .distinct()
    )
    return undo_needs(deltas)


def missing_permissions(
    request: HttpRequest, admin_site: AdminSite, revision: models.Model
) -> list[str]:
    """What ``request.user`` lacks to revert ``revision``, as readable
    "permission model" texts; empty if nothing. One query."""
    return sorted(
        f"{permission} {model._meta.label}"
        for model, permission in revert_needs(revision)
        if not may(request, admin_site, model, permission)
    )
