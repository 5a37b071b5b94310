"""Which revision a recorded change goes into: the one of its outermost
context, which nested contexts add to, made at the context's first change (a
context that changes nothing leaves none); or the revision given with
Context.via_revision(), saved already or saved at its first change (with the
context's description if it has none). A description may be set before the
first change; a revision is saved through save() when a post_save receiver
listens to its model.

Each test reads the history back through the models in use, so the suite runs
unchanged with swapped history models (REVY_TEST_SWAPPED=1).
"""

import pytest

from revy import Context
from tests.helpers import Revision, deltas, revisions
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db


def test_one_revision_per_outermost_context_nested_contexts_add_to_it(alice, bob):
    with Context.via_revision_description("outer"):
        a = Comment.objects.create(text="a")
        with Context.via_actor(alice):
            b = Comment.objects.create(text="b")
            with Context.via_actor(bob):
                c = Comment.objects.create(text="c")
    with Context():
        d = Comment.objects.create(text="d")

    first, second = revisions()
    assert first.description == "outer"
    assert [deltas(x)[0].revision for x in (a, b, c)] == [first] * 3
    assert deltas(d)[0].revision == second
    assert [deltas(x)[0].actor for x in (a, b, c)] == [None, alice, bob]


def test_a_revision_is_created_only_at_the_first_change(comment):
    with Context():
        assert Context.get_revision() is None
        comment.save()  # no change
        assert Context.get_revision() is None
        assert revisions() == []
        comment.text = "changed"
        comment.save()
        revision = Context.get_revision()
        assert revision is not None
        assert revisions() == [revision]
    assert len(revisions()) == 1


def test_via_revision_adds_to_an_existing_revision():
    existing = Revision.objects.create(description="existing")
    with Context.via_revision(existing):
        a = Comment.objects.create(text="a")
    with Context():
        with Context.via_revision(existing):
            b = Comment.objects.create(text="b")
        c = Comment.objects.create(text="c")

    assert deltas(a)[0].revision == existing
    assert deltas(b)[0].revision == existing
    assert deltas(c)[0].revision != existing
    assert len(revisions()) == 2
    assert existing.object_deltas.count() == 2


def test_via_revision_with_an_unsaved_revision_saves_it_at_the_first_change(comment):
    revision = Revision(description="prepared")
    with Context.via_revision(revision):
        comment.save()  # nothing changed: nothing saved
        assert revision.pk is None
        comment.text = "changed"
        comment.save()
        assert revision.pk is not None
        other = Comment.objects.create(text="x")

    assert revisions() == [revision]
    assert Revision.objects.get().description == "prepared"
    assert [deltas(comment)[0].revision, deltas(other)[0].revision] == [revision] * 2


def test_unsaved_revision_without_description_takes_the_contexts_one():
    revision = Revision()
    with (
        Context.via_revision_description("from context"),
        Context.via_revision(revision),
    ):
        Comment.objects.create(text="x")
    assert Revision.objects.get(pk=revision.pk).description == "from context"


def test_revision_description_can_be_set_before_the_first_change():
    with Context():
        Context.set_revision_description("set later")
        Comment.objects.create(text="x")
    assert revisions()[0].description == "set later"


def test_a_revision_is_saved_through_save_when_a_signal_listens_to_its_model():
    from django.db.models.signals import post_save

    seen = []

    def listen(sender, instance, created, **kwargs):
        seen.append((instance.pk, created, instance.description))

    post_save.connect(listen, sender=Revision)
    try:
        with Context(revision_description="heard"):
            Comment.objects.create(text="x")
    finally:
        post_save.disconnect(listen, sender=Revision)
    with Context(revision_description="unheard"):
        Comment.objects.create(text="y")
    heard, unheard = Revision.objects.order_by("pk")
    assert seen == [(heard.pk, True, "heard")]
    assert unheard.description == "unheard"
    assert unheard.created_at is not None
    assert unheard.created_at >= heard.created_at
