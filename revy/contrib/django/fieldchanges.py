"""What the project's migrations did to fields since revy's history tables
were made: the renames, removals and changes of type history may disagree
with, and those revy's operations cover.

revy.W070 and revy.W071 (``schemachecks.py``) read it, so that they ask
history about these fields alone rather than read all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from django.apps import apps
from django.db import connections, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations import (
    AlterField,
    RemoveField,
    RenameField,
    RenameModel,
)
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from revy.contrib.django.operations import (
    ConvertTrackedField,
    RemoveTrackedField,
    RenameTrackedField,
)
from revy.contrib.django.schema import known_names

__all__ = ["FieldChanges", "Retyped", "TypeChange", "field_changes"]

# Where revy's history tables were made: history is no older.
HISTORY_TABLES_MIGRATION = ("revy", "0001_initial")

# (app label, model name as the migration names it, field name)
FieldKey = tuple[str, str, str]


class TypeChange(NamedTuple):
    """An ``AlterField`` that gave a field another internal type."""

    migration: str  # "app_label.name"
    old_type: str
    new_type: str


@dataclass(frozen=True)
class Retyped:
    """A field whose type a migration changed with no ``ConvertTrackedField``."""

    model: type[models.Model]
    field: models.Field
    change: TypeChange


@dataclass
class FieldChanges:
    """Changes of fields in migrations applied after revy's history tables
    were made, or not applied yet (older ones have no history to disagree)."""

    renamed_models: dict[tuple[str, str], str] = field(default_factory=dict)
    # Names that a RenameTrackedField or RemoveTrackedField covers.
    covered: set[FieldKey] = field(default_factory=set)
    # Fields a ConvertTrackedField converts.
    converted: set[FieldKey] = field(default_factory=set)
    # Old names of renamed fields, and removed fields.
    gone: set[FieldKey] = field(default_factory=set)
    # Fields given another type.
    retyped: dict[FieldKey, TypeChange] = field(default_factory=dict)

    def names_since(self, app_label: str, model_name: str) -> list[str]:
        """``model_name`` and the names the model had after it, in order."""
        names = [model_name]
        while (later := self.renamed_models.get((app_label, names[-1]))) and (
            later not in names
        ):
            names.append(later)
        return names

    def model_now(self, app_label: str, model_name: str) -> type[models.Model] | None:
        try:
            return apps.get_model(
                app_label, self.names_since(app_label, model_name)[-1]
            )
        except LookupError:
            return None  # The model is gone, and its history with it.

    def is_in(self, keys: set[FieldKey], key: FieldKey) -> bool:
        """Whether ``key`` is in ``keys`` under any later name of its model."""
        app_label, model_name, field_name = key
        return any(
            (app_label, name, field_name) in keys
            for name in self.names_since(app_label, model_name)
        )

    def uncovered_names(self) -> list[tuple[type[models.Model], str]]:
        """``(model, field name)``: renamed or removed, covered by no
        operation of revy's, and not a name the model has now."""
        found = {}
        for key in self.gone:
            model = self.model_now(key[0], key[1])
            if model is None or self.is_in(self.covered, key):
                continue
            if key[2] not in known_names(model):
                found[model._meta.label, key[2]] = (model, key[2])
        return [found[label] for label in sorted(found)]

    def unconverted_types(self) -> list[Retyped]:
        """The fields given another type with no ``ConvertTrackedField``,
        which the model still has under that name."""
        found = []
        for key, change in sorted(self.retyped.items()):
            model = self.model_now(key[0], key[1])
            if model is None or self.is_in(self.converted, key):
                continue
            try:
                current = model._meta.get_field(key[2])
            except LookupError:
                continue  # Renamed or removed since: revy.W070's to say.
            found.append(Retyped(model, current, change))
        return found


def field_changes(using: str) -> FieldChanges:
    """What the migrations of the project did to fields, as seen from the
    database ``using`` (which migrations it applied, and when). The
    migrations are replayed once, in order, for the types fields had."""
    connection = connections[using]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    applied = {
        (app, name): when
        for app, name, when in MigrationRecorder(connection).migration_qs.values_list(
            "app", "name", "applied"
        )
    }
    changes = FieldChanges()
    installed = applied.get(HISTORY_TABLES_MIGRATION)
    if installed is None:
        return changes  # No history tables: no history.
    state = ProjectState(real_apps=loader.unmigrated_apps)
    replayed: set[tuple[str, str]] = set()
    for leaf in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(leaf):
            if node in replayed:
                continue
            replayed.add(node)
            migration = loader.graph.nodes[node]
            recent = applied.get(node, installed) >= installed
            for operation in migration.operations:
                _note(changes, state, migration, operation, recent)
                operation.state_forwards(migration.app_label, state)
    return changes


def _note(
    changes: FieldChanges,
    state: ProjectState,
    migration: Migration,
    operation: Operation,
    recent: bool,
) -> None:
    """Note what ``operation`` of ``migration`` does to a field, ``state``
    being the models just before it."""
    app_label = migration.app_label
    if isinstance(operation, RenameModel):
        changes.renamed_models[app_label, operation.old_name_lower] = (
            operation.new_name_lower
        )
        return
    model_name = getattr(operation, "model_name", "").lower()
    if isinstance(operation, RenameTrackedField):
        changes.covered.add((app_label, model_name, operation.old_name))
    elif isinstance(operation, RemoveTrackedField):
        changes.covered.add((app_label, model_name, operation.name))
    elif isinstance(operation, ConvertTrackedField):
        changes.converted.add((app_label, model_name, operation.name))
    elif not recent:
        return
    elif isinstance(operation, RenameField):
        changes.gone.add((app_label, model_name, operation.old_name))
    elif isinstance(operation, RemoveField):
        changes.gone.add((app_label, model_name, operation.name))
    elif isinstance(operation, AlterField):
        model_state = state.models.get((app_label, model_name))
        old = model_state.fields.get(operation.name) if model_state else None
        if old is None:
            return
        old_type, new_type = (
            old.get_internal_type(),
            operation.field.get_internal_type(),
        )
        if old_type != new_type:
            changes.retyped[app_label, model_name, operation.name] = TypeChange(
                f"{app_label}.{migration.name}", old_type, new_type
            )
