"""Pruning changes no state from the cut on, property-based.

Hypothesis draws a history of articles and tags, one revision an hour:
creates, title changes, deletes, and tags added and removed from either
side of the many-to-many relation. Then a cut, a number of revisions to
keep per object and a batch size. Every read from the cut on is taken
before and after ``prune()``: ``state_at()`` of every article ever made,
``rows_as_of()``, and ``members_as_of()`` from both sides, at the cut, at
each later hour and at each revision after the cut, and now. They must be
identical. Each example runs in a savepoint rolled back after it.
"""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revy.contrib.django.history import members_as_of, rows_as_of, state_at
from revy.contrib.django.retention import prune
from tests.helpers import T0, Revision, acting, rewriting_history
from tests.testapp.models import Article, Tag

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)

# Two articles first, so that most operations have something to change.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.text("abc", max_size=3)),
        st.tuples(st.just("title"), st.integers(0, 9), st.text("xyz", max_size=3)),
        st.tuples(st.just("delete"), st.integers(0, 9)),
        st.tuples(st.just("tag"), st.integers(0, 9), st.integers(0, 2)),
        st.tuples(st.just("untag"), st.integers(0, 9), st.integers(0, 2)),
        st.tuples(st.just("tag from the tag"), st.integers(0, 9), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=12,
).map(lambda drawn: [("create", "a"), ("create", "b"), *drawn])


def live(articles, index):
    """The index-th article made that still exists, if any."""
    alive = [article for article in articles if article.pk is not None]
    return alive[index % len(alive)] if alive else None


def apply(operation, articles, tags):
    kind, index, *rest = operation
    if kind == "create":
        articles.append(Article.objects.create(title=index))
        return
    article = live(articles, index)
    if article is None:
        return
    if kind == "title":
        article.title = rest[0]
        article.save()
    elif kind == "delete":
        key = article.pk
        article.delete()
        article.deleted_key = key
    elif kind == "tag":
        article.tags.add(tags[rest[0]])
    elif kind == "untag":
        article.tags.remove(tags[rest[0]])
    else:
        tags[rest[0]].articles.add(article)


def reads(keys, tags, points):
    found = []
    for point in points:
        found.append(
            (
                [(a.pk, a.title) for a in rows_as_of(Article, point)],
                [
                    (getattr(state_at(Article, key, point), "title", None))
                    for key in keys
                ],
                [
                    members_as_of(Article(pk=key), "tags", point)
                    for key in keys
                    if state_at(Article, key, point) is not None
                ],
                [members_as_of(tag, "articles", point) for tag in tags],
            )
        )
    return found


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=operations,
    cut_hour=st.integers(0, 14),
    keep=st.integers(0, 2),
    batch_size=st.integers(1, 3),
)
def test_every_state_from_the_cut_on_is_identical_after_pruning(
    history, cut_hour, keep, batch_size
):
    with transaction.atomic():
        tags = [Tag.objects.create(name=name) for name in "rgb"]
        articles = []
        for hour, operation in enumerate(history):
            with acting(description=f"hour {hour}"):
                apply(operation, articles, tags)
            newest = Revision.objects.order_by("-pk").first()
            if newest is not None and newest.description == f"hour {hour}":
                with rewriting_history():
                    Revision.objects.filter(pk=newest.pk).update(
                        created_at=T0 + hour * HOUR
                    )
        cut = T0 + cut_hour * HOUR
        keys = [a.pk if a.pk is not None else a.deleted_key for a in articles]
        points = [
            cut,
            *(T0 + hour * HOUR for hour in range(cut_hour, len(history) + 1)),
            *Revision.objects.filter(created_at__gte=cut).order_by("pk"),
            None,
        ]
        before = reads(keys, tags, points)

        prune(cut, keep_revisions=keep, batch_size=batch_size)

        assert reads(keys, tags, points) == before
        transaction.set_rollback(True)
