"""``manage.py flush``, as Django's, declared as revy's ``flush`` operation:
emptying the whole database (as the test runner does between tests) passes
the triggers of ``manage.py revy_triggers``."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django.appendonly import declared


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        with declared("flush", options.get("database") or DEFAULT_DB_ALIAS):
            super().handle(**options)
