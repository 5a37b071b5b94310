"""Pruning (``retention.prune()``, ``manage.py revy_prune``) folds the
history before a cut into one full-state row per object: every read from
the cut on answers as before, objects deleted before the cut leave nothing,
a revision left in part refuses to be reverted, and each batch is recorded
as an amendment by whoever pruned."""

import io

import pytest
from django.core.management import CommandError, call_command

from revy.contrib.django.exceptions import RevisionPartlyPruned
from revy.contrib.django.history import (
    diff,
    history,
    members_as_of,
    restore,
    revert,
    rows_as_of,
    state_at,
)
from revy.contrib.django.ledger import Amendment, PartlyPrunedRevision
from revy.contrib.django.retention import prune
from tests.admin_support import revision_url
from tests.helpers import (
    AttributeDelta,
    ObjectDelta,
    Revision,
    acting,
    article_of_three_hours,
    at_hour,
)
from tests.testapp.models import Article, Comment, Tag

pytestmark = pytest.mark.django_db


def test_states_from_the_cut_on_read_back_as_before(clock, alice):
    red, blue = Tag.objects.create(name="red"), Tag.objects.create(name="blue")
    with clock.step():  # hour 0
        article = Article.objects.create(title="one")
    with clock.step():  # hour 1
        article.title = "two"
        article.save()
        article.tags.add(red, blue)
    with clock.step():  # hour 2
        article.tags.remove(red)
    with clock.step():  # hour 3, after the cut
        article.title = "three"
        article.save()
    kept_revision = Revision.objects.order_by("-pk").first()
    points = [at_hour(2.5), kept_revision, at_hour(3), None]
    before = [
        (state_at(Article, article.pk, p).title, members_as_of(article, "tags", p))
        for p in points
    ]
    changes_before = diff(Article, article.pk, at_hour(2.5))

    summary = prune(at_hour(2.5), actor=alice, description="older than a quarter")

    after = [
        (state_at(Article, article.pk, p).title, members_as_of(article, "tags", p))
        for p in points
    ]
    assert (
        after
        == before
        == [
            ("two", {blue.pk}),
            ("three", {blue.pk}),
            ("three", {blue.pk}),
            ("three", {blue.pk}),
        ]
    )
    assert diff(Article, article.pk, at_hour(2.5)) == changes_before
    assert [a.title for a in rows_as_of(Article, at_hour(2.5))] == ["two"]
    # One fold, then the change kept; the fold sorts first by key.
    actions = [delta.action for delta in history(article)]
    assert actions == [ObjectDelta.ACTION_UPDATE, ObjectDelta.ACTION_BASELINE]
    fold = history(article).last()
    assert {a.field_name for a in fold.attribute_deltas.all()} == {"title", "tags"}
    assert all(a.old_value is None for a in fold.attribute_deltas.all())
    # States before the cut are gone with the deltas that made them.
    assert state_at(Article, article.pk, at_hour(0.5)) is None
    # The tags' side of the relation is folded too.
    assert members_as_of(blue, "articles", at_hour(2.5)) == {article.pk}
    assert members_as_of(red, "articles", at_hour(2.5)) == set()
    assert summary.objects == 3 and summary.folds == 3
    amendment = Amendment.objects.get(pk=summary.amendments[0])
    assert amendment.kind == Amendment.KIND_PRUNE
    assert amendment.actor_id == str(alice.pk)
    assert amendment.description == "older than a quarter"
    assert amendment.details["objects"] == 3


def test_an_object_deleted_before_the_cut_leaves_nothing(clock):
    with clock.step():
        comment = Comment.objects.create(text="short-lived")
    with clock.step():
        comment.delete()
    with clock.step():
        Comment.objects.create(text="after the cut")
    summary = prune(at_hour(1.5))

    assert (
        not ObjectDelta.objects.filter(content_id=str(comment.pk))
        .exclude(revision__created_at__gte=at_hour(2))
        .exists()
    )
    assert summary.revisions == 2
    assert Revision.objects.count() == 1


