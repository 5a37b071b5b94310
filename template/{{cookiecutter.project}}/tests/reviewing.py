"""What the review tests share: users with chosen permissions, an invoice,
a change of it that needs review, and the review pages' actions."""

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from revy.contrib.django.proposals import get_proposal_model

from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.invoices.models import Invoice

# A change above the review limit (settings.INVOICE_REVIEW_ABOVE).
BIG = {"amount": "20000.00", "exchange_rate": "1.100000", "local_amount": "0"}


def user_with(username: str, *permissions: str, staff: bool = False) -> Any:
    """A user holding ``permissions`` ("app_label.codename")."""
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", "pw", is_staff=staff
    )
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)  # Without cached permissions.


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_invoice(organization: Organization) -> Invoice:
    return Invoice.objects.create(
        organization=organization,
        number="INV-1",
        currency="EUR",
        amount=Decimal("100.00"),
        exchange_rate=Decimal("1.100000"),
        local_amount=Decimal("110.00"),
    )


def amount(invoice: Invoice) -> Decimal:
    """The invoice's amount in the database now."""
    return Invoice.objects.get(pk=invoice.pk).amount


def propose_big(user: Any, invoice: Invoice, **data: str) -> Any:
    """``user`` changes the invoice above the limit: a proposal."""
    response = client_of(user).post(
        reverse("invoices:update", args=[invoice.pk]),
        {**BIG, **data},
        headers={"X-Commit-Message": "Annual contract."},
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "submitted for review"
    return get_proposal_model().objects.get(pk=response.json()["proposal"])


def act(user: Any, proposal: Any, action: str, **data: str) -> Any:
    """``user`` takes ``action`` on the proposal's page."""
    return client_of(user).post(
        reverse("reviews:act", args=[proposal.pk]), {"action": action, **data}
    )


def steps(proposal: Any) -> list[tuple[str, str, str]]:
    """The recorded decisions: (action, username, reason)."""
    return [(d.action, d.actor.username, d.reason) for d in proposal.decisions.all()]
