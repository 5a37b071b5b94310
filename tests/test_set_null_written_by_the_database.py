"""The foreign keys a deletion sets, with their history written by the
database.

The rows ``SET_NULL``, ``SET_DEFAULT`` and ``SET()`` change, which Django sets
by a filter, are set by revy with their history in one or a few statements
however many rows change (``SetByDeletion``): an update delta per row whose
key changes, carrying the deletion's description, caused by the delete of
the row it pointed at. They are the rows the Python path writes
(``REVY_HISTORY_IN_SQL = False``). A row the deletion also deletes records
its delete alone, and a row committed meanwhile cannot come to point at a
deleted row unrecorded.
"""

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from revy import Context
from tests.helpers import (
    DELETE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    decoded,
    delta_of,
    make_user,
    run_in_other_connection,
)
from tests.testapp.models import Book, Category, Editor, Note, Shelf, Task

pytestmark = pytest.mark.django_db


def _by_sql(queries):
    # revy's own update of the rows set: joined to its locked CTE, or by the
    # keys of its temporary table.
    return any(
        "UPDATE" in query["sql"]
        and ("revy_locked" in query["sql"] or "FROM revy_rows" in query["sql"])
        for query in queries
    )


def _history(after):
    """The history rows with a key above ``after``, as comparable tuples:
    ``(model, object key, action, deletion description, cause's model and
    object key, by the actor, field, old, new)``."""
    rows = []
    deltas = ObjectDelta.objects.filter(pk__gt=after).select_related(
        "content_type", "cause__content_type"
    )
    for delta in deltas.order_by("pk"):
        cause = delta.cause
        for attribute in AttributeDelta.objects.filter(object_delta=delta):
            rows.append(
                (
                    delta.content_type.model,
                    delta.content_id,
                    delta.action,
                    delta.deletion_description,
                    cause and (cause.content_type.model, cause.content_id),
                    delta.actor_id is not None,
                    attribute.field_name,
                    attribute.old_value,
                    attribute.new_value,
                )
            )
    return rows


def _recorded(delete, in_sql, settings):
    """The history ``delete()`` records, in SQL or not, rolled back after;
    whether SQL set the keys."""
    settings.REVY_HISTORY_IN_SQL = in_sql
    last = ObjectDelta.objects.order_by("-pk").values_list("pk", flat=True).first()
    with transaction.atomic():
        actor = make_user("cleaner")
        with (
            CaptureQueriesContext(connection) as queries,
            Context.via_actor(actor),
            Context.via_deletion_description("Tidied up."),
        ):
            delete()
        history = _history(last or 0)
        transaction.set_rollback(True)
    return history, _by_sql(queries)


def _same_by_sql_as_in_python(delete, settings):
    by_sql, used_sql = _recorded(delete, True, settings)
    in_python, used_sql_anyway = _recorded(delete, False, settings)
    assert used_sql
    assert not used_sql_anyway
    assert sorted(by_sql, key=str) == sorted(in_python, key=str)
    return by_sql


def _updates(history):
    return [row for row in history if row[2] == UPDATE]


@pytest.fixture
def categories():
    return {
        code: Category.objects.create(code=code)
        for code in ("general", "archive", "old", "older")
    }


@pytest.mark.parametrize(
    "field, handler_value",
    [("category", "general"), ("fallback", "archive"), ("sentinel", "archive")],
    ids=["SET_DEFAULT", "SET(value)", "SET(callable)"],
)
def test_each_handler_is_recorded_by_sql_as_python_records_it(
    field, handler_value, categories, settings
):
    tasks = [
        Task.objects.create(title=f"t{i}", **{field: categories[code]})
        for i, code in enumerate(["old", "older", "old", "general"])
    ]
    history = _same_by_sql_as_in_python(
        lambda: Category.objects.filter(code__in=["old", "older"]).delete(), settings
    )
    updates = _updates(history)
    assert sorted((row[1], row[6:]) for row in updates) == sorted(
        (str(task.pk), (field, getattr(task, f"{field}_id"), handler_value))
        for task in tasks[:3]
    )
    for row in updates:
        assert row[3] == "Tidied up."
        assert row[4] == ("category", row[7])  # Caused by the delete of its old row.
        assert row[5]


