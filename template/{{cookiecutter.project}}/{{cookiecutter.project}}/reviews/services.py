"""The steps of a review: submit, edit, withdraw (the proposer's); rebase,
request changes, reject, approve (a reviewer's). Each is recorded as a
Decision in the caller's transaction, and the proposer hears of each
reviewer's step by e-mail once that transaction commits.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from revy import Context
from revy.contrib.django.proposals import ProposalConflictItem, propose

from {{ cookiecutter.project }}.reviews import rules
from {{ cookiecutter.project }}.reviews.models import Decision

__all__ = [
    "ReviewRefused",
    "approve",
    "edit",
    "rebase",
    "receipt",
    "record",
    "reject",
    "request_changes",
    "submit",
    "withdraw",
]


class ReviewRefused(Exception):
    """The step is not this user's to take, or not possible now."""


def submit(user: Any, description: str, save: Callable[[], None]) -> Any:
    """Run ``save()`` as a proposal, and record that ``user`` submitted it;
    nothing changes yet. The proposal's actor is the context's: the user, or
    the organisation they act for."""
    with propose(description=description) as proposal:
        save()
    record(proposal, Decision.SUBMITTED, user)
    return proposal


def receipt(proposal: Any) -> dict[str, Any]:
    """What a view answers (202 Accepted) for a change submitted for review."""
    url = reverse("reviews:proposal", args=[proposal.pk])
    return {"status": "submitted for review", "proposal": proposal.pk, "url": url}


def record(proposal: Any, action: str, user: Any, reason: str = "") -> Decision:
    """Record a step of the review; its revision says which, unless the
    caller's context describes it already (a submission's commit message)."""
    decision = Decision(proposal=proposal, action=action, actor=user, reason=reason)
    step = f"Proposal {proposal.pk} {decision.get_action_display()}."
    with Context.via_revision_description(Context.get_revision_description() or step):
        decision.save()
    return decision


def edit(proposal: Any, user: Any, save: Callable[[], None]) -> None:
    """Add what ``save()`` does to ``user``'s own open proposal: a field
    changed again keeps its base and takes the new value."""
    if user not in rules.authors(proposal) or not proposal.is_open:
        raise ReviewRefused("Only its proposer can edit an open proposal.")
    with propose(proposal):
        save()
    record(proposal, Decision.EDITED, user)


def withdraw(proposal: Any, user: Any, reason: str = "") -> None:
    if user not in rules.authors(proposal):
        raise ReviewRefused("Only its proposer can withdraw a proposal.")
    with Context.via_actor(user):
        proposal.withdraw(reason)
    record(proposal, Decision.WITHDRAWN, user, reason)


def check_reviewer(proposal: Any, user: Any) -> None:
    if not rules.may_review(user):
        raise ReviewRefused("You may not review proposals.")
    if not rules.may_decide(user, proposal):
        raise ReviewRefused("Four-eyes: you cannot review a proposal you made or edited.")
    if not proposal.is_open:
        raise ReviewRefused(f"The proposal is {proposal.status} already.")


def rebase(
    proposal: Any, user: Any, resolutions: Mapping[Any, str] | None = None
) -> list[ProposalConflictItem]:
    """Compare the proposal with today's values from now on, settling the
    conflicts ``resolutions`` choose a value for; return those left.

    The proposer or a reviewer may rebase."""
    if user not in rules.authors(proposal):
        check_reviewer(proposal, user)
    left = proposal.rebase(resolutions=resolutions)
    chosen = ", ".join(f"{key[2]}: {choice}" for key, choice in _keys(resolutions).items())
    record(proposal, Decision.REBASED, user, chosen)
    return left


def _keys(resolutions: Mapping[Any, str] | None) -> dict[tuple[str, str, str], str]:
    return {getattr(key, "key", key): choice for key, choice in (resolutions or {}).items()}


def request_changes(proposal: Any, user: Any, reason: str) -> None:
    check_reviewer(proposal, user)
    if not reason.strip():
        raise ReviewRefused("Say which changes are needed.")
    notify(proposal, record(proposal, Decision.CHANGES_REQUESTED, user, reason))


def reject(proposal: Any, user: Any, reason: str) -> None:
    check_reviewer(proposal, user)
    if not reason.strip():
        raise ReviewRefused("Give the reason for rejecting.")
    with Context.via_actor(user):
        proposal.reject(reason)
    notify(proposal, record(proposal, Decision.REJECTED, user, reason))


def approve(proposal: Any, user: Any) -> Any:
    """Apply the proposal as one revision, credited to its proposers and
    approved by ``user``; raises revy's ProposalConflict (nothing written)
    while it conflicts: rebase it first. Returns the revision."""
    check_reviewer(proposal, user)
    description = f"{proposal.description or 'Proposal'} (proposal {proposal.pk}, approved)"
    with transaction.atomic(), Context.via(actor=user, revision_description=description):
        revision = proposal.apply()
        notify(proposal, record(proposal, Decision.APPROVED, user))
    return revision


def notify(proposal: Any, decision: Decision) -> None:
    """E-mail the proposer about ``decision`` once it is committed."""
    to = getattr(rules.proposer(proposal), "email", "")
    if not to:
        return
    subject = f"Proposal {proposal.pk} {decision.get_action_display()}: {proposal}"
    body = f"{subject}\n\nBy: {decision.actor}\n"
    if decision.reason:
        body += f"Reason: {decision.reason}\n"
    transaction.on_commit(lambda: send_mail(subject, body, None, [to]))
