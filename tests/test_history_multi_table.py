"""History of a multi-table row, saved or deleted through either model.

A Restaurant's row is a Place row too: a change saved through the child shows
in the parent's history, one saved through the parent in the child's; a row
deleted through either model is gone for both, unless the child was deleted
with keep_parents=True, which leaves the parent row and its history going
on; a plain Place is no Restaurant. state_at(), rows_as_of(), diff(),
history(), changes(), restore() and revert() (its conflicts included) read
it so.

What saving and deleting a multi-table child records is tested in
test_capture.py.
"""

import pytest

from revy import Context
from revy.contrib.django.history import (
    RevertConflict,
    changes,
    diff,
    history,
    restore,
    rows_as_of,
    state_at,
)
from tests.helpers import ObjectDelta, ct, latest_revision
from tests.testapp.models import Place, Restaurant

pytestmark = pytest.mark.django_db


def _rename_through_the_parent(pk, name):
    """Rename the Place row ``pk`` through a Place instance, in a revision of
    its own; that revision."""
    with Context():
        place = Place.objects.get(pk=pk)
        place.name = name
        place.save()
    return latest_revision()


# Changes saved through either model -------------------------------------------


def test_a_change_saved_through_the_child_shows_in_the_parents_history():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
    with Context():
        restaurant.name = "Mario's"
        restaurant.save()
    state = state_at(Place, restaurant.pk)
    assert type(state) is Place and state.name == "Mario's"
    created = ObjectDelta.objects.earliest("pk")
    [change] = diff(Place, restaurant.pk, created)
    assert (change.field, change.old, change.new) == ("name", "Luigi's", "Mario's")


def test_a_change_saved_through_the_parent_shows_in_the_childs_history():
    """The admin of Place saves a Restaurant's row through a Place instance:
    the Restaurant's history, states, rows and diffs show the new name."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)
    created = latest_revision()
    renamed = _rename_through_the_parent(restaurant.pk, "Mario's")

    state = state_at(Restaurant, restaurant.pk)
    assert type(state) is Restaurant
    assert (state.name, state.serves_pizza) == ("Mario's", True)
    assert state_at(Restaurant, restaurant.pk, created).name == "Luigi's"
    assert [r.name for r in rows_as_of(Restaurant, renamed)] == ["Mario's"]
    assert [r.name for r in rows_as_of(Restaurant, created)] == ["Luigi's"]
    [change] = diff(Restaurant, restaurant.pk, created)
    assert (change.field, change.old, change.new) == ("name", "Luigi's", "Mario's")
    assert [d.revision for d in history(restaurant)] == [renamed, created]
    assert [c.new for c in changes(restaurant)] == ["Luigi's", True, "Mario's"]


def test_a_plain_parent_row_saved_through_the_parent_is_no_child_row():
    with Context():
        place = Place.objects.create(name="Park")
    renamed = _rename_through_the_parent(place.pk, "Garden")

    assert state_at(Restaurant, place.pk) is None
    assert rows_as_of(Restaurant, renamed) == []
    assert diff(Restaurant, place.pk, None) == []


def test_state_at_of_a_child_model_is_none_for_a_plain_parent_row():
    """state_at() is None when the row did not exist: a plain Place is no
    Restaurant, so state_at(Restaurant, its pk) is None, as
    Restaurant.objects.filter(pk=...) is empty."""
    with Context():
        place = Place.objects.create(name="Park")
    assert not Restaurant.objects.filter(pk=place.pk).exists()

    assert state_at(Restaurant, place.pk) is None


def test_rows_as_of_a_parent_model_includes_rows_created_through_the_child():
    """A Restaurant's row is a Place row too, so rows_as_of(Place, at) lists
    it, as Place.objects.all() does."""
    with Context():
        Place.objects.create(name="Park")
        Restaurant.objects.create(name="Luigi's")
    at = latest_revision()

    names = sorted(row.name for row in rows_as_of(Place, at))
    assert names == sorted(Place.objects.values_list("name", flat=True))


def test_a_child_snapshot_from_full_history_has_no_deferred_field():
    """docs/history.md: get_deferred_fields() names the fields history never
    saw. A Restaurant whose every field was recorded has none; its parent's
    primary key, the same value as its own, is not one."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)

    state = state_at(Restaurant, restaurant.pk)

    assert state.get_deferred_fields() == set()


# Deletes through either model, and keep_parents -------------------------------


