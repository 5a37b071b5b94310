"""The review workflow in a real browser: a change submitted in the admin,
reviewed and approved on the review pages; a conflict settled by a rebase;
a proposer refused when approving their own proposal."""

from decimal import Decimal

import pytest
from django.urls import reverse
from revy.contrib.django.proposals import get_proposal_model

from {{ cookiecutter.project }}.invoices.models import Invoice

from tests.browser import chromium, click_and_wait, sign_in  # noqa: F401
from tests.reviewing import amount, make_invoice, propose_big, user_with

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def invoice(acme):
    return make_invoice(acme)


def test_submit_in_the_admin_then_review_and_approve(chromium, live_server, invoice):  # noqa: F811
    from selenium.webdriver.common.by import By

    clerk = user_with("clerk", "invoices.view_invoice", "invoices.change_invoice", staff=True)
    sign_in(chromium, live_server.url, clerk)
    chromium.get(live_server.url + reverse("admin:invoices_invoice_change", args=[invoice.pk]))
    field = chromium.find_element(By.NAME, "amount")
    field.clear()
    field.send_keys("20000.00")
    text = click_and_wait(chromium, "input[name=_save]", "saved as proposal")
    assert "Nothing was changed yet" in text
    assert amount(invoice) == Decimal("100.00")

    reviewer = user_with("rita", "reviews.review_proposal")
    sign_in(chromium, live_server.url, reviewer)
    chromium.get(live_server.url + reverse("reviews:queue"))
    proposal = get_proposal_model().objects.get()
    chromium.find_element(By.LINK_TEXT, f"{proposal.pk}: {proposal}").click()
    row = chromium.find_element(By.CSS_SELECTOR, 'tr[data-field="amount"]').text
    assert row.split() == ["amount", "100.00", "20000.00", "100.00"]
    text = click_and_wait(chromium, "button[value=approve]", "Approved: applied as revision")
    assert "approved by rita" in text
    assert amount(invoice) == Decimal("20000.00")


def test_a_conflict_settled_by_a_rebase(chromium, live_server, alice, invoice):  # noqa: F811
    from selenium.webdriver.common.by import By

    proposal = propose_big(alice, invoice)
    Invoice.objects.filter(pk=invoice.pk).update(amount=Decimal("150.00"))
    reviewer = user_with("rita", "reviews.review_proposal")
    sign_in(chromium, live_server.url, reviewer)
    chromium.get(live_server.url + reverse("reviews:proposal", args=[proposal.pk]))
    row = chromium.find_element(By.CSS_SELECTOR, 'tr[data-field="amount"]')
    assert "conflict" in row.get_attribute("class")
    text = click_and_wait(chromium, "button[value=approve]", "rebase it first")
    assert amount(invoice) == Decimal("150.00")

    chromium.find_element(By.CSS_SELECTOR, 'input[name="resolve-0"][value="proposed"]').click()
    text = click_and_wait(chromium, "button[value=rebase]", "no conflicts left")
    assert "(conflict)" not in text
    row = chromium.find_element(By.CSS_SELECTOR, 'tr[data-field="amount"]').text
    assert row.split() == ["amount", "150.00", "20000.00", "150.00"]
    click_and_wait(chromium, "button[value=approve]", "Approved: applied as revision")
    assert amount(invoice) == Decimal("20000.00")


def test_a_proposer_is_refused_approving_their_own_proposal(
    chromium,  # noqa: F811
    live_server,
    acme,
    invoice,
):
    from selenium.webdriver.common.by import By

    proposer = user_with("paula", "reviews.review_proposal")
    acme.members.add(proposer)
    proposal = propose_big(proposer, invoice)
    sign_in(chromium, live_server.url, proposer)
    chromium.get(live_server.url + reverse("reviews:proposal", args=[proposal.pk]))
    assert "another reviewer decides on it" in chromium.page_source
    click_and_wait(chromium, "button[value=approve]", "Four-eyes: you cannot review")
    assert chromium.find_element(By.ID, "status").text == "open"
    proposal.refresh_from_db()
    assert proposal.status == "open"
    assert amount(invoice) == Decimal("100.00")
