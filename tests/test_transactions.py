"""History and data share one transaction.

A rollback, a savepoint rollback included, leaves no history of what was
undone, even of history already written inside it, and instances forget what
the undone work taught them: a save undone is recorded when saved again, each
field credited to whoever assigned it. A commit never leaves data without its
history; an exception inside a context reaches the caller unchanged; a
failure to write history fails the write.

Most tests here need real transactions (``transaction=True``) and count rows
with raw SQL, some from a second connection that only sees what was
committed.
"""

import math
import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models import Count
from django.db.models.signals import post_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from revy import Context
from tests.helpers import (
    CREATE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    User,
    decoded,
)
from tests.testapp.models import CodeItem, Comment, EveryField, Post

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def raw_count(model, using=None):
    """Rows of ``model``'s table, counted with raw SQL."""
    conn = connection if using is None else using
    table = conn.ops.quote_name(model._meta.db_table)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


def committed_counts(*models):
    """Row counts seen by a second connection, which sees only committed rows."""
    found = {}

    def read():
        try:
            found["counts"] = [raw_count(m, connections["default"]) for m in models]
        except Exception as error:  # reported in the calling thread
            found["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    if "error" in found:
        raise found["error"]
    return found["counts"]


def assert_uncommitted(models, counts):
    """A second connection does not see rows of ``models`` that the open
    transaction wrote: their committed counts are still ``counts``.

    The in-memory SQLite test database is shared between connections with
    table locks, so there a second connection cannot read a table that an
    open transaction wrote ("database table is locked"): the check needs a
    server database. The rollback tests show the same thing everywhere: what
    a rolled back transaction wrote, history included, is gone.
    """
    if connection.vendor == "sqlite":
        return
    assert committed_counts(*models) == counts


def raw_history_counts():
    """Revisions, object deltas and attribute deltas, counted with raw SQL:
    what the tables hold, without writing pending history first."""
    return [raw_count(Revision), raw_count(ObjectDelta), raw_count(AttributeDelta)]


def raw_text(pk):
    """The text of comment ``pk``, read with raw SQL."""
    table = connection.ops.quote_name(Comment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


# Rollback --------------------------------------------------------------------


def test_rollback_of_the_outer_transaction_leaves_no_history(comment):
    with pytest.raises(Boom), transaction.atomic(), Context():
        Comment.objects.create(text="new")
        comment.text = "changed"
        comment.save()
        Comment.objects.filter(pk=comment.pk).first().delete()
        # Reading flushes the history into the transaction; still undone.
        assert ObjectDelta.objects.count() == 3
        raise Boom
    assert raw_count(Comment) == 1
    assert raw_history_counts() == [0, 0, 0]


def test_set_rollback_leaves_no_history(comment):
    with transaction.atomic(), Context():
        comment.text = "changed"
        comment.save()
        transaction.set_rollback(True)
    assert raw_history_counts() == [0, 0, 0]
    comment.refresh_from_db()
    assert comment.text == "first"


def test_after_a_rolled_back_transaction_inside_a_context_the_next_change_gets_a_new_revision():  # noqa: E501
    with Context():
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")
            raise Boom
        with transaction.atomic():
            Comment.objects.create(text="undone too")
            transaction.set_rollback(True)
        kept = Comment.objects.create(text="kept")  # autocommit
    [revision] = Revision.objects.all()
    [delta] = ObjectDelta.objects.all()
    assert delta.revision == revision
    assert delta.content_id == str(kept.pk)
    assert committed_counts(Revision, ObjectDelta) == [1, 1]


def test_savepoint_rollback_drops_only_the_inner_history(comment):
    with transaction.atomic(), Context():
        before = Comment.objects.create(text="before")
        with pytest.raises(Boom), transaction.atomic():
            inner = Comment.objects.create(text="inner")
            comment.text = "changed inside"
            comment.save()
            raise Boom
        after = Comment.objects.create(text="after")
    created = {d.content_id for d in ObjectDelta.objects.filter(action=CREATE)}
    assert created == {str(before.pk), str(after.pk)}
    assert not ObjectDelta.objects.filter(action=UPDATE).exists()
    recorded = set(AttributeDelta.objects.values_list("new_value", flat=True))
    assert recorded == {"before", "after", False}
    assert inner.pk is not None
    [revision] = Revision.objects.all()
    assert set(revision.object_deltas.values_list("content_id", flat=True)) == {
        str(before.pk),
        str(after.pk),
    }
    assert committed_counts(Comment, Revision, ObjectDelta) == [3, 1, 2]


def test_savepoint_rollback_after_history_was_flushed_inside_it():
    with transaction.atomic(), Context():
        kept = Comment.objects.create(text="kept")
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")
            assert ObjectDelta.objects.count() == 2  # flushed inside the savepoint
            raise Boom
        assert ObjectDelta.objects.count() == 1
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)


def test_revision_created_in_a_rolled_back_savepoint_is_created_again():
    with transaction.atomic(), Context.via_revision_description("described"):
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")  # creates the revision
            assert Context.get_revision() is not None
            raise Boom
        assert Context.get_revision() is None
        kept = Comment.objects.create(text="kept")
        revision = Context.get_revision()
        assert revision is not None
    # Committed without an IntegrityError, and the delta's revision exists.
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)
    assert delta.revision == revision
    assert Revision.objects.get() == revision
    assert revision.description == "described"
    assert committed_counts(Revision, ObjectDelta) == [1, 1]


