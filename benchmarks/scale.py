"""``make bench-scale``: each bulk write at growing row counts, time and memory.

For every database (``DATABASES``, as for ``make test``), row count (``SIZES``,
default 10,000, 100,000 and 1,000,000) and bulk path, one process per
library runs the write once on a fresh table of the benchmark's 5-field
model (``benchmarks/models.py``) and reports its time and its peak memory
over what the process held before the write (the kernel's peak resident
set, reset just before it: ``/proc/self/clear_refs``). Each run is a
process of its own (``benchmarks/scale_run.py``), so memory freed by one
run cannot hide the next one's, and prepares its rows in another, so that
neither can the preparation's.
The libraries: untracked, revy, and on PostgreSQL django-pghistory's
row-level triggers. revy's extra memory is its peak less the untracked
peak of the same write; it should not grow with the rows. For the writes
by filter, the limit (``scale_limit.py``, best of 3) is what the database
itself needs for the data and the same history; the fields revy recorded
in Python are named.

    make bench-scale [DATABASES="sqlite postgresql mariadb"] [SIZES="10000 100000"]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

PATHS = (
    "bulk_create",
    "bulk_update",
    "update",
    "update_python_values",
    "update_in_python",
    "delete",
    "delete_python_values",
    "cascade",
    "cascade_python_values",
    "delete_loaded",
    "set_null",
    "m2m_add",
    "m2m_remove",
    "m2m_set",
    "m2m_clear",
    "baseline",
    "revert_update",
    "revert_delete",
    "restore_cascade",
)
# Those whose history the database could write from the rows (scale_limit.py).
# *_python_values: the same write with every value encoded by Python (an
# encoder revy's SQL does not know), as a field without SQL has its values;
# update_in_python: the update under REVY_HISTORY_IN_SQL = False, recorded
# in Python a batch at a time. delete_loaded: a QuerySet.delete() of parents
# with a child each, which Django loads as instances, recorded in Python.
PATHS_WITH_LIMIT = tuple(
    path
    for path in PATHS
    if path.startswith(("update", "delete", "cascade")) and path != "delete_loaded"
)
# Undoing the revision of an update, a delete and a cascade: revy's alone,
# a save per row (revert(), restore_deleted(cascade=True)).
# And revy_baseline, which has no untracked twin.
REVY_ONLY = ("revert_update", "revert_delete", "restore_cascade", "baseline")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
ALL_DATABASES = ("sqlite", "postgresql", "mariadb")


def _measure(db: str, path: str, library: str, n: int, sqlite_file: str) -> Any:
    env = {
        **os.environ,
        "DB": db,
        "REVY_BENCH_SQLITE": sqlite_file,
        "REVY_BENCH_NAME": "revy_bench_scale",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_run", path, library, str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _best(db: str, path: str, library: str, n: int, sqlite_file: str) -> Any:
    """The limit is timed three times, and the fastest kept."""
    runs = [_measure(db, path, library, n, sqlite_file) for _ in range(3)]
    good = [run for run in runs if "error" not in run]
    return min(good, key=lambda run: run["seconds"]) if good else runs[0]


def main() -> None:
    databases = os.environ.get("DATABASES", "").split() or list(ALL_DATABASES)
    sizes = [int(s) for s in os.environ.get("SIZES", "").split()] or DEFAULT_SIZES
    paths = os.environ.get("PATHS", "").split() or list(PATHS)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"bench-scale, {started}: seconds, and peak memory over the process's own")
    results: dict[str, list[dict[str, Any]]] = {}
    for db in databases:
        sqlite_file = f"/tmp/revy-bench-scale-{os.getpid()}.sqlite3"
        libraries = ["untracked", "revy", "limit"]
        if db == "postgresql":
            libraries.append("pghistory")
        print(f"\n== {db}")
        header = f"{'path':<21} {'rows':>9}"
        for library in libraries:
            header += f" {library + ' s':>13} {library + ' MB':>13}"
        print(header + f" {'revy/limit':>11} {'revy extra MB':>14}  in Python")
        for path in paths:
            for n in sizes:
                found = {
                    lib: (_best if lib == "limit" else _measure)(
                        db, path, lib, n, sqlite_file
                    )
                    for lib in libraries
                    if (lib != "limit" or path in PATHS_WITH_LIMIT)
                    and (lib == "revy" or path not in REVY_ONLY)
                }
                line = f"{path:<21} {n:>9}"
                for library in libraries:
                    result = found.get(library, {"error": "none"})
                    if "error" in result:
                        line += f" {'-':>13} {'':>13}"
                        continue
                    line += f" {result['seconds']:>13.2f} {result['extra_mb']:>13.1f}"
                revy_ = found["revy"]
                plain = found.get("untracked", {"seconds": 0, "extra_mb": 0})
                limit = found.get("limit", {"error": "none"})
                ratio = (
                    f"{revy_['seconds'] / max(limit['seconds'], 1e-9):.2f}"
                    if "error" not in revy_ and "error" not in limit
                    else "-"
                )
                extra = (
                    f"{revy_['extra_mb'] - plain['extra_mb']:.1f}"
                    if "error" not in revy_ and "error" not in plain
                    else "-"
                )
                in_python = ", ".join(revy_.get("in_python", [])) or "none"
                print(f"{line} {ratio:>11} {extra:>14}  {in_python}", flush=True)
                for library, result in found.items():
                    if "error" in result:
                        print(f"   {library} failed: {result['error']}")
                results.setdefault(db, []).append({"path": path, "rows": n, **found})
        if os.path.exists(sqlite_file):
            os.remove(sqlite_file)
    out = os.environ.get("RESULTS")
    if out:
        with open(out, "w") as file:
            json.dump({"started": started, "results": results}, file, indent=1)


if __name__ == "__main__":
    main()
