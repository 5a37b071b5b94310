"""propose(): a block's changes are kept in a proposal and undone; outside
the block nothing changed and no history exists for them."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_save

from revy import Context
from revy.contrib.django.proposals import (
    ProposalStateError,
    current_proposal,
    is_proposing,
    propose,
)
from tests.helpers import ObjectDelta, ct, history_counts, make_user
from tests.proposal_helpers import Proposal, fresh, library
from tests.proposalapp.models import Author, Book, Label, Review

pytestmark = pytest.mark.django_db


def test_a_block_sees_its_changes_and_leaves_nothing_changed_or_recorded():
    author, first, *_ = library()
    before = history_counts()
    with propose(description="Fix the title") as proposal:
        first.title = "First, revised"
        first.save()
        assert fresh(first).title == "First, revised"
        Book.objects.create(title="Third", author=author)
        assert Book.objects.count() == 3
    assert fresh(first).title == "First"
    assert Book.objects.count() == 2
    assert history_counts() == before
    assert proposal.pk is not None
    assert proposal.status == "open"
    assert proposal.description == "Fix the title"
    assert sorted(d.action for d in proposal.deltas.all()) == ["create", "update"]


def test_the_proposal_keeps_each_field_with_its_base_and_proposed_value():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "A"
        first.save()
        first.title = "B"
        first.pages = 101
        first.save()
    (change,) = proposal.changes()
    assert change.action == "update"
    values = {f.name: (f.base, f.proposed, f.current) for f in change.fields}
    assert values == {"title": ("First", "B", "First"), "pages": (100, 101, 100)}


def test_a_field_set_back_to_its_base_is_no_change_and_a_row_made_and_deleted_none():
    author, first, *_ = library()
    with propose() as proposal:
        first.title = "Other"
        first.save()
        first.title = "First"
        first.save()
        Book.objects.create(title="Gone", author=author).delete()
    assert proposal.changes() == []


def test_actors_and_descriptions_are_those_of_the_enclosing_context():
    alice, bob = make_user("alice"), make_user("bob")
    _author, first, *_ = library()
    with Context.via_actor(alice), propose() as proposal:
        first.title = "By alice"
        with Context.via_actor(bob):
            first.pages = 7
        first.save()
    assert proposal.actor == alice
    (delta,) = proposal.deltas.all()
    assert delta.actor == alice
    actors = {a.field_name: a.actor for a in delta.attribute_deltas.all()}
    assert actors == {"title": alice, "pages": bob}


def test_it_records_inside_a_disabled_context_and_with_none_active():
    _author, first, *_ = library()
    with Context.as_disabled(), propose() as proposal:
        first.title = "Disabled around"
        first.save()
    assert len(proposal.changes()) == 1
    with propose() as alone:
        first.pages = 1
        first.save()
    assert len(alone.changes()) == 1


def test_nested_in_a_context_its_changes_stay_out_of_that_contexts_revision(alice):
    author, first, second, *_ = library()
    with Context.via_actor(alice):
        second.title = "Really changed"
        second.save()
        with propose() as proposal:
            first.title = "Only proposed"
            first.save()
        Author.objects.filter(pk=author.pk).update(name="Anna")
    assert fresh(second).title == "Really changed"
    assert fresh(first).title == "First"
    assert len(proposal.changes()) == 1
    touched = set(
        ObjectDelta.objects.filter(content_type=ct(Book)).values_list(
            "content_id", "action"
        )
    )
    assert (str(first.pk), "update") not in touched
    assert (str(second.pk), "update") in touched


def test_on_commit_callbacks_of_the_block_never_run():
    _author, first, *_ = library()
    ran = []
    with transaction.atomic():
        with propose():
            transaction.on_commit(lambda: ran.append("inside"))
            first.title = "x"
            first.save()
        transaction.on_commit(lambda: ran.append("outside"))
    # The test's own transaction never commits: Django runs them when asked.
    connection.run_and_clear_commit_hooks() if not connection.in_atomic_block else None
    assert "inside" not in ran


def test_receivers_can_ask_whether_a_proposal_is_being_recorded():
    _author, first, *_ = library()
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((is_proposing(), current_proposal()))

    post_save.connect(receiver, sender=Book)
    try:
        with propose() as proposal:
            first.save()
        first.save()
    finally:
        post_save.disconnect(receiver, sender=Book)
    assert seen == [(True, proposal), (False, None)]


def test_an_error_in_the_block_leaves_no_proposal_and_no_change():
    _author, first, *_ = library()
    count = Proposal().objects.count()
    with pytest.raises(ValueError), propose():
        first.title = "x"
        first.save()
        raise ValueError("stop")
    assert Proposal().objects.count() == count
    assert fresh(first).title == "First"


def test_foreign_keys_are_checked_in_the_block():
    _author, first, *_ = library()
    with pytest.raises(IntegrityError), transaction.atomic(), propose():
        Review.objects.create(book_id=first.pk + 1000, text="dangling")


def test_deletes_record_what_they_cascade():
    _author, first, *_ = library()
    review = Review.objects.create(book=first, text="good")
    key = first.pk
    with propose() as proposal:
        first.delete()
    assert Book.objects.filter(pk=key).exists()
    assert Review.objects.filter(pk=review.pk).exists()
    (change,) = proposal.changes()
    assert change.action == "delete"
    assert [(c.model, c.pk, c.action) for c in change.cascades] == [
        (Review, str(review.pk), "delete")
    ]


def test_many_to_many_changes_are_kept():
    _author, first, _second, fiction, poetry = library()
    first.labels.add(fiction)
    with propose() as proposal:
        first.labels.remove(fiction)
        first.labels.add(poetry)
    assert list(first.labels.all()) == [fiction]
    (change,) = proposal.changes()
    (labels,) = change.fields
    assert labels.many_to_many
    assert (labels.base, labels.proposed, labels.current) == (
        [fiction.pk],
        [poetry.pk],
        [fiction.pk],
    )


def test_more_can_be_added_to_an_open_proposal_which_the_block_sees_applied():
    author, first, second, *_ = library()
    with propose() as proposal:
        first.title = "Step one"
        first.save()
        Book.objects.create(title="New", author=author)
    second.title = "Changed live"
    second.save()
    with propose(proposal) as same:
        assert same is proposal
        assert fresh(first).title == "Step one"
        new = Book.objects.get(title="New")
        new.pages = 5
        new.save()
        first.refresh_from_db()
        first.pages = 150
        first.save()
        second.refresh_from_db()
        second.pages = 250
        second.save()
    assert fresh(first).title == "First"
    assert not Book.objects.filter(title="New").exists()
    by_key = {(c.action, c.pk): c for c in proposal.changes()}
    fields = {
        key: {f.name: (f.base, f.proposed) for f in c.fields}
        for key, c in by_key.items()
    }
    assert fields[("update", str(first.pk))] == {
        "title": ("First", "Step one"),
        "pages": (100, 150),
    }
    # A field touched for the first time takes the live value as its base.
    assert fields[("update", str(second.pk))] == {"pages": (200, 250)}
    (created,) = [c for c in by_key.values() if c.action == "create"]
    values = {f.name: f.proposed for f in created.fields}
    assert (values["title"], values["pages"]) == ("New", 5)


def test_only_an_open_proposal_can_be_added_to():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "x"
        first.save()
    proposal.reject("no")
    with pytest.raises(ProposalStateError), propose(proposal):
        pass
    assert Label.objects.count() == 2


@pytest.mark.skipif(
    connection.vendor == "mysql", reason="MariaDB checks foreign keys at once always"
)
def test_foreign_keys_are_deferred_again_after_the_block():
    author, first, *_ = library()
    with transaction.atomic():
        with propose():
            first.title = "x"
            first.save()
        # A key that is broken for a moment, then mended before the commit.
        review = Review.objects.create(book_id=first.pk + 1000, text="early")
        Book.objects.create(pk=first.pk + 1000, title="Late", author=author)
    assert Review.objects.get(pk=review.pk).book.title == "Late"


def test_a_multi_table_child_cannot_be_proposed_and_nothing_is_kept():
    from revy.contrib.django.proposals import NotProposable
    from tests.testapp.models import Restaurant

    count = Proposal().objects.count()
    with pytest.raises(NotProposable, match="testapp.Restaurant"), propose():
        Restaurant.objects.create(name="Chez", serves_pizza=True)
    assert not Restaurant.objects.exists()
    assert Proposal().objects.count() == count


def test_apply_inside_a_disabled_context_is_recorded_all_the_same():
    _author, first, *_ = library()
    with propose() as proposal:
        first.title = "Recorded"
        first.save()
    with Context.as_disabled():
        revision = proposal.apply()
    assert revision is not None
    assert ObjectDelta.objects.filter(revision=revision).count() == 1
