"""``RevyAdminMixin``: revy's history pages on a model's admin.

The mixin replaces Django's History page (``<pk>/history/``, where the
change form's History button leads) with revy's, and adds As of, Compare,
Restore, Revert and Recover (``<changelist>/recover/``). Changes made
through the admin's own forms are recorded with the signed-in user as the
actor when no revy context is active yet (``RevyMiddleware`` makes one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from revy.context import Context
from revy.contrib.django import history
from revy.contrib.django.admin import undo
from revy.contrib.django.admin.display import (
    DEFAULT_MASKED_FIELDS,
    Values,
    actor_label,
    is_masked,
)
from revy.contrib.django.admin.html import entries_html
from revy.contrib.django.admin.pages import admin_url, by_revision, entries, texts
from revy.contrib.django.admin.proposing import ProposeAdminMixin
from revy.contrib.django.models import get_revision_model

__all__ = ["RevyAdminMixin", "RevyModelAdmin"]


class RevyAdminMixin(ProposeAdminMixin):
    """revy's history, as-of, compare, restore, revert and recover pages for
    a ``ModelAdmin``: ``class BookAdmin(RevyAdminMixin, admin.ModelAdmin)``.
    Users who may propose changes but not make them save proposals
    (``ProposeAdminMixin``).

    Override :meth:`has_view_history_permission` for object-level rules, and
    set ``history_masked_fields`` (fnmatch patterns of field names) to
    choose which fields are never shown.
    """

    change_list_template = "revy/admin/change_list.html"
    history_per_page: int = 50
    history_masked_fields: Sequence[str] = DEFAULT_MASKED_FIELDS
    revy_history_template: str = "revy/admin/history.html"
    revy_as_of_template: str = "revy/admin/as_of.html"
    revy_compare_template: str = "revy/admin/compare.html"

    # Which actor the admin's own changes are recorded with -------------------

    def revy_context(self, request: HttpRequest) -> Any:
        """A revy context whose actor is the signed-in user, unless one is
        active already (``RevyMiddleware``'s, which says who acts)."""
        if Context.get_current() is not None:
            return nullcontext()
        return Context.via(actor=request.user)

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with self.revy_context(request):
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with self.revy_context(request):
            return super().delete_view(request, *args, **kwargs)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        extra_context = {
            "revy_recover_url": self.revy_url("recover")
            if self.has_view_history_permission(request, None)
            else None,
            **(extra_context or {}),
        }
        with self.revy_context(request):
            return super().changelist_view(request, extra_context)

    # Permissions ---------------------------------------------------------------

    def has_view_history_permission(
        self, request: HttpRequest, obj: models.Model | None = None
    ) -> bool:
        """Whether ``request.user`` may read the history of ``obj`` (None:
        of the model's rows, the deleted ones of the Recover page). Default:
        the model's view or change permission."""
        return self.has_view_or_change_permission(request, obj)

    def revy_is_masked(self, model: type[models.Model], field_name: str) -> bool:
        """Whether the values of ``model.field_name`` are never shown: by
        this admin's ``history_masked_fields`` for its own model, by the rule
        of the admin registered for any other model (an inline's, a foreign
        key's), or by the default rule."""
        if model is self.model:
            patterns = self.history_masked_fields
        else:
            other = self.admin_site._registry.get(model)
            patterns = getattr(other, "history_masked_fields", DEFAULT_MASKED_FIELDS)
        return is_masked(field_name, patterns)

    def revy_inline_models(self) -> list[type[models.Model]]:
        """The models of this admin's inlines, whose changes made in the same
        revision show under the object's."""
        return [inline.model for inline in self.inlines]

    # URLs ---------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return self.admin_site.admin_view(view)(*args, **kwargs)

            wrapper.model_admin = self
            return update_wrapper(wrapper, view)

        name = f"{self.opts.app_label}_{self.opts.model_name}_revy_"
        return [
            path("recover/", wrap(self.recover_list_view), name=name + "recover"),
            path(
                "recover/<path:object_id>/",
                wrap(self.recover_view),
                name=name + "recover_object",
            ),
            path(
                "<path:object_id>/history/compare/",
                wrap(self.compare_view),
                name=name + "compare",
            ),
            path(
                "<path:object_id>/history/<str:revision_id>/",
                wrap(self.as_of_view),
                name=name + "as_of",
            ),
            path(
                "<path:object_id>/history/<str:revision_id>/restore/",
                wrap(self.restore_view),
                name=name + "restore",
            ),
            path(
                "<path:object_id>/history/<str:revision_id>/revert/",
                wrap(self.revert_view),
                name=name + "revert",
            ),
            *super().get_urls(),
        ]

    def revy_url(self, view: str, *args: Any) -> str | None:
        """The URL of one of revy's views of this admin."""
        return admin_url(self.admin_site, self.model, f"revy_{view}", *args)

    # What every page needs ------------------------------------------------------

    def revy_subject(
        self, request: HttpRequest, object_id: str
    ) -> tuple[models.Model | None, Any]:
        """The live object (None if it is gone) and its key; 404 for a key
        the model cannot have."""
        key = unquote(object_id)
        obj = self.get_object(request, key)
        if obj is not None:
            return obj, obj.pk
        try:
            return None, self.model._meta.pk.to_python(key)
        except ValidationError:
            raise Http404(_("No such key.")) from None

    def revy_revision(self, revision_id: str) -> Any:
        revision = get_revision_model().objects.filter(pk=revision_id).first()
        if revision is None:
            raise Http404(_("No such revision."))
        return revision

    def revy_values(self, request: HttpRequest | None = None) -> Values:
        """Shows values on a page for ``request``'s user."""
        return Values(
            self.admin_site,
            self.revy_is_masked,
            self.get_empty_value_display(),
            request,
        )

    def revy_check_history(self, request: HttpRequest, obj: Any) -> None:
        if not self.has_view_history_permission(request, obj):
            raise PermissionDenied

    def revy_context_data(
        self, request: HttpRequest, obj: Any, key: Any, title: str, **more: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "object_key": key,
            "object_label": str(obj) if obj is not None else f"{key}",
            "change_url": admin_url(self.admin_site, self.model, "change", key)
            if obj is not None
            else None,
            "history_url": admin_url(self.admin_site, self.model, "history", key),
            "compare_url": self.revy_url("compare", key),
            "recover_url": self.revy_url("recover"),
            "preserved_filters": self.get_preserved_filters(request),
            **more,
        }

    # History -------------------------------------------------------------------

    def history_view(
        self,
        request: HttpRequest,
        object_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Every revision of the object, newest first, paginated: a fixed
        number of queries whatever the length of its history."""
        obj, key = self.revy_subject(request, object_id)
        self.revy_check_history(request, obj)
        subject = obj if obj is not None else self.model(pk=key)
        deltas = (
            history.history(subject)
            .prefetch_related(None)
            .prefetch_related("attribute_deltas")
            .select_related("revision", "cause")
        )
        paginator = self.get_paginator(request, deltas, self.history_per_page)
        page = paginator.get_page(request.GET.get(PAGE_VAR))
        if obj is None and not paginator.count:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        values = self.revy_values(request)
        if obj is not None:
            values.know(obj)
        rows = by_revision(entries(page.object_list, values, self.revy_inline_models()))
        may_restore = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        for row in rows:
            row.as_of_url = self.revy_url("as_of", key, row.revision.pk)
            row.restore_url = (
                self.revy_url("restore", key, row.revision.pk)
                if may_restore and row.action != row.delta.ACTION_DELETE
                else None
            )
            row.revert_url = self.revy_url("revert", key, row.revision.pk)
        title = _("History: %s") % (
            obj if obj is not None else f"{self.opts.verbose_name} {key}"
        )
        context = self.revy_context_data(
            request,
            obj,
            key,
            title,
            entries=rows,
            page=page,
            page_range=paginator.get_elided_page_range(page.number),
            page_var=PAGE_VAR,
            pagination_required=paginator.num_pages > 1,
            deleted=obj is None,
            entries_html=entries_html(rows, texts(), pick=True, links=True),
            recover_object_url=self.revy_url("recover_object", key)
            if obj is None and self.has_add_permission(request)
            else None,
            **(extra_context or {}),
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.revy_history_template, context)

    # As of a revision, and two revisions compared -------------------------------

    def as_of_view(
        self, request: HttpRequest, object_id: str, revision_id: str
    ) -> HttpResponse:
        """The object read-only as it stood right after a revision."""
        obj, key = self.revy_subject(request, object_id)
        self.revy_check_history(request, obj)
        revision = self.revy_revision(revision_id)
        values = self.revy_values(request)
        state = history.state_at(self.model, key, at=revision, raw_values=True)
        members = {}
        if state is not None:
            values.want_instance(state)
            for field in self.model._meta.many_to_many:
                found = history.members_as_of(state, field.name, at=revision)
                members[field] = found
                values.want_keys(field.related_model, found)
        values.load()
        rows = []
        if state is not None:
            for field in self.model._meta.concrete_fields:
                if field.remote_field is not None and field.remote_field.parent_link:
                    continue
                rows.append(
                    (
                        capfirst(field.verbose_name),
                        values.show_instance_field(state, field),
                    )
                )
            for field, found in members.items():
                rows.append((capfirst(field.verbose_name), values.show(field, found)))
        may_restore = state is not None and (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        context = self.revy_context_data(
            request,
            obj,
            key,
            _("%(object)s as of revision %(revision)s")
            % {"object": obj if obj is not None else key, "revision": revision.pk},
            revision=revision,
            state=state,
            rows=rows,
            restore_url=self.revy_url("restore", key, revision.pk)
            if may_restore
            else None,
            revert_url=self.revy_url("revert", key, revision.pk),
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.revy_as_of_template, context)

    def compare_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Two revisions of the object, field by field: ``?from=N&to=M`` (no
        ``to``: as it is now)."""
        obj, key = self.revy_subject(request, object_id)
        self.revy_check_history(request, obj)
        first = self.revy_revision(request.GET.get("from", ""))
        second = (
            self.revy_revision(request.GET["to"]) if request.GET.get("to") else None
        )
        if second is not None and second.pk < first.pk:
            first, second = second, first
        values = self.revy_values(request)
        changes = history.diff(self.model, key, start=first, end=second)
        fields = {field.name: field for field in self.model._meta.concrete_fields}
        for change in changes:
            field = fields.get(change.field)
            if (
                field is not None
                and field.is_relation
                and not self.revy_is_masked(self.model, field.name)
            ):
                values.want_keys(field.related_model, [change.old, change.new])
        members = []
        before = history.state_at(self.model, key, at=first)
        subject = obj if obj is not None else self.model(pk=key)
        for field in self.model._meta.many_to_many:
            old = history.members_as_of(subject, field.name, at=first)
            new = history.members_as_of(subject, field.name, at=second)
            if old != new:
                values.want_keys(field.related_model, old | new)
                members.append((field, new - old, old - new))
        values.load()
        rows = []
        for change in changes:
            field = fields.get(change.field)
            if field is None:  # A field the model no longer has: as recorded.
                rows.append(
                    {
                        "label": _("%s (no longer a field)") % change.field,
                        "old": values.show_raw(change.old),
                        "new": values.show_raw(change.new),
                        "actor": actor_label(change.actor),
                        "description": change.description,
                    }
                )
                continue
            masked = self.revy_is_masked(self.model, field.name)
            rows.append(
                {
                    "label": capfirst(field.verbose_name),
                    "old": None if masked else values.show(field, change.old),
                    "new": None if masked else values.show(field, change.new),
                    "masked": masked,
                    "actor": actor_label(change.actor),
                    "description": change.description,
                }
            )
        for field, added, removed in members:
            rows.append(
                {
                    "label": capfirst(field.verbose_name),
                    "added": [values.link(field.related_model, k) for k in added],
                    "removed": [values.link(field.related_model, k) for k in removed],
                }
            )
        context = self.revy_context_data(
            request,
            obj,
            key,
            _("Compare revisions of %s") % (obj if obj is not None else key),
            first=first,
            second=second,
            rows=rows,
            existed=before is not None,
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.revy_compare_template, context)

    # Undoing: the views live in undo.py -------------------------------------------

    def restore_view(
        self, request: HttpRequest, object_id: str, revision_id: str
    ) -> HttpResponse:
        return undo.restore_view(self, request, object_id, revision_id)

    def revert_view(
        self, request: HttpRequest, object_id: str, revision_id: str
    ) -> HttpResponse:
        return undo.revert_object_revision_view(self, request, object_id, revision_id)

    def recover_list_view(self, request: HttpRequest) -> HttpResponse:
        return undo.recover_list_view(self, request)

    def recover_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return undo.recover_view(self, request, object_id)


class RevyModelAdmin(RevyAdminMixin, admin.ModelAdmin):
    """A ``ModelAdmin`` with revy's history pages."""
