"""Saving an invoice: the system corrects the local amount in the user's revision.

The seed README's "multiple actors in one revision" example. revy records,
for each field, the actor and description current when the field was
assigned: the fields the user sent carry the user (or organisation), and
local_amount, corrected inside ``via_actor(None)``, carries the system and
"Corrected by the system.", all in one revision.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from revy import Context as C

from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.reviews import rules, services

CORRECTED = "Corrected by the system."


def save_invoice(instance: Invoice) -> None:
    local_amount = instance.expected_local_amount()
    if instance.local_amount != local_amount:
        with (
            C.via_actor(None),
            C.via_attribute_delta_description(CORRECTED),
        ):
            # <-- The actor is `None` in this block.
            instance.local_amount = local_amount
        # <-- The actor here is the one of the request again.
    instance.save()


def needs_review(instance: Invoice) -> bool:
    """The review rule of settings.REVIEWED_MODELS: a change that leaves the
    amount above settings.INVOICE_REVIEW_ABOVE."""
    return instance.amount > Decimal(settings.INVOICE_REVIEW_ABOVE)


def save_or_propose(user: Any, instance: Invoice, description: str = "") -> Any:
    """Save the invoice's assigned fields as save_invoice does, or, when the
    change needs review (reviews/rules.py), submit them as a proposal and
    return it (None when saved)."""
    if rules.proposes(user, instance):
        description = description or f"Change of invoice {instance}"
        return services.submit(user, description, lambda: save_invoice(instance))
    save_invoice(instance)
    return None
