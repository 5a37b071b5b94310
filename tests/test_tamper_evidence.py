"""Tamper evidence (REVY_TAMPER_EVIDENCE): each transaction seals what it
wrote with a keyed digest before it commits, checkpoints chain the seals,
and ``verify()`` / ``manage.py revy_verify`` report the first revision whose
rows were altered, inserted or removed (exit status 1), while redaction and
pruning keep the history verifiable. Seals are written at commits, so
these tests commit for real."""

import datetime
import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from revy.contrib.django.ledger import Checkpoint, PartlyPrunedRevision, Seal
from revy.contrib.django.pruning import prune_revisions
from revy.contrib.django.redaction import redact
from revy.contrib.django.retention import prune
from revy.contrib.django.verifying import checkpoint, verify
from tests.helpers import AttributeDelta, ObjectDelta, Revision, acting, ct
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def tamper_evidence(settings):
    settings.REVY_TAMPER_EVIDENCE = True
    settings.REVY_INTEGRITY_KEY = "kept-in-the-environment"


def write(text, actor=None):
    """A revision of two changes, committed together: one seal."""
    with transaction.atomic(), acting(actor, f"Write {text}"):
        comment = Comment.objects.create(text=text)
        comment.text = text + " again"
        comment.save()
    return comment


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def table(model):
    return connection.ops.quote_name(model._meta.db_table)


def verified():
    out = io.StringIO()
    call_command("revy_verify", stdout=out)
    return out.getvalue()


def refused():
    with pytest.raises(CommandError) as caught:
        call_command("revy_verify", stdout=io.StringIO(), stderr=io.StringIO())
    return str(caught.value)


def test_nothing_is_sealed_unless_the_setting_is_on(settings):
    settings.REVY_TAMPER_EVIDENCE = False
    write("plain")
    assert not Seal.objects.exists()
    with pytest.raises(CommandError, match="REVY_TAMPER_EVIDENCE is off"):
        call_command("revy_verify", stdout=io.StringIO())


def test_each_commit_seals_what_it_wrote_and_the_history_verifies():
    write("first")
    with transaction.atomic():
        write("second")
        write("third")

    first, second, third = Revision.objects.order_by("pk")
    per_revision = [
        Seal.objects.filter(revision_id=r.pk).count() for r in (first, second, third)
    ]
    assert per_revision == [1, 1, 1]
    covered = [
        k
        for seal in Seal.objects.all()
        for a, b in seal.object_deltas
        for k in range(a, b + 1)
    ]
    assert sorted(covered) == sorted(ObjectDelta.objects.values_list("pk", flat=True))
    assert verify().ok
    assert "History verified: 3 seals" in verified()


def test_a_revision_spanning_transactions_gets_a_seal_per_transaction():
    with acting(None, "Two commits, one revision"):
        Comment.objects.create(text="a")  # Commits on its own.
        Comment.objects.create(text="b")
    assert Revision.objects.count() == 1
    assert Seal.objects.count() == 2
    assert verify().ok


def test_a_rolled_back_savepoint_leaves_no_seal_of_what_it_undid():
    with transaction.atomic(), acting(None, "Partly undone"):
        Comment.objects.create(text="kept")
        try:
            with transaction.atomic():
                Comment.objects.create(text="undone")
                ObjectDelta.objects.count()  # Writes the pending history.
                raise RuntimeError
        except RuntimeError:
            pass
    assert verify().ok
    assert Seal.objects.get().object_deltas == [
        [ObjectDelta.objects.get().pk, ObjectDelta.objects.get().pk]
    ]


def test_an_altered_value_is_reported_at_its_revision():
    write("first")
    second = write("second")
    write("third")
    revision = ObjectDelta.objects.for_object(second).first().revision_id
    sql(
        f"UPDATE {table(AttributeDelta)} SET new_value = %s WHERE content_id = %s",
        ['"forged"', str(second.pk)],
    )

    report = verify()
    assert [p.revision for p in report.problems] == [revision]
    assert f"revision {revision}: its rows were altered" in refused()


@pytest.mark.parametrize(
    "alteration",
    [
        "UPDATE {revision} SET description = 'forged'",
        "UPDATE {object_delta} SET action = 'create' WHERE action = 'update'",
        "DELETE FROM {attribute} WHERE field_name = 'is_marked_as_spam'",
    ],
)
def test_altered_and_removed_rows_of_a_revision_are_reported(alteration):
    write("only")
    sql(
        alteration.format(
            revision=table(Revision),
            object_delta=table(ObjectDelta),
            attribute=table(AttributeDelta),
        )
    )
    assert "its rows were altered" in refused()


def test_an_inserted_object_delta_is_reported():
    comment = write("first")
    revision = Revision.objects.get()
    ObjectDelta.objects.create(
        revision=revision,
        action=ObjectDelta.ACTION_DELETE,
        content_type=ct(Comment),
        content_id=str(comment.pk),
    )
    assert "was inserted (no seal covers it)" in refused()


