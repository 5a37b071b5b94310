"""``manage.py revy_verify``: check the history against its keyed digests."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django import sealing
from revy.contrib.django.verifying import checkpoint, verify


class Command(BaseCommand):
    help = (
        "Recompute the seals, checkpoints and amendments of the history "
        "(REVY_TAMPER_EVIDENCE) and report the first revision whose rows were "
        "altered, inserted or removed; exit 1 if any. With --checkpoint, "
        "chain the seals written since the last checkpoint afterwards."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="After a clean verification, add a checkpoint.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        if not sealing.enabled():
            raise CommandError(
                "REVY_TAMPER_EVIDENCE is off: there are no digests to verify."
            )
        report = verify(using)
        if not report.ok:
            first = report.first
            for problem in report.problems[1:]:
                self.stderr.write(f"also: {problem.message}")
            raise CommandError(
                f"History was tampered with: first at {first.message}. "
                f"{len(report.problems)} problem(s) in all."
            )
        self.stdout.write(
            f"History verified: {report.seals} seals, {report.checkpoints} "
            f"checkpoints, {report.amendments} amendments"
            + (
                f"; {report.unsealed_before} revisions from before tamper "
                "evidence are not covered."
                if report.unsealed_before
                else "."
            )
        )
        if options["checkpoint"]:
            made = checkpoint(using)
            self.stdout.write(
                "No seals since the last checkpoint."
                if made is None
                else f"Checkpoint {made.pk} chains {made.count} new seals."
            )
