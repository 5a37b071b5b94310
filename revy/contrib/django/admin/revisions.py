"""Admins of the history models themselves, for a project to register:

    admin.site.register(get_revision_model(), RevisionAdmin)

``RevisionAdmin`` lists revisions and shows one with every change it holds
that the user may view, with a Revert button; ``ObjectDeltaAdmin`` and
``AttributeDeltaAdmin`` are read-only lists. History is never edited by
hand: none of them adds, changes or deletes a row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from revy.contrib.django import conf
from revy.contrib.django.admin import undo
from revy.contrib.django.admin.display import (
    DEFAULT_MASKED_FIELDS,
    MASK,
    Values,
    actor_label,
    is_masked,
)
from revy.contrib.django.admin.html import entries_html
from revy.contrib.django.admin.pages import (
    admin_url,
    by_object,
    entries,
    model_of,
    texts,
)
from revy.contrib.django.admin.permissions import may, missing_permissions

__all__ = [
    "AttributeDeltaAdmin",
    "ObjectDeltaAdmin",
    "ReadOnlyHistoryAdmin",
    "RevisionAdmin",
]


class ReadOnlyHistoryAdmin(admin.ModelAdmin):
    """History rows are read, never added, changed or deleted by hand."""

    history_masked_fields: Sequence[str] = DEFAULT_MASKED_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def revy_is_masked(self, model: Any, field_name: str) -> bool:
        """The masking rule of the model's own admin when it has one (its
        ``history_masked_fields``), else this admin's; and the fields
        ``REVY_PERSONAL_DATA`` lists for the model."""
        if field_name in conf.personal_data_fields(model):
            return True
        model_admin = self.admin_site._registry.get(model)
        patterns = getattr(model_admin, "history_masked_fields", None)
        return is_masked(field_name, patterns or self.history_masked_fields)

    def revy_values(self, request: HttpRequest | None = None) -> Values:
        """Shows values on a page for ``request``'s user."""
        return Values(
            self.admin_site,
            self.revy_is_masked,
            self.get_empty_value_display(),
            request,
        )


class RevisionAdmin(ReadOnlyHistoryAdmin):
    """Revisions, newest first; each with its changes and a Revert button."""

    list_display = ["__str__", "created_at", "change_count"]
    search_fields = ["description"]
    ordering = ["-pk"]
    list_per_page = 50
    # Extra fields of a swapped Revision model shown on a revision's page.
    revision_fields: Sequence[str] = ()
    deltas_per_page = 100

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super().get_queryset(request).annotate(change_count=Count("object_deltas"))
        )

    @admin.display(description=gettext_lazy("changes"), ordering="change_count")
    def change_count(self, revision: Any) -> int:
        return revision.change_count

    def get_urls(self) -> list[Any]:
        def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return self.admin_site.admin_view(view)(*args, **kwargs)

            wrapper.model_admin = self
            return update_wrapper(wrapper, view)

        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/revert/",
                wrap(self.revert_view),
                name=f"{info[0]}_{info[1]}_revert",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A revision: when, by whom, why, and each change the user may view."""
        if not self.has_view_permission(request):
            return super().change_view(request, object_id, form_url, extra_context)
        revision = self.get_object(request, unquote(object_id))
        if revision is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        deltas = (
            revision.object_deltas.select_related("revision", "cause")
            .prefetch_related("attribute_deltas")
            .order_by("pk")
        )
        paginator = Paginator(deltas, self.deltas_per_page)
        page = paginator.get_page(request.GET.get(PAGE_VAR))
        shown = [
            delta
            for delta in page.object_list
            if (model := model_of(delta.content_type_id)) is not None
            and may(request, self.admin_site, model, "view")
        ]
        rows = by_object(entries(shown, self.revy_values(request)))
        context = {
            **self.admin_site.each_context(request),
            "title": str(revision),
            "subtitle": _("Revision %(revision)s") % {"revision": revision.pk},
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "revision": revision,
            "actors": [actor_label(actor) for actor in revision.actors()],
            "extra_fields": [
                (
                    capfirst(revision._meta.get_field(name).verbose_name),
                    getattr(revision, name),
                )
                for name in self.revision_fields
            ],  # fmt: skip
            "entries_html": entries_html(rows, texts(), show_object=True),
            "hidden": len(page.object_list) - len(shown),
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "revert_url": admin_url(self.admin_site, self.model, "revert", revision.pk)
            if not missing_permissions(request, self.admin_site, revision)
            else None,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "revy/admin/revision.html", context)

    def revert_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        revision = self.get_object(request, unquote(object_id))
        if revision is None:
            raise Http404(_("No such revision."))
        if not self.has_view_permission(request, revision):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revert revision %(revision)s") % {"revision": revision.pk},
            "subtitle": None,
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "revision_url": admin_url(
                self.admin_site, self.model, "change", revision.pk
            ),
        }
        back = admin_url(self.admin_site, self.model, "change", revision.pk)
        return undo.revert_page(self, request, revision, context, back)


class ObjectDeltaAdmin(ReadOnlyHistoryAdmin):
    """Object deltas, read-only, filterable by action and model."""

    list_display = [
        "pk",
        "action",
        "content_type",
        "content_id",
        "actor_text",
        "revision",
    ]
    list_filter = ["action", "content_type"]
    search_fields = ["content_id", "description", "deletion_description"]
    list_select_related = ["revision", "content_type"]
    ordering = ["-pk"]
    fields = readonly_fields = [
        "revision",
        "action",
        "content_type",
        "content_id",
        "actor_text",
        "description",
        "deletion_description",
        "cause",
        "changes",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        # Each page's actors in a query per actor model.
        return super().get_queryset(request).prefetch_related("actor")

    @admin.display(description=gettext_lazy("actor"))
    def actor_text(self, delta: Any) -> str:
        return actor_label(delta.actor)

    @admin.display(description=gettext_lazy("changes"))
    def changes(self, delta: Any) -> Any:
        [row] = entries([delta], self.revy_values()) or [None]
        if row is None:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {} → {}</li>",
                (
                    (
                        change.label,
                        change.old if change.old is not None else "",
                        change.new if change.new is not None else "",
                    )
                    for change in row.changes
                ),
            ),
        )


class AttributeDeltaAdmin(ReadOnlyHistoryAdmin):
    """Attribute deltas, read-only; secrets masked."""

    list_display = ["pk", "field_name", "old", "new", "object_delta"]
    search_fields = ["field_name", "content_id"]
    ordering = ["-pk"]
    fields = readonly_fields = [
        "object_delta",
        "field_name",
        "old",
        "new",
        "description",
    ]

    def _value(self, attribute: Any, value: Any) -> Any:
        model = model_of(attribute.content_type_id)
        if model is not None and self.revy_is_masked(model, attribute.field_name):
            return MASK
        return value

    @admin.display(description=gettext_lazy("old value"))
    def old(self, attribute: Any) -> Any:
        return self._value(attribute, attribute.old_value)

    @admin.display(description=gettext_lazy("new value"))
    def new(self, attribute: Any) -> Any:
        return self._value(attribute, attribute.new_value)
