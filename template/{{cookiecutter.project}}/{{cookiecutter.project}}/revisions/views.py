"""The project's own history pages: the latest revisions, and every change
of one object. They check what the admin's history pages check: a staff
user sees the changes of a model only with its view permission (and the
object-level rule of its admin's ``has_view_history_permission``), and
they link to the admin's pages for the rest (restore, revert, recover)."""

import json
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_permission_codename
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from {{ cookiecutter.project }}.revisions import table
from {{ cookiecutter.project }}.revisions.models import ObjectDelta, Revision


def may_view_history(request: HttpRequest, model: Any, obj: Any = None) -> bool:
    """What the model's admin says (``has_view_history_permission`` of revy's
    mixin), else the model's view or change permission."""
    model_admin = admin.site._registry.get(model)
    if model_admin is not None and hasattr(model_admin, "has_view_history_permission"):
        return model_admin.has_view_history_permission(request, obj)
    opts = model._meta
    return any(
        request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
        for action in ("view", "change")
    )


def admin_url(model: Any, view: str, key: Any) -> str | None:
    """The admin's ``view`` page of a ``model`` row, if the admin has one."""
    if model is None or not admin.site.is_registered(model):
        return None
    opts = model._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(key)])
    except NoReverseMatch:
        return None


def shown(field_name: str, value: Any) -> str:
    """A stored value as text, "***" for a masked field."""
    value = table.masked(field_name, value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def delta_view(delta: ObjectDelta) -> dict[str, Any]:
    """What the pages show of one object delta."""
    model = ContentType.objects.get_for_id(delta.content_type_id).model_class()
    fields = []
    for attribute in delta.attribute_deltas.all():
        fields.append(
            {
                "name": attribute.field_name,
                "old": ""
                if delta.action in (ObjectDelta.ACTION_CREATE, ObjectDelta.ACTION_BASELINE)
                else shown(attribute.field_name, attribute.old_value),
                "new": ""
                if delta.action == ObjectDelta.ACTION_DELETE
                else shown(attribute.field_name, attribute.new_value),
                "actor": table.actor_label(attribute),
                "description": attribute.description,
            }
        )
    return {
        "delta": delta,
        "model": model,
        "label": table.object_label(delta),
        "actor": table.actor_label(delta),
        "fields": fields,
        "page_url": reverse(
            "revisions:object", args=[model._meta.label if model else "-", delta.content_id]
        )
        if model
        else None,
        "admin_history_url": admin_url(model, "history", delta.content_id),
    }


@staff_member_required
def recent(request: HttpRequest) -> HttpResponse:
    """The latest revisions, with the changes the user may read."""
    revisions = table.revisions_with_deltas(Revision.objects.order_by("-pk")[:50])
    allowed: dict[Any, bool] = {}
    shown_revisions, hidden = [], 0
    for revision in revisions:
        deltas = []
        for delta in revision.object_deltas.all():
            model = ContentType.objects.get_for_id(delta.content_type_id).model_class()
            if model not in allowed:
                allowed[model] = model is not None and may_view_history(request, model)
            if allowed[model]:
                deltas.append(delta_view(delta))
            else:
                hidden += 1
        if deltas:
            shown_revisions.append({"revision": revision, "deltas": deltas})
    return render(
        request,
        "revisions/recent.html",
        {"revisions": shown_revisions, "hidden": hidden},
    )


@staff_member_required
def object_history(request: HttpRequest, label: str, pk: str) -> HttpResponse:
    """Every change of one object, even if it was deleted since."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404(f"No model {label!r}.") from None
    try:
        key = model._meta.pk.to_python(pk)
        obj = model._base_manager.filter(pk=key).first()
    except (ValidationError, ValueError):
        raise Http404(f"{pk!r} is no key of {label}.") from None
    if not may_view_history(request, model, obj):
        raise PermissionDenied
    keys = ObjectDelta.objects.for_key(model, key)
    revisions = table.revisions_with_deltas(
        Revision.objects.filter(pk__in=keys.values("revision_id")).order_by("-pk")
    )
    wanted = set(keys.values_list("pk", flat=True))
    blocks = [
        {
            "revision": revision,
            "deltas": [delta_view(d) for d in revision.object_deltas.all() if d.pk in wanted],
        }
        for revision in revisions
    ]
    return render(
        request,
        "revisions/object_history.html",
        {
            "label": label,
            "pk": pk,
            "object": obj,
            "verbose_name": model._meta.verbose_name,
            "revisions": blocks,
            "admin_history_url": admin_url(model, "history", key),
            "admin_change_url": admin_url(model, "change", key) if obj is not None else None,
            "admin_recover_url": _recover_url(model, key) if obj is None else None,
        },
    )


def _recover_url(model: type[models.Model], key: Any) -> str | None:
    opts = model._meta
    if not admin.site.is_registered(model):
        return None
    try:
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_revy_recover_object", args=[quote(key)]
        )
    except NoReverseMatch:
        return None
