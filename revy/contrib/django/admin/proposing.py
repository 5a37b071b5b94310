""" "Save as proposal" in a model's admin: a user who holds the model's
``propose`` permission but not ``change`` edits the object as usual, and
saving records the changes as a proposal for review instead of making them
(docs/proposals.md).

The permission is the project's to declare, as any custom permission:
``permissions = [("propose_book", "Can propose changes to book")]`` in the
model's ``Meta``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from revy.contrib.django.proposals.recording import propose

__all__ = ["ProposeAdminMixin"]

_PROPOSAL = "revy_proposal"


class ProposeAdminMixin:
    """Lets holders of the ``propose`` permission save changes as proposals.

    ``RevyAdminMixin`` includes it. Override :meth:`has_propose_permission`
    or :meth:`revy_proposes` for other rules, :meth:`proposal_description`
    for the description proposals made here get, and :meth:`proposal_saved`
    to act on each proposal saved (notify reviewers, record a submission).
    """

    def has_propose_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether ``request.user`` may propose changes to this model."""
        opts = self.opts  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.propose_{opts.model_name}")

    def revy_proposes(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether a save by this user is recorded as a proposal: the user
        may propose but not change."""
        return not super().has_change_permission(  # type: ignore[misc]
            request, obj
        ) and self.has_propose_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(  # type: ignore[misc]
            request, obj
        ) or self.has_propose_permission(request, obj)

    def proposal_description(self, request: HttpRequest, obj: Any) -> str:
        return _("Change of %(model)s “%(object)s”, proposed in the admin") % {
            "model": self.opts.verbose_name,  # type: ignore[attr-defined]
            "object": obj,
        }

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        if change and self.revy_proposes(request, obj):
            return  # Saved with the related objects, as one proposal.
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        obj = form.instance
        if not (change and self.revy_proposes(request, obj)):
            super().save_related(request, form, formsets, change)  # type: ignore[misc]
            return
        description = self.proposal_description(request, obj)
        with propose(description=description) as proposal:
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            super().save_related(request, form, formsets, change)  # type: ignore[misc]
        setattr(request, _PROPOSAL, proposal)
        self.proposal_saved(request, proposal)

    def proposal_saved(self, request: HttpRequest, proposal: Any) -> None:
        """Called with each proposal this admin saved, in the request's
        transaction. Does nothing here."""

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, _PROPOSAL, None) is not None:
            return None  # Nothing changed: the proposal is the record.
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        proposal = getattr(request, _PROPOSAL, None)
        if proposal is None:
            return super().response_change(request, obj)  # type: ignore[misc]
        self.message_user(  # type: ignore[attr-defined]
            request,
            _(
                "Your changes to “%(object)s” were saved as proposal %(number)s, "
                "for review. Nothing was changed yet."
            )
            % {"object": obj, "number": proposal.pk},
            messages.SUCCESS,
        )
        opts = self.opts  # type: ignore[attr-defined]
        return HttpResponseRedirect(
            reverse(
                f"admin:{opts.app_label}_{opts.model_name}_changelist",
                current_app=self.admin_site.name,  # type: ignore[attr-defined]
            )
        )
