"""How revy's costs grow with the history: the growth benchmark.

Run with ``python -m benchmarks.growth`` (``make bench GROWTH=1``; ``make
bench QUICK=1`` runs the small sizes). The history of ``RevyItem`` is
filled, through revy's own write paths, to each size in attribute deltas
(10^4, 10^5, 10^6; 10^7 with ``GROWTH_MAX=7``; QUICK: 10^3, 10^4). At each
size, with the history of that size around it, it measures a request's
save, ``state_at()`` of one object, ``members_as_of()`` of a group that
gained and lost members, snapshots of a 50-row page, an object's history
page and a revision's detail (medians of repeated runs),
then folds the oldest tenth of the history with ``retention.prune()``
(rows removed per second). The goal: reads and writes within 1.5x from the
smallest size to the largest. Numbers never make this script fail.

``PARTITIONED=1`` (PostgreSQL) runs it on history partitioned by key range
(``revy_partitions``), ``PARTITION_SIZE`` keys a partition (default
50,000), kept ahead as the history fills; after each pruning it runs
``revy_partitions`` (``maintain()``), which drops the partitions pruning
emptied, and times it.

Writes ``results/growth-<db>.json``, ``.md`` and ``.png``
(``growth-<db>-partitioned.*`` when partitioned); QUICK runs write
``growth-<db>-quick.*``.
"""

import datetime
import json
import os
import pathlib
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import override_settings  # noqa: E402

from benchmarks.models import RevyGroup, RevyItem, RevyMember  # noqa: E402
from revy import Context  # noqa: E402
from revy.contrib.django import conf, partitions  # noqa: E402
from revy.contrib.django.history import (  # noqa: E402
    history,
    members_as_of,
    state_at,
)
from revy.contrib.django.retention import prune  # noqa: E402
from revy.contrib.django.snapshot import ObjectSnapshot  # noqa: E402

QUICK = os.environ.get("QUICK") == "1"
PARTITIONED = os.environ.get("PARTITIONED") == "1"
PARTITION_SIZE = int(os.environ.get("PARTITION_SIZE") or 50_000)
LARGEST = int(os.environ.get("GROWTH_MAX") or "6")
SIZES = (3, 4) if QUICK else tuple(range(4, LARGEST + 1))
REPEAT = 5 if QUICK else 15
RESULTS = pathlib.Path(__file__).parent / "results"
MOMENT = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
# Each round of filling: new rows created in one revision, then an update
# of existing rows by filter in another, as a busy table sees.
CREATED, UPDATED = 200, 1000
FIELDS = 5  # RevyItem's, besides its key


def attribute_deltas() -> int:
    return conf.history_models().attribute_delta.objects.count()


