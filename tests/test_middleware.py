"""RevyMiddleware: each request runs in a context whose actor comes from the
resolvers and whose revision description comes from a request header (in
UTF-8, though WSGI and ASGI hand headers over as latin-1); a view that leaves
a context open fails its own request, not the next ones.

The views and the organisation resolver are in tests/urls_middleware.py.
"""

import asyncio
import contextvars

import pytest
from django.test import AsyncClient, Client, RequestFactory, override_settings

from revy import Context
from revy.contrib.django.middleware import RevyMiddleware
from tests.helpers import ObjectDelta, Revision, run
from tests.testapp.models import Comment, Organization

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "revy.contrib.django.middleware.RevyMiddleware",
]
ORGANIZATION_RESOLVERS = [
    "tests.urls_middleware.never",
    "tests.urls_middleware.organization",
    "revy.contrib.django.actors.authenticated_user",
]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("middleware_settings"),
]


@pytest.fixture
def middleware_settings():
    with override_settings(ROOT_URLCONF="tests.urls_middleware", MIDDLEWARE=MIDDLEWARE):
        yield


@pytest.fixture
def acme(alice):
    organization = Organization.objects.create(name="ACME")
    organization.members.add(alice)
    return organization


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def only_revision():
    [revision] = Revision.objects.all()
    return revision


# Actors ----------------------------------------------------------------------


def test_the_authenticated_user_is_the_actor(alice):
    response = logged_in(alice).post("/comments/", {"text": ["a", "b"]})
    assert response.status_code == 200
    assert response.json()["actor"] == f"auth.User:{alice.pk}"
    revision = only_revision()
    deltas = list(revision.object_deltas.all())
    assert len(deltas) == 2
    assert all(d.actor == alice for d in deltas)
    assert revision.actors() == [alice]
    assert revision.description == ""


def test_an_anonymous_request_is_made_by_the_system():
    response = Client().post("/comments/", {"text": "anonymous"})
    assert response.json()["actor"] is None
    [delta] = ObjectDelta.objects.all()
    assert delta.actor is None
    assert delta.actor_content_type is None
    assert only_revision().actors() == [None]


def test_each_request_has_its_own_revision(alice, bob):
    logged_in(alice).post("/comments/", {"text": "1"})
    logged_in(bob).post("/comments/", {"text": "2"})
    first, second = Revision.objects.order_by("pk")
    assert first.actors() == [alice]
    assert second.actors() == [bob]


def test_the_context_ends_with_the_request(alice):
    logged_in(alice).post("/comments/", {"text": "in a request"})
    Comment.objects.create(text="outside any request")
    assert ObjectDelta.objects.count() == 1


def test_the_middleware_works_with_request_factory(alice):
    from tests.urls_middleware import comments

    request = RequestFactory().post(
        "/comments/", {"text": "x"}, HTTP_X_COMMIT_MESSAGE="by factory"
    )
    request.user = alice
    response = RevyMiddleware(comments)(request)
    assert response.status_code == 200
    revision = only_revision()
    assert revision.description == "by factory"
    assert revision.actors() == [alice]


# The revision description ----------------------------------------------------


def test_x_commit_message_becomes_the_revision_description(alice):
    response = logged_in(alice).post(
        "/comments/", {"text": "x"}, headers={"X-Commit-Message": "  Fix typo.  "}
    )
    assert response.json()["description"] == "Fix typo."
    assert only_revision().description == "Fix typo."


def test_a_nul_character_in_the_description_is_stored_as_a_replacement(alice):
    """PostgreSQL's text cannot hold NUL: the write succeeds on every
    database, the NUL kept as U+FFFD."""
    response = logged_in(alice).post(
        "/comments/", {"text": "x"}, headers={"X-Commit-Message": "a\x00b"}
    )
    assert response.status_code == 200
    assert only_revision().description == "a\ufffdb"
    assert Comment.objects.count() == 1


def test_the_description_is_cut_to_the_default_length(alice):
    logged_in(alice).post(
        "/comments/", {"text": "x"}, headers={"X-Commit-Message": "ü" * 1500}
    )
    assert only_revision().description == "ü" * 1000


