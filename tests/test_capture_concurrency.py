"""Concurrent threads and asyncio tasks, each with its own actor: every delta
names the actor of the thread or task that made it; none misattributed,
none lost.

On SQLite the test database is one in-memory database shared by all
connections with table locks: a statement that meets another connection's
lock fails at once ("database table is locked") instead of waiting. There
the threads take turns for each write (``db_turn``), one save at a time,
while their contexts stay interleaved; on PostgreSQL and MariaDB they write
truly concurrently.
"""

import asyncio
import contextlib
import contextvars
import pickle
import threading

import pytest
from django.db import connection, connections, transaction

from revy import Context
from tests.helpers import AttributeDelta, ObjectDelta, Revision, Undo, User, run
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)


THREADS = 8
PER_THREAD = 10
TASKS = 50

_sqlite_lock = threading.Lock()


def db_turn():
    """A turn at the database: exclusive on SQLite (see above), free elsewhere."""
    if connection.vendor == "sqlite":
        return _sqlite_lock
    return contextlib.nullcontext()


def owner_of(text):
    """Texts are "<worker>-<n>"; the worker index that wrote them."""
    return int(text.split("-")[0])


def assert_attributed(users, per_worker, updates_per_object):
    """Every delta names the worker that wrote its comment, and all are there."""
    user_index = {user.pk: i for i, user in enumerate(users)}
    comments = {str(c.pk): c for c in Comment.objects.all()}
    assert len(comments) == len(users) * per_worker

    deltas = list(ObjectDelta.objects.select_related("revision"))
    assert len(deltas) == len(comments) * (1 + updates_per_object)
    for delta in deltas:
        owner = owner_of(comments[delta.content_id].text)
        assert delta.actor_id == str(users[owner].pk), (
            f"delta {delta.pk} of worker {owner}'s comment names user {delta.actor_id}"
        )
    for attribute in AttributeDelta.objects.select_related("object_delta"):
        owner = owner_of(comments[attribute.object_delta.content_id].text)
        assert attribute.actor_id == str(users[owner].pk)

    # One revision per worker's context, holding only that worker's changes.
    revisions = list(Revision.objects.all())
    assert len(revisions) == len(users)
    for revision in revisions:
        actors = revision.actors()
        assert len(actors) == 1
        index = user_index[actors[0].pk]
        owners = {
            owner_of(comments[content_id].text)
            for content_id in revision.object_deltas.values_list(
                "content_id", flat=True
            )
        }
        assert owners == {index}
        assert revision.description == f"worker {index}"


def run_threads(target, count):
    errors = []

    def run(i):
        try:
            target(i)
        except BaseException as error:  # reported in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@pytest.fixture
def users():
    return [User.objects.create(username=f"worker-{i}") for i in range(TASKS)]


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "atomic"])
def test_threads_with_distinct_actors(users, in_transaction):
    users = users[:THREADS]
    barrier = threading.Barrier(THREADS)

    def work(i):
        transaction_block = (
            transaction.atomic() if in_transaction else contextlib.nullcontext()
        )
        # On SQLite an open transaction holds its locks until it ends: the
        # whole transaction is one turn there.
        outer_turn = db_turn() if in_transaction else contextlib.nullcontext()
        inner_turn = contextlib.nullcontext if in_transaction else db_turn
        with (
            Context.via_actor(users[i]),
            Context.via_revision_description(f"worker {i}"),
        ):
            barrier.wait()
            with outer_turn, transaction_block:
                mine = []
                for n in range(PER_THREAD):
                    with inner_turn():
                        mine.append(Comment.objects.create(text=f"{i}-{n}"))
                for comment in mine:
                    comment.is_marked_as_spam = True
                    with inner_turn():
                        comment.save()
                # The actor is still this thread's after all that.
                assert Context.get_actor() == users[i]

    run_threads(work, THREADS)
    assert_attributed(users, PER_THREAD, updates_per_object=1)


