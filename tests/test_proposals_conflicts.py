"""conflicts(): three-way and per field, against what changed since the
proposal was made; empty when it would apply cleanly. And the preview of a
row as the proposal would leave it."""

import pytest
from django.db import connection

from revy.contrib.django.proposals import ABSENT, propose
from tests.proposal_helpers import fresh, library
from tests.proposalapp.models import Author, Book, Listing, Review

pytestmark = pytest.mark.django_db


def kinds(proposal):
    return [(c.kind, c.field) for c in proposal.conflicts()]


def test_no_conflict_when_nothing_changed_since_or_other_fields_did():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.save()
    assert proposal.conflicts() == []
    Book.objects.filter(pk=first.pk).update(pages=999)
    assert proposal.conflicts() == []
    proposal.apply()
    assert (fresh(first).title, fresh(first).pages) == ("Proposed", 999)


def test_a_field_changed_to_the_same_value_on_both_sides_is_no_conflict():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Same"
        first.save()
    Book.objects.filter(pk=first.pk).update(title="Same")
    assert proposal.conflicts() == []


def test_a_field_changed_on_both_sides_to_different_values_conflicts():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Ours"
        first.save()
    Book.objects.filter(pk=first.pk).update(title="Theirs")
    (conflict,) = proposal.conflicts()
    assert conflict.kind == "value" and conflict.resolvable
    assert conflict.key == ("proposalapp.Book", str(first.pk), "title")
    assert (conflict.base, conflict.proposed, conflict.current) == (
        "First",
        "Ours",
        "Theirs",
    )


@pytest.mark.parametrize("action", ["update", "delete"])
def test_a_row_deleted_meanwhile_conflicts(action):
    _author, first, *_ = library()
    key = first.pk
    with propose() as proposal:
        if action == "update":
            first.title = "x"
            first.save()
        else:
            first.delete()
    Book.objects.filter(pk=key).delete()
    assert kinds(proposal) == [("deleted", "")]
    assert "was deleted since" in str(proposal.conflicts()[0])


def test_a_created_row_that_would_break_a_unique_constraint_conflicts():
    with propose() as proposal:
        Author.objects.create(name="Bo", email="bo@example.com")
        Listing.objects.create(code="L-1", title="One")
    assert proposal.conflicts() == []
    Author.objects.create(name="Other Bo", email="bo@example.com")
    Listing.objects.create(code="L-1", title="Taken")
    found = proposal.conflicts()
    assert [c.kind for c in found] == ["unique", "unique"]
    assert "email" in found[0].message.lower()


def test_a_deleted_row_that_gained_dependants_conflicts():
    _author, first, *_ = library()
    key = first.pk
    Review.objects.create(book=first, text="seen")
    with propose() as proposal:
        first.delete()
    assert proposal.conflicts() == []
    late = Review.objects.create(book_id=key, text="written later")
    (conflict,) = proposal.conflicts()
    assert conflict.kind == "cascade"
    assert f"proposalapp.Review {late.pk}" in conflict.message


def test_a_field_the_model_no_longer_has_conflicts():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "x"
        first.save()
    proposal.deltas.get().attribute_deltas.filter(field_name="title").update(
        field_name="subtitle"
    )
    assert kinds(proposal) == [("field", "subtitle")]


def test_changes_show_base_proposed_and_current():
    author, first, *_ = library()
    with propose() as proposal:
        first.title = "Proposed"
        first.save()
        Book.objects.create(title="New", author=author)
    Book.objects.filter(pk=first.pk).update(title="Current")
    update, create = proposal.changes()
    (title,) = update.fields
    assert (title.base, title.proposed, title.current) == (
        "First",
        "Proposed",
        "Current",
    )
    assert title.changed_since
    assert update.exists and not create.exists
    assert {f.name: f.base for f in create.fields}["title"] is ABSENT


def test_preview_shows_a_row_as_the_proposal_would_leave_it():
    author, first, second, *_ = library()
    with propose() as proposal:
        first.title = "Previewed"
        first.save()
        key = second.pk
        second.delete()
        new = Book.objects.create(title="New", author=author)
    Book.objects.filter(pk=first.pk).update(pages=5)
    shown = proposal.preview(Book, first.pk)
    assert (shown.title, shown.pages) == ("Previewed", 5)
    assert proposal.preview(Book, key) is None
    assert proposal.preview(Book, new.pk).title == "New"
    assert fresh(first).title == "First"


def test_queries_for_conflicts_do_not_grow_with_the_rows(django_assert_max_num_queries):
    author = Author.objects.create(name="A", email="a@example.com")
    books = [Book(title=f"b{i}", author=author) for i in range(30)]
    Book.objects.bulk_create(books)
    books = list(Book.objects.all())
    with propose() as proposal:
        for book in books:
            book.title += "!"
            book.save()
    connection.queries_log.clear()
    with django_assert_max_num_queries(4):
        assert proposal.conflicts() == []
