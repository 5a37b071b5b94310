"""Two actors in one revision; a task that disables tracking for part of its work."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import CORRECTED
from {{ cookiecutter.project }}.invoices.tasks import (
    RATES_UPDATED,
    refresh_exchange_rates,
)

from tests.conftest import deltas, fields, revisions


@pytest.fixture
def invoice(acme):
    return Invoice.objects.create(
        organization=acme,
        number="INV-1",
        currency="EUR",
        amount=Decimal("100.00"),
        exchange_rate=Decimal("1.100000"),
        local_amount=Decimal("110.00"),
    )


def update(user, invoice, data, **headers):
    client = Client()
    client.force_login(user)
    return client.post(reverse("invoices:update", args=[invoice.pk]), data, headers=headers)


CHANGE = {"amount": "200.00", "exchange_rate": "1.100000", "local_amount": "110.00"}


def test_the_system_corrects_the_local_amount_in_the_users_revision(alice, invoice):
    response = update(alice, invoice, CHANGE, **{"X-Commit-Message": "Second delivery."})
    assert response.status_code == 200
    assert response.json()["local_amount"] == "220.00"

    [revision] = revisions()
    assert revision.description == "Second delivery."
    [delta] = deltas(revision)
    assert (delta.action, delta.actor) == ("update", alice)
    assert fields(delta) == {
        "amount": ("100.00", "200.00", alice, ""),
        "local_amount": ("110.00", "220.00", None, CORRECTED),
    }
    assert revision.actors() == [alice, None]


def test_acting_for_the_organisation(alice, acme, invoice):
    response = update(alice, invoice, CHANGE, **{"X-Perform-As-Organization": "acme"})
    assert response.status_code == 200
    [revision] = revisions()
    assert revision.actors() == [acme, None]


def test_a_correct_local_amount_needs_no_correction(alice, invoice):
    update(alice, invoice, {**CHANGE, "local_amount": "220.00"})
    [delta] = deltas(revisions()[0])
    assert fields(delta)["local_amount"][2:] == (alice, "")


def test_invalid_data_changes_nothing(alice, invoice):
    response = update(alice, invoice, {**CHANGE, "amount": "lots"})
    assert response.status_code == 400
    assert "amount" in response.json()["errors"]
    assert revisions() == []


def test_outsiders_cannot_see_the_invoice(bob, invoice):
    assert update(bob, invoice, CHANGE).status_code == 404
    assert revisions() == []


def test_the_rates_task_records_rates_but_not_its_bookkeeping(invoice):
    paid = Invoice.objects.create(
        organization=invoice.organization,
        number="INV-2",
        currency="EUR",
        amount=Decimal("10.00"),
        exchange_rate=Decimal("1.100000"),
        local_amount=Decimal("11.00"),
        is_paid=True,
    )

    assert refresh_exchange_rates({"EUR": Decimal("1.080000")}) == 1

    invoice.refresh_from_db()
    assert invoice.local_amount == Decimal("108.00")
    assert invoice.rate_checked_at is not None
    [revision] = revisions()
    assert revision.description == RATES_UPDATED
    [delta] = deltas(revision)
    assert delta.content_id == str(invoice.pk)
    assert fields(delta) == {
        "exchange_rate": ("1.100000", "1.080000", None, ""),
        "local_amount": ("110.00", "108.00", None, CORRECTED),
    }
    paid.refresh_from_db()
    assert paid.rate_checked_at is None
