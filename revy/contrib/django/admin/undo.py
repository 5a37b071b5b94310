"""The admin's undoing pages: restore an object to a revision, revert a
revision, recover a deleted object (with what its delete took, if asked).

Each page shows what it will do, and does it only on a POST (CSRF-checked
by the admin), checking the permissions again; the change is recorded as a
new revision whose actor is the signed-in user. ``model_admin`` is a
``RevyAdminMixin`` (or ``RevisionAdmin``) instance.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from revy.context import Context
from revy.contrib.django import history
from revy.contrib.django.actors import ActorRef, resolve_actors
from revy.contrib.django.admin.display import actor_label
from revy.contrib.django.admin.html import entries_html
from revy.contrib.django.admin.pages import (
    admin_url,
    by_object,
    entries,
    model_of,
    texts,
    unreadable_in_state,
    unreadable_old_values,
)
from revy.contrib.django.admin.permissions import may, missing_permissions, undo_needs
from revy.contrib.django.encoding import key_text
from revy.contrib.django.exceptions import (
    RevertConflict,
    RevisionPartlyPruned,
    UndecodableValue,
)
from revy.contrib.django.models import ObjectSnapshot

__all__ = [
    "conflict_rows",
    "recover_list_view",
    "recover_view",
    "restore_view",
    "revert_object_revision_view",
    "revert_page",
]

# Deltas of a revision or a cascade listed on a confirmation page, at most.
SHOWN = 100


def _acting(request: HttpRequest, description: str = "") -> Context:
    """The context an undo runs in: the signed-in user acts."""
    values: dict[str, Any] = {"actor": request.user}
    if description:
        values["revision_description"] = description
    return Context.via(**values)


def conflict_rows(model_admin: Any, conflicts: list[Any]) -> list[dict[str, Any]]:
    """Conflicts as the confirmation pages list them, linked to histories."""
    site = model_admin.admin_site
    return [
        {
            "text": str(conflict),
            "url": admin_url(site, conflict.model, "history", conflict.pk),
            "revision": conflict.revision,
        }
        for conflict in conflicts
    ]


# Restore one object to a revision -----------------------------------------------


def restore_view(
    model_admin: Any, request: HttpRequest, object_id: str, revision_id: str
) -> HttpResponse:
    obj, key = model_admin.revy_subject(request, object_id)
    model_admin.revy_check_history(request, obj)
    revision = model_admin.revy_revision(revision_id)
    allowed = (
        model_admin.has_change_permission(request, obj)
        if obj is not None
        else model_admin.has_add_permission(request)
    )
    if not allowed:
        raise PermissionDenied
    model = model_admin.model
    back = admin_url(model_admin.admin_site, model, "history", key)
    # Values a retyped field cannot read are shown as recorded, not restored.
    state = history.state_at(model, key, at=revision, raw_values=True)
    if state is None:
        messages.error(
            request,
            _("%(object)s did not exist after revision %(revision)s.")
            % {"object": key, "revision": revision.pk},
        )
        return HttpResponseRedirect(back)
    unreadable = unreadable_in_state(model, key, state)
    status = 200
    if request.method == "POST" and unreadable:
        status = 409
        messages.error(request, _("Not restored: some values cannot be put back."))
    elif request.method == "POST":
        description = _("Restored %(model)s %(key)s to revision %(revision)s") % {
            "model": model._meta.verbose_name,
            "key": key,
            "revision": revision.pk,
        }
        with _acting(request, description):
            restored = history.restore(model, key, at=revision)
        if obj is not None:
            model_admin.log_change(request, restored, description)
        else:
            model_admin.log_addition(request, restored, description)
        messages.success(request, description + ".")
        return HttpResponseRedirect(
            admin_url(model_admin.admin_site, model, "change", key) or back
        )
    values = model_admin.revy_values(request)
    fields = {field.name: field for field in model._meta.concrete_fields}
    changes = history.diff(model, key, start=revision, end=None)
    # Fields the model no longer has are not restored: they are not shown.
    changes = [change for change in changes if change.field in fields]
    for change in changes:
        field = fields[change.field]
        if field.is_relation:
            values.want_keys(field.related_model, [change.old, change.new])
    values.load()
    rows = []
    for change in changes:
        field = fields[change.field]
        masked = model_admin.revy_is_masked(model, field.name)
        rows.append(
            {
                "label": capfirst(field.verbose_name),
                "now": None if masked else values.show(field, change.new),
                "then": None if masked else values.show(field, change.old),
                "masked": masked,
            }
        )
    context = model_admin.revy_context_data(
        request,
        obj,
        key,
        _("Restore %(object)s to revision %(revision)s")
        % {"object": obj if obj is not None else key, "revision": revision.pk},
        revision=revision,
        rows=rows,
        unreadable=unreadable,
    )
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "revy/admin/restore.html", context, status=status)


# Revert a whole revision ----------------------------------------------------------


def revert_page(
    model_admin: Any,
    request: HttpRequest,
    revision: Any,
    context: dict[str, Any],
    back: str,
) -> HttpResponse:
    """Confirm, then revert ``revision`` as a whole; ``back`` is where to go
    once it is done."""
    site = model_admin.admin_site
    missing = missing_permissions(request, site, revision)
    if missing:
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        try:
            with _acting(request):
                new = history.revert(
                    revision, overwrite=request.POST.get("overwrite") == "1"
                )
        except (RevisionPartlyPruned, UndecodableValue) as error:
            conflicts, status = [], 409
            messages.error(request, str(error))
        except RevertConflict as error:
            conflicts, status = error.conflicts, 409
            messages.error(
                request,
                _("Revision %(revision)s was not reverted: later changes conflict.")
                % {"revision": revision.pk},
            )
        else:
            if new is None:
                messages.info(request, _("The revision changed nothing to revert."))
            else:
                messages.success(
                    request,
                    _("Revision %(revision)s was reverted by revision %(new)s.")
                    % {"revision": revision.pk, "new": new.pk},
                )
            return HttpResponseRedirect(back)
    else:
        conflicts = history.revert_conflicts(revision)
    deltas = list(
        revision.object_deltas.select_related("revision", "cause")
        .prefetch_related("attribute_deltas")
        .order_by("pk")[:SHOWN]
    )
    values = model_admin.revy_values(request)
    visible = [
        delta
        for delta in deltas
        if (model := model_of(delta.content_type_id)) is not None
        and may(request, site, model, "view")
    ]
    context = {
        **context,
        "revision": revision,
        "entries_html": entries_html(
            by_object(entries(visible, values)),
            texts(),
            show_object=True,
        ),
        "unreadable": unreadable_old_values(values, visible),
        "hidden": len(deltas) - len(visible),
        "more": revision.object_deltas.count() - len(deltas)
        if len(deltas) == SHOWN
        else 0,
        "conflicts": conflict_rows(model_admin, conflicts),
        "back_url": back,
    }
    request.current_app = site.name
    return TemplateResponse(request, "revy/admin/revert.html", context, status=status)


def revert_object_revision_view(
    model_admin: Any, request: HttpRequest, object_id: str, revision_id: str
) -> HttpResponse:
    """Revert a revision from the history page of one of its objects."""
    obj, key = model_admin.revy_subject(request, object_id)
    model_admin.revy_check_history(request, obj)
    revision = model_admin.revy_revision(revision_id)
    context = model_admin.revy_context_data(
        request,
        obj,
        key,
        _("Revert revision %(revision)s") % {"revision": revision.pk},
    )
    back = admin_url(model_admin.admin_site, model_admin.model, "history", key)
    return revert_page(model_admin, request, revision, context, back)


# Recover deleted objects ----------------------------------------------------------


def _day(text: str) -> datetime.datetime | None:
    """The start of the day ``text`` names (YYYY-MM-DD), in the current time
    zone; None if it names none."""
    try:
        day = parse_date(text)
    except ValueError:
        return None
    if day is None:
        return None
    moment = datetime.datetime.combine(day, datetime.time.min)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _deleter(value: str) -> ActorRef | None:
    if value == "system":
        return ActorRef(None, None)
    type_id, _sep, actor_id = value.partition("-")
    if type_id.isdigit() and actor_id:
        return ActorRef(int(type_id), actor_id)
    return None


def recover_list_view(model_admin: Any, request: HttpRequest) -> HttpResponse:
    """The deleted rows of the model: last state, who deleted them and when;
    filtered by deleter and date, found by key."""
    model_admin.revy_check_history(request, None)
    model = model_admin.model
    deleted = history.deletions(model)
    deleters = list(
        deleted.order_by()
        .values_list("actor_content_type_id", "actor_id")
        .distinct()[:100]
    )
    refs = [ActorRef(*pair) for pair in deleters]
    choices = [
        ("system" if ref.content_type_id is None else f"{ref.content_type_id}-{ref.id}",
         actor_label(actor))
        for ref, actor in zip(refs, resolve_actors(refs), strict=True)
    ]  # fmt: skip
    chosen = request.GET.get("deleter", "")
    if (ref := _deleter(chosen)) is not None:
        if ref.content_type_id is None:
            deleted = deleted.filter(actor_content_type__isnull=True)
        else:
            deleted = deleted.filter(
                actor_content_type_id=ref.content_type_id, actor_id=ref.id
            )
    since, until = request.GET.get("since", ""), request.GET.get("until", "")
    if (start := _day(since)) is not None:
        deleted = deleted.filter(revision__created_at__gte=start)
    if (end := _day(until)) is not None:
        deleted = deleted.filter(
            revision__created_at__lt=end + datetime.timedelta(days=1)
        )
    query = request.GET.get("q", "").strip()
    if query:
        try:
            deleted = deleted.filter(content_id=key_text(model, query))
        except ValidationError:
            deleted = deleted.none()
    object_delta_model = deleted.model
    deleted = deleted.annotate(
        snapshot=ObjectSnapshot(model),
        cascaded=Exists(object_delta_model.objects.filter(cause=OuterRef("pk"))),
    )
    paginator = model_admin.get_paginator(request, deleted, model_admin.list_per_page)
    page = paginator.get_page(request.GET.get("p"))
    rows = list(page.object_list)
    refs = [ActorRef(d.actor_content_type_id, d.actor_id) for d in rows]
    keys = [model._meta.pk.to_python(delta.content_id) for delta in rows]
    existing = {
        key_text(model, pk)
        for pk in model._base_manager.filter(pk__in=keys).values_list("pk", flat=True)
    }
    may_add = model_admin.has_add_permission(request)
    site = model_admin.admin_site
    positions = [delta.pk for delta in rows]
    for delta, actor in zip(rows, resolve_actors(refs, positions), strict=True):
        delta.deleter = actor_label(actor)
        delta.label = _shown(delta.snapshot, model, delta.content_id)
        delta.exists_again = delta.content_id in existing
        delta.history_url = admin_url(site, model, "history", delta.content_id)
        delta.recover_url = (
            model_admin.revy_url("recover_object", delta.content_id)
            if may_add and not delta.exists_again
            else None
        )
    context = {
        **site.each_context(request),
        "title": _("Recover deleted %(models)s")
        % {"models": model._meta.verbose_name_plural},
        "subtitle": None,
        "opts": model._meta,
        "module_name": str(capfirst(model._meta.verbose_name_plural)),
        "rows": rows,
        "page": page,
        "page_range": paginator.get_elided_page_range(page.number),
        "pagination_required": paginator.num_pages > 1,
        "deleters": choices,
        "chosen": chosen,
        "since": since,
        "until": until,
        "query": query,
        "filters": request.GET.urlencode(),
    }
    request.current_app = site.name
    return TemplateResponse(request, "revy/admin/recover_list.html", context)


def _shown(instance: Any, model: Any, key: str) -> str:
    """How a deleted row is named: its ``str()`` as it stood, if that can be
    told without the live row."""
    if instance is not None:
        try:
            return str(instance)
        except Exception:  # noqa: BLE001 - __str__ read a field history lacks.
            pass
    return f"{model._meta.verbose_name} {key}"


def recover_view(
    model_admin: Any, request: HttpRequest, object_id: str
) -> HttpResponse:
    """Confirm, then restore one deleted row, and if asked what its delete
    took with it."""
    model_admin.revy_check_history(request, None)
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    model, site = model_admin.model, model_admin.admin_site
    try:
        key = key_text(model, unquote(object_id))
    except ValidationError:
        raise Http404(_("No such key.")) from None
    delete = history.deletions(model).filter(content_id=key).first()
    if delete is None:
        raise Http404(_("No deleted row with this key."))
    effects = history.effects_of(delete)
    missing = sorted(
        f"{permission} {needed._meta.label}"
        for needed, permission in undo_needs(
            (effect.content_type_id, effect.action) for effect in effects
        )
        if not may(request, site, needed, permission)
    )
    conflicts: list[Any] = []
    status = 200
    back = model_admin.revy_url("recover")
    if request.method == "POST":
        cascade = request.POST.get("cascade") == "1"
        if cascade and missing:
            raise PermissionDenied
        try:
            with _acting(request):
                history.restore_deleted(
                    model,
                    key,
                    cascade=cascade,
                    overwrite=request.POST.get("overwrite") == "1",
                )
        except RevertConflict as error:
            conflicts, status = error.conflicts, 409
            messages.error(request, _("Not recovered: later changes conflict."))
        except LookupError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(back)
        else:
            restored = model._base_manager.get(pk=model._meta.pk.to_python(key))
            model_admin.log_addition(request, restored, _("Recovered."))
            messages.success(
                request,
                _("%(object)s was recovered.")
                % {"object": _shown(restored, model, key)},
            )
            return HttpResponseRedirect(admin_url(site, model, "change", key) or back)
    values = model_admin.revy_values(request)
    shown = by_object(entries([delete, *effects[: SHOWN - 1]], values))
    context = {
        **site.each_context(request),
        "title": _("Recover %(object)s")
        % {"object": _shown(history.snapshot_of(delete), model, key)},
        "subtitle": None,
        "opts": model._meta,
        "module_name": str(capfirst(model._meta.verbose_name_plural)),
        "delete": delete,
        "entries_html": entries_html(shown, texts(), show_object=True),
        "effect_count": len(effects),
        "more": max(0, len(effects) - (SHOWN - 1)),
        "missing": missing,
        "conflicts": conflict_rows(model_admin, conflicts),
        "recover_url": back,
        "history_url": admin_url(site, model, "history", key),
    }
    request.current_app = site.name
    return TemplateResponse(request, "revy/admin/recover.html", context, status=status)
