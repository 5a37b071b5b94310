"""Copies made by clearing the key, and JSON values changed in place."""

import pytest

from revy import Context
from tests.helpers import ObjectDelta, decoded
from tests.testapp.models import Comment, EveryField

pytestmark = pytest.mark.django_db


def test_json_mutated_in_place_is_recorded():
    obj = EveryField.objects.create(json={"k": "old", "list": [1]})
    obj = EveryField.objects.get(pk=obj.pk)
    with Context():
        obj.json["k"] = "new"
        obj.json["list"].append(2)
        obj.save()
    obj.refresh_from_db()
    assert obj.json == {"k": "new", "list": [1, 2]}
    [d] = ObjectDelta.objects.all()
    assert decoded(d) == {
        "json": ({"k": "old", "list": [1]}, {"k": "new", "list": [1, 2]})
    }


def test_copy_by_clearing_the_pk_records_a_create():
    original = Comment.objects.create(text="original")
    original = Comment.objects.get(pk=original.pk)
    with Context():
        original.pk = None
        original._state.adding = True
        original.save()
    copy = original
    assert Comment.objects.count() == 2
    deltas = list(ObjectDelta.objects.for_object(copy))
    assert [d.action for d in deltas] == [ObjectDelta.ACTION_CREATE]
    assert decoded(deltas[0]) == {
        "text": (None, "original"),
        "is_marked_as_spam": (None, False),
    }


def test_copy_by_clearing_the_pk_without_adding_flag_records_a_create():
    original = Comment.objects.create(text="original")
    original = Comment.objects.get(pk=original.pk)
    with Context():
        original.pk = None
        original.save()
    deltas = list(ObjectDelta.objects.for_object(original))
    assert [d.action for d in deltas] == [ObjectDelta.ACTION_CREATE]
