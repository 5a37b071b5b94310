"""Who proposes instead of changing, and who may decide on a proposal.

A save becomes a proposal when the user may propose changes to the model
(its ``propose_<model>`` permission) but not change it, or when the model's
rule in settings.REVIEWED_MODELS says the change needs review. Reviewers
hold ``reviews.review_proposal``; nobody decides on a proposal they made
or edited (four-eyes). Settings are read at each call.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.db import models
from django.utils.module_loading import import_string

from {{ cookiecutter.project }}.reviews.models import Decision

__all__ = [
    "REVIEW_PERMISSION",
    "authors",
    "may_decide",
    "may_only_propose",
    "may_review",
    "needs_review",
    "proposer",
    "proposes",
]

REVIEW_PERMISSION = "reviews.review_proposal"


def needs_review(instance: models.Model) -> bool:
    """What the rule settings.REVIEWED_MODELS names for the instance's model
    says of its unsaved changes; False for a model without a rule."""
    rules: dict[str, str] = getattr(settings, "REVIEWED_MODELS", {})
    rule = rules.get(instance._meta.label)
    return rule is not None and bool(import_string(rule)(instance))


def may_only_propose(user: Any, model: type[models.Model]) -> bool:
    """Whether ``user`` holds the model's propose permission but not change."""
    opts = model._meta
    change = get_permission_codename("change", opts)
    return not user.has_perm(f"{opts.app_label}.{change}") and user.has_perm(
        f"{opts.app_label}.propose_{opts.model_name}"
    )


def proposes(user: Any, instance: models.Model) -> bool:
    """Whether saving ``instance`` (its fields assigned, not saved) as
    ``user`` makes a proposal instead of a change."""
    return may_only_propose(user, type(instance)) or needs_review(instance)


def may_review(user: Any) -> bool:
    return user.is_authenticated and user.has_perm(REVIEW_PERMISSION)


def authors(proposal: Any) -> set[Any]:
    """The users who made or edited ``proposal``: its actor, when a user,
    and whoever submitted or edited it (acting for an organisation, too)."""
    steps = proposal.decisions.filter(action__in=[Decision.SUBMITTED, Decision.EDITED])
    found = {step.actor for step in steps}
    found.add(proposal.actor)
    return {actor for actor in found if actor is not None}


def proposer(proposal: Any) -> Any:
    """The user who submitted ``proposal`` (its actor when nobody recorded one)."""
    first = proposal.decisions.filter(action=Decision.SUBMITTED).first()
    return first.actor if first is not None else proposal.actor


def may_decide(user: Any, proposal: Any) -> bool:
    """Four-eyes: a reviewer who did not make or edit the proposal."""
    return may_review(user) and user not in authors(proposal)
