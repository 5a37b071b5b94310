""" "Save as proposal" in the admin: a user who may propose changes to a
model but not change it saves a proposal, and nothing changes; a user who
may change saves as usual."""

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry

from tests.admin_support import staff, url
from tests.helpers import history_counts
from tests.proposal_helpers import Proposal, fresh, library
from tests.proposalapp.models import Book, Review

pytestmark = pytest.mark.django_db


def form(book, **changes):
    data = {
        "title": book.title,
        "pages": book.pages,
        "author": book.author_id,
        "labels": [label.pk for label in book.labels.all()],
        "reviews-TOTAL_FORMS": "1",
        "reviews-INITIAL_FORMS": "0",
        "reviews-MIN_NUM_FORMS": "0",
        "reviews-MAX_NUM_FORMS": "1000",
        "reviews-0-text": "",
    }
    data.update(changes)
    return data


def test_a_user_who_may_propose_but_not_change_saves_a_proposal():
    _author, first, _second, fiction, _poetry = library()
    client, user = staff(
        "proposer",
        "proposalapp.view_book",
        "proposalapp.propose_book",
        # Inline rows are offered to those who may add them.
        "proposalapp.view_review",
        "proposalapp.add_review",
    )
    page = client.get(url(Book, "change", first.pk))
    assert page.status_code == 200
    assert b'name="title"' in page.content  # an editable form
    response = client.post(
        url(Book, "change", first.pk),
        form(
            first,
            title="Proposed title",
            labels=[fiction.pk],
            **{
                "reviews-0-text": "A proposed review",
            },
        ),
        follow=True,
    )
    assert response.status_code == 200
    assert b"saved as proposal" in response.content
    assert fresh(first).title == "First"
    assert not first.labels.exists()
    assert not Review.objects.exists()
    assert history_counts() == (0, 0, 0)
    assert not LogEntry.objects.exists()

    proposal = Proposal().objects.get()
    assert proposal.actor == user
    changed = {
        (c.model.__name__, c.action): {f.name: f.proposed for f in c.fields}
        for c in proposal.changes()
    }
    assert changed[("Book", "update")]["title"] == "Proposed title"
    assert changed[("Book", "update")]["labels"] == [fiction.pk]
    assert changed[("Review", "create")]["text"] == "A proposed review"

    proposal.apply()
    assert fresh(first).title == "Proposed title"
    assert list(first.labels.all()) == [fiction]
    assert Review.objects.get().book == first


def test_a_user_who_may_change_saves_as_usual():
    _author, first, *_ = library()
    client, _user = staff(
        "editor",
        "proposalapp.view_book",
        "proposalapp.change_book",
        "proposalapp.propose_book",
    )
    client.post(url(Book, "change", first.pk), form(first, title="Changed"))
    assert fresh(first).title == "Changed"
    assert not Proposal().objects.exists()


def test_a_user_who_may_only_view_cannot_save():
    _author, first, *_ = library()
    client, _user = staff("reader", "proposalapp.view_book")
    response = client.post(url(Book, "change", first.pk), form(first, title="x"))
    assert response.status_code == 403
    assert fresh(first).title == "First"
    assert not Proposal().objects.exists()


def test_the_admin_hands_each_proposal_it_saved_to_proposal_saved(monkeypatch):
    _author, first, *_ = library()
    saved = []
    model_admin = admin.site._registry[Book]

    def proposal_saved(request, proposal):
        saved.append((request.user, proposal))

    monkeypatch.setattr(model_admin, "proposal_saved", proposal_saved)
    client, user = staff(
        "proposer", "proposalapp.view_book", "proposalapp.propose_book"
    )
    client.post(url(Book, "change", first.pk), form(first, title="Hooked"))
    assert saved == [(user, Proposal().objects.get())]
    other, _ = staff("editor", "proposalapp.view_book", "proposalapp.change_book")
    other.post(url(Book, "change", first.pk), form(first, title="Changed"))
    assert len(saved) == 1 and fresh(first).title == "Changed"
