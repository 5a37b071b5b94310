"""Behind RevyMiddleware, a REST framework write is credited to the user the
view authenticated (a token, a JWT, or the session with CSRF enforced), not
to the system: the actor is resolved when the first change is recorded,
after the view has authenticated. A resolver that refuses answers 403 before
anything is written; an async view that authenticates by itself is credited
too, without touching the database from the event loop.

The API is tests/api/.
"""

import pytest
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import AsyncClient, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.helpers import CREATE, DELETE, UPDATE, ObjectDelta, Revision, run
from tests.testapp.models import Comment, Organization

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "revy.contrib.django.middleware.RevyMiddleware",
]
ORGANIZATION_RESOLVERS = [
    "tests.urls_middleware.organization",
    "revy.contrib.django.actors.authenticated_user",
]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


@pytest.fixture
def api_settings():
    with override_settings(ROOT_URLCONF="tests.api.urls", MIDDLEWARE=MIDDLEWARE):
        yield


def token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user)}")
    return client


def jwt_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def deltas_by_action():
    return {d.action: d for d in ObjectDelta.objects.select_related("revision")}


def crud(client, base="/api/comments/"):
    """Create, update, partially update and delete one comment; each
    request's status."""
    created = client.post(base, {"text": "a"}, format="json")
    pk = created.json()["id"]
    updated = client.put(f"{base}{pk}/", {"text": "b"}, format="json")
    patched = client.patch(f"{base}{pk}/", {"is_marked_as_spam": True}, format="json")
    deleted = client.delete(f"{base}{pk}/")
    return [r.status_code for r in (created, updated, patched, deleted)]


def assert_every_change_is(actor):
    deltas = list(
        ObjectDelta.objects.order_by("pk").prefetch_related("attribute_deltas")
    )
    assert [d.action for d in deltas] == [CREATE, UPDATE, UPDATE, DELETE]
    assert Revision.objects.count() == 4  # One per request.
    for delta in deltas:
        assert delta.actor == actor
        for attribute in delta.attribute_deltas.all():
            assert attribute.actor == actor
    assert ObjectDelta.objects.for_actor(None).count() == 0


@pytest.mark.parametrize("make_client", [token_client, jwt_client])
def test_every_write_of_a_token_authenticated_viewset_is_the_token_users(
    alice, make_client
):
    assert crud(make_client(alice)) == [201, 200, 200, 204]
    assert_every_change_is(alice)


def test_a_viewset_without_revys_mixin_is_credited_too(alice):
    assert crud(token_client(alice), "/api/plain-comments/") == [201, 200, 200, 204]
    assert_every_change_is(alice)


def test_session_authentication_enforces_csrf_and_credits_the_user(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    refused = client.post("/api/comments/", {"text": "no token"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert Comment.objects.count() == 0
    assert Revision.objects.count() == 0

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    client.credentials(HTTP_X_CSRFTOKEN=secret)
    assert crud(client) == [201, 200, 200, 204]
    assert_every_change_is(alice)


def test_an_unauthenticated_request_is_refused_and_records_nothing():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.post("/api/comments/", {"text": "x"}).status_code == 401
    assert Revision.objects.count() == 0


def test_the_commit_message_header_describes_an_api_write(alice):
    client = token_client(alice)
    client.post(
        "/api/comments/",
        {"text": "x"},
        format="json",
        headers={"X-Commit-Message": "Imported from the API"},
    )
    [revision] = Revision.objects.all()
    assert revision.description == "Imported from the API"
    assert revision.actors() == [alice]


def test_one_api_write_can_hold_the_users_and_the_systems_changes(alice):
    token_client(alice).post(
        "/api/invoices/", {"amount": "10.00", "exchange_rate": "2.0000"}, format="json"
    )
    [delta] = ObjectDelta.objects.all()
    assert delta.actor == alice
    by_field = {a.field_name: a for a in delta.attribute_deltas.all()}
    assert by_field["amount"].actor == alice
    assert by_field["local_amount"].actor is None
    assert by_field["local_amount"].description == "Converted"


# Acting for an organisation over the API ------------------------------------


@pytest.fixture
def acme(alice):
    organization = Organization.objects.create(name="ACME")
    organization.members.add(alice)
    return organization


@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_a_member_acts_for_the_organisation_with_a_token(alice, acme):
    client = token_client(alice)
    client.credentials(
        HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"],
        HTTP_X_PERFORM_AS_ORGANIZATION=str(acme.pk),
    )
    assert crud(client) == [201, 200, 200, 204]
    assert_every_change_is(acme)


# Committed: a refused delete marks the enclosing transaction for rollback,
# as any error inside Django's delete does.
@pytest.mark.django_db(transaction=True)
@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_a_non_member_is_refused_403_before_anything_is_written(bob, acme):
    comment = Comment.objects.create(text="kept")
    client = token_client(bob)
    client.credentials(
        HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"],
        HTTP_X_PERFORM_AS_ORGANIZATION=str(acme.pk),
    )
    with CaptureQueriesContext(connection) as queries:
        created = client.post("/api/plain-comments/", {"text": "x"}, format="json")
        updated = client.patch(
            f"/api/plain-comments/{comment.pk}/", {"text": "y"}, format="json"
        )
        deleted = client.delete(f"/api/plain-comments/{comment.pk}/")
    assert [created.status_code, updated.status_code, deleted.status_code] == [403] * 3
    written = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert written == []  # Refused before the first write was sent.
    assert "not a member" in created.json()["detail"]
    assert list(Comment.objects.values_list("text", flat=True)) == ["kept"]
    assert Revision.objects.count() == 0
    # revy's viewsets resolve the actor once REST framework has
    # authenticated: a refusal comes before any action, a read included.
    assert client.get(f"/api/comments/{comment.pk}/").status_code == 403


# Async views ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_async_view_that_authenticates_itself_is_credited(alice):
    token = Token.objects.create(user=alice)
    response = run(
        AsyncClient().post(
            "/token-comments/",
            {"text": "async"},
            headers={"Authorization": f"Token {token.key}"},
        )
    )
    assert response.status_code == 200
    [delta] = ObjectDelta.objects.all()
    assert delta.actor == alice


@pytest.mark.django_db(transaction=True)
def test_an_async_view_with_a_session_is_credited(alice):
    client = AsyncClient()
    client.force_login(alice)
    response = run(client.post("/token-comments/", {"text": "async"}))
    assert response.status_code == 200
    assert ObjectDelta.objects.get().actor == alice
