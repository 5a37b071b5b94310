"""The example apps over the REST API: every write is credited to the
token's user (or the organisation acted for), each object has its history
and revert endpoints, and a non-member acting for an organisation is
refused before anything is written."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from revy.contrib.django.proposals import get_proposal_model

from {{ cookiecutter.project }}.blog.models import Post
from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import CORRECTED
from {{ cookiecutter.project }}.revisions.models import ObjectDelta, Revision

from tests.conftest import actor_key, deltas, fields, revisions

pytestmark = pytest.mark.django_db


def token_client(user: Any, **headers: str) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}", **headers)
    return client


def allowed(user: Any, *codenames: str) -> Any:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def invoice(acme: Any) -> Invoice:
    return Invoice.objects.create(
        organization=acme,
        number="INV-1",
        currency="EUR",
        amount=Decimal("100.00"),
        exchange_rate=Decimal("1.100000"),
        local_amount=Decimal("110.00"),
    )


def test_every_write_is_the_token_users(alice):
    client = token_client(alice)
    created = client.post("/api/posts/", {"title": "Hello", "body": "First."})
    assert created.status_code == 201
    url = f"/api/posts/{created.json()['id']}/"
    assert client.put(url, {"title": "Hello!", "body": "First."}).status_code == 200
    assert client.patch(url, {"body": "Edited."}).status_code == 200
    assert client.delete(url).status_code == 204
    assert [d.action for r in revisions() for d in deltas(r)] == [
        "create",
        "update",
        "update",
        "delete",
    ]
    assert {actor_key(d) for d in ObjectDelta.objects.all()} == {("user", str(alice.pk))}


def test_the_commit_message_header_describes_an_api_write(alice):
    token_client(alice).post(
        "/api/posts/", {"title": "Why"}, headers={"X-Commit-Message": "Announce it."}
    )
    [revision] = revisions()
    assert revision.description == "Announce it."


def test_only_the_author_changes_a_post(alice, bob):
    post = Post.objects.create(author=alice, title="Mine")
    answer = token_client(bob).patch(f"/api/posts/{post.pk}/", {"title": "Ours"})
    assert answer.status_code == 403
    assert revisions() == []


def test_a_member_acting_for_the_organisation_changes_its_invoice(alice, acme, invoice):
    client = token_client(alice, HTTP_X_PERFORM_AS_ORGANIZATION="acme")
    answer = client.patch(f"/api/invoices/{invoice.pk}/", {"amount": "200.00"})
    assert answer.status_code == 200
    assert answer.json()["local_amount"] == "220.00"
    [revision] = revisions()
    [delta] = deltas(revision)
    assert actor_key(delta) == ("organization", str(acme.pk))
    changes = fields(delta)
    assert changes["amount"][2] == acme
    assert changes["local_amount"][2:] == (None, CORRECTED)  # The system's correction.


def test_a_change_that_needs_review_is_proposed_over_the_api_too(alice, acme, invoice):
    client = token_client(alice, HTTP_X_PERFORM_AS_ORGANIZATION="acme")
    answer = client.patch(
        f"/api/invoices/{invoice.pk}/",
        {"amount": "20000.00"},
        headers={"X-Commit-Message": "Annual contract."},
    )
    assert answer.status_code == 202
    proposal = get_proposal_model().objects.get(pk=answer.json()["proposal"])
    assert answer.json() == {
        "status": "submitted for review",
        "proposal": proposal.pk,
        "url": f"/reviews/{proposal.pk}/",
    }
    assert (proposal.actor, proposal.description) == (acme, "Annual contract.")
    invoice.refresh_from_db()
    assert invoice.amount == Decimal("100.00")
    assert [d.actor for d in proposal.decisions.all()] == [alice]


def test_a_non_member_is_refused_before_anything_is_written(bob, acme, invoice):
    client = token_client(bob, HTTP_X_PERFORM_AS_ORGANIZATION="acme")
    answer = client.patch(f"/api/invoices/{invoice.pk}/", {"amount": "1.00"})
    assert answer.status_code == 403
    assert "not a member" in answer.json()["detail"]
    invoice.refresh_from_db()
    assert invoice.amount == Decimal("100.00")
    assert revisions() == []


def test_history_lists_who_changed_what(alice):
    client = token_client(alice)
    post_id = client.post("/api/posts/", {"title": "Draft"}).json()["id"]
    client.patch(f"/api/posts/{post_id}/", {"title": "Final"})
    viewer = token_client(allowed(alice, "view_post"))
    history = viewer.get(f"/api/posts/{post_id}/history/").json()
    assert history["count"] == 2
    newest = history["results"][0]
    assert newest["actor"]["label"] == "alice"
    assert newest["changes"][0]["field"] == "title"
    assert (newest["changes"][0]["old"], newest["changes"][0]["new"]) == ("Draft", "Final")


def test_history_needs_the_view_permission(alice):
    post = Post.objects.create(author=alice, title="x")
    assert token_client(alice).get(f"/api/posts/{post.pk}/history/").status_code == 403


def test_revert_undoes_a_revision_and_conflicts_answer_409(alice):
    author = allowed(alice, "change_post", "view_post")
    client = token_client(author)
    post_id = client.post("/api/posts/", {"title": "One"}).json()["id"]
    client.patch(f"/api/posts/{post_id}/", {"title": "Two"})
    client.patch(f"/api/posts/{post_id}/", {"title": "Three"})
    first_change = Revision.objects.order_by("pk")[1]
    url = f"/api/posts/{post_id}/revert/"
    refused = client.post(url, {"revision": first_change.pk})
    assert refused.status_code == 409
    assert [c["field"] for c in refused.json()["conflicts"]] == ["title"]
    forced = client.post(url, {"revision": first_change.pk, "overwrite": True})
    assert forced.status_code == 200
    assert Post.objects.get(pk=post_id).title == "One"
    assert Revision.objects.get(pk=forced.json()["revision"]["id"]).actors() == [author]
