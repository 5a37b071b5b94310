"""Many-to-many changes: issue 4, "Many-to-many".

``add``, ``remove``, ``clear`` and ``set``, from the forward and the reverse
side, are recorded per operation and side: the object whose manager was used
gets one update delta with one attribute delta, named after that side's
accessor, whose ``old_value`` lists the ids removed and ``new_value`` the ids
added (sorted); every object on the other side whose relation changed gets
one too. Deleting an object records the memberships it ends, on both sides,
and a revert of that delete gives them back. Models: Article.tags <->
Tag.articles and Organization.members <-> User.organizations (automatic
through tables), Team.players <-> Player.teams through Membership (UUID keys
for players).

History is read through the models in use, so the suite runs unchanged with
REVY_TEST_SWAPPED=1.
"""

import pytest
from django.db import transaction

from revy import Context
from revy.contrib.django import history
from tests.helpers import (
    CREATE,
    DELETE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    User,
    nothing_recorded,
)
from tests.testapp.models import Article, Membership, Organization, Player, Tag, Team

pytestmark = pytest.mark.django_db


# Helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True, params=[True, False], ids=["members_by_sql", "in_python"])
def members_by_sql(request, settings):
    """Every behaviour with the members' deltas written by the database, and
    by Python (tests/test_m2m_members_written_by_the_database.py)."""
    settings.REVY_HISTORY_IN_SQL = request.param


def recorded_changes(obj):
    """Every change recorded for ``obj``, oldest first:
    ``[(action, {field name: (old, new)})]`` as stored."""
    return [
        (
            delta.action,
            {
                a.field_name: (a.old_value, a.new_value)
                for a in delta.attribute_deltas.order_by("pk")
            },
        )
        for delta in ObjectDelta.objects.for_object(obj)
    ]


@pytest.fixture
def tags():
    return [Tag.objects.create(name=name) for name in ("a", "b", "c", "d")]


@pytest.fixture
def articles():
    return [Article.objects.create(title=title) for title in ("x", "y", "z")]


@pytest.fixture
def players():
    return [Player.objects.create(name=name) for name in ("Ada", "Bo", "Cy")]


@pytest.fixture
def team():
    return Team.objects.create(name="red")


@pytest.fixture
def member():
    """A user made a member of an organisation in a revision of its own; the
    user, the organisation and that revision."""
    with Context():
        user = User.objects.create(username="member")
        organization = Organization.objects.create(name="Acme")
        organization.members.add(user)
    return user, organization, Revision.objects.latest()


def ids(*objs):
    return sorted(obj.pk for obj in objs)


def uuids(*objs):
    return sorted(str(obj.pk) for obj in objs)


# add ---------------------------------------------------------------------------


def test_add_from_the_forward_side(tags, articles):
    a, b, c, _ = tags
    x = articles[0]
    actor = User.objects.create(username="writer")
    with (
        Context.via_actor(actor),
        Context.via_object_delta_description("Tagged."),
        Context.via_attribute_delta_description("By hand."),
    ):
        x.tags.add(b, a)
    assert recorded_changes(x) == [(UPDATE, {"tags": ([], ids(a, b))})]
    assert recorded_changes(a) == [(UPDATE, {"articles": ([], [x.pk])})]
    assert recorded_changes(b) == [(UPDATE, {"articles": ([], [x.pk])})]
    assert recorded_changes(c) == []
    assert set(x.tags.all()) == {a, b}
    revision = Revision.objects.get()
    assert ObjectDelta.objects.count() == 3
    for delta in ObjectDelta.objects.all():
        assert delta.revision == revision
        assert delta.actor == actor
        assert delta.description == "Tagged."
        assert delta.cause is None
        attribute = delta.attribute_deltas.get()
        assert attribute.actor == actor
        assert attribute.description == "By hand."


def test_add_from_the_reverse_side(tags, articles):
    a = tags[0]
    x, y, z = articles
    with Context():
        a.articles.add(z, x)
    assert recorded_changes(a) == [(UPDATE, {"articles": ([], ids(x, z))})]
    assert recorded_changes(x) == [(UPDATE, {"tags": ([], [a.pk])})]
    assert recorded_changes(z) == [(UPDATE, {"tags": ([], [a.pk])})]
    assert recorded_changes(y) == []
    assert set(x.tags.all()) == {a}


