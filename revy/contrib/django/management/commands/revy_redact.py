"""``manage.py revy_redact``: erase recorded values, keeping the structure
of the history, and record the erasure."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django.actors import DeletedActor
from revy.contrib.django.redaction import redact, redact_actor


def _row(text: str) -> Any:
    """``app_label.ModelName:pk`` as the row, or a DeletedActor if it is gone."""
    label, sep, pk = text.rpartition(":")
    if not sep or not label:
        raise CommandError(f"{text!r} is not app_label.ModelName:pk.")
    model = _model(label)
    found = model._base_manager.filter(pk=pk).first()
    return found if found is not None else DeletedActor(model, pk)


def _model(label: str) -> Any:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError) as error:
        raise CommandError(f"{label!r} is not a model: {error}") from None


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
        by = _row(options["by"]) if options["by"] else None
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
                amendment = redact_actor(_row(options["actor"]), by=by, **common)
            else:
                if not options["model"] or not options["pks"] or not options["fields"]:
                    raise CommandError(
                        "Name a model, one or more keys and --fields (or --actor)."
                    )
                amendment = redact(
                    _model(options["model"]),
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
