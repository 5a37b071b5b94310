"""Who may read and undo history in the admin (issue 21, "Permissions"):
the model's view permission to read, object-level rules through
has_view_history_permission, change or add to restore, the matching
permission on every model a revision touches to revert it, every POST
checked again, CSRF as Django does."""

import pytest

from revy import Context
from tests.admin_support import revision_url, staff, url, written_novel
from tests.adminapp.models import Chapter, Novel
from tests.helpers import Revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def novel(alice):
    return written_novel(alice)


def pages(novel):
    first = Revision.objects.order_by("pk").first()
    return [
        url(Novel, "history", novel.pk),
        url(Novel, "revy_as_of", novel.pk, first.pk),
        url(Novel, "revy_compare", novel.pk) + f"?from={first.pk}",
        url(Novel, "revy_restore", novel.pk, first.pk),
        url(Novel, "revy_revert", novel.pk, first.pk),
        url(Novel, "revy_recover"),
    ]


def test_a_staff_user_without_the_view_permission_is_refused(novel):
    client, _user = staff("nobody", "adminapp.view_author")
    for page in pages(novel):
        assert client.get(page).status_code == 403, page
        assert client.post(page).status_code == 403, page
    assert Novel.objects.get().title == "Nineteen Eighty-Four"


def test_the_view_permission_reads_but_does_not_undo(novel):
    client, _user = staff("reader", "adminapp.view_novel")
    history, as_of, compare, restore, revert, recover = pages(novel)
    for page in (history, as_of, compare, recover):
        assert client.get(page).status_code == 200, page
    for page in (restore, revert):
        assert client.get(page).status_code == 403, page
        assert client.post(page, {"overwrite": "1"}).status_code == 403, page
    assert Novel.objects.get().title == "Nineteen Eighty-Four"
    html = client.get(history).content.decode()
    assert "/restore/" not in html  # no link to what it may not do


def test_an_object_level_rule_refuses_one_object(alice):
    client, _user = staff("reader", "adminapp.view_novel", "adminapp.change_novel")
    with Context.via(actor=alice):
        secret = Novel.objects.create(title="secret plans")
        public = Novel.objects.create(title="public")
    assert client.get(url(Novel, "history", secret.pk)).status_code == 403
    assert client.get(url(Novel, "history", public.pk)).status_code == 200
    first = Revision.objects.get()
    assert (
        client.post(url(Novel, "revy_restore", secret.pk, first.pk)).status_code == 403
    )


def test_reverting_needs_the_permission_on_every_model_the_revision_touches(novel):
    start = Revision.objects.get(description="Start the novel")  # novel + chapter
    client, _user = staff(
        "novelist",
        "adminapp.view_novel",
        "adminapp.delete_novel",
        "adminapp.delete_author",
        "adminapp.delete_genre",
        "adminapp.change_genre",
        "adminapp.change_novel",
    )
    revert = url(Novel, "revy_revert", novel.pk, start.pk)
    assert client.get(revert).status_code == 403  # no delete_chapter
    assert client.post(revert, {"overwrite": "1"}).status_code == 403
    assert Chapter.objects.exists()
    client, _user = staff(
        "everything",
        *[
            f"adminapp.{a}_{m}"
            for a in ("view", "change", "delete")
            for m in ("novel", "author", "genre", "chapter")
        ],
    )
    assert client.get(revert).status_code == 200
    assert client.post(revert, {"overwrite": "1"}).status_code == 302
    assert not Chapter.objects.exists()


def test_recovering_needs_add_and_its_cascade_the_permissions_it_undoes(novel, alice):
    key = novel.pk
    with Context.via(actor=alice):
        Novel.objects.get(pk=key).delete()
    recover = url(Novel, "revy_recover_object", key)
    viewer, _user = staff("viewer", "adminapp.view_novel")
    assert viewer.get(url(Novel, "revy_recover")).status_code == 200
    assert viewer.get(recover).status_code == 403
    assert viewer.post(recover).status_code == 403
    adder, _user = staff("adder", "adminapp.view_novel", "adminapp.add_novel")
    page = adder.get(recover)
    assert page.status_code == 200
    assert b'name="cascade" value="1" id="revy-cascade" disabled' in page.content
    assert adder.post(recover, {"cascade": "1"}).status_code == 403
    assert not Novel.objects.filter(pk=key).exists()
    assert adder.post(recover).status_code == 302
    assert Novel.objects.filter(pk=key).exists()
    assert not Chapter.objects.exists()


def test_restoring_a_deleted_object_needs_add_not_change(novel, alice):
    key = novel.pk
    with Context.via(actor=alice):
        Novel.objects.get(pk=key).delete()
    first = Revision.objects.order_by("pk").first()
    restore = url(Novel, "revy_restore", key, first.pk)
    changer, _user = staff("changer", "adminapp.view_novel", "adminapp.change_novel")
    assert changer.post(restore).status_code == 403
    adder, _user = staff("adder", "adminapp.view_novel", "adminapp.add_novel")
    assert adder.post(restore).status_code == 302


def test_every_post_needs_its_csrf_token(novel):
    client, _user = staff(
        "careful", "adminapp.view_novel", "adminapp.change_novel", csrf=True
    )
    first = Revision.objects.order_by("pk").first()
    restore = url(Novel, "revy_restore", novel.pk, first.pk)
    assert client.post(restore).status_code == 403
    page = client.get(restore)
    token = page.context["csrf_token"]
    assert client.post(restore, {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert Novel.objects.get().title == "Nineteen"


def test_the_revision_admin_hides_changes_to_models_the_user_may_not_view(novel):
    start = Revision.objects.get(description="Start the novel")
    view_revision = f"{Revision._meta.app_label}.view_revision"
    client, _user = staff("auditor", view_revision, "adminapp.view_chapter")
    page = client.get(revision_url("change", start.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Chapter {Chapter.objects.get().pk}" in html and "Nineteen" not in html
    assert "not shown" in html
    assert revision_url("revert", start.pk) not in html
    assert client.post(revision_url("revert", start.pk)).status_code == 403
    nobody, _user = staff("nobody", "adminapp.view_chapter")
    assert nobody.get(revision_url("change", start.pk)).status_code == 403
