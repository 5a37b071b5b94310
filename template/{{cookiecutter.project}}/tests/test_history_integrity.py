"""History is append-only, in the ORM and in the database (the migration
revisions/0002_history_triggers); personal data is erased by revy_redact;
with a key, revy_verify finds history changed behind revy's back."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from revy import Context
from revy.contrib.django import REDACTED, HistoryIsAppendOnly, state_at
from revy.contrib.django.triggers import installed

from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.revisions.models import AttributeDelta, Revision

pytestmark = pytest.mark.django_db


def test_the_database_and_the_orm_refuse_to_change_history():
    with Context.via(actor=None, revision_description="Found Initech"):
        Organization.objects.create(name="Initech", slug="initech")

    assert set(installed().values()) == {True}
    with pytest.raises(HistoryIsAppendOnly):
        Revision.objects.update(description="forged")
    table = connection.ops.quote_name(AttributeDelta._meta.db_table)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET new_value = NULL")
    assert Revision.objects.get().description == "Found Initech"


def test_personal_data_is_erased_from_history(alice):
    with Context.via(actor=None):
        alice.email = "alice@elsewhere.example"
        alice.save()

    call_command("revy_redact", "--actor", f"accounts.User:{alice.pk}", stdout=io.StringIO())

    assert state_at(type(alice), alice.pk).email is REDACTED


@pytest.mark.django_db(transaction=True)
def test_revy_verify_finds_history_changed_behind_its_back(settings):
    settings.REVY_INTEGRITY_KEY = "tests-only-" + "k" * 40
    settings.REVY_TAMPER_EVIDENCE = True
    with Context.via(actor=None, revision_description="Found Initech"):
        Organization.objects.create(name="Initech", slug="initech")
    out = io.StringIO()
    call_command("revy_verify", "--checkpoint", stdout=out)
    assert "History verified" in out.getvalue()

    call_command("revy_triggers", "--remove", stdout=io.StringIO())
    try:
        table = connection.ops.quote_name(AttributeDelta._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET new_value = %s", ['"forged"'])
        with pytest.raises(CommandError, match="tampered with"):
            call_command("revy_verify", stdout=io.StringIO(), stderr=io.StringIO())
    finally:
        call_command("revy_triggers", stdout=io.StringIO())