def test_threads_interleaving_assignments_and_saves(users):
    # Each thread assigns under one actor and saves under another, in
    # lock step with the others: attributions stay per instance and thread.
    users = users[: THREADS * 2]
    comments = [Comment.objects.create(text=f"{i}-0") for i in range(THREADS)]
    for comment in comments:
        comment.refresh_from_db()
    barrier = threading.Barrier(THREADS)

    def work(i):
        comment = comments[i]
        with Context.via_actor(users[i]):
            comment.text = f"{i}-0 by {i}"
            barrier.wait()
            with Context.via_actor(users[THREADS + i]):
                barrier.wait()
                with db_turn():
                    comment.save()

    run_threads(work, THREADS)
    for i, comment in enumerate(comments):
        [delta] = ObjectDelta.objects.for_object(comment)
        assert delta.actor == users[THREADS + i]
        [attribute] = delta.attribute_deltas.all()
        assert attribute.actor == users[i]
        assert attribute.new() == f"{i}-0 by {i}"


def test_asyncio_tasks_with_distinct_actors(users):
    async def work(i):
        with (
            Context.via_actor(users[i]),
            Context.via_revision_description(f"worker {i}"),
        ):
            first = await Comment.objects.acreate(text=f"{i}-0")
            await asyncio.sleep(0)
            second = await Comment.objects.acreate(text=f"{i}-1")
            for comment in (first, second):
                await asyncio.sleep(0)
                comment.is_marked_as_spam = True
                await comment.asave()
            assert Context.get_actor() == users[i]

    async def main():
        await asyncio.gather(*(work(i) for i in range(TASKS)))

    run(main())
    assert_attributed(users, 2, updates_per_object=1)


def test_asyncio_tasks_started_inside_one_context_share_its_revision(users):
    owner = users[0]
    workers = users[1:11]

    async def work(i):
        with Context.via_actor(workers[i]):
            await asyncio.sleep(0)
            comment = await Comment.objects.acreate(text=f"{i}-0")
            await asyncio.sleep(0)
            comment.text = f"{i}-0 again"
            await comment.asave()

    async def main():
        with Context.via_actor(owner):
            await asyncio.gather(*(work(i) for i in range(len(workers))))
            await Comment.objects.acreate(text="owner")

    run(main())
    [revision] = Revision.objects.all()
    deltas = list(revision.object_deltas.all())
    assert len(deltas) == 2 * len(workers) + 1
    comments = {str(c.pk): c.text for c in Comment.objects.all()}
    for delta in deltas:
        text = comments[delta.content_id]
        expected = owner if text == "owner" else workers[owner_of(text)]
        assert delta.actor == expected
        assert {a.actor_id for a in delta.attribute_deltas.all()} == {str(expected.pk)}
    assert set(revision.actors()) == {owner, *workers}


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite lets one transaction write at a time: nothing can overlap",
)
def test_threads_of_one_context_do_not_share_a_revision_still_open_elsewhere():
    # Two threads started inside one context, each writing in a transaction
    # of its own connection. The second must not point its history at the
    # revision the first inserted in its still open transaction: it would
    # wait for that transaction, then lose its history when it rolls back.
    first_wrote, second_done = threading.Event(), threading.Event()
    finished_while_first_open = []

    def first():
        with contextlib.suppress(Undo), transaction.atomic():
            Comment.objects.create(text="undone")
            first_wrote.set()
            finished_while_first_open.append(second_done.wait(timeout=5))
            raise Undo

    def second():
        assert first_wrote.wait(timeout=5)
        with transaction.atomic():
            Comment.objects.create(text="kept")
        second_done.set()

    with Context():
        runs = [contextvars.copy_context().run for _ in range(2)]
        run_threads(lambda i: runs[i]((first, second)[i]), 2)

    assert finished_while_first_open == [True]
    assert list(Comment.objects.values_list("text", flat=True)) == ["kept"]
    [delta] = ObjectDelta.objects.all()
    assert Revision.objects.filter(pk=delta.revision_id).exists()
    assert delta.attribute_deltas.get(field_name="text").new() == "kept"