def test_revision_created_in_an_outer_savepoint_survives_an_inner_rollback():
    with transaction.atomic(), Context():
        with transaction.atomic():
            first = Comment.objects.create(text="first")
            revision = Context.get_revision()
            with pytest.raises(Boom), transaction.atomic():
                Comment.objects.create(text="undone")
                raise Boom
            assert Context.get_revision() == revision
        second = Comment.objects.create(text="second")
    assert [d.content_id for d in revision.object_deltas.order_by("pk")] == [
        str(first.pk),
        str(second.pk),
    ]
    assert Revision.objects.count() == 1


def test_revision_created_in_autocommit_survives_a_later_rollback():
    with Context():
        first = Comment.objects.create(text="committed at once")
        revision = Context.get_revision()
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")
            raise Boom
        second = Comment.objects.create(text="second")
        assert Context.get_revision() == revision
    assert [d.content_id for d in revision.object_deltas.order_by("pk")] == [
        str(first.pk),
        str(second.pk),
    ]


def test_an_unsaved_revision_given_to_the_context_survives_a_savepoint_rollback():
    revision = Revision(description="mine")
    with transaction.atomic(), Context.via_revision(revision):
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")
            raise Boom
        assert revision.pk is None, "its row was rolled back with the savepoint"
        kept = Comment.objects.create(text="kept")
    assert Revision.objects.get().description == "mine"
    [delta] = ObjectDelta.objects.all()
    assert (delta.revision, delta.content_id) == (revision, str(kept.pk))


def test_unsaved_via_revision_saved_in_a_rolled_back_savepoint():
    revision = Revision(description="prepared")
    with transaction.atomic(), Context.via_revision(revision):
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.create(text="undone")  # saves the revision
            raise Boom
        kept = Comment.objects.create(text="kept")
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)
    assert Revision.objects.get().description == "prepared"


def test_unsaved_via_revision_saved_in_a_rolled_back_transaction_reused():
    revision = Revision(description="prepared")
    with pytest.raises(Boom), transaction.atomic(), Context.via_revision(revision):
        Comment.objects.create(text="undone")
        raise Boom
    with Context.via_revision(revision):
        Comment.objects.create(text="kept")
    assert ObjectDelta.objects.count() == 1


# Exceptions ------------------------------------------------------------------


def test_an_exception_inside_a_context_reaches_the_caller_unchanged(comment):
    error = Boom("the original")
    with pytest.raises(Boom) as info, Context():
        comment.text = "changed"
        comment.save()
        raise error
    assert info.value is error
    assert info.value.args == ("the original",)
    # Outside a transaction the save before the error was committed, with its
    # history.
    assert committed_counts(Revision, ObjectDelta) == [1, 1]