def test_a_whole_revision_removed_after_a_checkpoint_is_reported():
    write("first")
    second = write("second")
    checkpoint()
    write("third")
    revision = ObjectDelta.objects.for_object(second).first().revision_id
    sql(
        f"DELETE FROM {table(AttributeDelta)} WHERE object_delta_id IN "
        f"(SELECT id FROM {table(ObjectDelta)} WHERE revision_id = %s)",
        [revision],
    )
    sql(f"DELETE FROM {table(ObjectDelta)} WHERE revision_id = %s", [revision])
    sql(f"DELETE FROM {table(Seal)} WHERE revision_id = %s", [revision])
    sql(f"DELETE FROM {table(Revision)} WHERE id = %s", [revision])

    report = verify()
    assert report.first.revision == revision
    assert f"revision {revision}: removed" in refused()


def test_checkpoints_chain_and_a_forged_one_is_reported():
    write("first")
    first = checkpoint()
    assert checkpoint() is None  # Nothing new to chain.
    write("second")
    second = checkpoint()
    assert (first.count, second.count) == (1, 1)
    assert verify().ok
    sql(
        f"UPDATE {table(Checkpoint)} SET digest = %s WHERE id = %s",
        ["0" * 64, first.pk],
    )
    assert f"checkpoint {first.pk} does not match" in refused()


def test_revy_verify_can_add_a_checkpoint():
    write("first")
    out = io.StringIO()
    call_command("revy_verify", "--checkpoint", stdout=out)
    assert "Checkpoint" in out.getvalue() and "chains 1 new seals" in out.getvalue()
    assert Checkpoint.objects.count() == 1


def test_a_redaction_keeps_the_history_verifiable_and_is_itself_sealed(alice):
    comment = write("secret")
    checkpoint()
    redact(Comment, [comment.pk], ["text"], actor=alice)
    assert verify().ok
    # A value replaced by a marker that no redaction made does not verify.
    sql(
        f"UPDATE {table(AttributeDelta)} SET new_value = %s WHERE field_name = 'text'",
        ['{"revy:redacted": 1, "digest": "forged"}'],
    )
    assert "its rows were altered" in refused()


def test_an_altered_amendment_is_reported(alice):
    comment = write("secret")
    amendment = redact(Comment, [comment.pk], ["text"], actor=alice)
    from revy.contrib.django.ledger import Amendment

    sql(
        f"UPDATE {table(Amendment)} SET description = 'nobody' WHERE id = %s",
        [amendment.pk],
    )
    assert f"amendment {amendment.pk} (redact) was altered" in refused()


def test_pruning_keeps_the_history_verifiable():
    write("old")
    write("kept")
    checkpoint()
    old = Revision.objects.order_by("pk").first()
    amendment = prune_revisions([old], description="older than a year")

    assert not Revision.objects.filter(pk=old.pk).exists()
    assert amendment.details["revisions"] == [old.pk]
    assert verify().ok
    write("later")
    assert checkpoint().count == 1
    assert verify().ok


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite lets one transaction write at a time: nothing overlaps",
)
def test_concurrent_commits_in_another_order_than_their_keys_still_chain():
    # Writer A takes the lower keys and inserts its seal, then waits before
    # its COMMIT while writer B commits and a checkpoint is made: seals take
    # no lock, so B does not wait for A, and A's seal, invisible to the
    # first checkpoint, is chained by the next.
    from django.db import connections

    sealed = threading.Event()
    go_on = threading.Event()
    errors = []

    def pause_after_seal(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if Seal._meta.db_table in sql and sql.lstrip().upper().startswith("INSERT"):
            sealed.set()
            assert go_on.wait(30), "writer B never finished"
        return result

    def writer_a():
        try:
            with connections["default"].execute_wrapper(pause_after_seal):
                write("A")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
            sealed.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer_a)
    thread.start()
    assert sealed.wait(30)
    write("B")
    first = checkpoint()
    go_on.set()
    thread.join(30)
    assert not errors, errors

    a_revision, b_revision = Revision.objects.order_by("pk")
    assert a_revision.description == "Write A"
    assert [revision for _seal, revision in first.seals] == [b_revision.pk]
    second = checkpoint()
    assert [revision for _seal, revision in second.seals] == [a_revision.pk]
    assert verify().ok


def test_folding_history_before_a_cut_keeps_it_verifiable():
    old = write("old")
    with transaction.atomic(), acting(None, "Change both"):
        old.text = "changed"
        old.save()
        other = Comment.objects.create(text="other")
    checkpoint()
    first, latest = Revision.objects.order_by("pk")
    later = latest.created_at
    # Keep the last revision of each: the second comment's stays whole, the
    # first's earlier revision is folded away.
    summary = prune(later + datetime.timedelta(seconds=1), keep_revisions=1)

    assert summary.objects == 1
    partly = PartlyPrunedRevision.objects.values_list("revision_id", flat=True)
    assert list(partly) == [first.pk]
    assert Comment.objects.get(pk=other.pk).text == "other"
    assert verify().ok, verify().problems
    write("later")
    checkpoint()
    assert verify().ok
    # A fold altered afterwards is still caught.
    fold = ObjectDelta.objects.get(action="baseline")
    sql(
        f"UPDATE {table(AttributeDelta)} SET new_value = %s WHERE object_delta_id = %s",
        ['"forged"', fold.pk],
    )
    assert not verify().ok
