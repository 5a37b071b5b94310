"""The history in the admin: revy's revision admin and read-only delta
admins, on this project's own history models. History is never edited by
hand; the history of each object is on its own admin's History page (every
tracked model's admin uses revy's mixin)."""

from django.contrib import admin
from revy.contrib.django.admin import AttributeDeltaAdmin, ObjectDeltaAdmin, RevisionAdmin

from {{ cookiecutter.project }}.revisions.models import (
    AttributeDelta,
    ObjectDelta,
    Revision,
)


@admin.register(Revision)
class ProjectRevisionAdmin(RevisionAdmin):
    list_display = ["__str__", "created_at", "change_count", "method", "path", "client_ip"]
    search_fields = ["description", "request_id", "path"]
    # What the request a revision came from said (middleware.py).
    revision_fields = ["request_id", "method", "path", "client_ip", "user_agent"]


@admin.register(ObjectDelta)
class ProjectObjectDeltaAdmin(ObjectDeltaAdmin):
    pass


@admin.register(AttributeDelta)
class ProjectAttributeDeltaAdmin(AttributeDeltaAdmin):
    pass
