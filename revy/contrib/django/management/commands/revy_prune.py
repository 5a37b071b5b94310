"""``manage.py revy_prune``: fold the history before a cut, keeping every
state from the cut on readable."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils import dateparse
from tqdm import tqdm

from revy.contrib.django.management.labels import (
    add_labels_argument,
    row_named,
    tracked_models,
)
from revy.contrib.django.retention import PruneSummary, objects_before, prune


def _point(text: str) -> datetime.datetime:
    """An ISO date or datetime, as ``--before`` takes it."""
    found = dateparse.parse_datetime(text)
    if found is None and (day := dateparse.parse_date(text)) is not None:
        found = datetime.datetime.combine(day, datetime.time())
    if found is None:
        raise CommandError(
            f"--before {text!r} is not a date or datetime: give e.g. 2026-01-31 "
            "or 2026-01-31T12:00:00+00:00."
        )
    return found


class Command(BaseCommand):
    help = (
        "Fold the history recorded before --before into one full-state row per "
        "object: every state from the cut on reads back as before, earlier ones "
        "are gone. Objects deleted before the cut leave nothing. Runs in "
        "batches, each its own transaction recorded as an amendment; run it "
        "again after an interruption."
    )

    def add_arguments(self, parser: Any) -> None:
        add_labels_argument(parser)
        parser.add_argument(
            "--before",
            required=True,
            type=_point,
            metavar="DATETIME",
            help="The cut: history of revisions created before it is folded.",
        )
        parser.add_argument(
            "--keep-revisions",
            type=int,
            default=0,
            metavar="N",
            help="Keep the last N revisions of each object, even before the cut.",
        )
        parser.add_argument("--batch-size", type=int, default=500, metavar="N")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, change nothing."
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )
        parser.add_argument(
            "--by", metavar="app_label.ModelName:pk", help="Who prunes (recorded)."
        )
        parser.add_argument("--description", default="", help="Why (recorded).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        models = tracked_models(options["labels"], using)
        before = options["before"]
        count = len(objects_before(before, models, using))
        dry_run = options["dry_run"]
        if not count:
            self.stdout.write("Nothing recorded before the cut: nothing to prune.")
            return
        if options["interactive"] and not dry_run:
            answer = input(
                f"Fold the history before {before} of {count} objects? Earlier "
                "states will be gone for good. Type 'yes' to go on: "
            )
            if answer != "yes":
                raise CommandError("Pruning cancelled.")
        by = row_named(options["by"]) if options["by"] else None
        # tqdm draws on a terminal only (disable=None), rate and ETA in
        # objects; it ends its own lines.
        self.stderr.ending = ""
        with tqdm(total=count, unit="objects", disable=None, file=self.stderr) as bar:
            try:
                summary = prune(
                    before,
                    keep_revisions=options["keep_revisions"],
                    models=models,
                    batch_size=options["batch_size"],
                    dry_run=dry_run,
                    actor=by,
                    description=options["description"],
                    using=using,
                    progress=bar.update,
                )
            except ValueError as error:
                raise CommandError(str(error)) from None
        self.stdout.write(_summary(summary))


def _summary(summary: PruneSummary) -> str:
    verb = "Would fold" if summary.dry_run else "Folded"
    text = (
        f"{verb} the history of {summary.objects} objects into {summary.folds} "
        f"full-state rows: {summary.object_deltas} object deltas and "
        f"{summary.attribute_deltas} attribute deltas removed, "
        f"{summary.revisions} revisions removed whole, "
        f"{summary.partly_pruned} left in part; {summary.moved} object deltas "
        "before the cut kept, moved below every key."
    )
    if summary.amendments:
        text += f" Recorded as amendments {summary.amendments[0]}"
        text += f" to {summary.amendments[-1]}." if len(summary.amendments) > 1 else "."
    return text
