"""Requests served over ASGI are recorded as those served over WSGI.

The requests go through Django's ASGI handler (AsyncClient), so both
middlewares run their async paths.
"""

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from tests.conftest import deltas, revisions


def post_async(user: Any, path: str, **headers: str) -> Any:
    async def run() -> Any:
        client = AsyncClient()
        await sync_to_async(client.force_login)(user)
        return await client.post(path, headers=headers)

    return async_to_sync(run)()


def get_async(user: Any, path: str, **headers: str) -> Any:
    async def run() -> Any:
        client = AsyncClient()
        if user is not None:
            await sync_to_async(client.force_login)(user)
        return await client.get(path, headers=headers)

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_an_async_view_sees_the_actor_the_resolvers_chose(alice, acme):
    whoami = reverse("accounts:whoami")
    assert get_async(None, whoami).json() == {"actor": None}
    assert get_async(alice, whoami).json() == {"actor": "user alice"}
    acting = get_async(alice, whoami, **{"X-Perform-As-Organization": "acme"})
    assert acting.json() == {"actor": "organization Acme Ltd"}


@pytest.mark.django_db(transaction=True)
def test_an_async_request_records_its_actor_and_origin(alice, acme):
    response = post_async(
        alice,
        reverse("accounts:close"),
        **{
            "X-Perform-As-Organization": "acme",
            "X-Commit-Message": "Leaving, asynchronously.",
            "X-Request-ID": "async-1",
        },
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "async-1"

    [revision] = revisions()
    assert (revision.description, revision.request_id, revision.path) == (
        "Leaving, asynchronously.",
        "async-1",
        "/account/close/",
    )
    assert revision.actors() == [acme]
    assert [d.action for d in deltas(revision)] == ["delete", "delete", "update"]


@pytest.mark.django_db(transaction=True)
def test_an_async_non_member_gets_403(bob, acme):
    response = post_async(bob, reverse("accounts:close"), **{"X-Perform-As-Organization": "acme"})
    assert response.status_code == 403
    assert revisions() == []