def test_threads_of_one_context_share_its_revision_once_it_is_committed():
    def save(i):
        with db_turn():
            Comment.objects.create(text=f"thread {i}")  # autocommit: committed

    with Context():
        for i in range(3):  # one after another: each sees the last commit
            in_context = contextvars.copy_context().run
            run_threads(lambda _, i=i, run=in_context: run(save, i), 1)
        revision = Context.get_revision()
    assert Revision.objects.count() == 1
    assert set(ObjectDelta.objects.values_list("revision", flat=True)) == {revision.pk}
    assert ObjectDelta.objects.count() == 3


def test_a_revision_being_written_still_pickles():
    with transaction.atomic(), Context():
        Comment.objects.create(text="open")
        revision = Context.get_revision()
        copy = pickle.loads(pickle.dumps(revision))
    assert copy.pk == revision.pk


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs two writers at once (not SQLite); on MariaDB the second "
    "writer waits for the first one's commit instead of failing",
)
def test_a_thread_does_not_take_the_revision_of_a_connection_still_committing():
    """docs/context.md: while the connection that inserted the context's
    revision still has its transaction open, a thread that writes gets a
    revision of its own. That must hold until that transaction has really
    committed, also while its history is being written at the commit: a
    thread writing then must not point its deltas at a revision row that is
    not committed yet (its own commit then fails on the foreign key)."""
    first_writing_history, second_done = threading.Event(), threading.Event()
    insert_object_deltas = f"INSERT INTO {quoted(ObjectDelta)}"

    def pause_in_history_insert(execute, sql, params, many, context):
        if sql.startswith(insert_object_deltas) and not first_writing_history.is_set():
            first_writing_history.set()
            second_done.wait(timeout=10)
        return execute(sql, params, many, context)

    def first():
        # Autocommit: revy's own transaction; 64 deltas go in model by model
        # at the commit, the revision first.
        with connection.execute_wrapper(pause_in_history_insert):
            Comment.objects.bulk_create(Comment(text=f"first {i}") for i in range(64))

    def second():
        assert first_writing_history.wait(timeout=10)
        try:
            Comment.objects.create(text="second")
        finally:
            second_done.set()

    with Context():
        run_together(first, second)

    assert Comment.objects.count() == 65
    assert ObjectDelta.objects.count() == 65
    revisions = set(ObjectDelta.objects.values_list("revision", flat=True))
    assert Revision.objects.filter(pk__in=revisions).count() == len(revisions)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite lets one transaction write at a time: nothing can overlap",
)
def test_a_thread_keeps_to_its_own_revision_after_the_context_s_is_undone():
    """docs/context.md: a thread that writes while another connection holds
    the context's revision in an open transaction "gets a revision of its
    own, inserted in its own transaction, and keeps to it for the rest of
    the context". Its own revision is committed: when the other transaction
    then rolls back, the thread's later writes still go to it, not to a
    third revision."""
    first_wrote, second_wrote, first_undone = (threading.Event() for _ in range(3))

    def first():
        try:
            with contextlib.suppress(Undo), transaction.atomic():
                Comment.objects.create(text="undone")
                first_wrote.set()
                assert second_wrote.wait(timeout=10)
                raise Undo
        finally:
            first_undone.set()

    def second():
        assert first_wrote.wait(timeout=10)
        Comment.objects.create(text="second 1")  # autocommit
        second_wrote.set()
        assert first_undone.wait(timeout=10)
        Comment.objects.create(text="second 2")

    with Context():
        run_together(first, second)

    assert sorted(Comment.objects.values_list("text", flat=True)) == [
        "second 1",
        "second 2",
    ]
    assert ObjectDelta.objects.count() == 2
    assert Revision.objects.count() == 1


def run_together(*targets, timeout=30):
    """Run each target in a thread of its own, inside the caller's context
    (a copy of its contextvars); re-raise the first error."""
    errors = []

    def run(target):
        try:
            target()
        except BaseException as error:  # reported in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, target))
        for target in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def quoted(model):
    return connection.ops.quote_name(model._meta.db_table)
