"""Spam marked by the system; posts that go with their author (CASCADE)."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from revy import Context
from revy.contrib.django.handoff import task_run

from {{ cookiecutter.project }}.accounts.services import (
    CLOSED,
    DELETED_WITH_ACCOUNT,
    close_account,
    restore_account,
)
from {{ cookiecutter.project }}.blog.models import Comment, Post
from {{ cookiecutter.project }}.blog.spam import (
    DETECTED,
    looks_like_spam,
    mark_as_spam,
)

from tests.conftest import actor_key, deltas, fields, revisions


@pytest.fixture
def comment(alice, bob):
    post = Post.objects.create(author=alice, title="Hello")
    return Comment.objects.create(post=post, author=bob, text="Nice post.")


def test_the_system_marks_a_comment_as_spam(comment):
    mark_as_spam(comment)

    [revision] = revisions()
    assert revision.description == DETECTED
    [delta] = deltas(revision)
    assert (delta.action, delta.actor, delta.content_id) == ("update", None, str(comment.pk))
    assert fields(delta) == {"is_marked_as_spam": (False, True, None, "")}


@pytest.mark.parametrize(
    ("text", "spam"),
    [
        ("Nice post.", False),
        ("See https://a.example", False),
        ("Cheap watches", True),
        ("https://a.example and https://b.example", True),
    ],
)
def test_what_looks_like_spam(text, spam):
    assert looks_like_spam(text) is spam


def test_the_detect_spam_command_marks_only_spam(comment):
    spam = Comment.objects.create(post=comment.post, text="CASINO bonus")
    out = io.StringIO()
    call_command("detect_spam", stdout=out)
    assert out.getvalue().strip() == "Marked 1 comment(s) as spam."
    spam.refresh_from_db()
    comment.refresh_from_db()
    assert (spam.is_marked_as_spam, comment.is_marked_as_spam) == (True, False)
    [revision] = revisions()
    assert revision.actors() == [None]


@pytest.fixture
def bobs_world(alice, bob):
    """bob's post with alice's comment on it, and bob's comment on alice's post."""
    bobs_post = Post.objects.create(author=bob, title="Bob's")
    alices_post = Post.objects.create(author=alice, title="Alice's")
    on_bobs = Comment.objects.create(post=bobs_post, author=alice, text="Hi Bob")
    bobs_comment = Comment.objects.create(post=alices_post, author=bob, text="Hi Alice")
    return bobs_post, on_bobs, bobs_comment


def test_closing_an_account_cascades_with_causes_and_descriptions(bob, bobs_world):
    bobs_post, on_bobs, bobs_comment = bobs_world
    bob_pk = bob.pk
    with Context.via_actor(bob):
        close_account(bob)

    [revision] = revisions()
    by_key = {(d.content_type.model, d.content_id): d for d in deltas(revision)}
    user = by_key["user", str(bob_pk)]
    post = by_key["post", str(bobs_post.pk)]
    comment_on_post = by_key["comment", str(on_bobs.pk)]
    nulled = by_key["comment", str(bobs_comment.pk)]

    assert (user.action, user.description, user.deletion_description) == (
        "delete",
        CLOSED,
        DELETED_WITH_ACCOUNT,
    )
    assert (post.action, post.cause, post.deletion_description) == (
        "delete",
        user,
        DELETED_WITH_ACCOUNT,
    )
    assert (comment_on_post.action, comment_on_post.cause) == ("delete", post)
    assert fields(post)["title"][:2] == ("Bob's", None)
    # SET_NULL: bob's comment elsewhere stays, without its author.
    assert (nulled.action, nulled.cause, nulled.description) == ("update", user, CLOSED)
    assert fields(nulled)["author"][:2] == (bob_pk, None)
    assert {actor_key(delta) for delta in by_key.values()} == {("user", str(bob_pk))}
    assert not Post.objects.filter(pk=bobs_post.pk).exists()
    bobs_comment.refresh_from_db()
    assert bobs_comment.author is None


def test_restoring_an_account_brings_back_what_went_with_it(bob, bobs_world):
    bobs_post, on_bobs, bobs_comment = bobs_world
    bob_pk = bob.pk
    with Context.via_actor(bob):
        close_account(bob)

    restore_account(bob_pk)

    assert Post.objects.get(pk=bobs_post.pk).author_id == bob_pk
    assert Comment.objects.get(pk=on_bobs.pk).text == "Hi Bob"
    bobs_comment.refresh_from_db()
    assert bobs_comment.author_id == bob_pk
    restoring = revisions()[-1]
    assert sorted((d.action, d.content_type.model) for d in deltas(restoring)) == [
        ("create", "comment"),
        ("create", "post"),
        ("create", "user"),
        ("update", "comment"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_comment_is_checked_in_the_background_as_its_author(alice, bob):
    """The view enqueues the spam check; a worker runs it as bob, and the
    system's mark is in bob's revision, which names the task."""
    post = Post.objects.create(author=alice, title="Hello")
    client = Client()
    client.force_login(bob)
    answer = client.post(
        reverse("blog:comment", args=[post.pk]),
        {"text": "Cheap watches!"},
        headers={"X-Commit-Message": "Bob comments."},
    )
    assert answer.status_code == 201
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    comment = Comment.objects.get(pk=answer.json()["id"])
    assert comment.is_marked_as_spam
    added, checked = revisions()
    assert added.description == "Bob comments."
    assert checked.description.startswith("Bob comments.\n\nTask: ")
    run = task_run(checked.description)
    assert run.task_name.endswith(".blog.tasks.check_comment")
    assert run.enqueued_in_revision == str(added.pk)
    [delta] = deltas(checked)
    assert actor_key(delta) == ("user", str(bob.pk))
    assert fields(delta) == {"is_marked_as_spam": (False, True, None, DETECTED)}
