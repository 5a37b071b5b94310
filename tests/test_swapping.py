"""Swapping revy's history models, as Django swaps AUTH_USER_MODEL.

The suite runs twice per database (see the Makefile): REVY_TEST_SWAPPED=1
swaps in the models of tests/swapped. The tests here check which models are
in use in this process, then run a tiny project (tests/swap_project) in
subprocesses, on a scratch database of the server under test: a team swaps
all three models for its own, runs makemigrations and migrate with no prompt
and no hand edit, and records changes in them.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import ProtectedError

import revy
from revy.contrib.django.exceptions import HistoryIsAppendOnly
from revy.contrib.django.models import (
    AbstractAttributeDelta,
    AbstractObjectDelta,
    AbstractRevision,
    get_attribute_delta_model,
    get_object_delta_model,
    get_revision_model,
)

SWAPPED = os.environ.get("REVY_TEST_SWAPPED", "0") == "1"

TEMPLATE = Path(__file__).parent / "swap_project"
# The directory revy is imported from here; the subprocesses import it too.
REVY_ROOT = Path(revy.__file__).resolve().parents[1]
REVY_MIGRATIONS = REVY_ROOT / "revy" / "contrib" / "django" / "migrations"

GETTERS = {
    "Revision": get_revision_model,
    "ObjectDelta": get_object_delta_model,
    "AttributeDelta": get_attribute_delta_model,
}
SETTINGS = {
    "Revision": "REVY_REVISION_MODEL",
    "ObjectDelta": "REVY_OBJECT_DELTA_MODEL",
    "AttributeDelta": "REVY_ATTRIBUTE_DELTA_MODEL",
}
TEAM_MODELS = {setting: f"team.{name}" for name, setting in SETTINGS.items()}
# Ways in which an interactive makemigrations would have asked for help.
PROMPTS = ("Please select a fix", "?")


# In this process ---------------------------------------------------------------


def test_settings_follow_the_environment():
    assert settings.SWAPPED_HISTORY_MODELS is SWAPPED
    assert apps.is_installed("tests.swapped") is SWAPPED
    for setting in SETTINGS.values():
        if SWAPPED:
            assert getattr(settings, setting).startswith("swapped.")
        else:
            assert not hasattr(settings, setting)


@pytest.mark.parametrize("name", list(GETTERS))
def test_model_in_use(name):
    model = GETTERS[name]()
    own = apps.get_model("revy", name)
    if SWAPPED:
        assert model is apps.get_model("swapped", name)
        assert model is not own
        assert own._meta.swapped == f"swapped.{name}"
        assert getattr(settings, SETTINGS[name]) == f"swapped.{name}"
    else:
        assert model is own
        assert own._meta.swapped is None
    assert model._meta.swapped is None


def test_the_models_in_use_point_at_each_other():
    object_delta = get_object_delta_model()
    attribute_delta = get_attribute_delta_model()
    assert object_delta._meta.get_field("revision").related_model is (
        get_revision_model()
    )
    assert object_delta._meta.get_field("cause").related_model is object_delta
    assert attribute_delta._meta.get_field("object_delta").related_model is (
        object_delta
    )
    assert issubclass(get_revision_model(), AbstractRevision)
    assert issubclass(object_delta, AbstractObjectDelta)
    assert issubclass(attribute_delta, AbstractAttributeDelta)


@pytest.mark.django_db
def test_tables_exist_only_for_the_models_in_use():
    tables = set(connection.introspection.table_names())
    for name, get_model in GETTERS.items():
        own = apps.get_model("revy", name)._meta.db_table
        assert get_model()._meta.db_table in tables
        if SWAPPED:
            assert own not in tables
            assert f"swapped_{name.lower()}" in tables
        else:
            assert own in tables
            assert f"swapped_{name.lower()}" not in tables


def foreign_keys(model):
    """``{column: table it references}`` of the table of ``model``."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    return {
        found["columns"][0]: found["foreign_key"][0]
        for found in constraints.values()
        if found["foreign_key"]
    }


