"""``python -m benchmarks``: see benchmarks/README.md."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from benchmarks.runner import main  # noqa: E402

main()