def test_an_exception_inside_a_transaction_and_a_context_reaches_the_caller():
    error = Boom("inside")
    with pytest.raises(Boom) as info, transaction.atomic(), Context():
        Comment.objects.create(text="x")
        raise error
    assert info.value is error
    assert raw_history_counts() == [0, 0, 0]


def test_a_database_error_inside_a_context_is_djangos_own():
    CodeItem.objects.create(code="taken", name="a")
    with pytest.raises(IntegrityError), transaction.atomic(), Context():
        CodeItem.objects.create(code="free", name="b")
        CodeItem.objects.create(code="taken", name="c")
    assert raw_count(CodeItem) == 1
    assert raw_history_counts() == [0, 0, 0]


# Reading history before the commit -------------------------------------------

READERS = {
    "count": lambda: ObjectDelta.objects.count(),
    "exists": lambda: int(ObjectDelta.objects.exists()),
    "list": lambda: len(list(ObjectDelta.objects.all())),
    "iterator": lambda: len(list(ObjectDelta.objects.iterator())),
    "values_list": lambda: len(ObjectDelta.objects.values_list("pk", flat=True)),
    "first": lambda: int(ObjectDelta.objects.order_by("pk").first() is not None),
    "get": lambda: int(ObjectDelta.objects.get() is not None),
    "aggregate": lambda: AttributeDelta.objects.aggregate(n=Count("pk"))["n"] // 2,
    "attribute count": lambda: AttributeDelta.objects.count() // 2,
    "revision": lambda: Revision.objects.count(),
    "related manager": lambda: Revision.objects.get().object_deltas.count(),
    "for_object": lambda: ObjectDelta.objects.for_object(Comment.objects.get()).count(),
}


@pytest.mark.parametrize("read", READERS.values(), ids=list(READERS))
def test_history_is_visible_through_the_managers_before_commit(read):
    with transaction.atomic(), Context():
        Comment.objects.create(text="new")
        assert read() == 1
        # What the read flushed is in the tables, inside the transaction.
        assert raw_count(ObjectDelta) == 1
        assert raw_count(AttributeDelta) == 2
        assert_uncommitted([ObjectDelta], [0])
    assert committed_counts(Revision, ObjectDelta, AttributeDelta) == [1, 1, 2]


def test_reads_between_changes_see_every_change_so_far(comment):
    with transaction.atomic(), Context():
        for i in range(3):
            comment.text = f"v{i}"
            comment.save()
            found = list(ObjectDelta.objects.for_object(comment))
            assert len(found) == i + 1
            assert decoded(found[-1])["text"][1] == f"v{i}"
        assert Context.get_revision().actors() == [None]


# Commit ----------------------------------------------------------------------


def test_commit_writes_data_and_history_together(comment):
    user = User.objects.create(username="u")
    with transaction.atomic(), Context.via_actor(user):
        created = [Comment.objects.create(text=str(i)) for i in range(3)]
        comment.text = "changed"
        comment.save()
        created[0].delete()
        assert_uncommitted([Comment, Revision, ObjectDelta], [1, 0, 0])
    # 3 creates (2 fields each), 1 update (1 field), 1 delete (2 fields).
    assert committed_counts(Comment, Revision, ObjectDelta, AttributeDelta) == [
        3,
        1,
        5,
        9,
    ]
    assert raw_history_counts() == [1, 5, 9]
    assert ObjectDelta.objects.for_actor(user).count() == 5


def test_a_single_save_outside_a_transaction_commits_with_its_history(comment):
    with Context():
        comment.text = "changed"
        comment.save()
        assert committed_counts(Comment, Revision, ObjectDelta, AttributeDelta) == [
            1,
            1,
            1,
            1,
        ]


# A failed history write fails the data write ----------------------------------


