"""bulk_create(ignore_conflicts=True) and bulk_create(update_conflicts=True).

On SQLite and PostgreSQL the rows recorded are exactly the rows written: the
skipped rows get no delta, the upserted ones an update delta with the values
they held. On MariaDB, which does not say which rows it wrote, revy refuses
the call and nothing is written. Django's own errors come first.
"""

import re

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connection

from revy import Context
from revy.contrib.django.deltas import NotRecordable
from tests.helpers import (
    CREATE,
    UPDATE,
    deltas_of,
    nothing_recorded,
    run_in_other_connection,
    stored,
)
from tests.testapp.models import CodeItem, Counter

pytestmark = pytest.mark.django_db(transaction=True)

on_mariadb = connection.vendor == "mysql"
LOCKING = re.compile(r"FOR (NO KEY )?UPDATE", re.IGNORECASE)
needs_returning = pytest.mark.skipif(
    on_mariadb, reason="MariaDB refuses these: test_mariadb_refuses_..."
)


@needs_returning
def test_ignore_conflicts_records_only_the_rows_inserted():
    CodeItem.objects.create(code="A", name="kept")
    with Context():
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="ignored"), CodeItem(code="B", name="new")],
            ignore_conflicts=True,
        )
    assert sorted(CodeItem.objects.values_list("code", "name")) == [
        ("A", "kept"),
        ("B", "new"),
    ]
    assert deltas_of(CodeItem, "A") == []
    [created] = deltas_of(CodeItem, "B")
    assert created.action == CREATE
    assert stored(created) == {"name": (None, "new")}


@needs_returning
def test_conflict_options_given_by_position_are_recorded_the_same():
    CodeItem.objects.create(code="A", name="kept")
    with Context():
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="ignored"), CodeItem(code="B", name="new")],
            None,  # batch_size
            True,  # ignore_conflicts
        )
    assert deltas_of(CodeItem, "A") == []
    assert [d.action for d in deltas_of(CodeItem, "B")] == [CREATE]


@needs_returning
def test_ignore_conflicts_records_the_values_the_database_stored():
    with Context():
        Counter.objects.bulk_create([Counter(value=3)], ignore_conflicts=True)
    [row] = Counter.objects.all()
    [created] = deltas_of(Counter, row.pk)
    assert stored(created)["value"] == (None, 3)


@needs_returning
def test_update_conflicts_records_the_update_with_the_old_value():
    CodeItem.objects.create(code="A", name="old")
    objs = [CodeItem(code="A", name="upserted"), CodeItem(code="B", name="new")]
    with Context():
        returned = CodeItem.objects.bulk_create(
            objs, update_conflicts=True, unique_fields=["code"], update_fields=["name"]
        )
    assert returned == objs
    assert all(not obj._state.adding for obj in objs)
    assert sorted(CodeItem.objects.values_list("code", "name")) == [
        ("A", "upserted"),
        ("B", "new"),
    ]
    [updated] = deltas_of(CodeItem, "A")
    assert updated.action == UPDATE
    assert stored(updated) == {"name": ("old", "upserted")}
    assert [d.action for d in deltas_of(CodeItem, "B")] == [CREATE]


@needs_returning
def test_update_conflicts_give_every_object_its_key():
    existing = Counter.objects.create(value=1)
    objs = [Counter(pk=existing.pk, value=5), Counter(value=7)]
    with Context():
        Counter.objects.bulk_create(
            objs, update_conflicts=True, unique_fields=["pk"], update_fields=["value"]
        )
    assert objs[0].pk == existing.pk
    assert Counter.objects.get(pk=objs[1].pk).value == 7
    assert stored(deltas_of(Counter, existing.pk)[-1]) == {"value": (1, 5)}


@needs_returning
def test_update_conflicts_on_fields_of_no_unique_constraint_get_the_database_error():
    CodeItem.objects.create(code="A", name="kept")
    with Context(), pytest.raises(DatabaseError):
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="x")],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["name"],
        )
    assert list(CodeItem.objects.values_list("code", "name")) == [("A", "kept")]


def test_update_conflicts_with_a_field_that_does_not_exist_get_djangos_error():
    with Context(), pytest.raises(FieldDoesNotExist):
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="x")],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["nope"],
        )
    assert nothing_recorded()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite lets one connection write at a time; MariaDB refuses upserts",
)
def test_an_upsert_whose_conflicting_row_is_deleted_meanwhile_inserts_it_again():
    CodeItem.objects.create(code="A", name="old")
    table = CodeItem._meta.db_table
    outcome = []

    def delete_it():
        CodeItem.objects.filter(code="A").delete()

    def before_the_locked_read(execute, sql, params, many, context):
        if not outcome and LOCKING.search(sql) and table in sql:
            outcome.append(run_in_other_connection(delete_it))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(before_the_locked_read), Context():
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="upserted")],
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["name"],
        )
    assert outcome == [None]  # The other connection deleted the row.
    assert list(CodeItem.objects.values_list("code", "name")) == [("A", "upserted")]
    [created] = deltas_of(CodeItem, "A")
    assert created.action == CREATE
    assert stored(created) == {"name": (None, "upserted")}


@pytest.mark.skipif(not on_mariadb, reason="PostgreSQL and SQLite record these")
@pytest.mark.parametrize(
    "options",
    [
        {"ignore_conflicts": True},
        {"update_conflicts": True, "update_fields": ["name"]},
    ],
    ids=["ignore_conflicts", "update_conflicts"],
)
def test_mariadb_refuses_conflict_handling_and_writes_nothing(options):
    CodeItem.objects.create(code="A", name="kept")
    with Context(), pytest.raises(NotRecordable, match="does not say which rows"):
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="changed"), CodeItem(code="B", name="new")],
            **options,
        )
    assert list(CodeItem.objects.values_list("code", "name")) == [("A", "kept")]
    assert nothing_recorded()
