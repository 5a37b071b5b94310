"""The swapped history models, their admin, their pages and the history command."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from revy import Context

from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.revisions.models import ObjectDelta, Revision


@pytest.fixture
def renamed(alice):
    with Context.via(actor=alice, revision_description="Create Acme."):
        acme = Organization.objects.create(name="Acme", slug="acme")
    with Context.via(actor=None, revision_description="Rename Acme."):
        acme.name = "Acme Ltd"
        acme.save()
    return acme


def history(*args: str) -> str:
    out = io.StringIO()
    call_command("history", *args, stdout=out)
    return out.getvalue()


def test_the_history_command_prints_an_objects_changes_as_a_table(renamed, alice):
    table = history("accounts.Organization", str(renamed.pk))
    lines = table.splitlines()
    first = Revision.objects.order_by("pk").first()
    assert lines[0].startswith(f"Revision {first.pk} · ")
    assert lines[0].endswith("“Create Acme.”")
    assert lines[1].split() == ["Object", "Action", "Actor", "Field", "Old", "New", "Note"]
    assert f"accounts.organization {renamed.pk}  create  user alice  name" in table
    assert "“Rename Acme.”" in table
    rename = next(line for line in lines if " update " in line)
    assert rename.split() == ["accounts.organization", str(renamed.pk), "update", "system"] + [
        "name",
        "Acme",
        "Acme",
        "Ltd",
    ]


def test_the_history_command_prints_the_latest_revisions(renamed):
    table = history("--latest", "1")
    assert "Rename Acme." in table
    assert "Create Acme." not in table


def test_the_history_command_says_when_there_is_none(db):
    assert history().strip() == "No history recorded."


def test_passwords_never_show_in_the_table(db):
    from django.contrib.auth import get_user_model

    with Context():
        get_user_model().objects.create_user("carol", password="secret")
    table = history()
    assert "password  " in table
    assert "md5$" not in table and "secret" not in table


@pytest.fixture
def staff_client(alice):
    alice.is_staff = True
    alice.is_superuser = True
    alice.save()
    client = Client()
    client.force_login(alice)
    return client


def test_the_history_pages_are_for_staff(renamed, staff_client):
    assert Client().get(reverse("revisions:recent")).status_code == 302
    page = staff_client.get(reverse("revisions:recent"))
    assert page.status_code == 200
    assert b"Rename Acme." in page.content
    url = reverse("revisions:object", args=["accounts.Organization", renamed.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert b"Acme Ltd" in page.content
    missing = reverse("revisions:object", args=["nope.Nothing", 1])
    assert staff_client.get(missing).status_code == 404


def test_the_history_is_read_only_in_the_admin(renamed, staff_client):
    revision = Revision.objects.first()
    delta = ObjectDelta.objects.first()
    for url in (
        reverse("admin:revisions_revision_changelist"),
        reverse("admin:revisions_revision_change", args=[revision.pk]),
        reverse("admin:revisions_objectdelta_change", args=[delta.pk]),
    ):
        assert staff_client.get(url).status_code == 200, url
    assert staff_client.get(reverse("admin:revisions_revision_add")).status_code == 403


def actors_shown(html: str) -> list[str]:
    """The text of each actor cell and field of an admin page."""
    shown = []
    for chunk in html.split('field-actor_text">')[1:]:
        cell = chunk.split("</td>")[0]
        if "<label" in cell:  # a field of a change form
            cell = re.search(r'class="readonly">(.*?)</div>', chunk, re.S).group(1)
        shown.append(re.sub(r"<[^>]+>", "", cell).strip())
    return shown


def test_the_admin_shows_actors_as_the_history_pages_do(renamed, staff_client, alice):
    by_alice = ObjectDelta.objects.get(revision__description="Create Acme.")
    by_system = ObjectDelta.objects.get(revision__description="Rename Acme.")
    revision = staff_client.get(
        reverse("admin:revisions_revision_change", args=[by_system.revision_id])
    ).content.decode()
    assert re.search(r"By:</strong>\s*system</p>", revision)
    pages = {
        "object delta": reverse("admin:revisions_objectdelta_change", args=[by_system.pk]),
        "alice's object delta": reverse("admin:revisions_objectdelta_change", args=[by_alice.pk]),
        "object deltas": reverse("admin:revisions_objectdelta_changelist"),
    }
    shown = {
        name: actors_shown(staff_client.get(url).content.decode()) for name, url in pages.items()
    }
    # The delta's field, and the list's column.
    assert shown["object delta"] == ["system"]
    assert shown["alice's object delta"] == [str(alice)]
    assert sorted(shown["object deltas"]) == sorted(["system", str(alice)])


def test_passwords_never_show_in_the_admin(db, staff_client):
    from django.contrib.auth import get_user_model

    with Context():
        carol = get_user_model().objects.create_user("carol", password="secret")
    delta = ObjectDelta.objects.for_object(carol).get()
    page = staff_client.get(reverse("admin:revisions_objectdelta_change", args=[delta.pk]))
    assert page.status_code == 200
    assert b"carol" in page.content
    assert carol.password.encode() not in page.content and b"secret" not in page.content


def test_the_recent_page_names_an_actor_that_is_gone(staff_client):
    from django.contrib.auth import get_user_model

    dave = get_user_model().objects.create_user("dave")
    with Context.via(actor=dave, revision_description="Dave founds Initech."):
        Organization.objects.create(name="Initech", slug="initech")
    dave_pk = dave.pk
    dave.delete()
    page = staff_client.get(reverse("revisions:recent")).content.decode()
    assert f"user #{dave_pk} (deleted)" in page
    assert "system" not in page.split("Dave founds Initech.")[1].split("<h2>")[0]


def test_a_key_the_model_cannot_have_is_not_found(staff_client):
    url = reverse("revisions:object", args=["accounts.Organization", "abc"])
    assert staff_client.get(url).status_code == 404
    with pytest.raises(CommandError, match="'abc' is no key of accounts.Organization"):
        history("accounts.Organization", "abc")


@pytest.fixture
def plain_staff(bob):
    """A staff user with no permission at all."""
    bob.is_staff = True
    bob.save()
    client = Client()
    client.force_login(bob)
    return client


def test_a_staff_user_without_the_view_permission_is_refused(renamed, plain_staff, bob):
    url = reverse("revisions:object", args=["accounts.Organization", renamed.pk])
    assert plain_staff.get(url).status_code == 403
    recent = plain_staff.get(reverse("revisions:recent")).content.decode()
    assert "Rename Acme." not in recent and "not shown" in recent
    admin_history = reverse("admin:accounts_organization_history", args=[renamed.pk])
    assert plain_staff.get(admin_history).status_code == 403
    from django.contrib.auth.models import Permission

    bob.user_permissions.add(Permission.objects.get(codename="view_organization"))
    assert plain_staff.get(url).status_code == 200
    assert "Rename Acme." in plain_staff.get(reverse("revisions:recent")).content.decode()
    assert plain_staff.get(admin_history).status_code == 200


def test_the_object_page_is_a_page_that_links_to_the_admin(renamed, staff_client):
    url = reverse("revisions:object", args=["accounts.Organization", renamed.pk])
    page = staff_client.get(url).content.decode()
    assert "<table>" in page and "<pre>" not in page
    assert reverse("admin:accounts_organization_history", args=[renamed.pk]) in page
    assert reverse("admin:accounts_organization_change", args=[renamed.pk]) in page
    assert page.index("Rename Acme.") < page.index("Create Acme.")  # newest first


def test_every_tracked_model_has_revys_history_pages_in_the_admin(renamed, staff_client):
    from django.contrib import admin
    from revy.contrib.django import conf
    from revy.contrib.django.admin import RevyAdminMixin

    for model, model_admin in admin.site._registry.items():
        if conf.is_tracked(model):
            assert isinstance(model_admin, RevyAdminMixin), model
    page = staff_client.get(reverse("admin:accounts_organization_history", args=[renamed.pk]))
    assert page.status_code == 200
    assert b"Rename Acme." in page.content and b"Acme Ltd" in page.content
    revision = Revision.objects.order_by("pk").first()
    assert (
        staff_client.get(reverse("admin:revisions_revision_change", args=[revision.pk])).status_code
        == 200
    )
    assert staff_client.get(reverse("admin:accounts_organization_revy_recover")).status_code == 200


def test_a_deleted_objects_page_links_to_its_recovery(renamed, staff_client):
    pk = renamed.pk
    with Context.via(actor=None, revision_description="Close Acme."):
        renamed.delete()
    page = staff_client.get(reverse("revisions:object", args=["accounts.Organization", pk]))
    assert page.status_code == 200
    assert reverse("admin:accounts_organization_revy_recover_object", args=[pk]) in (
        page.content.decode()
    )