def test_failure_after_the_row_was_written_undoes_a_single_save(comment):
    # The actor is resolved only once the row is written; an unsaved actor
    # fails there, and the save must be undone with it.
    with (
        Context.via_actor(User(username="never saved")),
        pytest.raises(ValueError, match="no primary key"),
    ):
        comment.text = "changed"
        comment.save()
    comment.refresh_from_db()
    assert comment.text == "first"
    assert raw_history_counts() == [0, 0, 0]


def test_failure_after_the_row_was_written_fails_the_callers_transaction(comment):
    with transaction.atomic():
        Comment.objects.create(text="in the same transaction")
        with (
            Context.via_actor(User(username="never saved")),
            pytest.raises(ValueError),
        ):
            comment.text = "changed"
            comment.save()
        assert transaction.get_connection().needs_rollback
    assert raw_count(Comment) == 1
    comment.refresh_from_db()
    assert comment.text == "first"


def test_history_that_cannot_be_inserted_at_commit_fails_the_commit(comment):
    # The revision row disappears before the deltas that point at it are
    # written: inserting them fails, and so does the whole transaction.
    revision_table = connection.ops.quote_name(Revision._meta.db_table)
    revision_pk = connection.ops.quote_name(Revision._meta.pk.column)
    with pytest.raises(IntegrityError), transaction.atomic(), Context():
        Comment.objects.create(text="new")
        comment.text = "changed"
        comment.save()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {revision_table} WHERE {revision_pk} = %s",
                [Context.get_revision().pk],
            )
    comment.refresh_from_db()
    assert comment.text == "first"
    assert raw_count(Comment) == 1
    assert raw_history_counts() == [0, 0, 0]


def test_a_failed_flush_on_read_fails_the_transaction(comment):
    revision_table = connection.ops.quote_name(Revision._meta.db_table)
    revision_pk = connection.ops.quote_name(Revision._meta.pk.column)
    with pytest.raises(IntegrityError), transaction.atomic(), Context():
        comment.text = "changed"
        comment.save()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {revision_table} WHERE {revision_pk} = %s",
                [Context.get_revision().pk],
            )
        list(ObjectDelta.objects.all())  # flushes: fails now or at commit
    comment.refresh_from_db()
    assert comment.text == "first"
    assert raw_history_counts() == [0, 0, 0]


# Queries ---------------------------------------------------------------------


def data_and_history_queries(captured):
    """Split captured SQL into (data queries, history queries, other)."""
    history_tables = {
        m._meta.db_table.lower() for m in (Revision, ObjectDelta, AttributeDelta)
    }
    data, history, other = [], [], []
    for query in captured:
        sql = query["sql"].lower()
        if any(table in sql for table in history_tables):
            history.append(sql)
        elif sql.startswith(("insert", "update", "delete", "select")):
            data.append(sql)
        else:
            other.append(sql)  # BEGIN, SAVEPOINT and the like
    return data, history, other


# A save's read of its row goes in its UPDATE on PostgreSQL (decision 0025).
READ_IN_THE_UPDATE = connection.vendor == "postgresql"


@pytest.mark.parametrize("read_before_save", [True, False])
@pytest.mark.parametrize("batch_size", [500, 10])
def test_many_updates_in_one_context_cost_one_query_each_plus_batches(
    batch_size, read_before_save
):
    n = 100
    Comment.objects.bulk_create(Comment(text=str(i)) for i in range(n))
    comments = list(Comment.objects.all())
    ContentType.objects.get_for_model(Comment)  # cached once per process
    with (
        override_settings(
            REVY_BATCH_SIZE=batch_size, REVY_READ_BEFORE_SAVE=read_before_save
        ),
        CaptureQueriesContext(connection) as captured,
        transaction.atomic(),
        Context(),
    ):
        for c in comments:
            c.text += " changed"
            c.save()
    data, history, other = data_and_history_queries(captured)
    # With REVY_READ_BEFORE_SAVE each save reads the row it overwrites: in its
    # UPDATE on PostgreSQL, in a statement before it elsewhere.
    reads = n if read_before_save and not READ_IN_THE_UPDATE else 0
    assert len(data) == n + reads
    assert sum(sql.startswith("select") for sql in data) == reads
    batches = math.ceil(n / batch_size)
    # The revision, then the object deltas and attribute deltas in batches.
    assert len(history) <= 1 + 2 * batches
    assert len(captured) <= n + reads + 1 + 2 * batches + 2
    if batch_size == 500:
        assert len(captured) <= n + reads + 5
    assert ObjectDelta.objects.count() == n
    assert AttributeDelta.objects.count() == n


