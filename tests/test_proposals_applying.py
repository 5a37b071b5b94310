"""apply(): every change of a proposal as one new revision, in one
transaction, crediting the actors who proposed each value; the proposal
records who applied it and the revision it became. reject(), withdraw(),
and the transitions they refuse."""

import pytest
from django.db import transaction

from revy import Context
from revy.contrib.django.proposals import ProposalConflict, ProposalStateError, propose
from tests.helpers import ObjectDelta, ct, history_counts, make_user
from tests.proposal_helpers import fresh, library
from tests.proposalapp.models import Author, Book, Label, Listing, Review

pytestmark = pytest.mark.django_db


def test_apply_makes_every_change_as_one_revision_crediting_the_proposers():
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    author, first, second, fiction, _poetry = library()
    review = Review.objects.create(book=second, text="meh")
    with Context.via_actor(alice), propose(description="Spring edits") as proposal:
        first.title = "First, revised"
        with Context.via_actor(bob):
            first.pages = 120
        first.save()
        first.labels.add(fiction)
        second.delete()
        Book.objects.create(title="Third", pages=3, author=author)
    assert history_counts() == (0, 0, 0)
    with Context.via_actor(carol):
        revision = proposal.apply()
    first.refresh_from_db()
    assert (first.title, first.pages) == ("First, revised", 120)
    assert list(first.labels.all()) == [fiction]
    assert not Book.objects.filter(title="Second").exists()
    assert not Review.objects.filter(pk=review.pk).exists()
    third = Book.objects.get(title="Third")
    assert (third.pages, third.author) == (3, author)

    assert revision is not None and revision.pk is not None
    assert revision.description == "Spring edits"
    assert list(revision.proposals.all()) == [proposal]
    proposal.refresh_from_db()
    assert proposal.status == "applied"
    assert proposal.decided_by == carol
    assert proposal.decided_at is not None
    assert proposal.revision == revision

    deltas = {(d.content_type.model, d.action): d for d in revision.object_deltas.all()}
    updates = revision.object_deltas.filter(
        action="update", content_type=ct(Book), content_id=first.pk
    )
    assert {update.actor for update in updates} == {alice}
    actors = {a.field_name: a.actor for u in updates for a in u.attribute_deltas.all()}
    assert actors == {"title": alice, "pages": bob, "labels": alice}
    assert deltas[("book", "create")].actor == alice
    assert deltas[("review", "delete")].cause == deltas[("book", "delete")]
    assert set(revision.actors()) == {alice, bob}


def test_apply_runs_in_the_callers_context_and_revision(alice):
    _author, first, second, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.save()
    with Context.via_actor(alice):
        second.title = "Live"
        second.save()
        revision = proposal.apply()
        assert Context.get_revision() == revision
    assert revision.object_deltas.count() == 2


def test_objects_the_proposal_creates_get_real_keys_and_their_links_follow():
    with propose() as proposal:
        author = Author.objects.create(name="New", email="new@example.com")
        book = Book.objects.create(title="Debut", author=author)
        label = Label.objects.create(name="debut")
        book.labels.add(label)
    # Rows made meanwhile may take the keys the proposal's rows had.
    taken = Author.objects.create(name="Meanwhile", email="m@example.com")
    proposal.apply()
    book = Book.objects.get(title="Debut")
    assert book.author.name == "New"
    assert book.author != taken
    assert [label.name for label in book.labels.all()] == ["debut"]


def test_rows_with_keys_of_their_own_keep_them():
    with propose() as proposal:
        Listing.objects.create(code="B-7", title="Seven")
    proposal.apply()
    assert Listing.objects.get(pk="B-7").title == "Seven"


def test_a_conflict_raises_lists_it_and_changes_nothing():
    _author, first, second, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.save()
        second.pages = 201
        second.save()
    Book.objects.filter(pk=first.pk).update(title="Changed meanwhile")
    before = history_counts()
    with pytest.raises(ProposalConflict) as raised:
        proposal.apply()
    (conflict,) = raised.value.conflicts
    assert (conflict.kind, conflict.field) == ("value", "title")
    assert (conflict.base, conflict.proposed, conflict.current) == (
        "First",
        "Proposed",
        "Changed meanwhile",
    )
    assert "title was 'First' when proposed" in str(raised.value)
    assert fresh(second).pages == 200
    assert history_counts() == before
    assert fresh(proposal).status == "open"


