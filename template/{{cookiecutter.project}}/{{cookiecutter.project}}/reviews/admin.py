from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from revy.contrib.django.admin import RevyModelAdmin

from {{ cookiecutter.project }}.reviews import rules, services
from {{ cookiecutter.project }}.reviews.models import Decision


class ReviewedAdminMixin:
    """For the admin of a model in settings.REVIEWED_MODELS (before revy's
    RevyAdminMixin): a save its rule says needs review becomes a proposal,
    submitted for review like those of the project's own views."""

    def revy_proposes(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().revy_proposes(request, obj) or (  # type: ignore[misc]
            obj is not None and rules.needs_review(obj)
        )

    def proposal_saved(self, request: HttpRequest, proposal: Any) -> None:
        services.record(proposal, Decision.SUBMITTED, request.user)


@admin.register(Decision)
class DecisionAdmin(RevyModelAdmin):
    """Read only: decisions are taken on the review pages."""

    list_display = ["proposal", "action", "actor", "at"]
    list_filter = ["action"]
    readonly_fields = ["proposal", "action", "actor_content_type", "actor_id", "reason", "at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
