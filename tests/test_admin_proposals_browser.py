"""Saving as a proposal in a real browser: a user who may propose changes
to books but not change them edits a book in the admin's change form and
saves; the admin says a proposal was saved, and the book is unchanged until
the proposal is applied. SQLite only, as the other browser tests."""

import pytest

from tests.admin_support import staff, url
from tests.proposal_helpers import Proposal, fresh, library
from tests.proposalapp.models import Book
from tests.test_admin_browser import chromium, sign_in, submitted  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_proposer_saves_the_change_form_as_a_proposal(chromium, live_server):  # noqa: F811
    from selenium.webdriver.common.by import By

    _author, first, *_ = library()
    client, user = staff(
        "proposer", "proposalapp.view_book", "proposalapp.propose_book"
    )
    sign_in(chromium, live_server, client)
    chromium.get(live_server.url + url(Book, "change", first.pk))
    title = chromium.find_element(By.NAME, "title")
    title.clear()
    title.send_keys("Proposed in the browser")
    text = submitted(chromium, "input[name=_save]", "saved as proposal")
    assert "Nothing was changed yet" in text
    assert fresh(first).title == "First"

    proposal = Proposal().objects.get()
    assert proposal.actor == user
    proposal.apply()
    assert fresh(first).title == "Proposed in the browser"