@pytest.mark.django_db
def test_history_rows_are_tied_by_constraints_and_content_types_are_not():
    # Decision 0007: a content type column is half of a generic key.
    revision = get_revision_model()._meta.db_table
    object_delta = get_object_delta_model()
    assert foreign_keys(object_delta) == {
        "revision_id": revision,
        "cause_id": object_delta._meta.db_table,
    }
    assert foreign_keys(get_attribute_delta_model()) == {
        "object_delta_id": object_delta._meta.db_table
    }


@pytest.mark.django_db
def test_a_content_type_that_history_names_cannot_be_deleted():
    # In the transaction that recorded it too: the deletion collector
    # reads through the base manager, which writes pending history first.
    from tests.testapp.models import Comment

    with revy.Context():
        Comment.objects.create(text="kept")
    with pytest.raises(ProtectedError):
        ContentType.objects.get_for_model(Comment).delete()
    assert ContentType.objects.filter(model="comment").exists()


@pytest.mark.django_db(transaction=True)
def test_deleting_a_revision_in_its_own_transaction_is_refused_and_keeps_its_deltas():
    # The deletion collector reads through the base manager, which writes the
    # pending history first; the history models refuse the delete (append-only).
    from tests.testapp.models import Comment

    with transaction.atomic():
        with revy.Context():
            Comment.objects.create(text="kept")
        with pytest.raises(HistoryIsAppendOnly):
            get_revision_model().objects.get().delete()
    assert get_object_delta_model().objects.count() == 1
    assert get_attribute_delta_model().objects.exists()
    assert Comment.objects.filter(text="kept").exists()


@pytest.mark.django_db
def test_changes_are_recorded_in_the_models_in_use():
    from tests.testapp.models import Comment

    with revy.Context.via_actor(None):
        comment = Comment.objects.create(text="first")
        comment.text = "second"
        comment.save()

    revision = get_revision_model().objects.get()
    deltas = list(get_object_delta_model().objects.for_object(comment))
    assert [d.action for d in deltas] == ["create", "update"]
    assert {d.revision_id for d in deltas} == {revision.pk}
    update = get_attribute_delta_model().objects.get(object_delta=deltas[1])
    assert (update.field_name, update.old_value, update.new_value) == (
        "text",
        "first",
        "second",
    )
    if SWAPPED:
        assert (revision.request_id, revision.client_ip, revision.user_agent) == (
            "",
            None,
            "",
        )
        assert {d.source for d in deltas} == {"web"}
        assert update.sensitive is False


@pytest.mark.django_db
def test_the_test_projects_migrations_match_its_models():
    # tests/swapped's migration is makemigrations' own output, unedited.
    labels = ["revy", "swapped"] if SWAPPED else ["revy"]
    out = io.StringIO()
    try:
        call_command("makemigrations", *labels, check=True, dry_run=True, stdout=out)
    except SystemExit:
        pytest.fail("makemigrations --check found changes:\n" + out.getvalue())
    assert "No changes detected" in out.getvalue()


# A tiny project in subprocesses --------------------------------------------------


@pytest.fixture
def scratch_database(tmp_path, django_db_blocker):
    """A new, empty database on the server under test, dropped afterwards."""
    default = settings.DATABASES["default"]
    keys = ("ENGINE", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    database = {key: default[key] for key in keys if key in default}
    if connection.vendor == "sqlite":
        yield {**database, "NAME": str(tmp_path / "scratch.sqlite3")}
        return
    name = f"revy_swap_{uuid.uuid4().hex[:12]}"
    quoted = connection.ops.quote_name(name)
    suffix = connection.creation.sql_table_creation_suffix()
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {quoted} {suffix}")
    try:
        yield {**database, "NAME": name}
    finally:
        with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")


class Project:
    """A copy of tests/swap_project, run with one set of apps and settings."""

    def __init__(self, path, database, apps=(), **revy_settings):
        shutil.copytree(TEMPLATE, path, ignore=shutil.ignore_patterns("__pycache__"))
        self.path = path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "swap_settings",
            "PYTHONPATH": os.pathsep.join([str(path), str(REVY_ROOT)]),
            "SWAP_PROJECT": json.dumps(
                {"apps": list(apps), "database": database, "settings": revy_settings}
            ),
        }

    def run(self, *args):
        """Run python with ``args`` in the project, with no terminal to ask."""
        result = subprocess.run(
            [sys.executable, *args],
            cwd=self.path,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        result.output = result.stdout + result.stderr
        return result

    def django(self, *args):
        return self.run("-m", "django", *args)


def assert_ok(result):
    command = " ".join(result.args[1:])
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n" + (
        result.output
    )


