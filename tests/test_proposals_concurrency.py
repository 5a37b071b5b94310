"""Proposals under concurrent writes, each side on a connection of its own,
the interleaving forced with ``connection.execute_wrapper``: two applies
of proposals touching one row (one wins, the other sees the conflict), one
proposal applied twice at once, and a change committed between review and
apply. Events only order the two sides; their timeouts stop a test that
would otherwise hang."""

import threading

import pytest
from django.db import connection, connections

from revy import Context
from revy.contrib.django.proposals import ProposalConflict, ProposalStateError, propose
from tests.helpers import ObjectDelta, make_user
from tests.proposal_helpers import fresh, library
from tests.proposalapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

server_only = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite has no row locks: one writer at a time, nothing to race",
)
WAIT = 30


def in_thread(target):
    """Run ``target`` on a connection of its own; its result or error."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except BaseException as error:  # reported in the test's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def locks_books(sql):
    return "FOR UPDATE" in sql and Book._meta.db_table in sql


def proposal_of(book, title, actor):
    with Context.via_actor(actor), propose(description=title) as proposal:
        book.title = title
        book.save()
    return proposal


@server_only
def test_two_applies_touching_one_row_one_wins_the_other_sees_the_conflict():
    alice, bob = make_user("alice"), make_user("bob")
    _author, first, *_ = library()
    ours = proposal_of(first, "Alice's title", alice)
    theirs = proposal_of(fresh(first), "Bob's title", bob)
    first_locked, second_waits = threading.Event(), threading.Event()

    def hold_after_lock(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if locks_books(sql):
            first_locked.set()
            assert second_waits.wait(WAIT)
        return result

    def announce_lock(execute, sql, params, many, context):
        if locks_books(sql):
            second_waits.set()  # Its lock waits for the first to commit.
        return execute(sql, params, many, context)

    def apply_first():
        with connection.execute_wrapper(hold_after_lock), Context.via_actor(alice):
            return ours.apply()

    def apply_second():
        assert first_locked.wait(WAIT)
        with connection.execute_wrapper(announce_lock), Context.via_actor(bob):
            return theirs.apply()

    one, won = in_thread(apply_first)
    two, lost = in_thread(apply_second)
    one.join()
    two.join()
    assert "error" not in won, won
    assert isinstance(lost.get("error"), ProposalConflict), lost
    (conflict,) = lost["error"].conflicts
    assert (conflict.base, conflict.proposed, conflict.current) == (
        "First",
        "Bob's title",
        "Alice's title",
    )
    assert fresh(first).title == "Alice's title"
    assert (fresh(ours).status, fresh(theirs).status) == ("applied", "open")
    assert ObjectDelta.objects.count() == 1


@server_only
def test_one_proposal_applied_twice_at_once_applies_once():
    alice = make_user("alice")
    _author, first, *_ = library()
    proposal = proposal_of(first, "Once", alice)
    table = type(proposal)._meta.db_table
    locked, waiting = threading.Event(), threading.Event()

    def hold(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "FOR UPDATE" in sql and table in sql:
            locked.set()
            assert waiting.wait(WAIT)
        return result

    def announce(execute, sql, params, many, context):
        if "FOR UPDATE" in sql and table in sql:
            waiting.set()
        return execute(sql, params, many, context)

    def apply(wrapper, wait_for=None):
        def run():
            if wait_for is not None:
                assert wait_for.wait(WAIT)
            copy = type(proposal).objects.get(pk=proposal.pk)
            with connection.execute_wrapper(wrapper):
                return copy.apply()

        return run

    one, won = in_thread(apply(hold))
    two, lost = in_thread(apply(announce, locked))
    one.join()
    two.join()
    assert "error" not in won, won
    assert isinstance(lost.get("error"), ProposalStateError), lost
    assert ObjectDelta.objects.count() == 1


def test_a_change_committed_between_review_and_apply_is_a_conflict():
    alice = make_user("alice")
    _author, first, *_ = library()
    proposal = proposal_of(first, "Reviewed", alice)
    assert proposal.conflicts() == []

    def commit_a_change():
        with Context():
            book = Book.objects.get(pk=first.pk)
            book.title = "Committed meanwhile"
            book.save()

    thread, outcome = in_thread(commit_a_change)
    thread.join()
    assert "error" not in outcome, outcome
    with pytest.raises(ProposalConflict):
        proposal.apply()
    assert fresh(first).title == "Committed meanwhile"
    assert fresh(proposal).status == "open"


@server_only
def test_a_unique_value_taken_between_the_check_and_the_insert_is_a_conflict():
    from tests.proposalapp.models import Author

    with propose() as proposal:
        Author.objects.create(name="Bo", email="bo@example.com")
    table = Author._meta.db_table

    def take_it_first(execute, sql, params, many, context):
        if sql.startswith("INSERT") and table in sql:
            # Another connection commits the same e-mail address just now.
            thread, outcome = in_thread(
                lambda: Author.objects.create(name="Other", email="bo@example.com")
            )
            thread.join()
            assert "error" not in outcome, outcome
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(take_it_first),
        pytest.raises(ProposalConflict, match="refused") as raised,
    ):
        proposal.apply()
    assert [c.kind for c in raised.value.conflicts] == ["unique"]
    assert list(Author.objects.values_list("name", flat=True)) == ["Other"]
    assert fresh(proposal).status == "open"
