"""Restore, Revert and Recover in the admin (issue 21): each shows what it
will do, does it on a POST only, and records a new revision by the user."""

import datetime
import re

import pytest
from django.utils import timezone

from revy import Context
from tests.admin_support import revision_url, staff, url, written_novel
from tests.adminapp.models import Author, Chapter, Code, Gadget, Genre, Novel, Review
from tests.helpers import DELETE, Revision
from tests.test_admin_history import text

pytestmark = pytest.mark.django_db

EVERYTHING = [
    f"adminapp.{action}_{model}"
    for action in ("view", "add", "change", "delete")
    for model in ("novel", "author", "chapter", "review", "genre", "gadget", "code")
]


@pytest.fixture
def editor(db):
    return staff("editor", *EVERYTHING)


@pytest.fixture
def novel(alice):
    return written_novel(alice)


def test_restore_shows_what_changes_then_restores_on_post(editor, novel):
    client, user = editor
    first = Revision.objects.order_by("pk").first()
    restore = url(Novel, "revy_restore", novel.pk, first.pk)
    page = client.get(restore)
    assert page.status_code == 200
    assert "Title Nineteen Eighty-Four Nineteen" in text(page)
    assert Novel.objects.get().title == "Nineteen Eighty-Four"  # a GET changes nothing
    response = client.post(restore)
    assert response.status_code == 302
    assert response["Location"] == url(Novel, "change", novel.pk)
    restored = Novel.objects.get()
    assert (restored.title, restored.status) == ("Nineteen", Novel.DRAFT)
    latest = Revision.objects.latest("pk")
    assert latest.description.startswith("Restored novel")
    assert {delta.actor for delta in latest.object_deltas.all()} == {user}


def test_reverting_a_revision_lists_its_conflicts_and_refuses_them(editor, novel):
    client, user = editor
    copy_editing = Revision.objects.get(description="Copy-editing")
    with Context.via(actor=None, revision_description="Later"):
        novel.title = "1984"
        novel.save()
    revert = url(Novel, "revy_revert", novel.pk, copy_editing.pk)
    page = client.get(revert)
    assert page.status_code == 200
    assert "Later changes conflict" in text(page)
    assert f"title was changed later in revision {copy_editing.pk + 2}" in text(page)
    refused = client.post(revert)
    assert refused.status_code == 409
    assert Novel.objects.get().title == "1984"
    done = client.post(revert, {"overwrite": "1"})
    assert done.status_code == 302
    reverted = Novel.objects.get()
    assert (reverted.title, reverted.status) == ("Nineteen", Novel.DRAFT)
    latest = Revision.objects.latest("pk")
    assert latest.description == f"Revert of revision {copy_editing.pk}: Copy-editing"
    assert {delta.actor for delta in latest.object_deltas.all()} == {user}


def test_a_revision_without_conflicts_is_reverted_at_once(editor, novel):
    client, _user = editor
    review = Revision.objects.get(description="A review")
    response = client.post(url(Novel, "revy_revert", novel.pk, review.pk))
    assert response.status_code == 302
    assert not Review.objects.exists()


@pytest.fixture
def deleted(novel, alice):
    """The novel deleted with its chapter (CASCADE); its review kept with
    the novel set to null (SET_NULL)."""
    key = novel.pk
    with Context.via(actor=alice, deletion_description="Withdrawn"):
        Novel.objects.get(pk=key).delete()
    return key


def test_the_recover_page_lists_deleted_rows_with_deleter_and_date(
    editor, deleted, bob
):
    client, _user = editor
    with Context.via(actor=bob):
        other = Novel.objects.create(title="Other")
    other_key = other.pk
    with Context.via(actor=None):
        other.delete()
    page = client.get(url(Novel, "revy_recover"))
    assert page.status_code == 200
    shown = text(page)
    assert "Nineteen Eighty-Four" in shown and "alice" in shown
    assert "Withdrawn" in shown and "took other rows with it" in shown
    assert shown.index("Other") < shown.index("Nineteen Eighty-Four")  # newest first
    by_system = text(client.get(url(Novel, "revy_recover") + "?deleter=system"))
    assert "Other" in by_system and "Nineteen" not in by_system
    by_key = text(client.get(url(Novel, "revy_recover") + f"?q={deleted}"))
    assert "Nineteen" in by_key and "Other" not in by_key
    assert "No deleted object" in text(client.get(url(Novel, "revy_recover") + "?q=x"))
    today = timezone.localdate()
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    assert "No deleted object" in text(
        client.get(url(Novel, "revy_recover") + f"?since={tomorrow}")
    )
    assert "Other" in text(
        client.get(url(Novel, "revy_recover") + f"?since={today}&until={today}")
    )
    assert other_key