def test_many_creates_in_one_context_cost_one_query_each_plus_batches():
    ContentType.objects.get_for_model(Comment)
    with CaptureQueriesContext(connection) as captured, transaction.atomic(), Context():
        for i in range(100):
            Comment.objects.create(text=str(i))
    data, history, _other = data_and_history_queries(captured)
    assert len(data) == 100
    assert len(history) <= 3
    assert AttributeDelta.objects.count() == 200


# The revision, object deltas and attribute deltas of a write go in as one
# statement on PostgreSQL, as three elsewhere.
HISTORY_STATEMENTS = 1 if connection.vendor == "postgresql" else 3


@pytest.mark.parametrize(
    ("read_before_save", "statements"),
    [
        (True, ["update"] if READ_IN_THE_UPDATE else ["select", "update"]),
        (False, ["update"]),
    ],
)
def test_a_single_save_costs_the_write_and_one_history_statement(
    comment, read_before_save, statements
):
    ContentType.objects.get_for_model(Comment)
    with (
        override_settings(REVY_READ_BEFORE_SAVE=read_before_save),
        CaptureQueriesContext(connection) as captured,
        Context(),
    ):
        comment.text = "changed"
        comment.save()
    data, history, _other = data_and_history_queries(captured)
    assert [sql.split()[0] for sql in data] == statements
    assert len(history) == HISTORY_STATEMENTS
    assert all(sql.startswith(("insert", "with")) for sql in history)
    assert raw_history_counts() == [1, 1, 1]
    [delta] = ObjectDelta.objects.all()
    assert delta.revision == Revision.objects.get()
    assert delta.attribute_deltas.get().new() == "changed"


def test_in_the_callers_transaction_a_revision_is_written_at_its_first_change(
    comment,
):
    ContentType.objects.get_for_model(Comment)
    with CaptureQueriesContext(connection) as captured, transaction.atomic(), Context():
        Comment.objects.create(text="new")
        revision = Context.get_revision()
        assert revision.pk is not None
        assert raw_count(Revision) == 1  # Deltas wait for the commit.
        assert raw_count(ObjectDelta) == 0
        comment.text = "changed"
        comment.save()
    _data, history, _other = data_and_history_queries(captured)
    writes = [sql for sql in history if not sql.startswith("select")]
    # The revision, then the deltas: one statement on PostgreSQL, else two.
    assert len(writes) == (2 if connection.vendor == "postgresql" else 3)
    assert committed_counts(Revision, ObjectDelta, AttributeDelta) == [1, 2, 3]
    assert set(ObjectDelta.objects.values_list("revision", flat=True)) == {revision.pk}


def test_a_history_statement_that_fails_fails_the_save(comment):
    # The attribute delta table is gone: its insert, last in the statement
    # on PostgreSQL, fails, and the save with it.
    table = AttributeDelta._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_x')}")
    try:
        with pytest.raises(DatabaseError), Context():
            comment.text = "changed"
            comment.save()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE {quote(table + '_x')} RENAME TO {quote(table)}"
            )
    comment.refresh_from_db()  # The connection is usable.
    assert comment.text == "first"
    assert raw_history_counts() == [0, 0, 0]
    with Context():  # And records again.
        comment.text = "again"
        comment.save()
    assert raw_history_counts() == [1, 1, 1]


