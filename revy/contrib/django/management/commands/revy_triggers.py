"""``manage.py revy_triggers``: database triggers that refuse changes of
history unless an allowed operation is declared."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django import triggers


class Command(BaseCommand):
    help = (
        "Install (default), remove or show the triggers that refuse UPDATE and "
        "DELETE of revy's history tables unless the session declares one of "
        "revy's allowed operations (redaction, pruning, flush)."
    )

    def add_arguments(self, parser: Any) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--remove", action="store_true", help="Remove them.")
        action.add_argument(
            "--status", action="store_true", help="Say which tables have them."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        if options["status"]:
            for table, present in triggers.installed(using).items():
                self.stdout.write(f"{table}: {'guarded' if present else 'unguarded'}")
            return
        if options["remove"]:
            tables = triggers.remove(using)
            self.stdout.write(f"Removed revy's triggers from {len(tables)} tables.")
            return
        tables = triggers.install(using)
        self.stdout.write(
            f"Installed revy's triggers on {len(tables)} tables: {', '.join(tables)}."
        )
