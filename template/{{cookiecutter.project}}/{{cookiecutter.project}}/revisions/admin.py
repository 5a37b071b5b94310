"""The history in the admin: read-only, since history is never edited by hand.

Actors are shown as the history pages and ``manage.py history`` show them
(table.actor_label): "system" for None, the actor, or a deleted actor as
"user #3 (deleted)"; never the raw type and id columns.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from {{ cookiecutter.project }}.revisions import table
from {{ cookiecutter.project }}.revisions.models import (
    AttributeDelta,
    ObjectDelta,
    Revision,
)


@admin.display(description="actor")
def actor(delta: Any) -> str:
    return table.actor_label(delta)


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ObjectDeltaInline(ReadOnlyMixin, admin.TabularInline):
    model = ObjectDelta
    fields = ["action", "content_type", "content_id", actor, "description"]
    readonly_fields = fields
    show_change_link = True
    extra = 0


class AttributeDeltaInline(ReadOnlyMixin, admin.TabularInline):
    model = AttributeDelta
    fields = ["field_name", "old", "new", actor, "description"]
    readonly_fields = fields
    extra = 0

    @admin.display(description="old value")
    def old(self, attribute: AttributeDelta) -> Any:
        return table.masked(attribute.field_name, attribute.old_value)

    @admin.display(description="new value")
    def new(self, attribute: AttributeDelta) -> Any:
        return table.masked(attribute.field_name, attribute.new_value)


@admin.register(Revision)
class RevisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["pk", "created_at", "description", "method", "path", "client_ip"]
    list_filter = ["created_at"]
    search_fields = ["description", "request_id", "path"]
    date_hierarchy = "created_at"
    inlines = [ObjectDeltaInline]


@admin.register(ObjectDelta)
class ObjectDeltaAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["pk", "revision", "action", "content_type", "content_id", actor]
    fields = [
        "revision",
        "action",
        "content_type",
        "content_id",
        actor,
        "description",
        "deletion_description",
        "cause",
    ]
    readonly_fields = fields
    list_filter = ["action", "content_type"]
    search_fields = ["content_id", "description", "deletion_description"]
    list_select_related = ["revision", "content_type"]
    inlines = [AttributeDeltaInline]