@pytest.mark.parametrize(
    ("choice", "title"),
    [("proposed", "Proposed"), ("current", "Changed"), ("base", "First")],
)
def test_a_reviewer_resolves_a_conflict_per_field(choice, title):
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.pages = 111
        first.save()
    Book.objects.filter(pk=first.pk).update(title="Changed")
    (conflict,) = proposal.conflicts()
    proposal.apply(resolutions={conflict: choice})
    assert (fresh(first).title, fresh(first).pages) == (title, 111)


def test_a_resolution_by_key_and_a_bad_choice():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.save()
    Book.objects.filter(pk=first.pk).update(title="Changed")
    with pytest.raises(ValueError, match="'base', 'proposed', 'current'"):
        proposal.apply(resolutions={("proposalapp.Book", first.pk, "title"): "mine"})
    proposal.apply(resolutions={("proposalapp.Book", first.pk, "title"): "proposed"})
    assert fresh(first).title == "Proposed"


def test_rebase_takes_current_values_as_base_where_nothing_conflicts():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.pages = 111
        first.save()
    Book.objects.filter(pk=first.pk).update(title="Changed", pages=150)
    left = proposal.rebase()
    assert [c.field for c in left] == ["pages", "title"] or [c.field for c in left] == [
        "title",
        "pages",
    ]
    Book.objects.filter(pk=first.pk).update(title="Proposed")
    assert [c.field for c in proposal.rebase()] == ["pages"]
    (change,) = proposal.changes()
    bases = {f.name: f.base for f in change.fields}
    assert bases == {"title": "Proposed", "pages": 100}


def test_rebase_with_resolutions_settles_value_conflicts_as_chosen():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.pages = 111
        first.save()
    Book.objects.filter(pk=first.pk).update(title="Changed", pages=150)
    with pytest.raises(ValueError, match="'base', 'proposed', 'current'"):
        proposal.rebase(resolutions={("proposalapp.Book", first.pk, "title"): "mine"})
    left = proposal.rebase(
        resolutions={("proposalapp.Book", first.pk, "title"): "proposed"}
    )
    assert [c.field for c in left] == ["pages"]
    (change,) = proposal.changes()
    values = {f.name: (f.base, f.proposed, f.current) for f in change.fields}
    assert values["title"] == ("Changed", "Proposed", "Changed")
    assert values["pages"] == (100, 111, 150)
    assert [c.field for c in proposal.conflicts()] == ["pages"]

    left = proposal.rebase(resolutions={c: "current" for c in proposal.conflicts()})
    assert left == [] and proposal.conflicts() == []
    (change,) = proposal.changes()
    values = {f.name: (f.base, f.proposed, f.current) for f in change.fields}
    assert values["title"] == ("Changed", "Proposed", "Changed")
    assert values["pages"] == (150, 150, 150)
    proposal.apply()
    assert (fresh(first).title, fresh(first).pages) == ("Proposed", 150)


def test_rebase_resolved_to_the_base_proposes_undoing_the_live_change():
    _author, first, *_ = library()
    with propose() as proposal:
        first.pages = 111
        first.save()
    Book.objects.filter(pk=first.pk).update(pages=150)
    assert proposal.rebase(resolutions={c: "base" for c in proposal.conflicts()}) == []
    proposal.apply()
    assert fresh(first).pages == 100


def test_reject_and_withdraw_record_who_and_why_and_refuse_to_go_on(alice):
    _author, first, *_ = library()
    with propose() as rejected:
        first.title = "x"
        first.save()
    with Context.via_actor(alice):
        rejected.reject("Not now")
    rejected.refresh_from_db()
    assert (rejected.status, rejected.reason, rejected.decided_by) == (
        "rejected",
        "Not now",
        alice,
    )
    with pytest.raises(ProposalStateError, match="rejected, not open"):
        rejected.apply()
    with pytest.raises(ProposalStateError):
        rejected.withdraw()
    with propose() as withdrawn:
        first.pages = 1
        first.save()
    withdrawn.withdraw()
    assert withdrawn.status == "withdrawn"
    with pytest.raises(ProposalStateError):
        withdrawn.reject()
    assert fresh(first).title == "First"


def test_an_applied_proposal_cannot_be_applied_again():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Once"
        first.save()
    proposal.apply()
    with pytest.raises(ProposalStateError, match="applied, not open"):
        proposal.apply()
    assert ObjectDelta.objects.count() == 1


def test_apply_inside_a_transaction_that_rolls_back_leaves_it_open():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Rolled back"
        first.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        proposal.apply()
        raise RuntimeError
    assert fresh(proposal).status == "open"
    assert fresh(first).title == "First"
