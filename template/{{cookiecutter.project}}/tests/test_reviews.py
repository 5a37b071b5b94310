"""The review workflow: changes that need review become proposals; reviewers
see a queue and a three-way comparison, and approve (never their own),
reject with a reason or ask for changes; every step is recorded and the
proposer is told by e-mail."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from revy.contrib.django.proposals import get_proposal_model

from {{ cookiecutter.project }}.invoices.models import Invoice

from tests.conftest import revisions
from tests.reviewing import BIG, act, amount, client_of, make_invoice, propose_big, steps, user_with


@pytest.fixture
def invoice(acme):
    return make_invoice(acme)


@pytest.fixture
def rita(db):
    return user_with("rita", "reviews.review_proposal")


def test_a_change_above_the_limit_is_submitted_for_review_and_changes_nothing(alice, invoice):
    proposal = propose_big(alice, invoice)
    invoice.refresh_from_db()
    assert invoice.amount == Decimal("100.00")
    assert [r.description for r in revisions()] == ["Annual contract."]  # The submission.
    assert steps(proposal) == [("submitted", "alice", "")]
    (change,) = proposal.changes()
    proposed = {f.name: f.proposed for f in change.fields}
    assert proposed == {"amount": Decimal("20000.00"), "local_amount": Decimal("22000.00")}

    mine = client_of(alice).get(reverse("reviews:mine"))
    assert f"{proposal.pk}: Annual contract." in mine.content.decode()


def test_the_limit_is_a_setting_read_at_each_save(alice, invoice, settings):
    settings.INVOICE_REVIEW_ABOVE = "50000"
    response = client_of(alice).post(reverse("invoices:update", args=[invoice.pk]), BIG)
    assert response.status_code == 200
    assert not get_proposal_model().objects.exists()


def test_the_queue_is_for_reviewers_and_filters_by_model_proposer_and_age(
    alice, bob, rita, invoice
):
    old = propose_big(alice, invoice)
    get_proposal_model().objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    new = propose_big(alice, invoice, amount="30000.00")
    queue = reverse("reviews:queue")
    assert client_of(bob).get(queue).status_code == 403

    def listed(**filters):
        page = client_of(rita).get(queue, filters).content.decode()
        return [p.pk for p in (old, new) if f"{p.pk}: Annual contract." in page]

    assert listed() == [old.pk, new.pk]
    assert listed(model="invoices.invoice") == [old.pk, new.pk]
    assert listed(model="accounts.user") == [old.pk, new.pk]  # Not a choice: ignored.
    assert listed(proposer="alice") == [old.pk, new.pk]
    assert listed(proposer="bob") == []
    assert listed(older_than="7") == [old.pk]
    act(rita, new, "reject", reason="Too much.")
    assert listed() == [old.pk]


def test_the_proposal_page_compares_base_proposed_and_current_and_marks_conflicts(
    alice, rita, bob, invoice
):
    proposal = propose_big(alice, invoice)
    Invoice.objects.filter(pk=invoice.pk).update(amount=Decimal("150.00"))
    page = client_of(rita).get(reverse("reviews:proposal", args=[proposal.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    row = re.search(r'<tr class="conflict" data-field="amount">(.*?)</tr>', html, re.S)
    cells = re.findall(r'<td class="value[^"]*">(.*?)</td>', row.group(1))
    assert cells == ["100.00", "20000.00", "150.00"]
    local = re.search(r'<tr data-field="local_amount">(.*?)</tr>', html, re.S)
    assert re.findall(r'<td class="value[^"]*">(.*?)</td>', local.group(1)) == [
        "110.00",
        "22000.00",
        "110.00",
    ]
    assert "was Decimal(&#x27;100.00&#x27;) when proposed" in html
    assert client_of(bob).get(reverse("reviews:proposal", args=[proposal.pk])).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_four_eyes_nobody_approves_their_own_proposal(acme, alice, invoice):
    proposer = user_with("paula", "reviews.review_proposal")
    acme.members.add(proposer)
    proposal = propose_big(proposer, invoice)
    refused = act(proposer, proposal, "approve")
    assert refused.status_code == 403
    assert "Four-eyes" in refused.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "open"
    assert amount(invoice) == Decimal("100.00")

    reviewer = user_with("victor", "reviews.review_proposal")
    assert act(reviewer, proposal, "approve").status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("applied", reviewer)
    assert amount(invoice) == Decimal("20000.00")
    assert steps(proposal) == [("submitted", "paula", ""), ("approved", "victor", "")]
    (message,) = mail.outbox
    assert message.to == ["paula@example.com"]
    assert message.subject == f"Proposal {proposal.pk} approved: Annual contract."
    applied = proposal.revision
    assert applied.description == f"Annual contract. (proposal {proposal.pk}, approved)"
    (delta,) = applied.object_deltas.filter(content_type__model="invoice")
    assert delta.actor == proposer  # The proposer's change, applied by the reviewer.


@pytest.mark.django_db(transaction=True)
def test_reject_needs_a_reason_and_tells_the_proposer(alice, invoice):
    rita = user_with("rita", "reviews.review_proposal")
    proposal = propose_big(alice, invoice)
    assert act(rita, proposal, "reject", reason=" ").status_code == 403
    assert act(rita, proposal, "reject", reason="Not agreed yet.").status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.reason) == ("rejected", "Not agreed yet.")
    assert steps(proposal)[-1] == ("rejected", "rita", "Not agreed yet.")
    assert "Reason: Not agreed yet." in mail.outbox[0].body
    assert act(rita, proposal, "approve").status_code == 403  # Decided already.


def test_changes_requested_then_edited_by_the_proposer_who_still_cannot_approve(
    alice, rita, invoice
):
    proposal = propose_big(alice, invoice)
    assert act(rita, proposal, "request_changes", reason="Use 15000.").status_code == 302
    page = client_of(alice).get(reverse("reviews:proposal", args=[proposal.pk]))
    assert '<strong id="status">changes requested</strong>' in page.content.decode()

    edit = reverse("reviews:edit", args=[proposal.pk])
    assert client_of(rita).get(edit).status_code == 403
    form = client_of(alice).get(edit)
    assert 'value="20000.00"' in form.content.decode()
    response = client_of(alice).post(edit, {"amount": "15000.00", "local_amount": "16500.00"})
    assert response.status_code == 302
    (change,) = proposal.changes()
    values = {f.name: (f.base, f.proposed) for f in change.fields}
    assert values["amount"] == (Decimal("100.00"), Decimal("15000.00"))
    assert [s[0] for s in steps(proposal)] == ["submitted", "changes_requested", "edited"]
    assert amount(invoice) == Decimal("100.00")

    assert act(rita, proposal, "approve").status_code == 302
    assert amount(invoice) == Decimal("15000.00")


def test_only_the_proposer_withdraws(alice, bob, rita, invoice):
    proposal = propose_big(alice, invoice)
    assert act(rita, proposal, "withdraw").status_code == 403
    assert act(alice, proposal, "withdraw", reason="Wrong invoice.").status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("withdrawn", alice)
    assert steps(proposal)[-1] == ("withdrawn", "alice", "Wrong invoice.")


def test_a_conflict_blocks_approval_until_a_rebase_settles_it(alice, rita, invoice):
    proposal = propose_big(alice, invoice)
    Invoice.objects.filter(pk=invoice.pk).update(amount=Decimal("150.00"))
    refused = act(rita, proposal, "approve")
    assert refused.status_code == 409
    assert "rebase it first" in refused.content.decode()
    assert amount(invoice) == Decimal("150.00")

    # One conflict (amount): the reviewer keeps today's value; local_amount
    # did not change since, so it simply takes today's base.
    assert act(rita, proposal, "rebase", **{"resolve-0": "current"}).status_code == 302
    assert proposal.conflicts() == []
    assert act(rita, proposal, "approve").status_code == 302
    invoice.refresh_from_db()
    assert (invoice.amount, invoice.local_amount) == (Decimal("150.00"), Decimal("22000.00"))
    assert [s[:2] for s in steps(proposal)][1:] == [("rebased", "rita"), ("approved", "rita")]


def test_in_the_admin_a_proposer_and_a_change_above_the_limit_make_proposals(acme, invoice):
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    form = {
        "organization": acme.pk,
        "number": "INV-1",
        "currency": "EUR",
        "amount": "120.00",
        "exchange_rate": "1.100000",
        "local_amount": "132.00",
        "_save": "Save",
    }
    proposer = user_with("pat", "invoices.view_invoice", "invoices.propose_invoice", staff=True)
    response = client_of(proposer).post(url, form, follow=True)
    assert "saved as proposal" in response.content.decode()
    editor = user_with("ed", "invoices.view_invoice", "invoices.change_invoice", staff=True)
    client_of(editor).post(url, form)
    assert amount(invoice) == Decimal("120.00")  # Under the limit.
    client_of(editor).post(url, {**form, "amount": "12000.00", "local_amount": "13200.00"})
    assert amount(invoice) == Decimal("120.00")
    proposals = get_proposal_model().objects.order_by("pk")
    assert [steps(p) for p in proposals] == [
        [("submitted", "pat", "")],
        [("submitted", "ed", "")],
    ]
