"""Which changes are recorded: those made inside an enabled context (or
everywhere with REVY_RECORD_OUTSIDE_CONTEXT, each in a revision of its own),
never those made while disabled; of tracked models only (REVY_TRACKED_MODELS,
REVY_UNTRACKED_MODELS), never of revy's own or Django's bookkeeping models.

Each test reads the history back through the models in use, so the suite runs
unchanged with swapped history models (REVY_TEST_SWAPPED=1).
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings

from revy import Context
from tests.helpers import (
    CREATE,
    DELETE,
    UPDATE,
    ObjectDelta,
    Revision,
    all_deltas,
    ct,
    decoded,
    deltas,
    make_user,
    revisions,
)
from tests.testapp.models import Comment, Post, Untracked

pytestmark = pytest.mark.django_db


# Outside a context, disabled contexts -----------------------------------------


def test_nothing_is_recorded_outside_a_context(comment):
    c = Comment.objects.create(text="x")
    c.text = "y"
    c.save()
    comment.delete()
    assert revisions() == []
    assert all_deltas() == []


@override_settings(REVY_RECORD_OUTSIDE_CONTEXT=True)
def test_record_outside_context_setting_records_each_change_by_the_system(comment):
    c = Comment.objects.create(text="x")
    comment.text = "changed"
    comment.save()
    pk = comment.pk
    comment.delete()

    assert len(revisions()) == 3
    create, update, delete = (
        deltas(c)[0],
        *ObjectDelta.objects.for_key(Comment, pk),
    )
    assert [create.action, update.action, delete.action] == [CREATE, UPDATE, DELETE]
    assert len({create.revision_id, update.revision_id, delete.revision_id}) == 3
    for delta in (create, update, delete):
        assert delta.actor is None
        assert delta.actor_content_type is None
        assert delta.actor_id is None
        assert all(a.actor is None for a in delta.attribute_deltas.all())
    assert decoded(update) == {"text": ("first", "changed")}


@override_settings(REVY_RECORD_OUTSIDE_CONTEXT=True)
def test_record_outside_context_does_not_record_in_a_disabled_context():
    with Context.as_disabled():
        Comment.objects.create(text="x")
    assert revisions() == []


def test_disabled_context_records_nothing(alice, comment):
    with Context.via_actor(alice), Context.as_disabled():
        Comment.objects.create(text="x")
        comment.text = "y"
        comment.save()
        comment.delete()
    assert revisions() == []
    assert all_deltas() == []


def test_disable_and_enable_as_in_the_seed(comment):
    @Context()
    def some_task():
        Context.disable()
        Comment.objects.create(text="not recorded")
        Context.enable()
        comment.text = "recorded"
        comment.save()

    some_task()
    [delta] = all_deltas()
    assert delta.content_id == str(comment.pk)
    assert decoded(delta) == {"text": ("first", "recorded")}


def test_as_disabled_block_inside_a_context_as_in_the_seed(comment):
    @Context()
    def some_task():
        with Context.as_disabled():
            Comment.objects.create(text="not recorded")
        comment.text = "recorded"
        comment.save()

    some_task()
    assert [d.content_id for d in all_deltas()] == [str(comment.pk)]
    assert len(revisions()) == 1


def test_as_enabled_inside_a_disabled_context_records():
    with Context.as_disabled():
        Comment.objects.create(text="off")
        with Context.as_enabled():
            on = Comment.objects.create(text="on")
    assert [d.content_id for d in all_deltas()] == [str(on.pk)]


def test_change_made_while_disabled_is_recorded_by_a_later_enabled_save(comment):
    with Context():
        with Context.as_disabled():
            comment.text = "assigned while disabled"
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("first", "assigned while disabled")}


def test_change_saved_while_disabled_is_not_recorded_later(comment):
    with Context():
        with Context.as_disabled():
            comment.text = "saved while disabled"
            comment.save()
        comment.is_marked_as_spam = True
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"is_marked_as_spam": (False, True)}


# Tracked and untracked models -------------------------------------------------


def test_untracked_model_is_never_recorded():
    with Context():
        row = Untracked.objects.create(name="x")
        row.name = "y"
        row.save()
        row.delete()
    assert revisions() == []


@override_settings(REVY_TRACKED_MODELS=["testapp.Comment"])
def test_tracked_models_setting_limits_recording(alice):
    with Context():
        c = Comment.objects.create(text="tracked")
        p = Post.objects.create(author=alice, title="not tracked")
        make_user("carol")
    assert [d.content_id for d in all_deltas()] == [str(c.pk)]
    assert deltas(p) == []


@override_settings(REVY_TRACKED_MODELS=["TESTAPP.*"])
def test_tracked_models_pattern_is_case_insensitive_and_matches_the_app(alice):
    with Context():
        c = Comment.objects.create(text="a")
        p = Post.objects.create(author=alice, title="b")
        make_user("carol")  # auth.User: not matched
        Untracked.objects.create(name="still untracked")
    assert {d.content_type for d in all_deltas()} == {ct(Comment), ct(Post)}
    assert len(deltas(c)) == len(deltas(p)) == 1


@override_settings(REVY_UNTRACKED_MODELS=["testapp.comment", "auth.*"])
def test_untracked_models_setting_excludes(alice):
    with Context():
        Comment.objects.create(text="a")
        p = Post.objects.create(author=alice, title="b")
        make_user("carol")
        u = Untracked.objects.create(name="tracked now")
    assert {d.content_type for d in all_deltas()} == {ct(Post), ct(Untracked)}
    assert len(deltas(u)) == 1
    assert len(deltas(p)) == 1


@override_settings(REVY_TRACKED_MODELS=["*"], REVY_UNTRACKED_MODELS=[])
def test_revys_own_and_djangos_bookkeeping_models_are_never_tracked():
    with Context():
        Revision.objects.create(description="by hand")
        ContentType.objects.get_for_model(Comment)
        c = Comment.objects.create(text="tracked")
    assert [d.content_type for d in all_deltas()] == [ct(Comment)]
    assert deltas(c)
