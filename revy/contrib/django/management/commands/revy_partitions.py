"""``manage.py revy_partitions``: keep PostgreSQL history partitioned by key
range: partitions made ahead, those pruning emptied dropped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django import partitions
from revy.contrib.django.partitions import Partition, PartitionsNeedPostgreSQL


class Command(BaseCommand):
    help = (
        "Create the history partitions REVY_PARTITIONS_AHEAD ranges ahead of the "
        "highest key and drop the ones pruning emptied (run it daily, after "
        "revy_prune). --convert first partitions plain history tables. "
        "PostgreSQL only."
    )

    def add_arguments(self, parser: Any) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--convert",
            action="store_true",
            help="Partition the plain history tables; the rows stay in place as "
            "the first partition. Takes the tables' locks while it runs.",
        )
        action.add_argument(
            "--list",
            action="store_true",
            help="Show the partitions and change nothing.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would change, change nothing.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        try:
            if options["list"]:
                self._list(using)
            elif options["convert"]:
                self._convert(using, options["dry_run"])
            else:
                self._maintain(using, options["dry_run"])
        except PartitionsNeedPostgreSQL as error:
            raise CommandError(str(error)) from None

    def _convert(self, using: str, dry_run: bool) -> None:
        plain = partitions.unpartitioned(using)
        if dry_run or not plain:
            verb = "Would partition" if dry_run and plain else "Already partitioned:"
            shown = plain or partitions.partitioned_tables()
            self.stdout.write(f"{verb} {', '.join(shown)}.")
            return
        partitions.convert(using)
        self.stdout.write(f"Partitioned {', '.join(plain)} by key range.")
        self._maintain(using, dry_run=False)

    def _maintain(self, using: str, dry_run: bool) -> None:
        plain = partitions.unpartitioned(using)
        if plain:
            raise CommandError(
                f"{', '.join(plain)} is not partitioned: run "
                "`manage.py revy_partitions --convert` first (docs/scale.md)."
            )
        done = partitions.maintain(using, dry_run=dry_run)
        verb = ("Would create", "would drop") if dry_run else ("Created", "dropped")
        self.stdout.write(
            f"{verb[0]} {len(done.created)} partitions"
            + (f" ({', '.join(done.created)})" if done.created else "")
            + f", {verb[1]} {len(done.dropped)} emptied by pruning"
            + (f" ({', '.join(done.dropped)})" if done.dropped else "")
            + "."
        )

    def _list(self, using: str) -> None:
        for table in partitions.unpartitioned(using):
            self.stdout.write(f"{table}: not partitioned (--convert partitions it)")
        for partition in partitions.partitions(using):
            self.stdout.write(_line(partition))


def _line(partition: Partition) -> str:
    if partition.is_default:
        keys = "keys beyond every range"
    else:
        lower = "-∞" if partition.lower is None else f"{partition.lower:,}"
        keys = f"keys {lower} to {partition.upper:,}"
    return f"{partition.name}: {keys}, about {partition.estimated_rows:,} rows"