@override_settings(REVY_REVISION_DESCRIPTION_MAX_LENGTH=10)
def test_the_description_is_cut_to_the_configured_length(alice):
    logged_in(alice).post(
        "/comments/", {"text": "x"}, headers={"X-Commit-Message": "0123456789abcdef"}
    )
    assert only_revision().description == "0123456789"


@override_settings(REVY_REVISION_DESCRIPTION_HEADER="X-Reason")
def test_the_header_is_configurable(alice):
    logged_in(alice).post(
        "/comments/",
        {"text": "x"},
        headers={"X-Reason": "configured", "X-Commit-Message": "ignored"},
    )
    assert only_revision().description == "configured"


@override_settings(REVY_REVISION_DESCRIPTION_HEADER="")
def test_an_empty_header_setting_turns_descriptions_off(alice):
    logged_in(alice).post(
        "/comments/", {"text": "x"}, headers={"X-Commit-Message": "ignored"}
    )
    assert only_revision().description == ""


def test_a_utf8_commit_message_is_not_mojibake():
    """WSGI and ASGI hand header bytes over decoded as latin-1 (PEP 3333):
    a UTF-8 commit message must be decoded back."""
    raw = "Düzeltme: yazım hatası".encode()
    response = Client().get(
        "/description/", HTTP_X_COMMIT_MESSAGE=raw.decode("latin-1")
    )
    assert response.json()["description"] == "Düzeltme: yazım hatası"


# Requests that write nothing -------------------------------------------------


def test_a_get_that_writes_nothing_leaves_no_revision(alice):
    Comment.objects.create(text="x")
    response = logged_in(alice).get(
        "/comments/", headers={"X-Commit-Message": "just looking"}
    )
    assert response.json()["count"] == 1
    assert response.json()["actor"] == f"auth.User:{alice.pk}"
    assert response.json()["enabled"] is True
    assert Revision.objects.count() == 0


def test_a_post_whose_save_changes_nothing_leaves_no_revision(alice):
    comment = Comment.objects.create(text="x")
    response = logged_in(alice).post(f"/comments/{comment.pk}/touch/")
    assert response.status_code == 200
    assert Revision.objects.count() == 0


def test_logging_in_does_not_record_the_session_or_last_login(alice):
    # Sessions are never tracked; the login itself happens outside a request.
    client = logged_in(alice)
    client.get("/comments/")
    assert Revision.objects.count() == 0


def test_a_view_that_leaves_a_context_open_does_not_poison_later_requests(alice, bob):
    """A view that leaves a context open fails its own request; the next
    request on the thread starts with a clean stack and its own revision."""

    def scenario():
        first = Client(raise_request_exception=False)
        first.force_login(alice)
        first.get("/leaky/")
        after_leak = Context.get_current()
        second = Client()
        second.force_login(bob)
        return after_leak, second.post("/write/").json()

    # Run in a copy of the context so that a leak cannot reach other tests.
    after_leak, answer = contextvars.copy_context().run(scenario)
    assert Revision.objects.count() == 2  # One per request.
    assert (after_leak, answer) == (None, {"actor": "bob", "depth": 1})


# Resolver chains -------------------------------------------------------------


@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_a_member_acts_for_the_organisation(alice, acme):
    response = logged_in(alice).post(
        "/comments/", {"text": "x"}, headers={"X-Perform-As-Organization": str(acme.pk)}
    )
    assert response.status_code == 200
    assert response.json()["actor"] == f"testapp.Organization:{acme.pk}"
    [delta] = ObjectDelta.objects.all()
    assert delta.actor == acme
    assert list(ObjectDelta.objects.for_actor(acme)) == [delta]


@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_without_the_header_the_next_resolver_answers(alice, acme):
    logged_in(alice).post("/comments/", {"text": "x"})
    [delta] = ObjectDelta.objects.all()
    assert delta.actor == alice


