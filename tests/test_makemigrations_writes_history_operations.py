"""``makemigrations`` writes revy's operation beside Django's where a tracked
model's field is renamed or removed (revy.contrib.django.autodetector):
the autodetector runs on tests/schemaapp's migrated state against the same
state with a field of ``Note`` renamed or removed, as the command would."""

import pytest
from django.core import checks
from django.core.management import get_commands, load_command_class
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.writer import MigrationWriter

from revy.contrib.django.autodetector import HistoryAutodetector
from revy.contrib.django.operations import RemoveTrackedField, RenameTrackedField


def detect(change):
    """The migrations of schemaapp that the autodetector writes for
    ``change(state)``, with the questioner's answer "yes, renamed"."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    before = loader.project_state()
    after = before.clone()
    change(after)
    detector = HistoryAutodetector(
        before, after, MigrationQuestioner(defaults={"ask_rename": True})
    )
    return detector.changes(graph=loader.graph, trim_to_apps={"schemaapp"})["schemaapp"]


def rename_text(state):
    state.rename_field("schemaapp", "note", "text", "body")


def remove_views(state):
    state.remove_field("schemaapp", "note", "views")


def test_a_rename_of_a_tracked_field_gets_rename_tracked_field_after_it():
    [migration] = detect(rename_text)

    rename, history = migration.operations
    assert type(rename).__name__ == "RenameField"
    assert isinstance(history, RenameTrackedField)
    assert (history.model_name, history.old_name, history.new_name) == (
        "note",
        "text",
        "body",
    )
    assert ("revy", "0004_amendments_of_migrations") in migration.dependencies
    # Named from Django's operation, as without revy.
    assert migration.name == "0006_rename_text_note_body"


def test_a_removal_of_a_tracked_field_gets_remove_tracked_field_after_it():
    [migration] = detect(remove_views)

    remove, history = migration.operations
    assert type(remove).__name__ == "RemoveField"
    assert isinstance(history, RemoveTrackedField)
    assert (history.model_name, history.name) == ("note", "views")


def test_an_untracked_models_field_gets_no_operation_of_revys(settings):
    settings.REVY_UNTRACKED_MODELS = ["schemaapp.Note"]

    [migration] = detect(rename_text)

    assert [type(op).__name__ for op in migration.operations] == ["RenameField"]
    assert ("revy", "0004_amendments_of_migrations") not in migration.dependencies


def test_the_written_migration_imports_revys_operation_and_depends_on_history(
    settings,
):
    settings.REVY_ATTRIBUTE_DELTA_MODEL = "swapped.AttributeDelta"
    [migration] = detect(rename_text)

    source = MigrationWriter(migration).as_string()

    assert "import revy.contrib.django.operations" in source
    assert (
        "revy.contrib.django.operations.RenameTrackedField(\n"
        "            model_name='note',\n"
        "            old_name='text',\n"
        "            new_name='body',\n"
    ) in source.replace('"', "'")
    assert "('revy', '0004_amendments_of_migrations')" in source.replace('"', "'")
    assert "migrations.swappable_dependency(settings.REVY_ATTRIBUTE_DELTA_MODEL)" in (
        source
    )


def test_makemigrations_and_migrate_are_revys_with_the_history_autodetector():
    for name in ("makemigrations", "migrate"):
        command = load_command_class(get_commands()[name], name)
        assert command.autodetector is HistoryAutodetector, name
    # Django's own check that the two commands detect changes alike.
    assert [e.id for e in checks.run_checks(tags=[checks.Tags.commands])] == []


@pytest.mark.parametrize("app", ["ownmakemigrationsapp", "ownmigrateapp"])
def test_an_app_replacing_one_of_the_two_commands_keeps_them_agreeing(settings, app):
    # Listed before revy, its command is the one Django runs; revy's other
    # command takes its autodetector, so Django's check still passes.
    settings.INSTALLED_APPS = [f"tests.{app}", *settings.INSTALLED_APPS]
    autodetectors = {
        name: load_command_class(get_commands()[name], name).autodetector
        for name in ("makemigrations", "migrate")
    }

    assert autodetectors == {
        "makemigrations": MigrationAutodetector,
        "migrate": MigrationAutodetector,
    }
    assert [e.id for e in checks.run_checks(tags=[checks.Tags.commands])] == []


def test_the_written_migration_loads_as_the_operations_detected():
    """The file the writer produced, loaded as Python, holds operations that
    are the ones detected (not a source that only looks right)."""
    [migration] = detect(rename_text)
    namespace = {}
    exec(MigrationWriter(migration).as_string(), namespace)

    written = namespace["Migration"]("0006_rename_text_note_body", "schemaapp")

    assert [op.describe() for op in written.operations] == [
        op.describe() for op in migration.operations
    ]
