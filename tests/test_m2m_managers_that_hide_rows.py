"""A many-to-many removal through managers that hide rows records what Django
takes out, no more.

Django's related managers ``remove`` and ``clear`` only the members the
members' default manager shows, and only the through rows the through
model's default manager shows: a soft-deleted member stays in the relation.
revy records exactly those members, on both sides, whether the database
writes the history or Python does. Models: Wearer.badges <-> Badge.wearers
through Pin, each with a default manager that hides the rows marked hidden.
"""

import pytest

from revy import Context
from tests.helpers import UPDATE, ObjectDelta
from tests.testapp.models import Badge, Pin, Wearer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[True, False], ids=["by_sql", "in_python"])
def history_in_sql(request, settings):
    settings.REVY_HISTORY_IN_SQL = request.param


def recorded_changes(obj):
    """``[(action, {field name: (old, new)})]`` recorded for ``obj``."""
    return [
        (
            delta.action,
            {
                a.field_name: (a.old_value, a.new_value)
                for a in delta.attribute_deltas.all()
            },
        )
        for delta in ObjectDelta.objects.for_object(obj)
    ]


@pytest.fixture
def badge():
    """Four badges by name: ``shown``, ``also_shown``, ``hidden`` (a hidden
    badge) and ``hidden_pin`` (a shown badge, pinned by a hidden pin)."""
    return {
        name: Badge.objects.create(name=name, hidden=name == "hidden")
        for name in ("shown", "also_shown", "hidden", "hidden_pin")
    }


@pytest.fixture
def wearer(badge):
    """The wearer of every badge."""
    wearer = Wearer.objects.create(name="w")
    for name, each in badge.items():
        Pin.objects.create(wearer=wearer, badge=each, hidden=name == "hidden_pin")
    return wearer


def pinned(wearer):
    """The badges of ``wearer``'s through rows, hidden ones included."""
    return set(
        Pin._base_manager.filter(wearer=wearer).values_list("badge__name", flat=True)
    )


def test_clear_records_only_the_members_django_takes_out(wearer, badge):
    shown, also_shown = badge["shown"], badge["also_shown"]
    with Context():
        wearer.badges.clear()
    assert pinned(wearer) == {"hidden", "hidden_pin"}
    assert recorded_changes(wearer) == [
        (UPDATE, {"badges": (sorted([shown.pk, also_shown.pk]), [])})
    ]
    assert recorded_changes(shown) == [(UPDATE, {"wearers": ([wearer.pk], [])})]
    assert recorded_changes(also_shown) == [(UPDATE, {"wearers": ([wearer.pk], [])})]
    assert recorded_changes(badge["hidden"]) == []
    assert recorded_changes(badge["hidden_pin"]) == []


def test_remove_records_only_the_members_django_takes_out(wearer, badge):
    shown, hidden = badge["shown"], badge["hidden"]
    with Context():
        wearer.badges.remove(shown.pk, hidden.pk, badge["hidden_pin"].pk)
    assert pinned(wearer) == {"also_shown", "hidden", "hidden_pin"}
    assert recorded_changes(wearer) == [(UPDATE, {"badges": ([shown.pk], [])})]
    assert recorded_changes(shown) == [(UPDATE, {"wearers": ([wearer.pk], [])})]
    assert recorded_changes(hidden) == []
    assert recorded_changes(badge["hidden_pin"]) == []


def test_removing_only_hidden_members_records_nothing(wearer, badge):
    hidden, hidden_pin = badge["hidden"], badge["hidden_pin"]
    with Context():
        wearer.badges.remove(hidden, hidden_pin)
    assert pinned(wearer) == {"shown", "also_shown", "hidden", "hidden_pin"}
    assert not ObjectDelta.objects.exists()


def test_clear_from_the_reverse_side_keeps_hidden_owners_unrecorded(wearer, badge):
    shown = badge["shown"]
    hidden_wearer = Wearer.objects.create(name="h", hidden=True)
    Pin.objects.create(wearer=hidden_wearer, badge=shown)
    with Context():
        shown.wearers.clear()
    assert set(
        Pin._base_manager.filter(badge=shown).values_list("wearer", flat=True)
    ) == {hidden_wearer.pk}
    assert recorded_changes(shown) == [(UPDATE, {"wearers": ([wearer.pk], [])})]
    assert recorded_changes(wearer) == [(UPDATE, {"badges": ([shown.pk], [])})]
    assert recorded_changes(hidden_wearer) == []


def test_set_records_the_members_django_replaces(wearer, badge):
    shown, also_shown = badge["shown"], badge["also_shown"]
    new = Badge.objects.create(name="new")
    with Context():
        wearer.badges.set([also_shown, new])
    assert pinned(wearer) == {"also_shown", "hidden", "hidden_pin", "new"}
    assert recorded_changes(wearer) == [
        (UPDATE, {"badges": ([shown.pk], [])}),
        (UPDATE, {"badges": ([], [new.pk])}),
    ]
    assert recorded_changes(badge["hidden"]) == []
