"""revy.contrib.rest_framework: ``GET .../{pk}/history/`` lists an object's
revisions with their actors, descriptions and field changes, paginated, in a
fixed number of queries; ``POST .../{pk}/revert/`` undoes a revision,
answering 409 with the conflicts; both need the model's permissions; the
schema drf-spectacular generates describes them.

The API is tests/api/.
"""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from revy import Context
from tests.helpers import Revision, User
from tests.testapp.models import Comment

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "revy.contrib.django.middleware.RevyMiddleware",
]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_settings")]


@pytest.fixture
def api_settings():
    with override_settings(ROOT_URLCONF="tests.api.urls", MIDDLEWARE=MIDDLEWARE):
        yield


@pytest.fixture
def admin():
    return User.objects.create(username="root", is_superuser=True)


def client_of(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def allowed(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # Without the permission cache.


def edited(comment, texts, actor=None):
    for text in texts:
        with Context.via(actor=actor, revision_description=f"set {text}"):
            comment.text = text
            comment.save()


# History ---------------------------------------------------------------------


def test_the_history_lists_revisions_newest_first_with_actors_and_changes(admin, alice):
    client = client_of(admin)
    pk = client.post(
        "/api/comments/", {"text": "a"}, headers={"X-Commit-Message": "Write"}
    ).json()["id"]
    edited(Comment.objects.get(pk=pk), ["b"], actor=alice)
    body = client.get(f"/api/comments/{pk}/history/").json()
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert newest["action"] == "update"
    assert newest["revision"]["description"] == "set b"
    assert newest["actor"] == {
        "model": "auth.user",
        "id": str(alice.pk),
        "label": "alice",
        "deleted": False,
    }
    assert newest["changes"] == [
        {
            "field": "text",
            "old": "a",
            "new": "b",
            "actor": newest["actor"],
            "description": "",
        }
    ]
    assert oldest["action"] == "create"
    assert oldest["revision"]["description"] == "Write"
    assert oldest["actor"]["id"] == str(admin.pk)
    assert {c["field"] for c in oldest["changes"]} == {"text", "is_marked_as_spam"}


def test_each_change_names_whoever_assigned_it(admin):
    client = client_of(admin)
    pk = client.post(
        "/api/invoices/", {"amount": "3.00", "exchange_rate": "2.0000"}
    ).json()["id"]
    # A viewset without pagination answers the whole history.
    [entry] = client.get(f"/api/invoices/{pk}/history/").json()
    by_field = {c["field"]: c for c in entry["changes"]}
    assert by_field["amount"]["actor"]["id"] == str(admin.pk)
    assert by_field["local_amount"]["actor"] is None  # The system.
    assert by_field["local_amount"]["description"] == "Converted"


def test_a_deleted_actor_is_shown_as_deleted(admin, bob, comment):
    edited(comment, ["by bob"], actor=bob)
    bob_pk = bob.pk
    bob.delete()
    [entry] = (
        client_of(admin).get(f"/api/comments/{comment.pk}/history/").json()["results"]
    )
    assert entry["actor"] == {
        "model": "auth.user",
        "id": str(bob_pk),
        "label": f"deleted auth.User {bob_pk}",
        "deleted": True,
    }


def test_the_history_is_paginated_with_the_apis_pagination(admin, comment):
    edited(comment, [f"v{i}" for i in range(7)])
    client = client_of(admin)
    first = client.get(f"/api/comments/{comment.pk}/history/").json()
    assert first["count"] == 7
    assert [e["revision"]["description"] for e in first["results"]] == [
        f"set v{i}" for i in (6, 5, 4, 3, 2)
    ]
    second = client.get(first["next"]).json()
    assert [e["revision"]["description"] for e in second["results"]] == [
        "set v1",
        "set v0",
    ]


def test_a_page_of_history_costs_the_same_queries_however_long(admin, alice, bob):
    client = client_of(admin)

    def queries_for(count):
        comment = Comment.objects.create(text="x")
        for i in range(count):
            edited(comment, [f"{count}-{i}"], actor=(alice, bob, None)[i % 3])
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/api/comments/{comment.pk}/history/?page=1")
        assert response.status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(5) == queries_for(40)


def test_masked_fields_show_no_values(admin, comment):
    edited(comment, ["secret"])
    [entry] = (
        client_of(admin)
        .get(f"/api/masked-comments/{comment.pk}/history/")
        .json()["results"]
    )
    assert entry["changes"][0]["old"] == entry["changes"][0]["new"] == "••••••••"


def test_the_history_of_an_object_the_queryset_hides_is_404(admin):
    assert client_of(admin).get("/api/comments/999/history/").status_code == 404


# Revert ----------------------------------------------------------------------


def test_revert_undoes_a_revision_credited_to_the_requests_user(admin, comment):
    edited(comment, ["wrong"])
    wrong = Revision.objects.get(description="set wrong")
    response = client_of(admin).post(
        f"/api/comments/{comment.pk}/revert/", {"revision": wrong.pk}, format="json"
    )
    assert response.status_code == 200
    new = Revision.objects.get(pk=response.json()["revision"]["id"])
    assert new.description == f"Revert of revision {wrong.pk}: set wrong"
    assert new.actors() == [admin]
    comment.refresh_from_db()
    assert comment.text == "first"


def test_a_conflicting_revert_answers_409_listing_the_conflicts(admin, comment):
    edited(comment, ["wrong", "later"])
    wrong = Revision.objects.get(description="set wrong")
    later = Revision.objects.get(description="set later")
    client = client_of(admin)
    url = f"/api/comments/{comment.pk}/revert/"
    response = client.post(url, {"revision": wrong.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["conflicts"] == [
        {
            "model": "testapp.comment",
            "pk": str(comment.pk),
            "field": "text",
            "revision": later.pk,
            "message": f"testapp.Comment {comment.pk}: text was changed later "
            f"in revision {later.pk}",
        }
    ]
    comment.refresh_from_db()
    assert comment.text == "later"
    forced = client.post(url, {"revision": wrong.pk, "overwrite": True}, format="json")
    assert forced.status_code == 200
    comment.refresh_from_db()
    assert comment.text == "first"


def test_revert_refuses_a_revision_of_another_object(admin, comment):
    other = Comment.objects.create(text="other")
    edited(other, ["changed"])
    response = client_of(admin).post(
        f"/api/comments/{comment.pk}/revert/",
        {"revision": Revision.objects.get().pk},
        format="json",
    )
    assert response.status_code == 400
    assert "did not change this object" in response.json()["revision"][0]


def test_revert_refuses_an_unknown_revision(admin, comment):
    response = client_of(admin).post(
        f"/api/comments/{comment.pk}/revert/", {"revision": 12345}, format="json"
    )
    assert response.status_code == 400
    assert "revision" in response.json()


# Permissions -----------------------------------------------------------------


def test_history_needs_the_view_permission(alice, comment):
    edited(comment, ["x"])
    url = f"/api/comments/{comment.pk}/history/"
    assert client_of(alice).get(url).status_code == 403
    viewer = allowed(alice, "view_comment")
    assert client_of(viewer).get(url).status_code == 200


def test_revert_needs_the_change_permission_of_what_it_undoes(bob, comment):
    edited(comment, ["x"])
    revision = Revision.objects.get()
    url = f"/api/comments/{comment.pk}/revert/"
    body = {"revision": revision.pk}
    viewer = allowed(bob, "view_comment")
    assert client_of(viewer).post(url, body, format="json").status_code == 403
    editor = allowed(bob, "change_comment")
    assert client_of(editor).post(url, body, format="json").status_code == 200


def test_reverting_a_create_needs_the_delete_permission(bob):
    with Context.via_revision_description("made"):
        made = Comment.objects.create(text="new")
    revision = Revision.objects.get()
    editor = allowed(bob, "change_comment")
    url = f"/api/comments/{made.pk}/revert/"
    response = client_of(editor).post(url, {"revision": revision.pk}, format="json")
    assert response.status_code == 403
    assert "delete testapp.Comment" in response.json()["detail"]
    assert Comment.objects.filter(pk=made.pk).exists()


# The schema ------------------------------------------------------------------


def test_the_openapi_schema_describes_history_and_revert():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    history = schema["paths"]["/api/comments/{id}/history/"]["get"]
    listed = history["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"] == "#/components/schemas/PaginatedObjectDeltaList"
    components = schema["components"]["schemas"]
    assert {"revision", "action", "actor", "changes"} <= set(
        components["ObjectDelta"]["properties"]
    )
    revert = schema["paths"]["/api/comments/{id}/revert/"]["post"]
    assert set(revert["responses"]) == {"200", "409"}
    body = revert["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/Revert"
    assert set(components["Revert"]["properties"]) == {"revision", "overwrite"}
    assert "conflicts" in components["RevertConflict"]["properties"]
