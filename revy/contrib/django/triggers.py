"""Optional database triggers that keep history append-only below the ORM.

``manage.py revy_triggers`` (or :func:`install`) puts triggers on every
history table, revy's integrity records included, that refuse ``UPDATE``
and ``DELETE`` (on PostgreSQL also ``TRUNCATE``) unless the database session
declared an allowed operation, as revy's redaction, pruning and
``manage.py flush`` do (``appendonly.declared``). They stop mistakes,
application code and ordinary database users; not a database superuser or
the tables' owner, who can drop them (docs/integrity.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.operations.base import Operation

from revy.contrib.django import conf
from revy.contrib.django.backends import guards
from revy.contrib.django.ledger import AppendOnly

__all__ = [
    "InstallHistoryTriggers",
    "history_tables",
    "install",
    "installed",
    "remove",
]


def history_tables() -> list[str]:
    """The tables the triggers guard: the history models in use and revy's
    records (amendments, retired actors, seals, checkpoints)."""
    models = list(conf.history_models())
    models += [
        model
        for model in apps.get_app_config("revy").get_models()
        if issubclass(model, AppendOnly) and model not in models
    ]
    return [model._meta.db_table for model in models]


def install(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Install the triggers on ``using``; the tables guarded."""
    return _run(using, guards.install_statements)


def remove(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Remove the triggers from ``using``; the tables that had them."""
    return _run(using, guards.drop_statements)


def _run(using: str, statements: Callable[[Any, str], list[str]]) -> list[str]:
    connection = connections[using]
    tables = history_tables()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for table in tables:
            for statement in statements(connection, table):
                cursor.execute(statement)
    return tables


def installed(using: str = DEFAULT_DB_ALIAS) -> dict[str, bool]:
    """``{table: whether its triggers are installed}``."""
    connection = connections[using]
    return {table: guards.triggers_on(connection, table) for table in history_tables()}


class InstallHistoryTriggers(Operation):
    """A migration operation that installs the triggers (and removes them
    when migrated back). Put it in a migration of the app that holds the
    history models, after the migrations that create their tables and
    revy's ``0002``."""

    reversible = True
    reduces_to_sql = False

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # No model changes.

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        install(schema_editor.connection.alias)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        remove(schema_editor.connection.alias)

    def describe(self) -> str:
        return "Install revy's triggers that keep history append-only"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [], {})