def assert_asks_nothing(result):
    for prompt in PROMPTS:
        assert prompt not in result.output, result.output


def test_a_swapped_project_migrates_from_empty_with_no_prompt(
    tmp_path, scratch_database
):
    project = Project(
        tmp_path / "project", scratch_database, apps=["team"], **TEAM_MODELS
    )
    team_migrations = project.path / "team" / "migrations"
    revy_migrations_before = sorted(REVY_MIGRATIONS.glob("*.py"))

    # What makemigrations would write, first: it must not be a migration
    # inside revy's installed package, which a project cannot ship.
    planned = project.django("makemigrations", "--noinput", "--dry-run")
    assert_ok(planned)
    assert_asks_nothing(planned)
    assert "Migrations for 'revy'" not in planned.output, (
        "makemigrations would write a migration into revy's own package:\n"
        + planned.output
    )
    assert "Migrations for 'team'" in planned.output, planned.output

    made = project.django("makemigrations", "--noinput")
    assert_ok(made)
    assert_asks_nothing(made)
    assert (team_migrations / "0001_initial.py").is_file(), made.output
    assert sorted(REVY_MIGRATIONS.glob("*.py")) == revy_migrations_before

    assert_ok(project.django("migrate", "--noinput"))

    unchanged = project.django("makemigrations", "--check", "--dry-run")
    assert_ok(unchanged)
    assert "No changes detected" in unchanged.output

    captured = project.run("capture_check.py")
    assert_ok(captured)
    assert "captured in the swapped models" in captured.stdout


def test_revys_own_migration_matches_its_models(tmp_path, scratch_database):
    project = Project(tmp_path / "project", scratch_database)
    result = project.django("makemigrations", "--check", "--dry-run")
    assert_ok(result)
    assert "No changes detected" in result.output


def unused_database(tmp_path):
    """``manage.py check`` opens no database; it is given one all the same."""
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db")}


def assert_check_fails_with(result, message):
    assert result.returncode == 1, result.output
    assert "SystemCheckError" in result.output, result.output
    assert message in result.output, result.output


def test_a_history_model_of_the_wrong_kind_fails_check(tmp_path):
    project = Project(
        tmp_path / "project",
        unused_database(tmp_path),
        apps=["team"],
        REVY_REVISION_MODEL="team.Note",
    )
    assert_check_fails_with(
        project.django("check"),
        "(revy.E009) REVY_REVISION_MODEL refers to 'team.Note', "
        "which does not subclass revy's AbstractRevision.",
    )


@pytest.mark.parametrize(
    ("swapped", "message"),
    [
        (
            {"REVY_OBJECT_DELTA_MODEL": "team.ObjectDelta"},
            "(revy.E012) REVY_OBJECT_DELTA_MODEL is set but REVY_REVISION_MODEL "
            "is not: set REVY_REVISION_MODEL too (to its default if you keep "
            "revy's model).",
        ),
        (
            {
                "REVY_REVISION_MODEL": "team.Revision",
                "REVY_ATTRIBUTE_DELTA_MODEL": "team.AttributeDelta",
            },
            "(revy.E013) REVY_ATTRIBUTE_DELTA_MODEL is set but "
            "REVY_OBJECT_DELTA_MODEL is not: set REVY_OBJECT_DELTA_MODEL too (to "
            "its default if you keep revy's model).",
        ),
    ],
    ids=["object delta without revision", "attribute delta without object delta"],
)
def test_a_delta_model_swapped_without_the_model_it_points_to_fails_check(
    tmp_path, swapped, message
):
    project = Project(
        tmp_path / "project", unused_database(tmp_path), apps=["team"], **swapped
    )
    assert_check_fails_with(project.django("check"), message)
