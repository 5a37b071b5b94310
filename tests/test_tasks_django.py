"""A task of Django's tasks framework (revy.contrib.tasks) runs as whoever
enqueued it: a db_worker process, on the committed test database, records
its changes with the enqueuing context's actor and descriptions, in a
revision whose description names the task and the revision that enqueued
it. What the task credits to the system stays the system's.

The tasks are in tests/api/tasks.py; the worker is tests/workers.py.
"""

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult

from revy import Context
from revy.contrib.django.handoff import task_run
from revy.contrib.tasks import KWARG
from tests.api.tasks import detect_spam, with_task_context
from tests.helpers import ObjectDelta, Revision
from tests.testapp.models import Comment
from tests.workers import run_db_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_enqueued_at_commit_runs_as_its_enqueuer(alice):
    with (
        transaction.atomic(),
        Context.via(actor=alice, revision_description="Publish the comment"),
    ):
        comment = Comment.objects.create(text="  buy spam now ")
        result = detect_spam.enqueue_on_commit(comment.pk)
        assert result is None  # Sent when the transaction commits.
    enqueuing = Revision.objects.get()
    run_db_worker()

    [finished] = DBTaskResult.objects.all()
    assert finished.status == "SUCCESSFUL"
    assert finished.return_value == alice.pk  # The task's Context.get_actor().
    comment.refresh_from_db()
    assert (comment.text, comment.is_marked_as_spam) == ("buy spam now", True)

    revision = Revision.objects.exclude(pk=enqueuing.pk).get()
    assert revision.description == (
        "Publish the comment\n\n"
        f"Task: tests.api.tasks.detect_spam {finished.id}\n"
        f"Enqueued-in-revision: {enqueuing.pk}"
    )
    assert task_run(revision.description) == (
        "tests.api.tasks.detect_spam",
        str(finished.id),
        str(enqueuing.pk),
    )
    [delta] = ObjectDelta.objects.filter(revision=revision)
    assert delta.actor == alice
    changes = {a.field_name: a for a in delta.attribute_deltas.all()}
    assert changes["text"].actor == alice
    assert changes["is_marked_as_spam"].actor is None
    assert changes["is_marked_as_spam"].description == "Spam detected"


@override_settings(
    ROOT_URLCONF="tests.api.urls",
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "revy.contrib.django.middleware.RevyMiddleware",
    ],
)
def test_a_task_enqueued_by_a_request_runs_as_the_signed_in_user(alice):
    client = Client()
    client.force_login(alice)
    response = client.post(
        "/comment-and-check/",
        {"text": "spam again"},
        headers={"X-Commit-Message": "From the form"},
    )
    assert response.status_code == 200
    enqueuing = Revision.objects.get()
    run_db_worker()
    revision = Revision.objects.exclude(pk=enqueuing.pk).get()
    assert task_run(revision.description).enqueued_in_revision == str(enqueuing.pk)
    assert revision.description.startswith("From the form\n\nTask: ")
    assert ObjectDelta.objects.get(revision=revision).actor == alice


def test_a_rolled_back_transaction_enqueues_nothing(alice):
    comment = Comment.objects.create(text="x")
    with transaction.atomic(), Context.via_actor(alice):
        detect_spam.enqueue_on_commit(comment.pk)
        transaction.set_rollback(True)
    assert DBTaskResult.objects.count() == 0


def test_enqueue_hands_over_the_context_of_now(alice):
    comment = Comment.objects.create(text="spam")
    with Context.via(
        actor=alice,
        revision_description="Checked",
        object_delta_description="by the checker",
    ):
        result = detect_spam.enqueue(comment.pk)
    handed = result.kwargs[KWARG]
    assert handed == {
        "actor_model": "auth.user",
        "actor_id": str(alice.pk),
        "revision_description": "Checked",
        "object_delta_description": "by the checker",
    }
    run_db_worker()
    delta = ObjectDelta.objects.get()
    assert delta.actor == alice
    assert delta.description == "by the checker"
    assert delta.revision.description == (
        f"Checked\n\nTask: tests.api.tasks.detect_spam {result.id}"
    )


def test_a_task_enqueued_outside_any_context_runs_as_the_system():
    comment = Comment.objects.create(text="spam")
    result = detect_spam.enqueue(comment.pk)
    run_db_worker()
    delta = ObjectDelta.objects.get()
    assert delta.actor is None
    assert delta.revision.description == (
        f"Task: tests.api.tasks.detect_spam {result.id}"
    )


def test_a_task_that_takes_djangos_context_still_gets_it(alice):
    comment = Comment.objects.create(text="x")
    with Context.via_actor(alice):
        result = with_task_context.enqueue(comment.pk)
    run_db_worker()
    result.refresh()
    assert result.return_value == result.id
    comment.refresh_from_db()
    assert comment.text == "attempt 1"
    assert ObjectDelta.objects.get().actor == alice


def test_a_task_whose_enqueuer_was_deleted_still_credits_them(alice):
    comment = Comment.objects.create(text="spam")
    with Context.via_actor(alice):
        detect_spam.enqueue(comment.pk)
    alice_pk = alice.pk
    alice.delete()
    run_db_worker()
    delta = ObjectDelta.objects.get(content_id=str(comment.pk))
    assert delta.actor_id == str(alice_pk)
