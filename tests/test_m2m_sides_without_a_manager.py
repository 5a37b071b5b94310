"""A side of a many-to-many relation that has no manager of its own still
records its changes.

- A symmetrical relation (``ManyToManyField("self")``): ``a.friends.add(b)``
  makes ``b`` a friend of ``a`` and ``a`` one of ``b``, and Django writes a
  through row each way. Both objects' histories show it, for ``add``,
  ``remove``, ``clear`` and a delete of either, and the history's members
  match the rows at every step; through an automatic through table, and
  through a tracked through model, whose rows record their own creates and
  deletes too.
- A relation whose other side is hidden (``related_name="+"``): deleting a
  member takes it out of the owners' relation, and the owners' histories
  show it.

Models: Person.friends, and Pal.friends through Palship (symmetrical),
Annotated.tags -> Tag (no accessor on Tag). Every behaviour runs with the
database writing the history and with Python writing it.
"""

import pytest

from revy import Context
from revy.contrib.django import history
from tests.helpers import CREATE, DELETE, UPDATE, ObjectDelta, Revision
from tests.testapp.models import Annotated, Pal, Palship, Person, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[True, False], ids=["by_sql", "in_python"])
def history_in_sql(request, settings):
    settings.REVY_HISTORY_IN_SQL = request.param


def recorded_changes(obj):
    """``[(action, {field name: (old, new)})]`` recorded for ``obj`` in the
    last revision."""
    last = Revision.objects.latest()
    return [
        (
            delta.action,
            {
                a.field_name: (a.old_value, a.new_value)
                for a in delta.attribute_deltas.all()
            },
        )
        for delta in ObjectDelta.objects.for_object(obj)
        if delta.revision_id == last.pk
    ]


def friends_of(person):
    return set(person.friends.values_list("pk", flat=True))


@pytest.fixture(params=[Person, Pal], ids=["automatic_through", "through_model"])
def people(request):
    """Ann, Bo and Cy, created in a revision, none friends yet."""
    with Context():
        return [request.param.objects.create(name=name) for name in ("Ann", "Bo", "Cy")]


def assert_history_matches_the_rows(people):
    for person in people:
        assert history.members_as_of(person, "friends") == friends_of(person)


def test_add_records_both_ends_of_a_symmetrical_relation(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo, cy)
    assert recorded_changes(ann) == [
        (UPDATE, {"friends": ([], sorted([bo.pk, cy.pk]))})
    ]
    assert recorded_changes(bo) == [(UPDATE, {"friends": ([], [ann.pk])})]
    assert recorded_changes(cy) == [(UPDATE, {"friends": ([], [ann.pk])})]
    assert_history_matches_the_rows(people)


def test_adding_existing_friends_records_nothing(people):
    ann, bo, _ = people
    with Context():
        ann.friends.add(bo)
    latest = Revision.objects.latest()
    with Context():
        bo.friends.add(ann)
    assert Revision.objects.latest() == latest
    assert_history_matches_the_rows(people)


def test_remove_from_either_end_records_both(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo, cy)
    with Context():
        bo.friends.remove(ann)
    assert recorded_changes(bo) == [(UPDATE, {"friends": ([ann.pk], [])})]
    assert recorded_changes(ann) == [(UPDATE, {"friends": ([bo.pk], [])})]
    assert recorded_changes(cy) == []
    assert_history_matches_the_rows(people)


def test_clear_records_every_friend_losing_the_cleared_one(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo, cy)
        bo.friends.add(cy)
    with Context():
        ann.friends.clear()
    assert recorded_changes(ann) == [
        (UPDATE, {"friends": (sorted([bo.pk, cy.pk]), [])})
    ]
    assert recorded_changes(bo) == [(UPDATE, {"friends": ([ann.pk], [])})]
    assert recorded_changes(cy) == [(UPDATE, {"friends": ([ann.pk], [])})]
    assert friends_of(bo) == {cy.pk}
    assert_history_matches_the_rows(people)


def test_set_records_both_ends(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo)
    with Context():
        ann.friends.set([cy])
    assert recorded_changes(ann) == [
        (UPDATE, {"friends": ([bo.pk], [])}),
        (UPDATE, {"friends": ([], [cy.pk])}),
    ]
    assert recorded_changes(bo) == [(UPDATE, {"friends": ([ann.pk], [])})]
    assert recorded_changes(cy) == [(UPDATE, {"friends": ([], [ann.pk])})]
    assert_history_matches_the_rows(people)


def test_deleting_a_friend_records_the_others_losing_it(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo, cy)
    ann_pk = ann.pk
    with Context():
        ann.delete()
    (deleted,) = ObjectDelta.objects.for_key(type(ann), ann_pk).filter(action=DELETE)
    assert deleted.attribute_deltas.get(field_name="friends").old_value == sorted(
        [bo.pk, cy.pk]
    )
    for friend in (bo, cy):
        assert recorded_changes(friend) == [(UPDATE, {"friends": ([ann_pk], [])})]
        assert (
            ObjectDelta.objects.for_object(friend).order_by("pk").last().cause
            == deleted
        )
    assert_history_matches_the_rows([bo, cy])


def test_reverting_the_delete_of_a_friend_gives_both_ends_back(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo, cy)
    with Context():
        ann.delete()
    Revision.objects.latest().revert()
    ann = type(ann).objects.get(name="Ann")
    assert friends_of(ann) == {bo.pk, cy.pk}
    assert friends_of(bo) == {ann.pk}
    assert friends_of(cy) == {ann.pk}


def test_reverting_a_clear_gives_both_ends_back_and_records_them(people):
    ann, bo, cy = people
    with Context():
        ann.friends.add(bo, cy)
    with Context():
        ann.friends.clear()
    Revision.objects.latest().revert()
    assert friends_of(ann) == {bo.pk, cy.pk}
    assert friends_of(bo) == {ann.pk}
    assert_history_matches_the_rows(people)


def test_a_through_model_s_rows_each_way_record_their_own_changes():
    with Context():
        ann, bo = Pal.objects.create(name="Ann"), Pal.objects.create(name="Bo")
    with Context():
        ann.friends.add(bo)
    added = Revision.objects.latest()
    with Context():
        bo.friends.remove(ann)
    removed = Revision.objects.latest()
    rows = ObjectDelta.objects.for_rows_of(Palship)
    for revision, action, value in (
        (added, CREATE, "new_value"),
        (removed, DELETE, "old_value"),
    ):
        ends = [
            tuple(
                getattr(delta.attribute_deltas.get(field_name=name), value)
                for name in ("from_pal", "to_pal")
            )
            for delta in rows.filter(revision=revision, action=action)
        ]
        assert sorted(ends) == sorted([(ann.pk, bo.pk), (bo.pk, ann.pk)])
    assert history.members_as_of(ann, "friends") == set()
    assert history.members_as_of(bo, "friends", added) == {ann.pk}


def test_deleting_a_member_of_a_relation_hidden_on_its_side_records_the_owners():
    with Context():
        tag, kept = Tag.objects.create(name="gone"), Tag.objects.create(name="kept")
        owner = Annotated.objects.create(name="x")
        owner.tags.add(tag, kept)
    tag_pk = tag.pk
    with Context():
        tag.delete()
    assert recorded_changes(owner) == [(UPDATE, {"tags": ([tag_pk], [])})]
    (deleted,) = ObjectDelta.objects.for_key(Tag, tag_pk).filter(action=DELETE)
    assert ObjectDelta.objects.for_object(owner).order_by("pk").last().cause == deleted
    assert history.members_as_of(owner, "tags") == {kept.pk}
