"""manage.py revy_baseline records, once, the state of every live row that
history does not know yet: rows with history are left alone, the parent row
of a multi-table child too (the child's history holds it), while a row made
again after its recorded delete gets a baseline. Labels name the models to
record (a proxy records its concrete model; a misspelt or untracked label is
an error); models the database routers keep off the database are skipped.

That a baselined row's snapshot knows every field, that rows with history
are left alone and that a second run adds nothing are tested in
test_snapshot.py, on the rows of every field type kept there; that reverting
a baseline changes nothing, in test_revert.py.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from revy import Context
from revy.contrib.django import history
from tests.helpers import ObjectDelta, ct, history_counts, run_baseline
from tests.testapp.models import (
    Comment,
    Counter,
    EveryField,
    Place,
    Restaurant,
    Untracked,
)

pytestmark = pytest.mark.django_db


# revy_baseline and multi-table inheritance -----------------------------------


def test_baseline_leaves_alone_the_parent_row_of_a_child_with_history():
    """A multi-table child is recorded as one object under the child's
    content type; its parent row has that history already. The baseline of
    the parent model must not record it again as a Place."""
    with Context():
        restaurant = Restaurant.objects.create(name="Chez", serves_pizza=True)
    run_baseline("testapp.Place")
    assert not ObjectDelta.objects.filter(
        content_type=ct(Place), content_id=str(restaurant.pk)
    ).exists()


def test_deleting_a_baselined_child_leaves_no_live_parent_in_history():
    """After a baseline, deleting a restaurant (recorded as the Restaurant)
    leaves no Place that history says still exists."""
    with Context.as_disabled():
        restaurant = Restaurant.objects.create(name="Chez", serves_pizza=True)
    pk = restaurant.pk
    run_baseline()
    with Context():
        restaurant.delete()
    assert not Place.objects.filter(pk=pk).exists()
    assert history.state_at(Place, pk) is None
    assert [p.pk for p in history.rows_as_of(Place, None)] == []


# revy_baseline labels --------------------------------------------------------


def test_revy_baseline_of_one_model_records_only_that_model():
    """A label limits the baseline to the model it names."""
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


def test_baseline_with_a_misspelt_label_among_good_ones_is_an_error():
    with Context.as_disabled():
        Counter.objects.create(value=1)
    with pytest.raises(CommandError, match="Countr"):
        run_baseline("testapp.Counter", "testapp.Countr")


def test_baseline_naming_an_untracked_model_among_tracked_ones_is_an_error():
    with Context.as_disabled():
        Untracked.objects.create(name="x")
        Counter.objects.create(value=1)
    with pytest.raises(CommandError, match="Untracked"):
        run_baseline("testapp.Counter", "testapp.Untracked")


def test_baseline_of_a_proxy_records_its_concrete_model():
    """Proxies are recorded as their concrete model (docs/capture.md)."""
    with Context.as_disabled():
        comment = Comment.objects.create(text="hi")
    run_baseline("testapp.SpamComment")
    assert ObjectDelta.objects.for_object(comment).count() == 1


# revy_baseline and database routers ------------------------------------------


class NoCounterHere:
    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if model_name == "counter":
            return False
        return None


@override_settings(
    DATABASE_ROUTERS=[f"{__name__}.NoCounterHere"],
)
def test_baseline_skips_models_the_router_keeps_off_the_database():
    """As dumpdata and flush do, revy_baseline skips a model the routers keep
    off the database."""
    with Context.as_disabled():
        Counter.objects.create(value=1)
    output = run_baseline()
    assert "testapp.Counter" not in output
    assert not ObjectDelta.objects.filter(content_type=ct(Counter)).exists()


# Checks ----------------------------------------------------------------------


# Rows whose history ended with their delete ---------------------------------


def test_revy_baseline_records_a_row_recreated_after_its_recorded_delete():
    """After revy_baseline, every live row has a known state: a row deleted
    (recorded), then re-created with the same key while tracking was off,
    gets a baseline; state_at() and rows_as_of() do not call it gone."""
    with Context():
        comment = Comment.objects.create(text="old")
    pk = comment.pk
    with Context():
        comment.delete()
    with Context.as_disabled():
        Comment.objects.create(pk=pk, text="new")

    call_command("revy_baseline", "testapp.Comment", stdout=None)

    state = history.state_at(Comment, pk)
    assert state is not None and state.text == "new"
