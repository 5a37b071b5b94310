"""Rows of an explicit through model saved or deleted directly are recorded
as the relation changes they are, on both sides, once."""

import pytest

from revy import Context
from revy.contrib.django import history
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