def test_recover_with_its_cascade(editor, deleted):
    client, user = editor
    page = client.get(url(Novel, "revy_recover_object", deleted))
    assert page.status_code == 200
    shown = text(page)
    assert "Also undo what its delete did to 3 other rows" in shown
    review, satire = Review.objects.get(), Genre.objects.get(name="Satire")
    assert re.search(r"Chapter \d+ · delete", shown)
    assert f"Review {review.pk} · update" in shown
    assert f"Genre {satire.pk} · update" in shown  # the other side of the members
    response = client.post(url(Novel, "revy_recover_object", deleted), {"cascade": "1"})
    assert response.status_code == 302
    assert response["Location"] == url(Novel, "change", deleted)
    assert Novel.objects.get(pk=deleted).title == "Nineteen Eighty-Four"
    assert Chapter.objects.get().novel_id == deleted
    assert Review.objects.get().novel_id == deleted
    latest = Revision.objects.latest("pk")
    assert {delta.actor for delta in latest.object_deltas.all()} == {user}
    # It is gone from the list.
    assert "No deleted object" in text(client.get(url(Novel, "revy_recover")))


def test_recover_without_its_cascade(editor, deleted):
    client, _user = editor
    client.post(url(Novel, "revy_recover_object", deleted))
    assert Novel.objects.filter(pk=deleted).exists()
    assert not Chapter.objects.exists()
    assert Review.objects.get().novel_id is None


def test_recover_lists_a_conflict_on_what_the_cascade_changed(editor, deleted, bob):
    client, _user = editor
    with Context.via(actor=bob):
        review = Review.objects.get()
        review.novel = Novel.objects.create(title="Another")
        review.save()
    response = client.post(url(Novel, "revy_recover_object", deleted), {"cascade": "1"})
    assert response.status_code == 409
    assert "Later changes conflict" in text(response)
    assert not Novel.objects.filter(pk=deleted).exists()


def test_a_deleted_objects_history_and_its_restore(editor, deleted):
    client, _user = editor
    page = client.get(url(Novel, "history", deleted))
    assert page.status_code == 200
    assert "This object was deleted." in text(page)
    first = Revision.objects.order_by("pk").first()
    # Restoring a deleted object to a revision re-creates it (add permission).
    response = client.post(url(Novel, "revy_restore", deleted, first.pk))
    assert response.status_code == 302
    assert Novel.objects.get(pk=deleted).title == "Nineteen"


def test_recover_by_uuid_and_string_keys(editor, alice):
    client, _user = editor
    with Context.via(actor=alice):
        gadget = Gadget.objects.create(name="g")
        Code.objects.create(code="a/b c?", label="odd")
    key = gadget.pk
    with Context.via(actor=alice):
        Gadget.objects.all().delete()
        Code.objects.all().delete()
    assert client.post(url(Gadget, "revy_recover_object", key)).status_code == 302
    assert client.post(url(Code, "revy_recover_object", "a/b c?")).status_code == 302
    assert Gadget.objects.get(pk=key).name == "g"
    assert Code.objects.get(code="a/b c?").label == "odd"


def test_the_revision_admin_shows_a_revision_and_reverts_it(admin_client, novel):
    review = Revision.objects.get(description="A review")
    page = admin_client.get(revision_url("change", review.pk))
    assert page.status_code == 200
    shown = text(page)
    assert "Review" in shown and "Chilling" in shown and "alice" in shown
    assert revision_url("revert", review.pk) in page.content.decode()
    assert admin_client.get(revision_url("changelist")).status_code == 200
    assert admin_client.get(revision_url("add")).status_code == 403
    response = admin_client.post(revision_url("revert", review.pk))
    assert response.status_code == 302
    assert not Review.objects.exists()
    assert Revision.objects.latest("pk").object_deltas.get().action == DELETE


def test_the_delta_admins_are_read_only_and_mask_secrets(admin_client, novel):
    from tests.helpers import AttributeDelta, ObjectDelta

    for model in (ObjectDelta, AttributeDelta):
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        listing = admin_client.get(base)
        assert listing.status_code == 200
        assert b"tok-first-secret" not in listing.content
        assert admin_client.get(base + "add/").status_code == 403
    token = AttributeDelta.objects.filter(field_name="api_token").first()
    page = admin_client.get(
        f"/admin/{AttributeDelta._meta.app_label}/"
        f"{AttributeDelta._meta.model_name}/{token.pk}/change/"
    )
    assert page.status_code == 200 and b"tok-" not in page.content
    delta = token.object_delta
    page = admin_client.get(
        f"/admin/{ObjectDelta._meta.app_label}/{ObjectDelta._meta.model_name}/"
        f"{delta.pk}/change/"
    )
    assert page.status_code == 200 and b"tok-" not in page.content
    assert b"Nineteen" in page.content
    assert Author.objects.exists()