@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_a_non_member_is_refused_with_403_and_nothing_is_written(bob, acme):
    response = logged_in(bob).post(
        "/comments/", {"text": "x"}, headers={"X-Perform-As-Organization": str(acme.pk)}
    )
    assert response.status_code == 403
    assert Comment.objects.count() == 0
    assert Revision.objects.count() == 0


@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_a_non_member_is_refused_before_a_view_that_writes_nothing(bob, acme):
    """The resolvers are asked before the view runs (views that
    authenticate by themselves aside: tests/test_api_actors.py)."""
    Comment.objects.create(text="x")
    response = logged_in(bob).get(
        "/comments/", headers={"X-Perform-As-Organization": str(acme.pk)}
    )
    assert response.status_code == 403


@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_an_anonymous_request_for_an_organisation_is_refused(acme):
    response = Client().post(
        "/comments/", {"text": "x"}, headers={"X-Perform-As-Organization": str(acme.pk)}
    )
    assert response.status_code == 403
    assert Comment.objects.count() == 0


@override_settings(REVY_ACTOR_RESOLVERS=["tests.urls_middleware.never"])
def test_when_no_resolver_answers_the_system_acts(alice):
    logged_in(alice).post("/comments/", {"text": "x"})
    [delta] = ObjectDelta.objects.all()
    assert delta.actor is None


@override_settings(REVY_ACTOR_RESOLVERS=[])
def test_an_empty_resolver_chain_means_the_system_acts(alice):
    logged_in(alice).post("/comments/", {"text": "x"})
    assert ObjectDelta.objects.get().actor is None


# Async -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_async_view_under_async_client(alice):
    client = AsyncClient()
    client.force_login(alice)
    response = run(
        client.post(
            "/acomments/",
            {"text": ["a", "b"]},
            headers={"X-Commit-Message": "async commit"},
        )
    )
    assert response.status_code == 200
    assert response.json()["actor"] == f"auth.User:{alice.pk}"
    revision = only_revision()
    assert revision.description == "async commit"
    assert revision.object_deltas.count() == 2
    assert revision.actors() == [alice]


@pytest.mark.django_db(transaction=True)
def test_async_anonymous_request_and_get_without_writes():
    client = AsyncClient()
    response = run(client.post("/acomments/", {"text": "anonymous"}))
    assert response.json()["actor"] is None
    assert ObjectDelta.objects.get().actor is None
    response = run(client.get("/acomments/"))
    assert response.json()["count"] == 1
    assert Revision.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_ACTOR_RESOLVERS=ORGANIZATION_RESOLVERS)
def test_async_resolver_chain(alice, bob, acme):
    member = AsyncClient()
    member.force_login(alice)
    response = run(
        member.post(
            "/acomments/",
            {"text": "x"},
            headers={"X-Perform-As-Organization": str(acme.pk)},
        )
    )
    assert response.status_code == 200
    assert ObjectDelta.objects.get().actor == acme

    stranger = AsyncClient()
    stranger.force_login(bob)
    response = run(
        stranger.post(
            "/acomments/",
            {"text": "y"},
            headers={"X-Perform-As-Organization": str(acme.pk)},
        )
    )
    assert response.status_code == 403
    assert Comment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_async_requests_keep_their_actors(alice, bob):
    clients = []
    for user in (alice, bob):
        client = AsyncClient()
        client.force_login(user)
        clients.append((user, client))

    async def main():
        return await asyncio.gather(
            *(
                client.post("/acomments/", {"text": [f"{user.username}-{i}"] * 3})
                for i in range(5)
                for user, client in clients
            )
        )

    responses = run(main())
    assert all(r.status_code == 200 for r in responses)
    comments = {str(c.pk): c.text for c in Comment.objects.all()}
    assert len(comments) == 30
    users = {"alice": alice, "bob": bob}
    for delta in ObjectDelta.objects.all():
        assert delta.actor == users[comments[delta.content_id].split("-")[0]]
    revisions = list(Revision.objects.all())
    assert len(revisions) == 10
    for revision in revisions:
        assert revision.object_deltas.count() == 3
        assert len(revision.actors()) == 1
