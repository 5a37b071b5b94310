import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from {{ cookiecutter.project }}.demo.scenario import ScenarioError, run
from {{ cookiecutter.project }}.revisions import table


class Command(BaseCommand):
    help = (
        "Run the examples on an empty database and print the history they "
        "recorded. The admin password is DEMO_ADMIN_PASSWORD, else a random one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(9)
        try:
            run(password, say=self.stdout.write)
        except ScenarioError as error:
            raise CommandError(str(error)) from None
        self.stdout.write("\nThe history, oldest first:\n")
        self.stdout.write(table.latest(100))
        self.stdout.write(f"\nAdmin login: admin / {password}")