def test_the_last_revisions_of_each_object_can_be_kept(clock):
    with clock.step():
        article = Article.objects.create(title="v0")
    for version in range(1, 4):
        with clock.step():
            article.title = f"v{version}"
            article.save()
    prune(at_hour(10), keep_revisions=2)

    titles = [
        (d.action, d.attribute_deltas.get(field_name="title").new())
        for d in history(article).order_by("pk")
    ]
    assert titles == [("baseline", "v1"), ("update", "v2"), ("update", "v3")]
    assert state_at(Article, article.pk, at_hour(2)).title == "v2"


def test_pruning_twice_adds_nothing_and_a_later_cut_folds_the_fold(clock):
    article = article_of_three_hours(clock)
    prune(at_hour(1.5))
    again = prune(at_hour(1.5))
    assert again.objects == 0 and again.amendments == []

    prune(at_hour(2.5))
    assert [d.action for d in history(article)] == ["baseline"]
    assert state_at(Article, article.pk).title == "v2"
    assert AttributeDelta.objects.filter(object_delta__in=history(article)).count() == 1


def test_folds_and_their_values_move_below_every_key(clock):
    with clock.step():  # Hour 0.
        unchanged = Comment.objects.create(text="made once")
    article = article_of_three_hours(clock)  # Hours 1 to 3.
    prune(at_hour(2.5))
    prune(at_hour(3.5))  # Folds the fold, whose values are below zero already.

    fold = history(article).get()
    comment = history(unchanged).get()
    rows = [
        (delta.pk, attribute.pk)
        for delta in (fold, comment)
        for attribute in delta.attribute_deltas.all()
    ]
    # Integers (SQLite would turn an overflowing key into a float), all below
    # every key the database gives out, the create moved unchanged.
    assert all(type(key) is int and key < 1 for row in rows for key in row)
    assert comment.action == ObjectDelta.ACTION_CREATE
    assert ObjectDelta.objects.filter(pk__gt=0).count() == 0
    assert state_at(Article, article.pk).title == "v2"
    assert state_at(Comment, unchanged.pk).text == "made once"


@pytest.fixture
def partly_pruned(clock):
    """A revision of an article and a comment, the article's part folded."""
    with clock.step():
        article = Article.objects.create(title="v0")
        Comment.objects.create(text="kept whole")
    shared = Revision.objects.get()
    with clock.step():
        article.title = "v1"
        article.save()
    prune(at_hour(5), models=[Article])
    return shared, article


def test_a_revision_partly_pruned_refuses_to_be_reverted(partly_pruned):
    shared, article = partly_pruned

    assert PartlyPrunedRevision.objects.filter(revision_id=shared.pk).exists()
    with pytest.raises(RevisionPartlyPruned, match=f"revision {shared.pk}"):
        revert(shared)
    assert Comment.objects.filter(text="kept whole").exists()
    # A state from the cut on can still be restored.
    with acting():
        restore(Article, article.pk, at_hour(5))


def test_a_dry_run_counts_and_changes_nothing(clock):
    with clock.step():
        article = Article.objects.create(title="v0")
    with clock.step():
        article.title = "v1"
        article.save()
    deltas = list(ObjectDelta.objects.values_list("pk", "action"))
    out = io.StringIO()
    call_command(
        "revy_prune", "--before", "2030-01-01", "--dry-run", "--no-input", stdout=out
    )

    assert "Would fold the history of 1 objects into 1 full-state rows" in (
        out.getvalue()
    )
    assert "1 object deltas and 1 attribute deltas removed" in out.getvalue()
    assert list(ObjectDelta.objects.values_list("pk", "action")) == deltas
    assert not Amendment.objects.exists()


