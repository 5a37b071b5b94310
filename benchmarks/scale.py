"""``make bench-scale``: each bulk write at growing row counts, time and memory.

For every database (``DATABASES``, as for ``make test``), row count (``SIZES``,
default 10,000, 100,000 and 1,000,000) and bulk path, one process per
library runs the write once on a fresh table of the benchmark's 5-field
model (``benchmarks/models.py``) and reports its time and its peak memory
over what the process held before the write (the kernel's peak resident
set, reset just before it: ``/proc/self/clear_refs``). Each run is a
process of its own (``benchmarks/scale_run.py``), so memory freed by one
run cannot hide the next one's.
The libraries: untracked, revy, and on PostgreSQL django-pghistory's
row-level triggers. revy's extra memory is its peak less the untracked
peak of the same write; it should not grow with the rows.

    make bench-scale [DATABASES="sqlite postgresql mariadb"] [SIZES="10000 100000"]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

PATHS = ("bulk_create", "bulk_update", "update", "delete", "cascade")
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


def main() -> None:
    databases = os.environ.get("DATABASES", "").split() or list(ALL_DATABASES)
    sizes = [int(s) for s in os.environ.get("SIZES", "").split()] or DEFAULT_SIZES
    paths = os.environ.get("PATHS", "").split() or list(PATHS)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"bench-scale, {started}: seconds, and peak memory over the process's own")
    for db in databases:
        sqlite_file = f"/tmp/revy-bench-scale-{os.getpid()}.sqlite3"
        libraries = ["untracked", "revy"]
        if db == "postgresql":
            libraries.append("pghistory")
        print(f"\n== {db}")
        header = f"{'path':<12} {'rows':>9}"
        for library in libraries:
            header += f" {library + ' s':>14} {library + ' MB':>14}"
        print(header + f" {'revy/untracked':>15} {'revy extra MB':>14}")
        for path in paths:
            for n in sizes:
                found = {
                    lib: _measure(db, path, lib, n, sqlite_file) for lib in libraries
                }
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
    main()
