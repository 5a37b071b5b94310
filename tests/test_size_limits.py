"""Large values and large writes: history goes in statements the database
accepts, cut by size as well as by rows; a change whose single row of
history is too large for any statement is refused before the data is
written (or, where Python encodes it while the database writes the history
of an update by filter, after, the write rolled back), with an error naming
the field, the value and the server setting.

MariaDB takes at most ``max_allowed_packet`` (16 MiB by default) in one
statement; PostgreSQL and SQLite take far more, and revy cuts its own
statements at 64 MiB there.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django import backends
from revy.contrib.django.exceptions import HistoryRowTooLarge, NotRecordable
from tests.helpers import CREATE, AttributeDelta, ObjectDelta, deltas_of
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db

KB = 1024
MB = 1024 * KB


def test_many_large_creates_in_one_transaction_are_all_recorded():
    """20 MB of history at one commit: more than MariaDB's default packet."""
    text = "x" * (100 * KB)
    with transaction.atomic(), Context():
        comments = [Comment.objects.create(text=f"{i} {text}") for i in range(200)]
    assert ObjectDelta.objects.filter(action=CREATE).count() == 200
    stored = dict(
        AttributeDelta.objects.filter(field_name="text").values_list(
            "content_id", "new_value"
        )
    )
    assert stored == {str(c.pk): c.text for c in comments}


def test_statements_are_cut_where_their_parameters_would_not_fit():
    class SmallStatements(type(backends.of(connection))):
        fits_without_asking = 10 * KB

        def max_statement_bytes(self):
            return 10 * KB

    backend = SmallStatements(connection)
    rows = [(f"{i:03} " + "y" * (3 * KB),) for i in range(70)]
    with CaptureQueriesContext(connection) as queries:
        keys = backend.insert(Comment, ("text",), rows, returning=True)
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    assert 23 <= len(inserts) <= 70  # Three rows of 3 KB a statement at most.
    stored = Comment.objects.in_bulk(keys)
    assert [stored[key].text for key in keys] == [text for (text,) in rows]
    with pytest.raises(HistoryRowTooLarge, match="testapp_comment"):
        backend.insert(Comment, ("text",), [("z" * (11 * KB),)])


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "atomic"])
def test_a_value_too_large_for_one_row_of_history_is_refused_before_writing(
    in_transaction,
):
    """A 9 MB text replacing another: its attribute delta holds both."""
    with Context():
        comment = Comment.objects.create(text="8" * (9 * MB))
    large = "9" * (9 * MB)
    limit = backends.of(connection).max_statement_bytes()
    with Context():
        comment.text = large
        if 2 * len(large) <= limit:  # PostgreSQL, SQLite: it fits.
            comment.save()
            [_create, update] = deltas_of(Comment, comment.pk)
            assert update.attribute_deltas.get().new_value == large
            return
        if in_transaction:
            with transaction.atomic():
                with pytest.raises(HistoryRowTooLarge) as info:
                    comment.save()
                # Refused before anything was written: the transaction goes on.
                assert not connection.needs_rollback
        else:
            with pytest.raises(HistoryRowTooLarge) as info:
                comment.save()
    message = str(info.value)
    assert "testapp.Comment.text = '999" in message
    assert "max_allowed_packet" in message
    assert isinstance(info.value, NotRecordable)
    comment.refresh_from_db()
    assert comment.text == "8" * (9 * MB)
    assert len(deltas_of(Comment, comment.pk)) == 1


def test_a_value_python_encodes_too_large_for_one_row_fails_the_update(settings):
    """A 9 MB text replacing another, encoded by Python while the database
    writes the history of an update by filter: Python hands both values to
    the database after the update ran, so the update is rolled back."""
    settings.REVY_VALUE_ENCODER = "tests.field_values.EncodedInPython"
    with Context():
        comment = Comment.objects.create(text="8" * (9 * MB))
    large = "9" * (9 * MB)
    limit = backends.of(connection).max_statement_bytes()
    rows = Comment.objects.filter(pk=comment.pk)
    if 2 * len(large) <= limit:  # PostgreSQL, SQLite: it fits.
        with Context():
            rows.update(text=large)
        [_create, update] = deltas_of(Comment, comment.pk)
        assert update.attribute_deltas.get().new_value == large
        return
    with transaction.atomic():
        with (
            pytest.raises(HistoryRowTooLarge, match="testapp.Comment.text"),
            Context(),
        ):
            rows.update(text=large)
        assert connection.needs_rollback
    comment.refresh_from_db()
    assert comment.text == "8" * (9 * MB)
    assert len(deltas_of(Comment, comment.pk)) == 1
