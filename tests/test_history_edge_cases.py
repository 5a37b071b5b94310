"""History reads: baseline reverts, naive points, proxies, rows older than
tracking and unknown relations."""

import datetime
import time
import warnings

import pytest
from django.core.management import call_command
from django.utils import timezone

from revy import Context
from revy.contrib.django import history as h
from tests.helpers import ObjectDelta, User, ct, forget_field, latest_revision
from tests.testapp.models import (
    Album,
    Article,
    Category,
    CodeItem,
    Comment,
    Counter,
    EveryField,
    Photo,
    Place,
    Post,
    Restaurant,
    SpamComment,
    Tag,
    Task,
)

pytestmark = pytest.mark.django_db


# revert() -----------------------------------------------------------------------


def test_reverting_a_baseline_is_no_conflict_with_later_changes():
    """docs/history.md: "Reverting a baseline revision changes nothing." It
    cannot undo anything, so later changes cannot conflict with it."""
    with Context.as_disabled():
        counter = Counter.objects.create(value=1)
    call_command("revy_baseline", "testapp.Counter", stdout=None)
    baseline = latest_revision()
    with Context():
        counter.value = 2
        counter.save()

    baseline.revert()  # RevertConflict: "value was changed later in revision N"

    counter.refresh_from_db()
    assert counter.value == 2


# Points in time -------------------------------------------------------------------


