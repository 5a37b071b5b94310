"""revy's makemigrations, then ruff on the migrations it wrote.

revy's command is Django's, writing revy's operation beside a rename or a
removal of a tracked model's field (RenameTrackedField, RemoveTrackedField).
Django writes migrations in its own style, which ``make lint`` (ruff check,
ruff format --check) would reject. This command, which replaces revy's since
its app is listed before revy in INSTALLED_APPS, runs ``ruff check --fix``
and ``ruff format`` on each file it wrote, with the project's ruff settings,
so that a model change and its migration keep ``make test`` green. Where
ruff is not installed (a production image), the files stay as Django wrote
them.
"""

import importlib.util
import subprocess
import sys
from typing import Any

from revy.contrib.django.management.commands import makemigrations


class Command(makemigrations.Command):
    def handle(self, *app_labels: str, **options: Any) -> None:
        super().handle(*app_labels, **options)
        if self.written_files and importlib.util.find_spec("ruff") is not None:
            ruff = [sys.executable, "-m", "ruff"]
            for step in (["check", "--fix", "--quiet"], ["format", "--quiet"]):
                subprocess.run([*ruff, *step, *self.written_files], check=False)