def test_add_by_primary_key(tags, articles):
    a, b = tags[:2]
    x = articles[0]
    with Context():
        x.tags.add(a.pk, b.pk)
    assert recorded_changes(x) == [(UPDATE, {"tags": ([], ids(a, b))})]
    assert recorded_changes(a) == [(UPDATE, {"articles": ([], [x.pk])})]


def test_adding_members_already_there_records_only_the_new_ones(tags, articles):
    a, b, c, _ = tags
    x = articles[0]
    x.tags.add(a, b)
    with Context():
        x.tags.add(a)  # already a member: nothing happens
        x.tags.add(b, c)
    assert recorded_changes(x) == [(UPDATE, {"tags": ([], [c.pk])})]
    assert recorded_changes(a) == []
    assert recorded_changes(b) == []
    assert recorded_changes(c) == [(UPDATE, {"articles": ([], [x.pk])})]


def test_adding_only_existing_members_records_nothing(tags, articles):
    x = articles[0]
    x.tags.add(tags[0])
    with Context():
        x.tags.add(tags[0])
        x.tags.add()
    assert nothing_recorded()


# remove --------------------------------------------------------------------------


def test_remove_from_the_forward_side(tags, articles):
    a, b, c, _ = tags
    x, y, _ = articles
    x.tags.add(a, b, c)
    y.tags.add(a)
    with Context():
        x.tags.remove(c, a)
    assert recorded_changes(x) == [(UPDATE, {"tags": (ids(a, c), [])})]
    assert recorded_changes(a) == [(UPDATE, {"articles": ([x.pk], [])})]
    assert recorded_changes(c) == [(UPDATE, {"articles": ([x.pk], [])})]
    assert recorded_changes(b) == []
    assert recorded_changes(y) == []
    assert set(x.tags.all()) == {b}
    assert set(y.tags.all()) == {a}


def test_remove_from_the_reverse_side(tags, articles):
    a, b = tags[:2]
    x, y, z = articles
    a.articles.add(x, y, z)
    b.articles.add(x)
    with Context():
        a.articles.remove(x, y)
    assert recorded_changes(a) == [(UPDATE, {"articles": (ids(x, y), [])})]
    assert recorded_changes(x) == [(UPDATE, {"tags": ([a.pk], [])})]
    assert recorded_changes(y) == [(UPDATE, {"tags": ([a.pk], [])})]
    assert recorded_changes(z) == []
    assert recorded_changes(b) == []


def test_removing_a_non_member_records_nothing(tags, articles):
    a, b = tags[:2]
    x = articles[0]
    x.tags.add(a)
    with Context():
        x.tags.remove(b)
        b.articles.remove(x)
    assert nothing_recorded()


def test_removing_members_and_non_members_records_only_the_members(tags, articles):
    a, b = tags[:2]
    x = articles[0]
    x.tags.add(a)
    with Context():
        x.tags.remove(a, b)
    assert recorded_changes(x) == [(UPDATE, {"tags": ([a.pk], [])})]
    assert recorded_changes(a) == [(UPDATE, {"articles": ([x.pk], [])})]
    assert recorded_changes(b) == []


# clear -------------------------------------------------------------------------


def test_clear_from_the_forward_side(tags, articles):
    a, b, c, _ = tags
    x, y, _ = articles
    x.tags.add(a, b)
    y.tags.add(a, c)
    with Context():
        x.tags.clear()
    assert recorded_changes(x) == [(UPDATE, {"tags": (ids(a, b), [])})]
    assert recorded_changes(a) == [(UPDATE, {"articles": ([x.pk], [])})]
    assert recorded_changes(b) == [(UPDATE, {"articles": ([x.pk], [])})]
    assert recorded_changes(c) == []
    assert recorded_changes(y) == []
    assert set(y.tags.all()) == {a, c}


