"""Closing an account (deletion descriptions) and restoring it (ObjectSnapshot)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from revy import Context

from {{ cookiecutter.project }}.accounts.models import Membership
from {{ cookiecutter.project }}.accounts.services import (
    CLOSED,
    DELETED_WITH_ACCOUNT,
    RESTORED,
    close_account,
    restore_account,
)

from tests.conftest import actor_key, deltas, fields, revisions

User = get_user_model()


def test_closing_an_account_describes_the_user_and_what_went_with_it(alice, acme):
    membership = Membership.objects.get()
    alice_pk = alice.pk
    with Context.via_actor(alice):
        close_account(alice)

    [revision] = revisions()
    user_delta, membership_delta, organization_delta = deltas(revision)
    assert (user_delta.content_type.model, user_delta.content_id) == ("user", str(alice_pk))
    assert (user_delta.action, actor_key(user_delta)) == ("delete", ("user", str(alice_pk)))
    assert user_delta.description == CLOSED
    assert user_delta.deletion_description == DELETED_WITH_ACCOUNT
    assert fields(user_delta)["username"][:2] == ("alice", None)

    assert membership_delta.content_id == str(membership.pk)
    assert membership_delta.action == "delete"
    assert membership_delta.deletion_description == DELETED_WITH_ACCOUNT
    assert membership_delta.cause == user_delta
    # The organisation lost a member: revy records the many-to-many side too.
    assert (organization_delta.action, organization_delta.cause) == ("update", user_delta)
    assert fields(organization_delta)["members"][:2] == ([alice_pk], [])
    assert not User.objects.filter(pk=alice_pk).exists()


def test_restoring_an_account_rebuilds_it_from_its_snapshot(alice, acme):
    before = User.objects.get(pk=alice.pk)
    with Context.via_actor(alice):
        close_account(alice)

    restored = restore_account(before.pk)

    assert restored.pk == before.pk
    for field in ("username", "email", "password", "date_joined", "is_active"):
        assert getattr(restored, field) == getattr(before, field)
    assert restored.check_password("pw")
    assert list(restored.organizations.all()) == [acme]

    closing, restoring = revisions()
    assert restoring.description == f"Restore of the account of user {before.pk}"
    restored_rows = [(d.action, d.content_type.model) for d in deltas(restoring)]
    assert restored_rows[:2] == [("create", "user"), ("create", "membership")]
    assert {d.description for d in deltas(restoring)} == {RESTORED}
    assert restoring.actors() == [None]


def test_restoring_a_user_that_was_never_deleted_fails(alice):
    with pytest.raises(LookupError, match=f"No deletion of user {alice.pk}"):
        restore_account(alice.pk)


def test_the_restore_command_acts_as_the_system(alice):
    alice_pk = alice.pk
    with Context.via_actor(alice):
        close_account(alice)
    call_command("restore_account", str(alice_pk))
    assert User.objects.filter(pk=alice_pk).exists()
    assert revisions()[-1].actors() == [None]
    with pytest.raises(CommandError, match="No deletion of user 999"):
        call_command("restore_account", "999")
