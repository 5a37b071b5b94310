"""History read back in the order it happened, at the documented cost: revert
re-creates parents first, cascades keep their place, revy_baseline honours
its labels, snapshot_of and diff stay within their queries."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django.history import diff, snapshot_of, state_at
from revy.contrib.django.models import ObjectSnapshot
from tests.helpers import ObjectDelta, Revision, history_counts, run_baseline
from tests.testapp.models import Article, Book, Counter, Editor, EveryField, Shelf, Tag

pytestmark = pytest.mark.django_db


# Bug 1: revy_baseline ignores its labels -------------------------------------------


def test_revy_baseline_of_one_model_records_only_that_model():
    with Context.as_disabled():
        EveryField.objects.create()
        counter = Counter.objects.create(value=3)
    output = run_baseline("testapp.EveryField")
    assert "EveryField" in output
    assert "Counter" not in output
    assert not ObjectDelta.objects.for_object(counter).exists()


def test_revy_baseline_of_an_unknown_label_is_an_error():
    with pytest.raises(CommandError, match="nonexistent"):
        run_baseline("nonexistent")
    assert history_counts() == (0, 0, 0)


# Bug 2: pending history is written out of order ------------------------------------


def test_state_at_knows_a_row_deleted_after_a_cascade_touched_it():
    with Context():
        article = Article.objects.create(title="a")
        tag = Tag.objects.create(name="t")
        article.tags.add(tag)
    pk = tag.pk
    with Context():
        article.delete()  # records an update of the tag, caused by this delete
        tag.delete()
    actions = [d.action for d in ObjectDelta.objects.for_key(Tag, pk)]
    assert actions == ["create", "update", "update", "delete"]
    assert state_at(Tag, pk) is None


def test_revert_recreates_a_row_deleted_after_a_cascade_touched_it():
    with Context():
        article = Article.objects.create(title="a")
        other = Article.objects.create(title="b")
        tag = Tag.objects.create(name="t")
        article.tags.add(tag)
        other.tags.add(tag)
    pk = tag.pk
    with Context():
        article.delete()
        tag.delete()
    Revision.objects.latest("pk").revert()
    assert Tag.objects.filter(pk=pk).exists()
    assert set(other.tags.values_list("pk", flat=True)) == {pk}
    connection.check_constraints()


# Bug 3: revert re-creates in deletion order, not dependency order -------------------


def test_revert_recreates_parents_first_whatever_order_they_were_deleted_in():
    with Context():
        shelf = Shelf.objects.create(name="s")
        editor = Editor.objects.create(name="e")
        book = Book.objects.create(title="b", shelf=shelf, editor=editor)
    book_pk, editor_pk = book.pk, editor.pk
    with Context():
        book.delete()
        editor.delete()
    reverted = Revision.objects.latest("pk").revert()
    order = [
        d.content_type.model_class() for d in reverted.object_deltas.order_by("pk")
    ]
    assert order.index(Editor) < order.index(Book)
    assert Book.objects.get(pk=book_pk).editor_id == editor_pk


# Bug 4: query counts documented in docs/history.md ---------------------------------


def test_snapshot_of_takes_one_query():
    with Context():
        counter = Counter.objects.create(value=1)
    delta = ObjectDelta.objects.for_object(counter).get()
    ContentType.objects.get_for_model(Counter)
    list(ObjectDelta.objects.annotate(snapshot=ObjectSnapshot(Counter))[:1])
    with CaptureQueriesContext(connection) as queries:
        snapshot = snapshot_of(delta)
    assert snapshot.value == 1
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_diff_takes_3_queries_however_many_fields_changed():
    user = get_user_model().objects.create(username="u")
    with Context.via_actor(user):
        obj = EveryField.objects.create()
    start = Revision.objects.latest("pk")
    with Context.via_actor(user):
        for name in ("integer", "small", "big", "positive", "floating"):
            setattr(obj, name, 1)
        obj.char = obj.text = obj.slug = "x"
        obj.save()
    ObjectDelta.objects.exists()
    list(ObjectDelta.objects.annotate(snapshot=ObjectSnapshot(EveryField))[:1])
    with CaptureQueriesContext(connection) as queries:
        found = diff(EveryField, obj.pk, start)
    assert len(found) == 8
    assert len(queries) <= 3, len(queries)