def test_a_set_null_is_recorded_by_sql_as_python_records_it(settings):
    editors = [Editor.objects.create(name=f"e{i}") for i in range(3)]
    shelf = Shelf.objects.create(name="s")
    books = [
        Book.objects.create(title=f"b{i}", shelf=shelf, editor=editors[i % 3])
        for i in range(9)
    ]
    history = _same_by_sql_as_in_python(
        lambda: Editor.objects.filter(pk__in=[e.pk for e in editors[:2]]).delete(),
        settings,
    )
    updates = _updates(history)
    assert sorted(row[1] for row in updates) == sorted(
        str(book.pk) for book in books if book.editor in editors[:2]
    )
    for row in updates:
        assert row[4] == ("editor", str(row[7]))
        assert (row[6], row[8]) == ("editor", None)


def test_causes_more_than_a_case_holds_are_looked_up_in_a_table(settings):
    editors = Editor.objects.bulk_create(Editor(name=f"e{i}") for i in range(150))
    shelf = Shelf.objects.create(name="s")
    Book.objects.bulk_create(
        Book(title=f"b{i}", shelf=shelf, editor=editor)
        for i, editor in enumerate(editors)
    )
    history = _same_by_sql_as_in_python(lambda: Editor.objects.all().delete(), settings)
    updates = _updates(history)
    assert len(updates) == 150
    assert all(row[4] == ("editor", str(row[7])) for row in updates)


def test_a_row_the_deletion_deletes_records_its_delete_alone(settings):
    # Deleting a shelf deletes its editors, whose notes' editor is set to
    # null, and the shelf's notes: a note of both records its delete alone.
    shelf, other = Shelf.objects.create(name="s"), Shelf.objects.create(name="o")
    editor = Editor.objects.create(name="e", shelf=shelf)
    gone = Note.objects.create(shelf=shelf, editor=editor)
    kept = Note.objects.create(shelf=other, editor=editor)
    history = _same_by_sql_as_in_python(
        lambda: Shelf.objects.filter(pk=shelf.pk).delete(), settings
    )
    assert [row[1] for row in _updates(history)] == [str(kept.pk)]
    assert ("note", str(gone.pk), DELETE) in {row[:3] for row in history}


def test_the_statements_do_not_grow_with_the_rows(settings):
    settings.REVY_BATCH_SIZE = 10
    counts = []
    for rows in (20, 60):
        editor = Editor.objects.create(name="e")
        shelf = Shelf.objects.create(name="s")
        Book.objects.bulk_create(
            Book(title=f"b{i}", shelf=shelf, editor=editor) for i in range(rows)
        )
        with CaptureQueriesContext(connection) as queries, Context():
            editor.delete()
        assert _by_sql(queries.captured_queries)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert ObjectDelta.objects.filter(action=UPDATE).count() == 80


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite lets one transaction write at a time: nothing can overlap",
)
def test_a_row_pointing_at_the_deleted_row_cannot_join_unrecorded():
    editor = Editor.objects.create(name="e")
    shelf = Shelf.objects.create(name="s")
    books = [
        Book.objects.create(title=f"b{i}", shelf=shelf, editor=editor) for i in range(3)
    ]
    outcome = []

    def other_writer():
        Book.objects.create(title="meanwhile", shelf=shelf, editor_id=editor.pk)

    def hook(execute, sql, params, many, context):
        # Right after revy set the rows, before Django deletes the editor.
        result = execute(sql, params, many, context)
        if not outcome and _by_sql([{"sql": sql}]):
            outcome.append(run_in_other_connection(other_writer))
        return result

    editor_pk = editor.pk
    with connection.execute_wrapper(hook), Context():
        editor.delete()
    [error] = outcome
    # It waited for the editor revy locked for its delete, in vain.
    assert isinstance(error, OperationalError) and "lock" in str(error).lower()
    assert not Book.objects.filter(title="meanwhile").exists()
    for book in books:
        delta = delta_of(Book, book.pk, UPDATE)
        assert decoded(delta)["editor"] == (editor_pk, None)
        assert delta.cause == delta_of(Editor, editor_pk, DELETE)
