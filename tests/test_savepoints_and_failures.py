"""Savepoints of every kind, failures while writing history, and what an
instance learnt in a transaction that was undone."""

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models.signals import post_save

from revy import Context
from tests.helpers import ObjectDelta, Revision
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def raw_count(model):
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


def raw_text(pk):
    table = connection.ops.quote_name(Comment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def changes(object_delta):
    return {
        a.field_name: (a.old(), a.new())
        for a in object_delta.attribute_deltas.order_by("pk")
    }


@pytest.fixture
def comment():
    created = Comment.objects.create(text="first")
    return Comment.objects.get(pk=created.pk)


# Savepoints made with transaction.savepoint() --------------------------------


def test_manual_savepoint_rollback_leaves_no_history_of_what_it_undid():
    with transaction.atomic(), Context():
        kept = Comment.objects.create(text="kept")
        sid = transaction.savepoint()
        Comment.objects.create(text="undone")
        transaction.savepoint_rollback(sid)
    assert raw_count(Comment) == 1
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)


def test_revision_created_after_a_manual_savepoint_is_created_again():
    with transaction.atomic(), Context():
        sid = transaction.savepoint()
        Comment.objects.create(text="undone")  # writes the revision
        transaction.savepoint_rollback(sid)
        kept = Comment.objects.create(text="kept")
    [delta] = ObjectDelta.objects.all()
    assert delta.content_id == str(kept.pk)
    assert Revision.objects.count() == 1


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
    assert changes(delta) == {"text": ("first", "changed")}


# What an instance learnt in a transaction that was rolled back -------------


def test_refresh_in_a_rolled_back_transaction_is_forgotten(comment):
    with Context():
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.filter(pk=comment.pk).update(text="second")
            comment.refresh_from_db()
            raise Boom
        # The row holds "first" again; the instance still holds "second".
        comment.save()
    assert raw_text(comment.pk) == "second"
    [delta] = ObjectDelta.objects.filter(content_id=str(comment.pk))
    assert changes(delta) == {"text": ("first", "second")}


def test_refresh_in_a_rolled_back_transaction_true_old_value(comment):
    with Context():
        with pytest.raises(Boom), transaction.atomic():
            Comment.objects.filter(pk=comment.pk).update(text="second")
            comment.refresh_from_db()
            raise Boom
        comment.text = "third"
        comment.save()
    [delta] = ObjectDelta.objects.filter(content_id=str(comment.pk))
    assert changes(delta) == {"text": ("first", "third")}
