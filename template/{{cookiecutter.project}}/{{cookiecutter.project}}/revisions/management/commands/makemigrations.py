"""Django's makemigrations, then ruff on the migrations it wrote.

Django writes migrations in its own style, which ``make lint`` (ruff check,
ruff format --check) would reject. This command, which replaces Django's
since the app is installed, runs ``ruff check --fix`` and ``ruff format`` on
each file it wrote, with the project's ruff settings, so that a model change
and its migration keep ``make test`` green. Where ruff is not installed
(a production image), the files stay as Django wrote them.
"""

import importlib.util
import subprocess
import sys
from typing import Any

from django.core.management.commands import makemigrations


class Command(makemigrations.Command):
    def handle(self, *app_labels: str, **options: Any) -> None:
        super().handle(*app_labels, **options)
        if self.written_files and importlib.util.find_spec("ruff") is not None:
            ruff = [sys.executable, "-m", "ruff"]
            for step in (["check", "--fix", "--quiet"], ["format", "--quiet"]):
                subprocess.run([*ruff, *step, *self.written_files], check=False)
