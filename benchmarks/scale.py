"""``make bench-scale``: each bulk write at growing row counts, time and memory.

For every database (``DATABASES``, default all three), row count (``SIZES``,
default 10,000, 100,000 and 1,000,000) and bulk path, one process per
library runs the write once on a fresh table of the benchmark's 5-field
model (``benchmarks/models.py``) and reports its time and its peak memory
over what the process held before the write (the kernel's peak resident
set, reset just before it: ``/proc/self/clear_refs``). Each run is a
process of its own, so memory freed by one run cannot hide the next one's.
The libraries: untracked, revy, and on PostgreSQL django-pghistory's
row-level triggers. revy's extra memory is its peak less the untracked
peak of the same write; it should not grow with the rows.

    make bench-scale [DATABASES="sqlite postgresql"] [SIZES="10000 100000"]
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

PATHS = ("bulk_create", "bulk_update", "update", "delete", "cascade")
LIBRARIES = {"untracked": "Plain", "revy": "Revy", "pghistory": "PgRow"}
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
ALL_DATABASES = ("sqlite", "postgresql", "mariadb")


def _kilobytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Sets the peak resident set to the current one.


def _run_one(path: str, library: str, n: int) -> dict[str, Any]:
    """In a process of its own: prepare, then time and measure one write."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    from django.apps import apps
    from django.db import connection
    from django.utils import timezone

    import revy
    from benchmarks.runner import flush

    connection.creation.create_test_db(verbosity=0, keepdb=True)
    prefix = LIBRARIES[library]
    item, parent_model, child = (
        apps.get_model("benchmarks", prefix + name)
        for name in ("Item", "Parent", "Child")
    )
    history = [
        apps.get_model("revy", name)
        for name in ("AttributeDelta", "ObjectDelta", "Revision")
    ]
    flush([item, parent_model, child, *history])
    now = timezone.now()

    def fields(i: int) -> dict[str, Any]:
        return {
            "text": f"text {i}",
            "number": i,
            "body": "body",
            "flag": i % 2 == 0,
            "moment": now,
        }

    def insert(model: Any, **extra: Any) -> None:
        with revy.Context.as_disabled():
            for start in range(0, n, 10_000):
                model.objects.bulk_create(
                    model(**fields(i), **extra)
                    for i in range(start, min(n, start + 10_000))
                )

    write: Callable[[], Any]
    if path == "bulk_create":
        objs = [item(**fields(i)) for i in range(n)]
        write = lambda: item.objects.bulk_create(objs)  # noqa: E731
    elif path == "bulk_update":
        insert(item)
        objs = list(item.objects.all())
        for obj in objs:
            obj.number += 1
        write = lambda: item.objects.bulk_update(objs, ["number"])  # noqa: E731
    elif path == "update":
        insert(item)
        from django.db.models import F

        write = lambda: item.objects.update(  # noqa: E731
            number=F("number") + 1, text="changed"
        )
    elif path == "delete":
        insert(item)
        write = lambda: item.objects.all().delete()  # noqa: E731
    else:  # cascade
        with revy.Context.as_disabled():
            parent = parent_model.objects.create(name="parent")
        insert(child, parent=parent)
        write = parent.delete
    context = revy.Context() if library == "revy" else nullcontext()
    gc.collect()
    before = _kilobytes("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    with context:
        write()
    seconds = time.perf_counter() - started
    peak = _kilobytes("VmHWM")
    return {"seconds": seconds, "extra_mb": (peak - before) / 1024}


def _measure(db: str, path: str, library: str, n: int, sqlite_file: str) -> Any:
    env = {
        **os.environ,
        "DB": db,
        "REVY_BENCH_SQLITE": sqlite_file,
        "REVY_BENCH_NAME": "revy_bench_scale",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--one", path, library, str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    databases = os.environ.get("DATABASES", "").split() or list(ALL_DATABASES)
    sizes = [int(s) for s in os.environ.get("SIZES", "").split()] or DEFAULT_SIZES
    paths = os.environ.get("PATHS", "").split() or list(PATHS)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"bench-scale, {started}: seconds, and peak memory over the process's own")
    for db in databases:
        sqlite_file = f"/tmp/revy-bench-scale-{os.getpid()}.sqlite3"
        libraries = ["untracked", "revy"] + (["pghistory"] if db == "postgresql" else [])
        print(f"\n== {db}")
        header = f"{'path':<12} {'rows':>9}"
        for library in libraries:
            header += f" {library + ' s':>14} {library + ' MB':>14}"
        print(header + f" {'revy/untracked':>15} {'revy extra MB':>14}")
        for path in paths:
            for n in sizes:
                found = {lib: _measure(db, path, lib, n, sqlite_file) for lib in libraries}
                line = f"{path:<12} {n:>9}"
                for library in libraries:
                    result = found[library]
                    if "error" in result:
                        line += f" {'failed':>14} {'':>14}"
                        continue
                    line += f" {result['seconds']:>14.2f} {result['extra_mb']:>14.1f}"
                revy_, plain = found["revy"], found["untracked"]
                if "error" not in revy_ and "error" not in plain:
                    ratio = revy_["seconds"] / max(plain["seconds"], 1e-9)
                    extra = revy_["extra_mb"] - plain["extra_mb"]
                    line += f" {ratio:>15.1f} {extra:>14.1f}"
                print(line, flush=True)
                for library, result in found.items():
                    if "error" in result:
                        print(f"   {library} failed: {result['error']}")
        if os.path.exists(sqlite_file):
            os.remove(sqlite_file)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(_run_one(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        main()