def test_the_command_prunes_the_models_named_and_says_what_it_did(clock, alice):
    with clock.step():
        article = Article.objects.create(title="v0")
        comment = Comment.objects.create(text="c0")
    with clock.step():
        article.title, comment.text = "v1", "c1"
        article.save()
        comment.save()
    out = io.StringIO()
    call_command(
        "revy_prune",
        "testapp.Article",
        "--before",
        at_hour(5).isoformat(),
        "--no-input",
        "--by",
        f"auth.User:{alice.pk}",
        stdout=out,
        stderr=io.StringIO(),
    )

    assert "Folded the history of 1 objects" in out.getvalue()
    assert [d.action for d in history(article)] == ["baseline"]
    assert len(history(comment)) == 2
    assert Amendment.objects.get().actor_id == str(alice.pk)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--before", "last tuesday"], "is not a date or datetime"),
        (["--before", "2030-01-01", "--batch-size", "0"], "batch_size must be"),
        (["--before", "2030-01-01", "--keep-revisions", "-1"], "keep_revisions"),
        (["nosuchapp", "--before", "2030-01-01"], "names no tracked model"),
    ],
)
def test_the_command_refuses_bad_input_with_a_clear_error(clock, arguments, message):
    with clock.step():
        Article.objects.create(title="v0")
    with clock.step():
        Article.objects.update(title="v1")
    with pytest.raises(CommandError, match=message):
        call_command("revy_prune", *arguments, "--no-input", stdout=io.StringIO())
    assert ObjectDelta.objects.count() >= 1
    assert not Amendment.objects.exists()


def test_the_admin_refuses_to_revert_a_partly_pruned_revision(
    partly_pruned, admin_client
):
    shared, _article = partly_pruned

    response = admin_client.post(revision_url("revert", shared.pk), follow=True)
    assert response.status_code == 409
    assert "pruning folded part of it" in response.content.decode()
    assert Comment.objects.filter(text="kept whole").exists()
    assert Revision.objects.count() == 2


class Interrupted(Exception):
    pass


def test_an_interrupted_pruning_keeps_its_committed_batches_and_runs_again(clock):
    with clock.step():
        articles = [Article.objects.create(title=f"{n}.0") for n in range(3)]
    for version in (1, 2):
        with clock.step():
            for article in articles:
                article.title = f"{article.pk}.{version}"
                article.save()
    expected = [state_at(Article, a.pk, at_hour(2)).title for a in articles]

    def stop_after_the_first_batch(done):
        raise Interrupted

    with pytest.raises(Interrupted):
        prune(at_hour(1.5), batch_size=1, progress=stop_after_the_first_batch)
    assert Amendment.objects.count() == 1
    assert [len(history(a)) for a in articles] == [2, 3, 3]

    summary = prune(at_hour(1.5), batch_size=1)
    assert summary.objects == 2
    assert [len(history(a)) for a in articles] == [2, 2, 2]
    assert [state_at(Article, a.pk, at_hour(2)).title for a in articles] == expected
    assert Amendment.objects.count() == 3


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_command_shows_a_progress_bar_with_rate(clock):
    with clock.step():
        articles = [Article.objects.create(title="v0") for _ in range(3)]
    with clock.step():
        for article in articles:
            article.title = "v1"
            article.save()
    terminal = Terminal()
    call_command(
        "revy_prune",
        "--before",
        "2030-01-01",
        "--batch-size",
        "1",
        "--no-input",
        stdout=io.StringIO(),
        stderr=terminal,
    )
    bar = terminal.getvalue()
    assert "3/3" in bar and "100%" in bar and "objects/s" in bar


def test_the_command_asks_first_and_a_no_changes_nothing(clock, monkeypatch):
    with clock.step():
        article = Article.objects.create(title="v0")
    with clock.step():
        article.title = "v1"
        article.save()
    asked = []
    monkeypatch.setattr("builtins.input", lambda text: asked.append(text) or "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("revy_prune", "--before", "2030-01-01", stdout=io.StringIO())
    assert "of 1 objects" in asked[0]
    assert len(history(article)) == 2
