"""Deleting an object records the many-to-many memberships it ends, and a
revert of that delete gives them back."""

import pytest
from django.contrib.auth.models import User

from revy import Context
from revy.contrib.django import history
from revy.contrib.django.models import get_revision_model
from tests.testapp.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    with Context():
        user = User.objects.create(username="member")
        organization = Organization.objects.create(name="Acme")
        organization.members.add(user)
    return user, organization, get_revision_model().objects.latest()


def test_deleting_the_forward_side_records_the_members_on_both_sides(member):
    user, organization, before = member
    organization_pk = organization.pk
    with Context():
        organization.delete()
    deleted = get_revision_model().objects.latest()
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
    get_revision_model().objects.latest().revert()
    organization = Organization.objects.get()
    assert list(organization.members.all()) == [user]

    with Context():
        user.delete()
    assert not organization.members.exists()
    get_revision_model().objects.latest().revert()
    assert list(organization.members.values_list("username", flat=True)) == ["member"]
