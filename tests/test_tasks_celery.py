"""A Celery task whose base is revy.contrib.celery.RevyTask runs as whoever
sent it: a worker process, reading messages through kombu's filesystem
transport (no broker server), records its changes on the committed test
database with the sender's actor and descriptions, in a revision whose
description names the task and the revision that sent it.

The app and its task are tests/api/celery_app.py; the worker is started by
tests/workers.py.
"""

import json
import uuid

import pytest
from django.db import transaction

from revy import Context
from revy.contrib.celery import HEADER
from revy.contrib.django.handoff import task_run
from tests.api import celery_app
from tests.helpers import ObjectDelta, Revision
from tests.testapp.models import Comment
from tests.workers import TIMEOUT, start_celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Where messages and results pass, for this process and the worker."""
    folder = tmp_path_factory.mktemp("celery")
    celery_app.configure(celery_app.app, folder)
    return folder


@pytest.fixture
def worker(folder):
    """A worker process on the test database; one per test, since each test
    ends by emptying the database, content types included, which a worker
    keeps in memory."""
    process = start_celery_worker(folder)
    yield process
    process.terminate()
    process.communicate(timeout=TIMEOUT)


def test_a_task_sent_at_commit_runs_as_its_sender(alice, worker):
    with (
        transaction.atomic(),
        Context.via(actor=alice, revision_description="Publish the comment"),
    ):
        comment = Comment.objects.create(text="  buy spam now ")
        task_id = str(uuid.uuid4())
        celery_app.detect_spam.apply_async_on_commit((comment.pk,), task_id=task_id)
    sending = Revision.objects.get()
    result = celery_app.app.AsyncResult(task_id)
    assert result.get(timeout=TIMEOUT) == alice.pk  # The task's actor.

    comment.refresh_from_db()
    assert (comment.text, comment.is_marked_as_spam) == ("buy spam now", True)
    revision = Revision.objects.exclude(pk=sending.pk).get()
    assert revision.description == (
        "Publish the comment\n\n"
        f"Task: tests.api.celery_app.detect_spam {result.id}\n"
        f"Enqueued-in-revision: {sending.pk}"
    )
    assert task_run(revision.description).enqueued_in_revision == str(sending.pk)
    [delta] = ObjectDelta.objects.filter(revision=revision)
    assert delta.actor == alice
    changes = {a.field_name: a for a in delta.attribute_deltas.all()}
    assert changes["text"].actor == alice
    assert changes["is_marked_as_spam"].actor is None
    assert changes["is_marked_as_spam"].description == "Spam detected"


def test_delay_hands_over_the_context_of_now(alice, worker):
    comment = Comment.objects.create(text="spam")
    with Context.via(
        actor=alice,
        revision_description="Checked",
        attribute_delta_description="checked by hand",
    ):
        result = celery_app.detect_spam.delay(comment.pk)
    assert result.get(timeout=TIMEOUT) == alice.pk
    delta = ObjectDelta.objects.get()
    assert delta.actor == alice
    assert delta.revision.description == (
        f"Checked\n\nTask: tests.api.celery_app.detect_spam {result.id}"
    )
    spam = delta.attribute_deltas.get(field_name="is_marked_as_spam")
    assert (spam.actor, spam.description) == (None, "Spam detected")


def test_a_task_sent_outside_any_context_runs_as_the_system(worker):
    comment = Comment.objects.create(text="spam")
    result = celery_app.detect_spam.delay(comment.pk)
    assert result.get(timeout=TIMEOUT) is None
    delta = ObjectDelta.objects.get()
    assert delta.actor is None


def test_a_direct_call_runs_in_the_callers_context(alice):
    comment = Comment.objects.create(text="spam")
    with Context.via(actor=alice, revision_description="By hand"):
        assert celery_app.detect_spam(comment.pk) == alice.pk
    assert ObjectDelta.objects.get().revision.description == "By hand"


def test_the_handoff_travels_in_a_message_header(alice, folder):
    """What a worker gets: the sender's actor and description, as JSON. (No
    worker runs this module's messages here: the test takes it back.)"""
    comment = Comment.objects.create(text="x")
    with Context.via(actor=alice, revision_description="Why"):
        celery_app.detect_spam.apply_async((comment.pk,), queue="inspected")
    [path] = (folder / "messages").glob("*inspected*")
    message = json.loads(path.read_text())
    path.unlink()
    assert message["headers"][HEADER] == {
        "actor_model": "auth.user",
        "actor_id": str(alice.pk),
        "revision_description": "Why",
    }


def test_rolled_back_work_sends_nothing(alice, folder):
    with transaction.atomic(), Context.via_actor(alice):
        celery_app.detect_spam.apply_async_on_commit((1,), queue="inspected")
        transaction.set_rollback(True)
    assert list((folder / "messages").glob("*inspected*")) == []
