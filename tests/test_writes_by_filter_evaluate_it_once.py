"""A write by filter evaluates its filter twice, however many batches it has.

revy reads the rows a ``QuerySet.update()``, a delete by filter and a
``SET_NULL`` change a batch at a time (``REVY_BATCH_SIZE``), locked. The
first batch is read by the filter; where more follow, the keys of the rest
are staged at once, locked, in a temporary table, and each batch is read by
them (decision 0019). Read by the filter for each batch instead, a filter
the database cannot walk in key order is evaluated once per batch: a
cascade's ``parent__in=[every parent]`` made the delete grow with the square
of its rows.

These tests take the path where revy reads the rows in Python
(``REVY_HISTORY_IN_SQL`` off), with batches of two rows, count the
statements that evaluate the filter, and check that every row written is
recorded with the value it held, and no other. On PostgreSQL and MariaDB a
row the staging locked cannot change before it is written, and a row
committed after it is not written.
"""

import contextlib

import pytest
from django.db import OperationalError, connection

from revy import Context
from tests.helpers import (
    DELETE,
    UPDATE,
    ObjectDelta,
    decoded,
    delta_of,
    run_in_other_connection,
)
from tests.testapp.models import Book, Comment, Editor, Page, Shelf

ROWS = 9  # Five batches of two.


@pytest.fixture(autouse=True)
def batches_read_in_python(settings):
    settings.REVY_HISTORY_IN_SQL = False
    settings.REVY_BATCH_SIZE = 2


@contextlib.contextmanager
def reads_of(marker):
    """Yield a list that then holds the statements other than Django's own
    write whose SQL holds ``marker``: those that evaluate the filter."""
    reads = []

    def hook(execute, sql, params, many, context):
        if marker in sql and not sql.lstrip().upper().startswith(("UPDATE", "DELETE")):
            reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(hook):
        yield reads


def _comments(prefix, n, flagged=True):
    with Context.as_disabled():
        return Comment.objects.bulk_create(
            Comment(text=f"{prefix} {i}", is_marked_as_spam=flagged) for i in range(n)
        )


def _column(model, name):
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(name)}"


@pytest.mark.django_db
def test_an_update_of_many_batches_evaluates_its_filter_twice():
    matching = _comments("filtered", ROWS)
    other = _comments("other", 2, flagged=False)
    with reads_of(_column(Comment, "is_marked_as_spam")) as reads, Context():
        updated = Comment.objects.filter(is_marked_as_spam=True).update(text="new")
    assert updated == ROWS
    assert len(reads) == 2, reads  # The first batch, then the keys of the rest.
    for comment in matching:
        delta = delta_of(Comment, comment.pk, UPDATE)
        assert decoded(delta)["text"] == (comment.text, "new")
    assert not ObjectDelta.objects.filter(content_id__in=[str(c.pk) for c in other])
    assert Comment.objects.filter(text="new").count() == ROWS


@pytest.mark.django_db
def test_a_cascade_of_many_batches_evaluates_the_filter_of_its_children_twice():
    shelf = Shelf.objects.create(name="s")
    with Context.as_disabled():
        books = Book.objects.bulk_create(
            Book(title=f"b{i}", shelf=shelf) for i in range(ROWS)
        )
        pages = Page.objects.bulk_create(Page(book=b, number=1) for b in books)
    with reads_of(f"{_column(Page, 'book_id')} IN") as reads, Context():
        shelf.delete()
    assert len(reads) == 2, reads
    for page in pages:
        delta = delta_of(Page, page.pk, DELETE)
        assert delta.cause == delta_of(Book, page.book_id, DELETE)
    assert not Page.objects.exists()


@pytest.mark.django_db
def test_a_set_null_of_many_batches_evaluates_its_filter_twice():
    editor = Editor.objects.create(name="e")
    shelf = Shelf.objects.create(name="s")
    with Context.as_disabled():
        books = Book.objects.bulk_create(
            Book(title=f"b{i}", shelf=shelf, editor=editor) for i in range(ROWS)
        )
    with reads_of(f"{_column(Book, 'editor_id')} IN") as reads, Context():
        Editor.objects.filter(pk=editor.pk).delete()
    assert len(reads) == 2, reads
    for book in books:
        delta = delta_of(Book, book.pk, UPDATE)
        assert decoded(delta)["editor"] == (editor.pk, None)
        assert delta.cause == delta_of(Editor, editor.pk, DELETE)
    assert not Book.objects.filter(editor__isnull=False).exists()


@contextlib.contextmanager
def after_the_staging(work):
    """Run ``work`` in another connection right after revy stages the keys
    of the rest of a write's rows; yield a list that then holds its error."""
    outcome = []

    def hook(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not outcome and "revy_keys_" in sql and "CREATE" in sql.upper():
            outcome.append(run_in_other_connection(work))
        return result

    with connection.execute_wrapper(hook):
        yield outcome
    assert outcome, "no key was staged"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite lets one transaction write at a time: nothing can overlap",
)
def test_a_row_the_staging_locked_stays_and_one_committed_after_it_is_not_written():
    matching = _comments("filtered", ROWS)
    staged = matching[-1]  # Past the first batch: locked by the staging.

    def other_writer():
        Comment.objects.create(text="meanwhile", is_marked_as_spam=True)
        Comment.objects.filter(pk=staged.pk).update(text="changed")

    with after_the_staging(other_writer) as outcome, Context():
        updated = Comment.objects.filter(is_marked_as_spam=True).update(text="new")
    [error] = outcome
    assert isinstance(error, OperationalError) and "lock" in str(error).lower()
    assert updated == ROWS
    recorded = {
        int(delta.content_id) for delta in ObjectDelta.objects.filter(action=UPDATE)
    }
    assert recorded == {c.pk for c in matching}
    delta = delta_of(Comment, staged.pk, UPDATE)
    assert decoded(delta)["text"] == (staged.text, "new")
    assert Comment.objects.get(text="meanwhile")