def test_clear_from_the_reverse_side(tags, articles):
    a = tags[0]
    x, y, z = articles
    a.articles.add(x, z)
    with Context():
        a.articles.clear()
    assert recorded_changes(a) == [(UPDATE, {"articles": (ids(x, z), [])})]
    assert recorded_changes(x) == [(UPDATE, {"tags": ([a.pk], [])})]
    assert recorded_changes(z) == [(UPDATE, {"tags": ([a.pk], [])})]
    assert recorded_changes(y) == []


def test_clearing_an_empty_relation_records_nothing(articles):
    with Context():
        articles[0].tags.clear()
    assert nothing_recorded()


# set ---------------------------------------------------------------------------


def test_set_is_recorded_as_a_remove_then_an_add(tags, articles):
    a, b, c, d = tags
    x = articles[0]
    x.tags.add(a, b, c)
    with Context():
        x.tags.set([b, d, c])
    assert recorded_changes(x) == [
        (UPDATE, {"tags": ([a.pk], [])}),
        (UPDATE, {"tags": ([], [d.pk])}),
    ]
    assert recorded_changes(a) == [(UPDATE, {"articles": ([x.pk], [])})]
    assert recorded_changes(d) == [(UPDATE, {"articles": ([], [x.pk])})]
    assert recorded_changes(b) == []
    assert recorded_changes(c) == []
    assert Revision.objects.count() == 1
    assert set(x.tags.all()) == {b, c, d}


def test_set_from_the_reverse_side(tags, articles):
    a = tags[0]
    x, y, z = articles
    a.articles.add(x)
    with Context():
        a.articles.set([y, z])
    assert recorded_changes(a) == [
        (UPDATE, {"articles": ([x.pk], [])}),
        (UPDATE, {"articles": ([], ids(y, z))}),
    ]
    assert recorded_changes(x) == [(UPDATE, {"tags": ([a.pk], [])})]
    assert recorded_changes(y) == [(UPDATE, {"tags": ([], [a.pk])})]
    assert recorded_changes(z) == [(UPDATE, {"tags": ([], [a.pk])})]


def test_set_with_clear_is_recorded_as_a_clear_then_an_add(tags, articles):
    a, b, c, _ = tags
    x = articles[0]
    x.tags.add(a, b)
    with Context():
        x.tags.set([b, c], clear=True)
    assert recorded_changes(x) == [
        (UPDATE, {"tags": (ids(a, b), [])}),
        (UPDATE, {"tags": ([], ids(b, c))}),
    ]
    assert recorded_changes(b) == [
        (UPDATE, {"articles": ([x.pk], [])}),
        (UPDATE, {"articles": ([], [x.pk])}),
    ]


def test_set_to_the_same_members_records_nothing(tags, articles):
    x = articles[0]
    x.tags.add(*tags[:2])
    with Context():
        x.tags.set(tags[:2])
    assert nothing_recorded()


def test_assigning_through_the_reverse_accessor_set(tags, articles):
    # Django has no direct assignment; set() on the related manager is it.
    a = tags[0]
    x = articles[0]
    with Context():
        a.articles.set([x])
    assert recorded_changes(a) == [(UPDATE, {"articles": ([], [x.pk])})]


# Explicit through model --------------------------------------------------------


def test_add_through_the_manager_with_through_defaults(team, players):
    ada, bo, _ = players
    with Context():
        team.players.add(ada, bo, through_defaults={"role": "captain"})
    # Team and players: the relation, with the players' UUIDs as text.
    assert recorded_changes(team) == [(UPDATE, {"players": ([], uuids(ada, bo))})]
    assert recorded_changes(ada) == [(UPDATE, {"teams": ([], [team.pk])})]
    assert recorded_changes(bo) == [(UPDATE, {"teams": ([], [team.pk])})]
    # The through rows: created, with their own field.
    memberships = list(Membership.objects.order_by("pk"))
    assert len(memberships) == 2
    for membership in memberships:
        assert membership.role == "captain"
        assert recorded_changes(membership) == [
            (
                CREATE,
                {
                    "team": (None, team.pk),
                    "player": (None, str(membership.player_id)),
                    "role": (None, "captain"),
                },
            )
        ]
    assert Revision.objects.count() == 1


