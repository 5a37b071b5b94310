from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from {{ cookiecutter.project }}.revisions import table


class Command(BaseCommand):
    help = (
        "Print history as a table: every change of one object "
        "(history app_label.Model pk), or the latest revisions (history)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("model", nargs="?", metavar="app_label.Model")
        parser.add_argument("pk", nargs="?")
        parser.add_argument(
            "--latest", type=int, default=20, help="How many revisions (default 20)."
        )

    def handle(
        self, *args: Any, model: str | None, pk: str | None, latest: int, **options: Any
    ) -> None:
        if model is None:
            self.stdout.write(table.latest(latest))
            return
        if pk is None:
            raise CommandError("Give the primary key too: history app_label.Model pk")
        try:
            model_class = apps.get_model(model)
        except (LookupError, ValueError):
            raise CommandError(
                f"No model {model!r}: use app_label.Model, e.g. accounts.User."
            ) from None
        try:
            self.stdout.write(table.history_of(model_class, pk))
        except (ValidationError, ValueError) as error:
            raise CommandError(f"{pk!r} is no key of {model}: {error}") from None