def test_a_row_deleted_through_the_parent_is_gone_for_the_child():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
    with Context():
        Place.objects.get(pk=restaurant.pk).delete()
    assert state_at(Restaurant, restaurant.pk) is None
    assert state_at(Place, restaurant.pk) is None


def test_a_child_deleted_with_its_parent_row_ends_the_parents_history():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)
    with Context():
        Restaurant.objects.get(pk=restaurant.pk).delete()
    deleted = latest_revision()

    [delta] = deleted.object_deltas.all()
    assert {a.field_name for a in delta.attribute_deltas.all()} == {
        "name",
        "serves_pizza",
    }
    assert state_at(Place, restaurant.pk) is None
    assert rows_as_of(Place, deleted) == []


def test_a_change_through_the_parent_after_the_child_row_went_is_no_child_row():
    """delete(keep_parents=True) removes the Restaurant row and keeps the
    Place row, which may be saved again: the Restaurant stays gone."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
    with Context():
        Restaurant.objects.get(pk=restaurant.pk).delete(keep_parents=True)
    renamed = _rename_through_the_parent(restaurant.pk, "Park")

    assert state_at(Restaurant, restaurant.pk) is None
    assert rows_as_of(Restaurant, renamed) == []


def test_a_child_deleted_with_keep_parents_leaves_the_parent_row():
    """The delete records the Restaurant's own fields only: the Place row,
    with its name, is still there, and restoring the Restaurant puts back
    the child row on it."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)
    created = latest_revision()
    with Context():
        Restaurant.objects.get(pk=restaurant.pk).delete(keep_parents=True)
    deleted = latest_revision()

    [delta] = deleted.object_deltas.all()
    assert (delta.action, delta.content_type) == (
        ObjectDelta.ACTION_DELETE,
        ct(Restaurant),
    )
    assert [(a.field_name, a.old_value) for a in delta.attribute_deltas.all()] == [
        ("serves_pizza", True)
    ]
    place = state_at(Place, restaurant.pk)
    assert type(place) is Place and place.name == "Luigi's"
    assert [p.name for p in rows_as_of(Place, deleted)] == ["Luigi's"]
    assert diff(Place, restaurant.pk, created, deleted) == []
    assert state_at(Restaurant, restaurant.pk) is None

    restore(Restaurant, restaurant.pk, created)
    restored = Restaurant.objects.get(pk=restaurant.pk)
    assert (restored.name, restored.serves_pizza) == ("Luigi's", True)
    assert Place.objects.count() == 1


def test_reverting_a_delete_with_keep_parents_puts_the_child_row_back():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)
    with Context():
        Restaurant.objects.get(pk=restaurant.pk).delete(keep_parents=True)

    latest_revision().revert()

    restored = Restaurant.objects.get(pk=restaurant.pk)
    assert (restored.name, restored.serves_pizza) == ("Luigi's", True)
    assert Place.objects.count() == 1
    state = state_at(Restaurant, restaurant.pk)
    assert (state.name, state.serves_pizza) == ("Luigi's", True)


# A revert conflicts with later changes saved through the other model ----------


def test_a_later_change_through_the_parent_conflicts_with_a_revert_of_the_child():
    with Context():
        restaurant = Restaurant.objects.create(name="A")
    with Context():
        restaurant.name = "B"
        restaurant.save()
    renamed = latest_revision()
    later = _rename_through_the_parent(restaurant.pk, "C")

    with pytest.raises(RevertConflict) as raised:
        renamed.revert()
    [conflict] = raised.value.conflicts
    assert (conflict.model, conflict.field, conflict.revision) == (Place, "name", later)
    assert Place.objects.get(pk=restaurant.pk).name == "C"


def test_a_later_change_through_the_child_conflicts_with_a_revert_of_the_parent():
    """A later revision that changed what a revert would undo is a conflict,
    whichever model of a multi-table row saved it: reverting a rename saved
    through the Place must not silently undo a later rename saved through
    the Restaurant."""
    with Context():
        restaurant = Restaurant.objects.create(name="A")
    with Context():
        place = Place.objects.get(pk=restaurant.pk)
        place.name = "B"
        place.save()
    renamed = latest_revision()
    with Context():
        restaurant = Restaurant.objects.get(pk=restaurant.pk)
        restaurant.name = "C"
        restaurant.save()

    with pytest.raises(RevertConflict):
        renamed.revert()
    assert Place.objects.get(pk=restaurant.pk).name == "C"