def test_loading_tracked_rows_costs_no_extra_query():
    Comment.objects.bulk_create(Comment(text=str(i)) for i in range(50))
    with CaptureQueriesContext(connection) as captured, Context():
        loaded = list(Comment.objects.all())
    assert len(loaded) == 50
    assert len(captured) == 1


def test_deleting_many_rows_costs_a_bounded_number_of_queries():
    """revy's statements beyond Django's own do not grow with the rows
    deleted, nor with those a SET_NULL sets."""

    def statements(rows, recorded):
        Comment.objects.bulk_create(Comment(text=str(i)) for i in range(rows))
        for comment in Comment.objects.all()[: rows // 100]:
            EveryField.objects.create(foreign=comment)
        with CaptureQueriesContext(connection) as captured:
            if recorded:
                with Context():
                    deleted, _ = Comment.objects.all().delete()
            else:
                deleted, _ = Comment.objects.all().delete()
        assert deleted == rows
        return len(captured)

    # What revy asks once a connection (a sequence's name, its plans) first.
    statements(400, True)
    extra = [statements(rows, True) - statements(rows, False) for rows in (200, 400)]
    assert extra[0] == extra[1]
    assert ObjectDelta.objects.filter(action=ObjectDelta.ACTION_DELETE).count() == 1000
    # The SET_NULLs on EveryField.foreign are recorded as updates.
    updates = ObjectDelta.objects.filter(action=UPDATE)
    assert updates.count() == 10
    assert {a.field_name for u in updates for a in u.attribute_deltas.all()} == {
        "foreign"
    }


# Savepoints made with transaction.savepoint() --------------------------------


# Django 6.1 renamed transaction.savepoint() to savepoint_create().
savepoint_create = getattr(transaction, "savepoint_create", transaction.savepoint)


def test_manual_savepoint_rollback_leaves_no_history_of_what_it_undid():
    with transaction.atomic(), Context():
        kept = Comment.objects.create(text="kept")
        sid = savepoint_create()
        Comment.objects.create(text="undone")
        transaction.savepoint_rollback(sid)
    assert raw_count(Comment) == 1
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)


def test_revision_created_after_a_manual_savepoint_is_created_again():
    with transaction.atomic(), Context():
        sid = savepoint_create()
        Comment.objects.create(text="undone")  # writes the revision
        transaction.savepoint_rollback(sid)
        kept = Comment.objects.create(text="kept")
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)
    assert Revision.objects.count() == 1


# The commit goes in the history statement's round trip where it can -------


