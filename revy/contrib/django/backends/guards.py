"""The database's side of append-only history: how a session declares an
allowed operation, and the triggers that refuse ``UPDATE`` and ``DELETE``
(and, on PostgreSQL, ``TRUNCATE``) of history tables without one.

- PostgreSQL: the session setting ``revy.operation``, read by a PL/pgSQL
  function the triggers share;
- MariaDB and MySQL: the user variable ``@revy_operation``;
- SQLite: the SQL function ``revy_operation()``, which revy gives each of
  its connections; a connection without it (another program) is refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = [
    "SQLITE_FUNCTION",
    "declare",
    "drop_statements",
    "install_statements",
    "register_sqlite_function",
    "triggers_on",
]

SQLITE_FUNCTION = "revy_operation"
_MESSAGE = (
    "revy: history is append-only; update or delete it only through the "
    "redaction or pruning of revy, which declare the operation "
    "(docs/integrity.md)"
)
_PG_FUNCTION = "revy_refuse_history_change"


def declare(connection: BaseDatabaseWrapper, operation: str | None) -> None:
    """Tell the database session which allowed operation runs (None: none)."""
    vendor = connection.vendor
    if vendor == "sqlite":
        return  # revy_operation() reads it from Python.
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "SELECT set_config('revy.operation', %s, false)", [operation or ""]
            )
        elif vendor == "mysql":
            cursor.execute("SET @revy_operation = %s", [operation])


def register_sqlite_function(connection: BaseDatabaseWrapper, function: Any) -> None:
    """Give an open SQLite connection ``revy_operation()``."""
    if connection.vendor == "sqlite" and connection.connection is not None:
        connection.connection.create_function(
            SQLITE_FUNCTION, 0, function, deterministic=False
        )


def _name(table: str, event: str) -> str:
    """A trigger name within the databases' limit of 63 characters."""
    event = event.lower()
    name = f"revy_{event}_{table}"
    if len(name) > 63:
        digest = hashlib.sha256(table.encode()).hexdigest()[:8]
        name = f"revy_{event}_{table[:40]}_{digest}"
    return name


def install_statements(connection: BaseDatabaseWrapper, table: str) -> list[str]:
    """The SQL that installs the guard triggers on ``table``."""
    quoted = connection.ops.quote_name(table)
    vendor = connection.vendor
    if vendor == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "IF coalesce(current_setting('revy.operation', true), '') = '' THEN "
            f"RAISE EXCEPTION '{_MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME "
            "USING ERRCODE = 'insufficient_privilege'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$",
            *drop_statements(connection, table),
            *(
                f"CREATE TRIGGER {_name(table, event)} BEFORE {event} "
                f"ON {quoted} FOR EACH {level} EXECUTE FUNCTION {_PG_FUNCTION}()"
                for event, level in (
                    ("UPDATE", "ROW"),
                    ("DELETE", "ROW"),
                    ("TRUNCATE", "STATEMENT"),
                )
            ),
        ]
    if vendor == "mysql":
        return [
            *drop_statements(connection, table),
            *(
                f"CREATE TRIGGER {_name(table, event)} BEFORE {event} ON "
                f"{quoted} FOR EACH ROW BEGIN IF @revy_operation IS NULL OR "
                "@revy_operation = '' THEN SIGNAL SQLSTATE '45000' SET "
                f"MESSAGE_TEXT = '{_MESSAGE}'; END IF; END"
                for event in ("UPDATE", "DELETE")
            ),
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {_name(table, event)} BEFORE {event} "
            f"ON {quoted} WHEN {SQLITE_FUNCTION}() = '' "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            for event in ("UPDATE", "DELETE")
        ]
    raise NotImplementedError(f"revy has no triggers for {connection.display_name}.")


def drop_statements(connection: BaseDatabaseWrapper, table: str) -> list[str]:
    """The SQL that removes the guard triggers of ``table``."""
    quoted = connection.ops.quote_name(table)
    vendor = connection.vendor
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {_name(table, event)} ON {quoted}"
            for event in ("UPDATE", "DELETE", "TRUNCATE")
        ]
    return [
        f"DROP TRIGGER IF EXISTS {_name(table, event)}"
        for event in ("UPDATE", "DELETE")
    ]


def triggers_on(connection: BaseDatabaseWrapper, table: str) -> bool:
    """Whether ``table`` has revy's guard triggers."""
    names = [_name(table, event) for event in ("UPDATE", "DELETE")]
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) "
                "AND tgrelid = to_regclass(%s)",
                [names, connection.ops.quote_name(table)],
            )
        elif vendor == "mysql":
            cursor.execute(
                "SELECT count(*) FROM information_schema.triggers WHERE "
                "trigger_schema = DATABASE() AND trigger_name IN (%s, %s)",
                names,
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND name IN (%s, %s)",
                names,
            )
        return cursor.fetchone()[0] == len(names)
