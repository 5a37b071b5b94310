"""Who acts in a request, and what the request's revision says about it."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from revy import Context
from revy.contrib.django.models import get_revision_model

from {{ cookiecutter.project }} import actors
from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.revisions import origin
from {{ cookiecutter.project }}.revisions.models import Revision

from tests.conftest import actor_key, deltas, revisions


def request_as(user: Any, **headers: str) -> Any:
    request = RequestFactory().post("/", headers=headers)
    request.user = user
    return request


def test_the_project_records_into_its_own_revision_model():
    assert get_revision_model() is Revision


def test_no_header_means_no_organisation(alice):
    assert actors.organization(request_as(alice)) is None


def test_a_member_acts_for_the_organisation(alice, acme):
    request = request_as(alice, **{"X-Perform-As-Organization": "acme"})
    assert actors.organization(request) == acme
    assert request.organization == acme


def test_a_non_member_is_refused(bob, acme):
    with pytest.raises(PermissionDenied, match="not a member of the organisation 'acme'"):
        actors.organization(request_as(bob, **{"X-Perform-As-Organization": "acme"}))


def test_an_anonymous_request_cannot_act_for_an_organisation(acme):
    with pytest.raises(PermissionDenied, match="Sign in"):
        actors.organization(request_as(AnonymousUser(), **{"X-Perform-As-Organization": "acme"}))


def test_the_system_acts_in_commands_and_tasks(db):
    with Context.via_actor(get_user_model()(pk=1)), actors.system():
        assert Context.get_actor() is None


def close_as(user: Any, **headers: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.post(reverse("accounts:close"), headers=headers)


def test_a_signed_in_user_acts_and_the_revision_describes_the_request(alice):
    alice_pk = alice.pk
    response = close_as(
        alice,
        **{
            "X-Commit-Message": "Leaving.",
            "X-Request-ID": "req-42",
            "User-Agent": "pytest-agent",
        },
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42"
    [revision] = revisions()
    assert revision.description == "Leaving."
    assert (revision.request_id, revision.client_ip, revision.user_agent) == (
        "req-42",
        "127.0.0.1",
        "pytest-agent",
    )
    assert (revision.method, revision.path) == ("POST", "/account/close/")
    [delta] = deltas(revision)
    assert (delta.action, actor_key(delta)) == ("delete", ("user", str(alice_pk)))


def test_a_request_id_that_does_not_look_like_one_is_replaced(alice):
    response = close_as(alice, **{"X-Request-ID": "bad id\nwith newline"})
    [revision] = revisions()
    assert len(revision.request_id) == 32
    assert response["X-Request-ID"] == revision.request_id


def test_the_client_ip_comes_from_trusted_proxies_only(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    close_as(alice, **{"X-Forwarded-For": "203.0.113.9, 198.51.100.7"})
    [revision] = revisions()
    assert revision.client_ip == "198.51.100.7"


def test_an_organisation_member_acts_for_it(alice, acme):
    response = close_as(alice, **{"X-Perform-As-Organization": "acme"})
    assert response.status_code == 200
    [revision] = revisions()
    assert revision.actors() == [acme]


def test_a_non_member_gets_403_and_nothing_is_written(bob, acme):
    response = close_as(bob, **{"X-Perform-As-Organization": "acme"})
    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=bob.pk).exists()
    assert revisions() == []


def test_a_request_that_writes_nothing_leaves_no_revision(alice):
    alice.is_staff = True
    alice.save()
    client = Client()
    client.force_login(alice)
    assert client.get(reverse("revisions:recent")).status_code == 200
    assert revisions() == []


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_rolled_back_in_a_request_keeps_its_revision_whole(alice):
    """The request's revision survives a rolled-back first change."""
    with (
        origin.serving(request_id="req-7"),
        Context.via_actor(alice),
        transaction.atomic(),
    ):
        try:
            with transaction.atomic():
                Organization.objects.create(name="Gone", slug="gone")
                raise RuntimeError("undone")
        except RuntimeError:
            pass
        Organization.objects.create(name="Kept", slug="kept")

    [revision] = revisions()
    assert revision.request_id == "req-7"
    [delta] = deltas(revision)
    assert delta.content_id == str(Organization.objects.get(slug="kept").pk)
