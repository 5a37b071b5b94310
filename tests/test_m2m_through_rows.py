"""Rows of an explicit through model saved or deleted directly are recorded
as the relation changes they are, on both sides, once."""

import pytest
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.test import override_settings

from revy import Context
from revy.contrib.django import history
from revy.contrib.django.models import get_revision_model
from tests.testapp.models import Membership, Player, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_and_player():
    return Team.objects.create(name="Reds"), Player.objects.create(name="Ann")


def relation_deltas(obj, field):
    return [(c.old, c.new) for c in history.changes(obj) if c.field == field]


def test_creating_a_membership_directly_adds_the_member_on_both_sides(
    team_and_player,
):
    team, player = team_and_player
    with Context():
        Membership.objects.create(team=team, player=player, role="captain")
    assert history.members_as_of(team, "players") == {player.pk}
    assert history.members_as_of(player, "teams") == {team.pk}
    assert relation_deltas(team, "players") == [([], [str(player.pk)])]


def test_deleting_a_membership_directly_removes_the_member_once(team_and_player):
    team, player = team_and_player
    with Context():
        membership = Membership.objects.create(team=team, player=player)
        membership.delete()
        team.players.add(player, through_defaults={"role": "coach"})
        team.players.remove(player)
    assert history.members_as_of(team, "players") == set()
    assert relation_deltas(team, "players") == [
        ([], [str(player.pk)]),
        ([str(player.pk)], []),
        ([], [str(player.pk)]),
        ([str(player.pk)], []),
    ]


def test_deleting_a_team_ends_its_memberships_once(team_and_player):
    team, player = team_and_player
    team_pk = team.pk
    with Context():
        Membership.objects.create(team=team, player=player)
        team.delete()
    assert relation_deltas(player, "teams") == [([], [team_pk]), ([team_pk], [])]


def test_bulk_created_memberships_add_the_members_on_both_sides(team_and_player):
    team, player = team_and_player
    other = Player.objects.create(name="Bo")
    with Context():
        Membership.objects.bulk_create(
            [Membership(team=team, player=player), Membership(team=team, player=other)]
        )
    assert history.members_as_of(team, "players") == {player.pk, other.pk}
    assert history.members_as_of(other, "teams") == {team.pk}
    # One operation: one delta on the team, carrying both members.
    assert relation_deltas(team, "players") == [
        ([], sorted([str(player.pk), str(other.pk)]))
    ]


def test_saving_a_membership_with_another_player_moves_the_membership(
    team_and_player,
):
    team, player = team_and_player
    other = Player.objects.create(name="Bo")
    with Context():
        membership = Membership.objects.create(team=team, player=player)
    membership = Membership.objects.get(pk=membership.pk)  # Loaded anew.
    with Context():
        membership.player = other
        membership.save()
        membership.role = "captain"
        membership.save()  # Not a move: nothing more on the relation.
    assert history.members_as_of(team, "players") == {other.pk}
    assert history.members_as_of(player, "teams") == set()
    assert history.members_as_of(other, "teams") == {team.pk}
    assert relation_deltas(team, "players") == [
        ([], [str(player.pk)]),
        ([str(player.pk)], []),
        ([], [str(other.pk)]),
    ]


def memberships():
    return list(Membership.objects.order_by("pk").values_list("pk", "player", "role"))


def test_reverting_a_move_puts_the_same_membership_back(team_and_player):
    """The membership's own deltas undo the move: the row keeps its key and
    its role, where replaying the relation would make a new row."""
    team, player = team_and_player
    other = Player.objects.create(name="Bo")
    with Context():
        membership = Membership.objects.create(team=team, player=player, role="cap")
    before = memberships()
    with Context():
        membership.player = other
        membership.save()

    get_revision_model().objects.latest("pk").revert()

    assert memberships() == before == [(membership.pk, player.pk, "cap")]
    assert history.members_as_of(team, "players") == {player.pk}
    assert history.members_as_of(other, "teams") == set()


def test_reverting_the_related_managers_changes_puts_the_same_rows_back(
    team_and_player,
):
    team, player = team_and_player
    other = Player.objects.create(name="Bo")
    with Context():
        team.players.add(player, through_defaults={"role": "cap"})
    before = memberships()
    with Context():
        team.players.remove(player)
        team.players.add(other, through_defaults={"role": "coach"})

    get_revision_model().objects.latest("pk").revert()

    assert memberships() == before
    assert list(team.players.all()) == [player]


def test_reverting_a_team_delete_puts_its_memberships_back(team_and_player):
    team, player = team_and_player
    with Context():
        team.players.add(player, through_defaults={"role": "cap"})
    before, team_pk = memberships(), team.pk
    with Context():
        team.delete()

    get_revision_model().objects.latest("pk").revert()

    assert memberships() == before
    assert history.members_as_of(player, "teams") == {team_pk}


@override_settings(REVY_UNTRACKED_MODELS=["testapp.Membership"])
def test_reverting_with_an_untracked_through_model_replays_the_relation(
    team_and_player,
):
    """With no deltas of its own, a membership comes back through the
    related manager, with the through model's defaults."""
    team, player = team_and_player
    other = Player.objects.create(name="Bo")
    with Context():
        team.players.add(player, through_defaults={"role": "cap"})
    with Context():
        team.players.set([other])

    get_revision_model().objects.latest("pk").revert()

    assert list(team.players.all()) == [player]
    assert [role for _, _, role in memberships()] == ["member"]


@pytest.mark.parametrize("how", ["queryset_update", "bulk_update"])
def test_updating_memberships_in_bulk_moves_them(team_and_player, how):
    team, player = team_and_player
    blues = Team.objects.create(name="Blues")
    other = Player.objects.create(name="Bo")
    with Context():
        Membership.objects.create(team=team, player=player)
        Membership.objects.create(team=team, player=other)
    with Context():
        if how == "queryset_update":
            Membership.objects.filter(player=other).update(team=blues)
        else:
            moved = list(Membership.objects.filter(player=other))
            for membership in moved:
                membership.team = blues
            Membership.objects.bulk_update(moved, ["team"])
        Membership.objects.update(role="regular")  # Moves nothing.
    assert history.members_as_of(team, "players") == {player.pk}
    assert history.members_as_of(blues, "players") == {other.pk}
    assert history.members_as_of(other, "teams") == {blues.pk}
    assert relation_deltas(other, "teams") == [
        ([], [team.pk]),
        ([team.pk], []),
        ([], [blues.pk]),
    ]


def test_a_related_manager_that_fails_half_way_leaves_later_deletes_recorded(
    team_and_player,
):
    team, player = team_and_player
    with Context():
        membership = Membership.objects.create(team=team, player=player)

    def fail(action, **kwargs):
        if action == "pre_remove":
            raise RuntimeError("refused")

    m2m_changed.connect(fail, sender=Membership)
    try:
        with (
            Context(),
            pytest.raises(RuntimeError, match="refused"),
            transaction.atomic(),
        ):
            team.players.remove(player)
    finally:
        m2m_changed.disconnect(fail, sender=Membership)
    with Context():
        membership.delete()
    assert history.members_as_of(team, "players") == set()
    assert relation_deltas(team, "players") == [
        ([], [str(player.pk)]),
        ([str(player.pk)], []),
    ]
