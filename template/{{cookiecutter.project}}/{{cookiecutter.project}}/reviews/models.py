"""Every step of a review, kept as a row of its own.

revy's Proposal records the proposer and the last decision (applied,
rejected, withdrawn: who, when, why). A proposal may go back and forth
before that (changes requested, edited, rebased): each step is a Decision.
Its actor is who took it, a generic link as in history, so a Decision
outlives the account that took it.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from revy.contrib.django.models import ActorFields


class Decision(ActorFields):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    EDITED = "edited"
    REBASED = "rebased"
    WITHDRAWN = "withdrawn"
    ACTIONS = [
        (SUBMITTED, "submitted"),
        (APPROVED, "approved"),
        (REJECTED, "rejected"),
        (CHANGES_REQUESTED, "changes requested"),
        (EDITED, "edited"),
        (REBASED, "rebased"),
        (WITHDRAWN, "withdrawn"),
    ]

    proposal = models.ForeignKey(
        settings.REVY_PROPOSAL_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    action = models.CharField(max_length=32, choices=ACTIONS)
    reason = models.TextField(blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["actor_content_type", "actor_id"], name="decision_actor")]
        permissions = [("review_proposal", "Can review proposals")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} (proposal {self.proposal_id})"
