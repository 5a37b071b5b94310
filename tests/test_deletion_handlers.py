"""revy's deletion handlers are Django's own: CASCADE, SET, SET_NULL and
SET_DEFAULT, importable from revy.contrib.django.models as upstream revy had
them, are the very objects of django.db.models, so Django's collector takes
its fast paths, and models using them make stable migrations with nothing of
revy in them.

What a delete through each handler records is tested in test_deletion.py.
"""

import pytest
from django.apps import apps
from django.db import models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter

from revy.contrib.django import models as revy_models
from tests.testapp.models import Book, Page, Task

pytestmark = pytest.mark.django_db


def test_the_handlers_are_djangos_own():
    # Django's collector tests `on_delete is CASCADE` to take its fast paths.
    assert revy_models.CASCADE is models.CASCADE
    assert revy_models.SET_NULL is models.SET_NULL
    assert revy_models.SET_DEFAULT is models.SET_DEFAULT
    assert revy_models.SET is models.SET
    assert Page._meta.get_field("book").remote_field.on_delete is models.CASCADE


def _state_without_testapp():
    """The project's state as if testapp had no migration yet."""
    state = ProjectState.from_apps(apps)
    for app_label, model_name in list(state.models):
        if app_label == "testapp":
            state.remove_model(app_label, model_name)
    return state


def _makemigrations_testapp(from_state):
    """The migrations ``makemigrations testapp`` would write, from ``from_state``."""
    autodetector = MigrationAutodetector(
        from_state,
        ProjectState.from_apps(apps),
        NonInteractiveMigrationQuestioner(specified_apps={"testapp"}, dry_run=True),
    )
    changes = autodetector.changes(
        graph=MigrationGraph(), trim_to_apps={"testapp"}, convert_apps={"testapp"}
    )
    return changes.get("testapp", [])


def test_models_using_revys_handlers_make_stable_migrations():
    # First run of makemigrations, for testapp's models from scratch.
    migrations = _makemigrations_testapp(_state_without_testapp())
    assert migrations
    texts = [MigrationWriter(m).as_string() for m in migrations]
    assert texts == [MigrationWriter(m).as_string() for m in migrations]
    written = "\n".join(texts)
    # The handlers are written as Django's: nothing of revy in the migration.
    assert "revy" not in written
    assert "on_delete=django.db.models.deletion.CASCADE" in written
    assert "on_delete=django.db.models.deletion.SET_DEFAULT" in written
    assert "on_delete=django.db.models.deletion.SET_NULL" in written
    assert "on_delete=models.SET('archive')" in written
    assert "on_delete=models.SET(tests.testapp.models.archive_category)" in written

    # Second run, with the migrations of the first applied: no change.
    state = _state_without_testapp()
    for migration, text in zip(migrations, texts, strict=True):
        namespace = {}
        exec(compile(text, migration.name, "exec"), namespace)
        for operation in namespace["Migration"].operations:
            operation.state_forwards("testapp", state)
    assert _makemigrations_testapp(state) == []


@pytest.mark.parametrize(
    "model, field, path",
    [
        (Book, "shelf", "django.db.models.deletion.CASCADE"),
        (Book, "editor", "django.db.models.deletion.SET_NULL"),
        (Task, "category", "django.db.models.deletion.SET_DEFAULT"),
        (Task, "fallback", "models.SET('archive')"),
        (Task, "sentinel", "models.SET(tests.testapp.models.archive_category)"),
    ],
)
def test_a_handler_serializes_to_djangos_path(model, field, path):
    field = model._meta.get_field(field)
    first, imports = MigrationWriter.serialize(field)
    second, _ = MigrationWriter.serialize(field)
    assert first == second
    assert f"on_delete={path}" in first
    assert not any("revy" in line for line in imports)