def test_add_from_the_reverse_side_of_a_through_model(team, players):
    ada = players[0]
    blue = Team.objects.create(name="blue")
    with Context():
        ada.teams.add(blue, team, through_defaults={"role": "coach"})
    assert recorded_changes(ada) == [(UPDATE, {"teams": ([], ids(team, blue))})]
    assert recorded_changes(team) == [(UPDATE, {"players": ([], [str(ada.pk)])})]
    assert recorded_changes(blue) == [(UPDATE, {"players": ([], [str(ada.pk)])})]
    assert set(Membership.objects.values_list("role", flat=True)) == {"coach"}
    assert ObjectDelta.objects.filter(action=CREATE).count() == 2


def test_creating_a_through_row_directly_is_recorded_as_its_create(team, players):
    ada = players[0]
    with Context():
        membership = Membership.objects.create(team=team, player=ada, role="captain")
    assert recorded_changes(membership) == [
        (
            CREATE,
            {
                "team": (None, team.pk),
                "player": (None, str(ada.pk)),
                "role": (None, "captain"),
            },
        )
    ]
    assert list(team.players.all()) == [ada]


def test_saving_a_through_row_records_its_own_update(team, players):
    ada = players[0]
    membership = Membership.objects.create(team=team, player=ada)
    membership = Membership.objects.get(pk=membership.pk)
    with Context():
        membership.role = "captain"
        membership.save()
    assert recorded_changes(membership) == [(UPDATE, {"role": ("member", "captain")})]


def test_remove_and_clear_with_a_through_model(team, players):
    ada, bo, cy = players
    team.players.add(ada, bo, cy)
    memberships = {m.player_id: m for m in Membership.objects.all()}
    with Context():
        team.players.remove(ada)
        cy.teams.clear()
    assert recorded_changes(team) == [
        (UPDATE, {"players": ([str(ada.pk)], [])}),
        (UPDATE, {"players": ([str(cy.pk)], [])}),
    ]
    assert recorded_changes(ada) == [(UPDATE, {"teams": ([team.pk], [])})]
    assert recorded_changes(cy) == [(UPDATE, {"teams": ([team.pk], [])})]
    assert recorded_changes(bo) == []
    # The through rows removed are recorded as deletes.
    for player in (ada, cy):
        membership = memberships[player.pk]
        deltas = list(ObjectDelta.objects.for_key(Membership, membership.pk))
        assert [d.action for d in deltas] == [DELETE]
    assert not ObjectDelta.objects.for_key(Membership, memberships[bo.pk].pk).exists()
    assert list(team.players.all()) == [bo]


def test_set_with_a_through_model(team, players):
    ada, bo, cy = players
    team.players.add(ada, bo)
    with Context():
        team.players.set([bo, cy], through_defaults={"role": "sub"})
    assert recorded_changes(team) == [
        (UPDATE, {"players": ([str(ada.pk)], [])}),
        (UPDATE, {"players": ([], [str(cy.pk)])}),
    ]
    assert Membership.objects.get(player=cy).role == "sub"
    assert Membership.objects.get(player=bo).role == "member"


def test_uuid_ids_are_recorded_as_text_and_sorted_as_text(team):
    many = [Player.objects.create(name=f"p{n}") for n in range(6)]
    with Context():
        team.players.add(*many)
    attribute = AttributeDelta.objects.get(field_name="players")
    assert attribute.new_value == sorted(str(p.pk) for p in many)
    assert all(isinstance(value, str) for value in attribute.new_value)
    assert attribute.old_value == []


# Deleting an object ends its memberships; a revert gives them back ------------


def test_deleting_an_object_records_the_memberships_it_ends(tags, articles):
    a, b, _, _ = tags
    x, y, _ = articles
    x.tags.add(a, b)
    y.tags.add(a)
    x_pk = x.pk
    with Context():
        x.delete()
    x_delta = ObjectDelta.objects.for_key(Article, x_pk).get()
    assert x_delta.action == DELETE
    assert x_delta.attribute_deltas.get(field_name="tags").old_value == ids(a, b)
    for tag in (a, b):
        (delta,) = ObjectDelta.objects.for_object(tag)
        assert delta.action == UPDATE
        assert delta.cause == x_delta
        assert recorded_changes(tag) == [(UPDATE, {"articles": ([x_pk], [])})]
    assert set(y.tags.all()) == {a}


