"""The proposal models: a proposal, its proposed object deltas and their
proposed attribute deltas.

They are tables of their own, never the history tables (decision 0010,
rule 5): a proposal's changes become history only when it is applied, as
one new revision. The proposal model is swappable, as the history models
are: subclass :class:`AbstractProposal`, point ``REVY_PROPOSAL_MODEL`` at
it and use :func:`get_proposal_model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from revy.contrib.django import conf
from revy.contrib.django.models import ActorFields, TargetFields
from revy.contrib.django.proposals import applying, review
from revy.contrib.django.proposals.review import ObjectChange, ProposalConflictItem

__all__ = [
    "AbstractProposal",
    "Proposal",
    "ProposedAttributeDelta",
    "ProposedObjectDelta",
    "get_proposal_model",
]


class AbstractProposal(ActorFields):
    """Changes recorded without being applied, held for review.

    ``actor`` is who proposed; ``decided_by``, ``decided_at`` and ``reason``
    say who applied, rejected or withdrew it, when and why; ``revision`` is
    the revision it became once applied.
    """

    STATUS_OPEN = "open"
    STATUS_APPLIED = "applied"
    STATUS_REJECTED = "rejected"
    STATUS_WITHDRAWN = "withdrawn"
    STATUS_CHOICES = [
        (STATUS_OPEN, _("open")),
        (STATUS_APPLIED, _("applied")),
        (STATUS_REJECTED, _("rejected")),
        (STATUS_WITHDRAWN, _("withdrawn")),
    ]

    status = models.CharField(
        _("status"),
        max_length=16,
        choices=STATUS_CHOICES,
        default=STATUS_OPEN,
        db_index=True,
    )
    description = models.TextField(_("description"), blank=True, default="")
    created_at = models.DateTimeField(
        _("created at"), default=timezone.now, db_index=True
    )
    decided_by_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # Half of a generic key: see decision 0007.
        verbose_name=_("decided by type"),
    )
    decided_by_id = models.CharField(  # noqa: DJ001 (NULL is the system)
        _("decided by id"), max_length=255, null=True, blank=True, default=None
    )
    decided_by = GenericForeignKey("decided_by_content_type", "decided_by_id")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, default="")
    revision = models.ForeignKey(
        conf.revision_model_label(),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
        verbose_name=_("revision"),
        help_text=_("The revision the applied proposal became."),
    )

    class Meta:
        abstract = True
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.description or f"Proposal {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.STATUS_OPEN

    def changes(self) -> list[ObjectChange]:
        """Per object and field: the base value (what the proposer saw), the
        proposed value and the current value."""
        return review.changes(self)

    def conflicts(self) -> list[ProposalConflictItem]:
        """What stops the proposal from applying cleanly now; empty if nothing."""
        return review.conflicts(self)

    def preview(self, model: type[models.Model], pk: Any) -> Any:
        """The ``model`` row ``pk`` as applying the proposal would leave it."""
        return review.preview(self, model, pk)

    def apply(self, resolutions: Mapping[Any, str] | None = None) -> Any:
        """Apply every change as one new revision; returns that revision."""
        return applying.apply(self, resolutions=resolutions)

    def rebase(
        self, resolutions: Mapping[Any, str] | None = None
    ) -> list[ProposalConflictItem]:
        """Take the current values as the base of fields without conflicts,
        and of the value conflicts ``resolutions`` settle."""
        return applying.rebase(self, resolutions=resolutions)

    def reject(self, reason: str = "") -> None:
        """Decide against the proposal, saying why."""
        applying.decide(self, self.STATUS_REJECTED, reason)

    def withdraw(self, reason: str = "") -> None:
        """Take the proposal back (its proposer's decision)."""
        applying.decide(self, self.STATUS_WITHDRAWN, reason)


class Proposal(AbstractProposal):
    class Meta(AbstractProposal.Meta):
        swappable = "REVY_PROPOSAL_MODEL"


class ProposedObjectDelta(TargetFields, ActorFields):
    """One object a proposal creates, updates or deletes."""

    ACTION_CREATE = "create"
    ACTION_UPDATE = "update"
    ACTION_DELETE = "delete"
    ACTION_CHOICES = [
        (ACTION_CREATE, _("create")),
        (ACTION_UPDATE, _("update")),
        (ACTION_DELETE, _("delete")),
    ]

    proposal = models.ForeignKey(
        conf.proposal_model_label(),
        on_delete=models.CASCADE,
        related_name="deltas",
        verbose_name=_("proposal"),
    )
    action = models.CharField(_("action"), max_length=16, choices=ACTION_CHOICES)
    target = GenericForeignKey("content_type", "content_id")
    description = models.TextField(_("description"), blank=True, default="")
    deletion_description = models.TextField(
        _("deletion description"), blank=True, default=""
    )
    cause = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="effects",
        verbose_name=_("cause"),
        help_text=_("The delete this change follows from."),
    )

    class Meta:
        verbose_name = _("proposed object delta")
        verbose_name_plural = _("proposed object deltas")
        indexes = [
            # Which proposals touch one object.
            models.Index(
                fields=["content_type", "content_id"],
                name="revy_proposed_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.content_type.model} {self.content_id}"


class ProposedAttributeDelta(ActorFields):
    """One field a proposed object delta sets: its base value (what the
    proposer saw) and its proposed value.

    Values are stored as history stores them (``REVY_VALUE_ENCODER``), each
    boxed in a one-item list: NULL means no such side (a create's base, a
    delete's proposed value).
    """

    object_delta = models.ForeignKey(
        ProposedObjectDelta,
        on_delete=models.CASCADE,
        related_name="attribute_deltas",
        verbose_name=_("proposed object delta"),
    )
    field_name = models.CharField(_("field name"), max_length=255)
    base_value = models.JSONField(_("base value"), null=True, blank=True)
    proposed_value = models.JSONField(_("proposed value"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        verbose_name = _("proposed attribute delta")
        verbose_name_plural = _("proposed attribute deltas")

    def __str__(self) -> str:
        return f"{self.field_name} of {self.object_delta.content_id}"


def get_proposal_model() -> type[AbstractProposal]:
    """The Proposal model in use (``REVY_PROPOSAL_MODEL``)."""
    return conf.proposal_model()
