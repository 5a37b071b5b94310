"""The optional triggers of ``manage.py revy_triggers``: below the ORM, the
database itself refuses UPDATE and DELETE of history tables (and TRUNCATE
on PostgreSQL) unless the session declared an allowed operation. The class
installs them once, so the test runner's flush between its tests runs with
them in place."""

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import TransactionTestCase

from revy.contrib.django import REDACTED, state_at, triggers
from revy.contrib.django.appendonly import declared
from revy.contrib.django.backends import guards
from revy.contrib.django.ledger import Amendment
from revy.contrib.django.pruning import prune_revisions
from revy.contrib.django.redaction import redact
from tests.helpers import (
    AttributeDelta,
    ObjectDelta,
    Revision,
    acting,
    history_counts,
)
from tests.testapp.models import Comment


def run_sql(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def table(model):
    return connection.ops.quote_name(model._meta.db_table)


class TestGuardedHistory(TransactionTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        call_command("revy_triggers", stdout=io.StringIO())

    @classmethod
    def tearDownClass(cls):
        call_command("revy_triggers", "--remove", stdout=io.StringIO())
        super().tearDownClass()

    def record(self):
        with acting(None, "Write"):
            comment = Comment.objects.create(text="first")
            comment.text = "second"
            comment.save()
        return comment

    def test_every_history_table_is_guarded_and_revy_still_records(self):
        assert set(triggers.installed().values()) == {True}
        self.record()
        assert history_counts() == (1, 2, 3)

    def test_sql_updates_and_deletes_are_refused_and_change_nothing(self):
        self.record()
        before = (history_counts(), sorted(AttributeDelta.objects.values_list()))
        for sql in (
            f"UPDATE {table(AttributeDelta)} SET new_value = NULL",
            f"UPDATE {table(ObjectDelta)} SET action = 'create'",
            f"UPDATE {table(Revision)} SET description = 'forged'",
            f"DELETE FROM {table(AttributeDelta)}",
            f"DELETE FROM {table(ObjectDelta)}",
            f"DELETE FROM {table(Revision)}",
        ):
            with self.subTest(sql), pytest.raises(DatabaseError, match="append-only"):
                run_sql(sql)
        assert (history_counts(), sorted(AttributeDelta.objects.values_list())) == (
            before
        )

    def test_truncate_is_refused_on_postgresql(self):
        if connection.vendor != "postgresql":
            # MariaDB's TRUNCATE fires no trigger; SQLite has none.
            self.skipTest("PostgreSQL only: other databases cannot refuse TRUNCATE")
        self.record()
        with pytest.raises(DatabaseError, match="append-only"):
            run_sql(f"TRUNCATE {table(AttributeDelta)}")
        assert AttributeDelta.objects.count() == 3

    def test_a_declared_operation_passes(self):
        self.record()
        with declared("redact", "default"):
            run_sql(f"UPDATE {table(AttributeDelta)} SET description = 'declared'")
        assert set(AttributeDelta.objects.values_list("description", flat=True)) == {
            "declared"
        }
        with pytest.raises(DatabaseError):
            run_sql(f"UPDATE {table(AttributeDelta)} SET description = 'again'")

    def test_redaction_and_pruning_pass_them_as_declared_operations(self):
        comment = self.record()
        redact(Comment, [comment.pk], ["text"])
        assert state_at(Comment, comment.pk).text is REDACTED
        prune_revisions(Revision.objects.all())
        assert history_counts() == (0, 0, 0)
        assert Amendment.objects.count() == 2

    def test_z_the_runners_flush_emptied_the_guarded_tables_between_tests(self):
        # Earlier tests recorded history; the flush after each one passed.
        assert history_counts() == (0, 0, 0)
        self.record()
        call_command("flush", interactive=False, verbosity=0)
        assert history_counts() == (0, 0, 0)
        assert set(triggers.installed().values()) == {True}


@pytest.mark.django_db(transaction=True)
def test_the_command_installs_shows_and_removes_them():
    out = io.StringIO()
    call_command("revy_triggers", stdout=out)
    assert Revision._meta.db_table in out.getvalue()
    try:
        status = io.StringIO()
        call_command("revy_triggers", "--status", stdout=status)
        assert f"{Revision._meta.db_table}: guarded" in status.getvalue()
    finally:
        call_command("revy_triggers", "--remove", stdout=io.StringIO())
    assert set(triggers.installed().values()) == {False}
    with acting(None):
        Comment.objects.create(text="x")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table(Revision)} SET description = 'unguarded'")
    assert Revision.objects.get().description == "unguarded"


def test_a_long_table_name_gives_a_trigger_name_the_databases_accept():
    name = guards._name("x" * 80, "DELETE")
    assert len(name) <= 63
    assert name != guards._name("x" * 79 + "y", "DELETE")


@pytest.mark.django_db(transaction=True)
def test_the_migration_operation_installs_them_and_removes_them_backwards():
    operation = triggers.InstallHistoryTriggers()
    assert operation.deconstruct() == ("InstallHistoryTriggers", [], {})
    with connection.schema_editor() as editor:
        operation.database_forwards("revy", editor, None, None)
    try:
        assert set(triggers.installed().values()) == {True}
    finally:
        with connection.schema_editor() as editor:
            operation.database_backwards("revy", editor, None, None)
    assert set(triggers.installed().values()) == {False}


@pytest.mark.django_db(transaction=True)
def test_triggers_a_migration_dropped_with_its_table_come_back_after_migrate():
    # SQLite rebuilds a table to alter it, and the triggers go with it.
    triggers.install()
    try:
        dropped = Revision._meta.db_table
        with connection.cursor() as cursor:
            for statement in guards.drop_statements(connection, dropped):
                cursor.execute(statement)
        assert triggers.installed()[dropped] is False
        call_command("migrate", verbosity=0)
        assert set(triggers.installed().values()) == {True}
    finally:
        triggers.remove()