def test_deleting_the_forward_side_records_the_members_on_both_sides(member):
    user, organization, before = member
    organization_pk = organization.pk
    with Context():
        organization.delete()
    deleted = Revision.objects.latest()
    assert history.members_as_of(user, "organizations") == set()
    assert history.members_as_of(user, "organizations", before) == {organization_pk}
    by_field = {
        (d.object_delta.action, d.field): (d.old, d.new)
        for d in history.changes(user)
        + history.changes(Organization(pk=organization_pk))
        if d.object_delta.revision_id == deleted.pk
    }
    assert by_field[("update", "organizations")] == ([organization_pk], [])
    assert by_field[("delete", "members")] == ([user.pk], [])


def test_reverting_a_delete_restores_the_members_of_either_side(member):
    user, organization, _before = member
    with Context():
        organization.delete()
    Revision.objects.latest().revert()
    organization = Organization.objects.get()
    assert list(organization.members.all()) == [user]

    with Context():
        user.delete()
    assert not organization.members.exists()
    Revision.objects.latest().revert()
    assert list(organization.members.values_list("username", flat=True)) == ["member"]


# One revision; nothing outside a context ---------------------------------------


def test_several_operations_in_one_context_make_one_revision(tags, articles, team):
    a, b, c, _ = tags
    x, y, _ = articles
    ada = Player.objects.create(name="Ada")
    with Context.via_revision_description("Reorganise"):
        x.tags.add(a, b)
        y.tags.add(c)
        x.tags.remove(a)
        c.articles.clear()
        team.players.add(ada)
    revision = Revision.objects.get()
    assert revision.description == "Reorganise"
    assert set(ObjectDelta.objects.values_list("revision", flat=True)) == {revision.pk}
    assert recorded_changes(x) == [
        (UPDATE, {"tags": ([], ids(a, b))}),
        (UPDATE, {"tags": ([a.pk], [])}),
    ]
    assert recorded_changes(y) == [
        (UPDATE, {"tags": ([], [c.pk])}),
        (UPDATE, {"tags": ([c.pk], [])}),
    ]
    assert recorded_changes(c) == [
        (UPDATE, {"articles": ([], [y.pk])}),
        (UPDATE, {"articles": ([y.pk], [])}),
    ]


def test_nothing_is_recorded_outside_a_context(tags, articles, team, players):
    a, b, c, _ = tags
    x, y, _ = articles
    x.tags.add(a, b)
    a.articles.add(y)
    x.tags.remove(b)
    x.tags.set([c])
    y.tags.clear()
    team.players.add(players[0], through_defaults={"role": "captain"})
    players[1].teams.add(team)
    team.players.remove(players[0])
    assert set(x.tags.all()) == {c}
    assert list(team.players.all()) == [players[1]]
    assert nothing_recorded()


def test_nothing_is_recorded_with_tracking_disabled(tags, articles, team, players):
    x = articles[0]
    with Context(), Context.as_disabled():
        x.tags.add(*tags)
        x.tags.remove(tags[0])
        x.tags.clear()
        team.players.add(*players)
        team.players.set(players[:1])
    assert nothing_recorded()
    assert list(team.players.all()) == players[:1]


def test_a_rolled_back_change_leaves_no_history(tags, articles):
    a, b = tags[:2]
    x = articles[0]
    with Context():
        try:
            with transaction.atomic():
                x.tags.add(a)
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        x.tags.add(b)
    assert recorded_changes(x) == [(UPDATE, {"tags": ([], [b.pk])})]
    assert recorded_changes(a) == []
    assert Revision.objects.count() == 1


def test_a_key_of_the_wrong_type_raises_django_s_error_before_any_query(articles):
    x = articles[0]
    # Django's add() fails inside its atomic block: the transaction can run
    # no query after it, so remove() must fail as Django's would, first.
    with Context(), transaction.atomic():
        for method in ("add", "remove"):
            with pytest.raises(ValueError, match="expected a number but got 'invalid'"):
                getattr(x.tags, method)("invalid")
