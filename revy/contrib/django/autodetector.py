"""Django's migration autodetector, writing revy's operations beside its own.

``manage.py makemigrations`` uses :class:`HistoryAutodetector` (revy's app
replaces the command, as Django lets an installed app do): where a migration
renames a field of a tracked model it writes ``RenameTrackedField`` after
Django's ``RenameField``, where it removes one ``RemoveTrackedField`` after
``RemoveField``, and the migration depends on the history tables. A project
with a ``makemigrations`` of its own subclasses revy's command, or sets
``autodetector = HistoryAutodetector`` on its command (docs/schema-changes.md).

Django requires ``makemigrations`` and ``migrate`` to share an autodetector
(check commands.E001). revy replaces both; where another app replaces one of
them (listed before revy), revy's other command takes that one's
autodetector, so that the two still agree and revy's operations are not
written: that app's command subclasses revy's to have both.

A change of type is not written for the project: how stored values convert
is the project's to say, with ``ConvertTrackedField``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import get_commands, load_command_class
from django.db.migrations import Migration
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.operations import RemoveField, RenameField
from django.db.migrations.operations.base import Operation

from revy.contrib.django import conf
from revy.contrib.django.operations import RemoveTrackedField, RenameTrackedField

__all__ = [
    "HistoryAutodetector",
    "PairedAutodetectorCommand",
    "add_history_operations",
    "history_operation",
]

# The first of revy's migrations with the ledger the operations record in.
LEDGER_MIGRATION = ("revy", "0004_amendments_of_migrations")
SWAPPED_DELTAS_SETTING = "REVY_ATTRIBUTE_DELTA_MODEL"


class HistoryAutodetector(MigrationAutodetector):
    """Django's autodetector; its migrations carry revy's operations where
    a tracked model's field is renamed or removed."""

    def changes(self, *args: Any, **kwargs: Any) -> dict[str, list[Migration]]:
        changes = super().changes(*args, **kwargs)
        for app_migrations in changes.values():
            for migration in app_migrations:
                add_history_operations(migration)
        return changes


class PairedAutodetectorCommand:
    """Mixin of revy's ``makemigrations`` and ``migrate``: their autodetector
    is :class:`HistoryAutodetector` while the other command in effect is
    revy's too, else that command's."""

    paired_with: str  # The other command's name.

    @property
    def autodetector(self) -> type[MigrationAutodetector]:
        name = self.paired_with
        other = load_command_class(get_commands()[name], name)
        if isinstance(other, PairedAutodetectorCommand):
            return HistoryAutodetector
        return other.autodetector


def history_operation(app_label: str, operation: Operation) -> Operation | None:
    """revy's operation to put after Django's ``operation``, if any: the
    rename or removal of a field of a model revy tracks."""
    if not isinstance(operation, RenameField | RemoveField):
        return None
    try:
        model = apps.get_model(app_label, operation.model_name)
    except LookupError:
        return None  # Not a model of the code: it is deleted in the same run.
    if not conf.is_tracked(model):
        return None
    if isinstance(operation, RenameField):
        return RenameTrackedField(
            operation.model_name, operation.old_name, operation.new_name
        )
    return RemoveTrackedField(operation.model_name, operation.name)


def add_history_operations(migration: Migration) -> None:
    """Put revy's operation after each of ``migration``'s operations that
    needs one, and make it depend on the history tables if it gained any.
    Its name stays the one Django gave it from its own operations."""
    operations = []
    for operation in migration.operations:
        operations.append(operation)
        companion = history_operation(migration.app_label, operation)
        if companion is not None:
            operations.append(companion)
    if len(operations) == len(migration.operations):
        return
    migration.operations = operations
    needed = [LEDGER_MIGRATION]
    if hasattr(settings, SWAPPED_DELTAS_SETTING):
        # Written as migrations.swappable_dependency(settings.REVY_...).
        needed.append(("__setting__", SWAPPED_DELTAS_SETTING))
    for dependency in needed:
        if dependency not in migration.dependencies:
            migration.dependencies.append(dependency)
