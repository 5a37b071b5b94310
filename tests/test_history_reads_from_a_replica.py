"""History reads go through the database routers, so a project can send
them to a replica; ``ReadYourWritesRouter`` keeps them on the primary
inside a request that recorded history and inside a transaction, and
``revert()``, ``restore()`` and pruning always read the primary. The
replica is a ``TEST: {"MIRROR": "default"}`` alias: the same database under
another name, so the queries each alias receives show where reads went."""

from contextlib import contextmanager

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from revy.contrib.django import routing
from revy.contrib.django.history import (
    history,
    members_as_of,
    restore,
    revert,
    rows_as_of,
    state_at,
)
from revy.contrib.django.retention import prune
from tests.helpers import T0, acting
from tests.testapp.models import Article, Comment

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


class ReplicaRouter:
    """A project's router: reads from the replica, writes to the primary."""

    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, *objects, **hints):
        return True

    def allow_migrate(self, db, *args, **hints):
        return db == "default"


@pytest.fixture(autouse=True)
def routers(settings):
    settings.DATABASE_ROUTERS = [
        "revy.contrib.django.routing.ReadYourWritesRouter",
        f"{__name__}.ReplicaRouter",
    ]


@contextmanager
def queries():
    """Which aliases the block's queries went to: {alias: count}."""
    captured = {
        alias: CaptureQueriesContext(connections[alias])
        for alias in ("default", "replica")
    }
    for context in captured.values():
        context.__enter__()
    counts = {}
    try:
        yield counts
    finally:
        for alias, context in captured.items():
            context.__exit__(None, None, None)
            counts[alias] = len(context.captured_queries)


def written():
    with acting(description="first"):
        comment = Comment.objects.create(text="one")
    with acting(description="second"):
        comment.text = "two"
        comment.save()
    return comment


def test_pure_history_reads_go_to_the_replica():
    comment = written()
    with queries() as sent:
        assert [d.action for d in history(comment)] == ["update", "create"]
        assert state_at(Comment, comment.pk).text == "two"
        assert [c.text for c in rows_as_of(Comment, T0.replace(year=2100))] == ["two"]
    assert sent["default"] == 0 and sent["replica"] >= 3


def test_reads_inside_a_transaction_go_to_the_primary():
    comment = written()
    with queries() as sent, transaction.atomic():
        assert state_at(Comment, comment.pk).text == "two"
        list(history(comment))
    assert sent["replica"] == 0 and sent["default"] >= 2


def test_a_request_that_recorded_history_reads_its_own_writes():
    comment = written()
    with routing.request_scope():
        with queries() as before_writing:
            state_at(Comment, comment.pk)
        with acting(description="third"):
            comment.text = "three"
            comment.save()
        with queries() as after_writing:
            assert state_at(Comment, comment.pk).text == "three"
    with queries() as next_request, routing.request_scope():
        state_at(Comment, comment.pk)
    assert before_writing["replica"] >= 1 and before_writing["default"] == 0
    assert after_writing["default"] >= 1 and after_writing["replica"] == 0
    assert next_request["replica"] >= 1 and next_request["default"] == 0


def test_revert_restore_and_pruning_read_the_primary():
    comment = written()
    with acting(description="tags"):
        article = Article.objects.create(title="a")
    revision = history(comment).first().revision
    with queries() as sent:
        with acting():
            revert(revision)
        with acting():
            restore(Comment, comment.pk, revision)
        prune(T0.replace(year=2100))
    with queries() as pure_read:
        assert members_as_of(article, "tags") == set()
    assert sent["replica"] == 0 and sent["default"] > 5
    assert pure_read["replica"] >= 1 and pure_read["default"] == 0
