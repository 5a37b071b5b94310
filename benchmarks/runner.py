"""Runs every scenario for every library and hands the results to the report.

For each scenario: a warm-up run of each library; a run that counts its
queries (CaptureQueriesContext, transaction control statements left out)
and the history rows it wrote; then ``REPETITIONS`` timed runs, the
libraries taking turns in an order that shifts each time. Data tables are
emptied before every run that writes, history tables before every
scenario. Numbers never fail the run.
"""

import collections
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benchmarks import libraries, report, scenarios
from benchmarks.libraries import NOT_YET, Library
from benchmarks.scenarios import Scenario

REPETITIONS = 5
QUICK_REPETITIONS = 2
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
PACKAGES = (
    "revy",
    "Django",
    "django-reversion",
    "django-simple-history",
    "django-auditlog",
    "django-pghistory",
    "django-pgtrigger",
)


def flush(models: list[Any]) -> None:
    """Empty the tables of ``models`` without any library seeing it."""
    tables = [model._meta.db_table for model in models]
    sql = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    connection.ops.execute_sql_flush(sql)


def is_transaction_control(sql: str) -> bool:
    """BEGIN, COMMIT, SAVEPOINT and the like, which are not counted as queries."""
    return sql.split(None, 1)[0].upper() in TRANSACTION_CONTROL


def measure(scenario: Scenario, available: list[Library], n: int, repetitions: int):
    flush(
        [m for library in available for m in library.models + library.history_models()]
    )
    results: dict[str, dict[str, Any]] = {}
    runnable = []
    for library in available:
        if scenario.key in library.cannot:
            results[library.key] = {"status": library.cannot[scenario.key]}
        elif library.only is not None and scenario.key not in library.only:
            results[library.key] = {"status": "not measured"}
        else:
            runnable.append(library)

    prepared: dict[str, Any] = {}

    def prepare(library: Library) -> Any:
        """What a run needs: made once for reading, else afresh each time."""
        if scenario.kind != "read":
            flush(library.models)
            return scenario.prepare(library, n)
        if library.key not in prepared:
            prepared[library.key] = scenario.prepare(library, n)
        return prepared[library.key]

    for library in runnable:  # warm-up
        with library.active():
            scenario.run(library, prepare(library))
    for library in runnable:  # counting queries and history rows, untimed
        with library.active():
            ready = prepare(library)
            before = library.history_rows()
            with CaptureQueriesContext(connection) as queries:
                scenario.run(library, ready)
            written = library.history_rows() - before
        statements = [q["sql"] for q in queries.captured_queries]
        status = "ok"
        if scenario.writes and library.key != "untracked" and not written:
            status = NOT_YET if library.key.startswith("revy") else "not recorded"
        results[library.key] = {
            "status": status,
            "queries": sum(not is_transaction_control(sql) for sql in statements)
            / (n if scenario.kind == "each" else 1),
            "history_rows": written / n if scenario.writes else None,
            "times": [],
        }

    for repetition in range(repetitions):
        shift = repetition % len(runnable)
        for library in runnable[shift:] + runnable[:shift]:
            with library.active():
                ready = prepare(library)
                gc.collect()
                start = time.perf_counter()
                scenario.run(library, ready)
                results[library.key]["times"].append(time.perf_counter() - start)

    untracked = statistics.median(results["untracked"]["times"])
    for library in runnable:
        result = results[library.key]
        result["median"] = statistics.median(result["times"])
        result["ratio"] = result["median"] / untracked
        if connection.vendor == "postgresql" and scenario.writes:
            result["bytes_per_row"] = bytes_per_history_row(library)
    return results


def bytes_per_history_row(library: Library) -> float | None:
    """Size of the history tables, indexes included, per row they hold."""
    models = library.history_models()
    rows = library.history_rows()
    if not rows:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(t)) FROM unnest(%s::text[]) AS t",
            [[model._meta.db_table for model in models]],
        )
        return int(cursor.fetchone()[0]) / rows


def environment() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    query = {
        "sqlite": "SELECT 'SQLite ' || sqlite_version()",
        "postgresql": "SELECT version()",
        "mysql": "SELECT concat('MariaDB ', version())",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(query)
        server = cursor.fetchone()[0].split(" on ")[0].split(" (")[0]
    cpu = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in file if "model name" in ln), ""
            )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "machine": f"{cpu or platform.machine()}, {os.cpu_count()} cores, "
        f"{memory:.0f} GiB, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "database": server,
        "revy_commit": commit,
        "packages": {p: v for p in PACKAGES if (v := version(p))},
        "load_before": os.getloadavg()[0],
    }


def run_all(available: list[Library], quick: bool) -> dict[str, Any]:
    repetitions = QUICK_REPETITIONS if quick else REPETITIONS
    results = {
        "db": settings.DB,
        "quick": quick,
        "repetitions": repetitions,
        "date": time.strftime("%Y-%m-%d"),
        "environment": environment(),
        "libraries": {library.key: library.label for library in available},
        "scenarios": [],
    }
    only = words("ONLY")
    for scenario in scenarios.SCENARIOS:
        if only and scenario.key not in only:
            continue
        n = scenario.sizes[quick]
        started = time.perf_counter()
        measured = measure(scenario, available, n, repetitions)
        took = time.perf_counter() - started
        print(f"  {scenario.key} (n={n}): {took:.1f} s", file=sys.stderr, flush=True)
        results["scenarios"].append(
            {
                "key": scenario.key,
                "title": scenario.title,
                "kind": scenario.kind,
                "n": n,
                "libraries": measured,
            }
        )
    results["environment"]["load_after"] = os.getloadavg()[0]
    return results


def flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def words(name: str) -> set[str]:
    """The comma-separated words of an environment variable, such as ONLY."""
    return {word for word in os.environ.get(name, "").split(",") if word}


def main() -> None:
    quick = flag("QUICK")
    print(f"Benchmarks on {settings.DB}{' (QUICK)' if quick else ''}", file=sys.stderr)
    creation = connection.creation
    connection.queries_log = collections.deque()  # CaptureQueriesContext keeps all
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        chosen = words("LIBRARIES")
        available = [
            library
            for library in libraries.available()
            if not chosen or library.key in chosen | {"untracked"}
        ]
        results = run_all(available, quick)
    finally:
        creation.destroy_test_db(old_name, verbosity=0)
        if settings.DB == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(settings.SQLITE_FILE + suffix).unlink(missing_ok=True)
    if words("ONLY") or words("LIBRARIES"):
        report.show(results)  # a partial run: printed, never saved
    else:
        report.publish(results, baseline=flag("BASELINE"))