def fill_to(size: int) -> None:
    """Add rounds of history until it holds ``size`` attribute deltas,
    counting them once per run of rounds: a count reads the whole table."""
    count = attribute_deltas()
    while count < size:
        # A round adds at most a delta per field of each new row and one
        # per updated row: these rounds add at most the missing deltas and
        # one round more.
        rounds = -(-(size - count) // (CREATED * FIELDS + UPDATED))
        for round_ in range(rounds):
            add_a_round()
            # Often enough that the ranges ahead are never used up (at most
            # 20,000 attribute deltas between two runs), as a daily job would.
            if PARTITIONED and round_ % 10 == 0:
                partitions.maintain()
        count = attribute_deltas()


def add_a_round() -> None:
    with transaction.atomic(), Context():
        RevyItem.objects.bulk_create(
            RevyItem(text="t", number=0, body="b", flag=False, moment=MOMENT)
            for _ in range(CREATED)
        )
    last = RevyItem.objects.order_by("-pk").values_list("pk", flat=True)[0]
    with transaction.atomic(), Context():
        RevyItem.objects.filter(pk__gt=last - UPDATED).update(number=F("number") + 1)


def bytes_per_attribute_delta() -> float | None:
    """The history tables' size on disk (rows and indexes) over the
    attribute deltas they hold; None on SQLite, which does not say."""
    history = conf.history_models()
    tables = [
        model._meta.db_table
        for model in (history.revision, history.object_delta, history.attribute_delta)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A partitioned table's size is its partitions'.
            cursor.execute(
                "SELECT sum(pg_total_relation_size(p.relid)) FROM "
                "unnest(%s::text[]) t, LATERAL (SELECT t::regclass AS relid "
                "UNION SELECT relid FROM pg_partition_tree(t)) p",
                [tables],
            )
        elif connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE " + ", ".join(tables))
            cursor.fetchall()
            cursor.execute(
                "SELECT sum(data_length + index_length) FROM "
                "information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name IN (%s, %s, %s)",
                tables,
            )
        else:
            return None
        return float(cursor.fetchone()[0]) / attribute_deltas()


def timed(run) -> float:
    """The median milliseconds of ``run()``."""
    run()  # Warm-up: compiled SQL, caches.
    took = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        run()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def analyze() -> None:
    """The tables as a live database's autovacuum keeps them: vacuumed, and
    with statistics (the planner's choices at 10^6 rows are not those for
    the rows it last saw, and a new partition has never been analyzed). On
    PostgreSQL, also so that neither autovacuum nor a checkpoint of the
    fill's writes runs during a measure."""
    history = conf.history_models()
    tables = [
        connection.ops.quote_name(model._meta.db_table)
        for model in (history.revision, history.object_delta, history.attribute_delta)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("ANALYZE TABLE " + ", ".join(tables))
            cursor.fetchall()
        else:
            postgresql = connection.vendor == "postgresql"
            for table in tables:
                cursor.execute(
                    f"{'VACUUM (ANALYZE)' if postgresql else 'ANALYZE'} {table}"
                )
            if postgresql:  # The fill's pages on disk now, not while measuring.
                cursor.execute("CHECKPOINT")


def measure(size: int) -> dict[str, float]:
    object_delta = conf.history_models().object_delta
    with Context():
        item = RevyItem.objects.create(
            text="t", number=0, body="b", flag=False, moment=MOMENT
        )
    for number in range(10):
        with Context():
            item.number = number
            item.save()

    with Context():
        group = RevyGroup.objects.create(name="g")
    with Context():
        members = [
            RevyMember.objects.create(
                text="m", number=n, body="b", flag=False, moment=MOMENT
            )
            for n in range(10)
        ]
    for member in members:  # A revision each, then three leave.
        with Context():
            group.members.add(member)
    with Context():
        group.members.remove(*members[:3])

    def save() -> None:
        with Context():
            item.number += 1
            item.save()

    def page_of_snapshots() -> None:
        list(
            object_delta.objects.for_rows_of(RevyItem)
            .order_by("-pk")
            .annotate(snapshot=ObjectSnapshot(RevyItem))[:50]
        )

    revision = history(item).first().revision
    found = {
        "a request's save": timed(save),
        "state_at() of one object": timed(lambda: state_at(RevyItem, item.pk)),
        "members_as_of() of one object": timed(lambda: members_as_of(group, "members")),
        "snapshots of a 50-row page": timed(page_of_snapshots),
        "an object's history page": timed(lambda: list(history(item)[:100])),
        "a revision's detail": timed(
            lambda: list(revision.object_deltas.prefetch_related("attribute_deltas"))
        ),
    }
    found["bytes per attribute delta"] = bytes_per_attribute_delta()
    found["pruning, rows per second"] = prune_rate()
    if PARTITIONED:
        started = time.perf_counter()
        done = partitions.maintain()
        found["revy_partitions after pruning (ms)"] = (
            time.perf_counter() - started
        ) * 1000
        found["partitions dropped"] = len(done.dropped)
        found["partitions"] = len(partitions.partitions())
    return found


def prune_rate() -> float:
    """Fold the oldest tenth of the revisions; history rows removed a second."""
    revisions = conf.history_models().revision.objects.order_by("pk")
    count = revisions.count()
    cut = revisions.values_list("created_at", flat=True)[max(count // 10, 1)]
    started = time.perf_counter()
    summary = prune(cut, batch_size=500)
    took = time.perf_counter() - started
    return (summary.object_deltas + summary.attribute_deltas) / took


def report(results: dict[int, dict[str, float]]) -> str:
    sizes = sorted(results)
    names = list(results[sizes[0]])
    lines = [
        f"History as it grows on {settings.DB}: medians in ms (pruning: rows/s)",
        "",
        "| operation | "
        + " | ".join(f"10^{s}" for s in sizes)
        + " | largest / smallest |",
        "|---|" + "---:|" * (len(sizes) + 1),
    ]
    for name in names:
        values = [results[s][name] for s in sizes]
        if None in values:
            continue
        shown = [f"{v:,.0f}" if v >= 100 else f"{v:.2f}" for v in values]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        lines.append(f"| {name} | " + " | ".join(shown) + f" | {ratio:.2f}x |")
    return "\n".join(lines)


def chart(results: dict[int, dict[str, float]], path: pathlib.Path) -> None:
    import matplotlib  # noqa: PLC0415 (only installed for benchmarks)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    sizes = sorted(results)
    figure, axes = pyplot.subplots(figsize=(7, 4))
    for name in results[sizes[0]]:
        if "rows per second" in name or "bytes" in name or "partitions" in name:
            continue
        axes.plot(
            [10**s for s in sizes], [results[s][name] for s in sizes], "o-", label=name
        )
    axes.set_xscale("log")
    axes.set_xlabel("attribute deltas in the history")
    axes.set_ylabel("median ms")
    axes.set_ylim(bottom=0)
    axes.set_title(f"revy's costs as the history grows ({settings.DB})")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    if connection.vendor != "sqlite":
        # A database of its own: another benchmark may be using revy_bench.
        connection.settings_dict["TEST"]["NAME"] = f"revy_growth_{os.getpid()}"
    creation = connection.creation
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    results: dict[int, dict[str, float]] = {}
    if PARTITIONED:
        override_settings(REVY_PARTITION_SIZE=PARTITION_SIZE).enable()
        partitions.convert()
        partitions.maintain()
    try:
        for size in SIZES:
            started = time.perf_counter()
            fill_to(10**size)
            print(
                f"filled to {attribute_deltas():,} attribute deltas in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
            analyze()
            results[size] = measure(size)
    finally:
        creation.destroy_test_db(old_name, verbosity=0)
    text = report(results)
    print(text)
    name = f"growth-{settings.DB}{'-partitioned' if PARTITIONED else ''}"
    name += "-quick" if QUICK else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(text + "\n")
    chart(results, RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()