def test_on_postgresql_with_psycopg_3_the_history_statement_commits(comment):
    # The test settings use psycopg 3 with Django's default client-side
    # binding, which sends a string of statements as one query.
    folded = connection.vendor == "postgresql"
    with CaptureQueriesContext(connection) as captured, Context():
        comment.text = "changed"
        comment.save()
    _data, history, _other = data_and_history_queries(captured)
    assert history[-1].endswith("; commit") == folded
    assert committed_counts(Comment, Revision, ObjectDelta, AttributeDelta) == [
        1,
        1,
        1,
        1,
    ]
    with Context():  # The connection goes on in autocommit mode.
        comment.text = "again"
        comment.save()
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert committed_counts(Revision, AttributeDelta) == [2, 2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_server_side_binding_keeps_commit_apart():
    from django.db.backends.postgresql.base import DatabaseWrapper

    from revy.contrib.django import backends

    options = {**connection.settings_dict["OPTIONS"], "server_side_binding": True}
    server_side = DatabaseWrapper(
        {**connection.settings_dict, "OPTIONS": options}, alias=connection.alias
    )
    server_side.ensure_connection()
    try:
        assert not backends.of(server_side).can_commit_with()
    finally:
        server_side.close()
    connection.ensure_connection()
    assert backends.of(connection).can_commit_with()


def test_a_commit_that_fails_leaves_neither_data_nor_history():
    # Django's foreign keys are checked at COMMIT on PostgreSQL and SQLite
    # (at the INSERT on MariaDB): the failure comes with the history.
    with pytest.raises(IntegrityError), Context():
        Post.objects.create(author_id=987654, title="orphan")
    assert not connection.in_atomic_block and connection.get_autocommit()
    assert committed_counts(Post, Revision, ObjectDelta, AttributeDelta) == [
        0,
        0,
        0,
        0,
    ]
    author = User.objects.create(username="author")
    with Context():  # The connection is usable and records again.
        Post.objects.create(author=author, title="kept")
    assert committed_counts(Post, Revision, ObjectDelta) == [1, 1, 1]


def test_commit_inside_an_atomic_block_is_refused_before_history_is_written(
    comment,
):
    with transaction.atomic(), Context():
        comment.text = "changed"
        comment.save()
        with pytest.raises(transaction.TransactionManagementError):
            connection.commit()
        assert_uncommitted([Comment, Revision, ObjectDelta], [1, 0, 0])
        assert raw_count(ObjectDelta) == 0  # Still queued.
    assert committed_counts(Revision, ObjectDelta, AttributeDelta) == [1, 1, 1]


# A history write failing at commit with an exception that is not a
#  DatabaseError -------------------------------------------------------------


def test_non_database_error_writing_history_at_commit_does_not_commit_the_data(
    comment,
):
    def refuse(sender, instance, **kwargs):
        raise Boom("the revision's own save refuses")

    post_save.connect(refuse, sender=Revision)
    raised = None
    try:
        with Context():
            comment.text = "changed"
            comment.save()  # autocommit: revy's own transaction
    except Exception as error:
        raised = error
    finally:
        post_save.disconnect(refuse, sender=Revision)
    left_open = connection.in_atomic_block or not connection.get_autocommit()
    if connection.vendor == "postgresql":
        connection.close()  # drops the transaction psycopg was left in
    # The history could not be written, so the write must have failed...
    assert (raw_text(comment.pk), raw_count(ObjectDelta)) == ("first", 0)
    # ...with the exception unchanged, and no transaction left open.
    assert type(raised) is Boom
    assert not left_open


# A failed flush inside a savepoint keeps what was recorded before it --------


def test_failed_flush_in_a_savepoint_keeps_the_history_recorded_before_it(comment):
    table = ObjectDelta._meta.db_table.lower()
    failed = []

    def fail_once(execute, sql, params, many, context):
        if not failed and "insert" in sql.lower() and table in sql.lower():
            failed.append(sql)
            raise OperationalError("simulated deadlock on the history insert")
        return execute(sql, params, many, context)

    with transaction.atomic(), Context():
        comment.text = "changed"
        comment.save()  # queued
        with (
            connection.execute_wrapper(fail_once),
            pytest.raises(OperationalError),
            transaction.atomic(),
        ):
            list(ObjectDelta.objects.all())  # flushes, fails, rolled back
        # The caller retries the read, as one does after a deadlock.
        ObjectDelta.objects.count()
    assert failed
    assert raw_text(comment.pk) == "changed"
    # Data committed: its history must be there too.
    [delta] = ObjectDelta.objects.all()
    assert decoded(delta) == {"text": ("first", "changed")}


# What an instance learnt in a transaction that was rolled back -------------


@pytest.mark.parametrize("assigned", [None, "third"])
def test_a_refresh_in_a_rolled_back_transaction_is_forgotten(comment, assigned):
    with Context():
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.filter(pk=comment.pk).update(text="second")
            comment.refresh_from_db()
            raise Boom
        # The row holds "first" again; the instance still holds "second".
        if assigned is not None:
            comment.text = assigned
        comment.save()
    saved = assigned or "second"
    assert raw_text(comment.pk) == saved
    [delta] = ObjectDelta.objects.filter(content_id=str(comment.pk))
    assert decoded(delta) == {"text": ("first", saved)}


def test_save_undone_by_a_savepoint_rollback_is_recorded_when_saved_again():
    comment = Comment.objects.create(text="first")
    comment = Comment.objects.get(pk=comment.pk)
    with transaction.atomic(), Context():
        comment.text = "second"
        with pytest.raises(Boom), transaction.atomic():
            comment.save()
            raise Boom
        # The row still holds "first"; the instance holds "second".
        comment.save()
    comment.refresh_from_db()
    assert comment.text == "second"
    [delta] = ObjectDelta.objects.all()
    assert {a.field_name: (a.old(), a.new()) for a in delta.attribute_deltas.all()} == {
        "text": ("first", "second")
    }


def test_save_undone_by_a_full_rollback_is_recorded_when_saved_again():
    comment = Comment.objects.create(text="first")
    comment = Comment.objects.get(pk=comment.pk)
    with pytest.raises(Boom), transaction.atomic(), Context():
        comment.text = "second"
        comment.save()
        raise Boom
    with Context():
        comment.save()
    comment.refresh_from_db()
    assert comment.text == "second"
    assert ObjectDelta.objects.count() == 1


def test_a_rolled_back_save_keeps_who_assigned_each_attribute(alice, bob):
    """docs/context.md: the actor of an attribute delta is taken when the
    attribute is assigned. A save undone by a (savepoint) rollback must
    not lose that: saving again records the assignment by its assigner."""
    comment = Comment.objects.create(text="first")
    comment.refresh_from_db()
    with Context.via_actor(alice):
        comment.text = "by alice"
    with Context.via_actor(bob), transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            comment.save()
            raise Boom
        comment.save()  # retried
    [delta] = ObjectDelta.objects.for_object(comment)
    assert delta.actor == bob
    [attribute] = delta.attribute_deltas.all()
    assert attribute.new() == "by alice"
    assert attribute.actor == alice


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="Django ignores close() of SQLite's in-memory test database",
)
def test_closing_the_connection_in_a_manual_transaction_drops_its_history():
    """A connection closed while its transaction is open loses that
    transaction (recorder.py: "A connection closed inside a transaction
    loses that transaction"); in manual transaction mode too
    (transaction.set_autocommit(False)). No history of the lost rows may
    be written afterwards on the new connection."""
    with Context():
        transaction.set_autocommit(False)
        try:
            Comment.objects.create(text="lost")
        finally:
            connection.close()  # the server rolls the transaction back
        # A new connection, in autocommit mode again.
        kept = Comment.objects.create(text="kept")
    assert list(Comment.objects.values_list("text", flat=True)) == ["kept"]
    assert list(ObjectDelta.objects.values_list("content_id", flat=True)) == [
        str(kept.pk)
    ]