def test_diff_takes_a_naive_datetime_as_state_at_does():
    """diff() takes a naive datetime as state_at() does: read in the current
    time zone, without the warning Django's lookups give for naive values."""
    with Context():
        counter = Counter.objects.create(value=1)
    with Context():
        counter.value = 2
        counter.save()
    later = timezone.make_naive(timezone.now()) + datetime.timedelta(hours=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert h.state_at(Counter, counter.pk, later).value == 2
        found = h.diff(Counter, counter.pk, None, later)
    assert [(c.field, c.old, c.new) for c in found] == [("value", None, 2)]


# Proxies ------------------------------------------------------------------------------


def test_state_at_and_rows_as_of_a_proxy_model_give_proxy_instances():
    with Context():
        comment = SpamComment.objects.create(text="buy now")
    created = latest_revision()

    assert type(SpamComment.objects.get(pk=comment.pk)) is SpamComment
    assert type(h.state_at(SpamComment, comment.pk)) is SpamComment  # Comment
    assert [type(r) for r in h.rows_as_of(SpamComment, created)] == [SpamComment]


# Rows older than tracking ---------------------------------------------------------


def test_restore_a_deleted_row_older_than_tracking():
    """A field history saw only when the row was deleted had, at any point
    before, the old value that delete recorded: restore() brings it back."""
    with Context.as_disabled():
        comment = Comment.objects.create(text="old", is_marked_as_spam=True)
    pk = comment.pk
    with Context():
        comment.text = "new"
        comment.save()
    edited = latest_revision()
    with Context():
        comment.delete()

    h.restore(Comment, pk, edited)  # Comment.DoesNotExist

    restored = Comment.objects.get(pk=pk)
    assert (restored.text, restored.is_marked_as_spam) == ("new", True)


# members_as_of() ------------------------------------------------------------------


def test_members_as_of_an_unknown_relation_is_an_error_even_without_members():
    with Context():
        article = Article.objects.create(title="a")
    with pytest.raises(ValueError):
        h.members_as_of(article, "tagz")  # returns set()


# Multi-table inheritance: one row, saved through either model ---------------


def test_a_change_saved_through_the_child_shows_in_the_parents_history():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
    with Context():
        restaurant.name = "Mario's"
        restaurant.save()
    state = h.state_at(Place, restaurant.pk)
    assert type(state) is Place and state.name == "Mario's"
    created = ObjectDelta.objects.earliest("pk")
    [change] = h.diff(Place, restaurant.pk, created)
    assert (change.field, change.old, change.new) == ("name", "Luigi's", "Mario's")


def test_a_row_deleted_through_the_parent_is_gone_for_the_child():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
    with Context():
        Place.objects.get(pk=restaurant.pk).delete()
    assert h.state_at(Restaurant, restaurant.pk) is None
    assert h.state_at(Place, restaurant.pk) is None


def _rename_through_the_parent(pk, name):
    with Context():
        place = Place.objects.get(pk=pk)
        place.name = name
        place.save()
    return latest_revision()


def test_a_change_saved_through_the_parent_shows_in_the_childs_history():
    """The admin of Place saves a Restaurant's row through a Place instance:
    the Restaurant's history, states, rows and diffs show the new name."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)
    created = latest_revision()
    renamed = _rename_through_the_parent(restaurant.pk, "Mario's")

    state = h.state_at(Restaurant, restaurant.pk)
    assert type(state) is Restaurant
    assert (state.name, state.serves_pizza) == ("Mario's", True)
    assert h.state_at(Restaurant, restaurant.pk, created).name == "Luigi's"
    assert [r.name for r in h.rows_as_of(Restaurant, renamed)] == ["Mario's"]
    assert [r.name for r in h.rows_as_of(Restaurant, created)] == ["Luigi's"]
    [change] = h.diff(Restaurant, restaurant.pk, created)
    assert (change.field, change.old, change.new) == ("name", "Luigi's", "Mario's")
    assert [d.revision for d in h.history(restaurant)] == [renamed, created]
    assert [c.new for c in h.changes(restaurant)] == ["Luigi's", True, "Mario's"]


def test_a_plain_parent_row_saved_through_the_parent_is_no_child_row():
    with Context():
        place = Place.objects.create(name="Park")
    renamed = _rename_through_the_parent(place.pk, "Garden")

    assert h.state_at(Restaurant, place.pk) is None
    assert h.rows_as_of(Restaurant, renamed) == []
    assert h.diff(Restaurant, place.pk, None) == []


def test_a_change_through_the_parent_after_the_child_row_went_is_no_child_row():
    """delete(keep_parents=True) removes the Restaurant row and keeps the
    Place row, which may be saved again: the Restaurant stays gone."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
    with Context():
        Restaurant.objects.get(pk=restaurant.pk).delete(keep_parents=True)
    renamed = _rename_through_the_parent(restaurant.pk, "Park")

    assert h.state_at(Restaurant, restaurant.pk) is None
    assert h.rows_as_of(Restaurant, renamed) == []


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
    place = h.state_at(Place, restaurant.pk)
    assert type(place) is Place and place.name == "Luigi's"
    assert [p.name for p in h.rows_as_of(Place, deleted)] == ["Luigi's"]
    assert h.diff(Place, restaurant.pk, created, deleted) == []
    assert h.state_at(Restaurant, restaurant.pk) is None

    h.restore(Restaurant, restaurant.pk, created)
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
    state = h.state_at(Restaurant, restaurant.pk)
    assert (state.name, state.serves_pizza) == ("Luigi's", True)


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
    assert h.state_at(Place, restaurant.pk) is None
    assert h.rows_as_of(Place, deleted) == []


def test_a_later_change_through_the_parent_conflicts_with_a_revert_of_the_child():
    with Context():
        restaurant = Restaurant.objects.create(name="A")
    with Context():
        restaurant.name = "B"
        restaurant.save()
    renamed = latest_revision()
    later = _rename_through_the_parent(restaurant.pk, "C")

    with pytest.raises(h.RevertConflict) as raised:
        renamed.revert()
    [conflict] = raised.value.conflicts
    assert (conflict.model, conflict.field, conflict.revision) == (Place, "name", later)
    assert Place.objects.get(pk=restaurant.pk).name == "C"


# Reverting a create that later rows depend on ------------------------------------


def test_reverting_a_create_that_later_rows_point_at_is_a_conflict():
    with Context():
        album = Album.objects.create(title="Holidays")
    created = latest_revision()
    with Context():
        photo = Photo.objects.create(album=album, caption="Beach")
    later = latest_revision()
    with pytest.raises(h.RevertConflict) as raised:
        created.revert()
    assert [
        (c.model, str(c.pk), c.field, c.revision) for c in raised.value.conflicts
    ] == [(Photo, str(photo.pk), "album", later)]
    assert "Photo" in str(raised.value)
    # Nothing was deleted: the photo is not lost by a revert of the album.
    assert Photo.objects.filter(pk=photo.pk).exists()
    assert Album.objects.filter(pk=album.pk).exists()
    created.revert(overwrite=True)
    assert not Album.objects.exists() and not Photo.objects.exists()


def test_reverting_a_create_with_what_the_same_revision_made_is_no_conflict():
    with Context():
        album = Album.objects.create(title="Holidays")
        Photo.objects.create(album=album, caption="Beach")
    latest_revision().revert()
    assert not Album.objects.exists() and not Photo.objects.exists()


def test_an_untracked_row_pointing_at_a_created_row_is_a_conflict():
    with Context():
        user = User.objects.create(username="author")
    with Context.as_disabled():
        post = Post.objects.create(author=user, title="not recorded")
    with pytest.raises(h.RevertConflict) as raised:
        latest_revision().revert()
    [conflict] = raised.value.conflicts
    assert (conflict.model, str(conflict.pk), conflict.field) == (
        Post,
        str(post.pk),
        "author",
    )
    assert conflict.revision is None
    assert "no recorded revision" in str(conflict)
    assert Post.objects.filter(pk=post.pk).exists()


def test_reverting_a_create_with_its_memberships_of_the_same_revision():
    with Context():
        tag = Tag.objects.create(name="new")
        article = Article.objects.create(title="A")
        article.tags.add(tag)
    latest_revision().revert()
    assert not Tag.objects.exists() and not Article.objects.exists()


def test_reverting_a_create_that_later_joined_a_relation_is_a_conflict():
    with Context():
        tag = Tag.objects.create(name="new")
    created = latest_revision()
    with Context():
        Article.objects.create(title="A").tags.add(tag)
    with pytest.raises(h.RevertConflict):
        created.revert()
    assert Article.objects.get().tags.get() == tag


def test_state_at_of_a_child_model_is_none_for_a_plain_parent_row():
    """state_at() is None when the row did not exist: a plain Place is no
    Restaurant, so state_at(Restaurant, its pk) is None, as
    Restaurant.objects.filter(pk=...) is empty."""
    with Context():
        place = Place.objects.create(name="Park")
    assert not Restaurant.objects.filter(pk=place.pk).exists()

    assert h.state_at(Restaurant, place.pk) is None


def test_rows_as_of_a_parent_model_includes_rows_created_through_the_child():
    """A Restaurant's row is a Place row too, so rows_as_of(Place, at) lists
    it, as Place.objects.all() does."""
    with Context():
        Place.objects.create(name="Park")
        Restaurant.objects.create(name="Luigi's")
    at = latest_revision()

    names = sorted(row.name for row in h.rows_as_of(Place, at))
    assert names == sorted(Place.objects.values_list("name", flat=True))


def test_a_naive_point_is_read_in_the_current_time_zone():
    """docs/history.md: a naive datetime point "is read in the current time
    zone". With UTC active (the default zone is Europe/Istanbul), a naive UTC
    time between two revisions is a point between them."""
    with Context():
        counter = Counter.objects.create(value=1)
    time.sleep(0.01)
    with timezone.override(datetime.UTC):
        between = timezone.make_naive(timezone.now())
        time.sleep(0.01)
        with Context():
            counter.value = 2
            counter.save()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            state = h.state_at(Counter, counter.pk, between)
    assert state is not None and state.value == 1


def test_a_child_snapshot_from_full_history_has_no_deferred_field():
    """docs/history.md: get_deferred_fields() names the fields history never
    saw. A Restaurant whose every field was recorded has none; its parent's
    primary key, the same value as its own, is not one."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's", serves_pizza=True)

    state = h.state_at(Restaurant, restaurant.pk)

    assert state.get_deferred_fields() == set()


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

    with pytest.raises(h.RevertConflict):
        renamed.revert()
    assert Place.objects.get(pk=restaurant.pk).name == "C"


def test_restore_of_a_deleted_row_takes_the_default_of_a_field_added_later():
    """A row deleted before a field with a default was added has no value of
    it in history: restoring the row re-creates it with the field's default
    (as a migration adding the field gave the rows then present)."""
    with Context():
        comment = Comment.objects.create(text="hello")
    created = latest_revision()
    pk = comment.pk
    with Context():
        comment.delete()
    forget_field(Comment, pk, "is_marked_as_spam")

    h.restore(Comment, pk, created)

    restored = Comment.objects.get(pk=pk)
    assert (restored.text, restored.is_marked_as_spam) == ("hello", False)


def test_revert_of_a_delete_takes_the_default_of_a_field_added_later():
    """Reverting the delete of a row deleted before a field with a default
    was added re-creates it with that default."""
    with Context():
        comment = Comment.objects.create(text="hello")
    pk = comment.pk
    with Context():
        comment.delete()
    deleted = latest_revision()
    forget_field(Comment, pk, "is_marked_as_spam")

    deleted.revert()

    restored = Comment.objects.get(pk=pk)
    assert (restored.text, restored.is_marked_as_spam) == ("hello", False)


def test_revert_recreates_the_row_a_foreign_key_to_the_parent_model_points_at_first():
    """docs/history.md: revert() re-creates what the revision deleted
    "parents before the children", so that every foreign key points at an
    existing row when it is inserted (MariaDB checks at once). A key to
    Place pointing at a deleted Restaurant's row counts too."""
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi's")
        row = EveryField.objects.create(one=restaurant.place_ptr)
    row_pk, restaurant_pk = row.pk, restaurant.pk
    with Context():
        row.delete()
        restaurant.delete()

    revert = latest_revision().revert()  # MariaDB: IntegrityError

    assert [d.content_type.model for d in revert.object_deltas.order_by("pk")] == [
        "restaurant",
        "everyfield",
    ]
    assert EveryField.objects.get(pk=row_pk).one_id == restaurant_pk


def test_state_at_before_the_delete_of_a_row_with_only_a_key():
    """A Category (its key is its only field) created in a context existed
    until it was deleted: state_at a point before the delete gives it (and
    the delete has a create to revert to)."""
    for code in ("general", "archive"):
        Category.objects.create(code=code)
    with Context():
        Category.objects.create(code="x")
        Task.objects.create(title="t", category_id="x")
    created = latest_revision()
    with Context():
        Category.objects.get(code="x").delete()
    assert h.state_at(Category, "x", at=created) is not None


def test_revert_of_a_delete_and_recreate_with_the_same_key_brings_the_old_row_back():
    """revert() undoes a whole revision: one that deleted a row and created a
    new one with the same key leaves, once reverted, the row as it stood
    before it."""
    with Context():
        counter = Counter.objects.create(value=1)
    pk = counter.pk
    with Context():
        counter.delete()
        Counter.objects.create(pk=pk, value=99)
    replaced = latest_revision()

    replaced.revert()

    assert Counter.objects.get(pk=pk).value == 1


def test_revert_of_a_delete_then_re_create_of_the_same_key():
    """A revision that deleted a row and created another with the same key
    changed that row; reverting it puts the row back as it was before."""
    with Context():
        CodeItem.objects.create(code="a", name="old")
    with Context():
        CodeItem.objects.get(code="a").delete()
        CodeItem.objects.create(code="a", name="new")
    latest_revision().revert()
    assert CodeItem.objects.get(code="a").name == "old"


def test_a_row_recreated_untracked_does_not_take_values_of_its_previous_life():
    """A row deleted, then re-created with the same key while tracking was
    off, then changed: fields history never saw in its new life read the
    live value, not the one the deleted row had."""
    with Context():
        comment = Comment.objects.create(text="old", is_marked_as_spam=True)
    pk = comment.pk
    with Context():
        comment.delete()
    with Context.as_disabled():
        comment = Comment.objects.create(pk=pk, text="new", is_marked_as_spam=False)
    with Context():
        comment.text = "newer"
        comment.save()

    state = h.state_at(Comment, pk)
    assert (state.text, state.is_marked_as_spam) == ("newer", False)
