"""``manage.py revy_redact``: erase recorded values, keeping the structure
of the history, and record the erasure."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django.management.labels import model_named, row_named
from revy.contrib.django.redaction import redact, redact_actor


class Command(BaseCommand):
    help = (
        "Replace the recorded values of fields of rows with a redaction marker "
        "(which fields changed, when and by whom stay), and record who "
        "redacted what. Either MODEL PK... --fields F..., or --actor MODEL:PK "
        "for the personal data REVY_PERSONAL_DATA lists for that actor's model."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("model", nargs="?", metavar="app_label.ModelName")
        parser.add_argument("pks", nargs="*", metavar="pk")
        parser.add_argument("--fields", nargs="+", default=[], metavar="field")
        parser.add_argument(
            "--actor",
            metavar="app_label.ModelName:pk",
            help="Erase the personal data of this actor's own row.",
        )
        parser.add_argument(
            "--by", metavar="app_label.ModelName:pk", help="Who redacts."
        )
        parser.add_argument("--description", default="", help="Why.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        by = row_named(options["by"]) if options["by"] else None
        common = {
            "description": options["description"],
            "using": options["database"],
        }
        try:
            if options["actor"]:
                if options["model"] or options["fields"]:
                    raise CommandError(
                        "Give --actor alone, or a model, keys and --fields."
                    )
                amendment = redact_actor(row_named(options["actor"]), by=by, **common)
            else:
                if not options["model"] or not options["pks"] or not options["fields"]:
                    raise CommandError(
                        "Name a model, one or more keys and --fields (or --actor)."
                    )
                amendment = redact(
                    model_named(options["model"]),
                    options["pks"],
                    options["fields"],
                    actor=by,
                    **common,
                )
        except ValueError as error:
            raise CommandError(str(error)) from None
        details = amendment.details
        self.stdout.write(
            f"Redacted {', '.join(details['fields'])} of {details['model']} "
            f"{', '.join(details['keys'])}: {details['attribute_deltas']} "
            f"recorded changes (amendment {amendment.pk})."
        )