def test_in_a_manual_transaction_the_revision_has_its_key_at_once():
    """docs/decisions/0006: in a transaction of the caller's the revision is
    inserted at the first change, so Context.get_revision().pk is known at
    once. A transaction opened with transaction.set_autocommit(False) is the
    caller's: revy's save does not commit it."""
    transaction.set_autocommit(False)
    try:
        with Context():
            Comment.objects.create(text="one")
            assert Context.get_revision().pk is not None
    finally:
        transaction.rollback()
        transaction.set_autocommit(True)


@pytest.mark.skipif(
    connection.vendor == "mysql",
    reason="MariaDB checks foreign keys at the INSERT: nothing fails at COMMIT",
)
def test_a_given_revision_written_by_a_commit_that_fails_is_forgotten():
    """recorder.py: "a revision whose row was undone is forgotten so that the
    next change creates it again". An unsaved revision given with
    Context.via_revision() and inserted by a commit that then fails (a
    deferred foreign key) has no row: the next change in the context must
    insert it again, not point at the key of the undone row."""
    revision = Revision()
    with Context.via_revision(revision):
        with pytest.raises(IntegrityError):
            # Autocommit: revy's own transaction; 64 rows go in model by
            # model, the revision first; the foreign keys fail at COMMIT.
            Post.objects.bulk_create(
                Post(author_id=987654, title=f"orphan {i}") for i in range(64)
            )
        assert not Revision.objects.filter(pk=revision.pk).exists()
        kept = Comment.objects.create(text="kept")
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)
    assert Revision.objects.filter(pk=delta.revision_id).exists()
