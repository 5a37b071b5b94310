"""Where one library's time goes in a scenario: the database, or Python.

``python -m benchmarks.profile SCENARIO [N]`` prepares the scenario for
revy (``LIBRARY=`` another library's key) as the benchmarks do, runs it
once to warm up, then ``ROUNDS`` times (default 5) with every statement
timed through ``connection.execute_wrapper``, and under cProfile (once for
a write, for about a second for a read). It prints the median wall time of
a run and the CPU time of the process (steadier on a busy machine), the
time spent in the driver's ``execute`` (the database: on SQLite
only its start, since SQLite runs a query as its rows are fetched), the
rest (Python), the statements a run sends through ``execute`` (a COMMIT
sent by ``connection.commit()`` and MariaDB's autocommit switches are not
among them), and the functions that took the most time. For writes it
also prints the Python and CPU time per recorded field (over the attribute
deltas written; on a busy machine the CPU time is the steadier, and on
SQLite it holds the database's work too).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks import libraries, runner, scenarios  # noqa: E402


class StatementTimer:
    """An ``execute_wrapper`` that adds up the time and the number of
    statements the driver runs."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements += 1


def main() -> None:
    key = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ONLY", "")
    scenario = next((s for s in scenarios.SCENARIOS if s.key == key), None)
    if scenario is None:
        keys = ", ".join(s.key for s in scenarios.SCENARIOS)
        raise SystemExit(f"python -m benchmarks.profile SCENARIO [N]: one of {keys}")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else scenario.sizes[0]
    rounds = int(os.environ.get("ROUNDS") or 5)
    wanted = os.environ.get("LIBRARY") or "revy"
    library = next(lib for lib in libraries.available() if lib.key == wanted)
    creation = connection.creation
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        report(scenario, library, n, rounds)
    finally:
        creation.destroy_test_db(old_name, verbosity=0)
        if connection.vendor == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(settings.SQLITE_FILE + suffix).unlink(missing_ok=True)


def report(
    scenario: scenarios.Scenario, library: libraries.Library, n: int, rounds: int
) -> None:
    models = library.models + library.history_models()
    runner.flush(models)
    prepared: list[Any] = []

    def ready() -> Any:
        if scenario.kind != "read":
            runner.flush(library.models)
            return scenario.prepare(library, n)
        if not prepared:
            prepared.append(scenario.prepare(library, n))
        return prepared[0]

    with library.active():
        scenario.run(library, ready())  # warm-up
        walls, cpus, waits, statements, fields = [], [], [], [], []
        for _ in range(rounds):
            arguments = ready()
            before = _attribute_deltas(library)
            timer = StatementTimer()
            with connection.execute_wrapper(timer):
                started, cpu = time.perf_counter(), time.process_time()
                scenario.run(library, arguments)
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            waits.append(timer.seconds)
            statements.append(timer.statements)
            fields.append(_attribute_deltas(library) - before)
        # A read is profiled over enough runs to take a second or so.
        runs = 1 if scenario.writes else max(1, int(1 / statistics.median(walls)))
        profiler = cProfile.Profile()
        arguments = ready()
        profiler.enable()
        for _ in range(runs):
            scenario.run(library, arguments)
        profiler.disable()
    wall, wait = statistics.median(walls), statistics.median(waits)
    python = wall - wait
    per = n if scenario.kind == "each" else 1
    print(f"{library.label}, {scenario.title} (n={n}) on {connection.vendor}")
    print(f"  wall {wall * 1000:.2f} ms, database {wait * 1000:.2f} ms, ", end="")
    print(f"Python {python * 1000:.2f} ms (median of {rounds})")
    print(f"  CPU time of this process: {statistics.median(cpus) * 1000:.2f} ms")
    print(
        f"  statements: {statistics.median(statements) / per:g} per "
        f"{'object' if per > 1 else 'run'} (commits and autocommit switches apart)"
    )
    recorded = statistics.median(fields)
    if recorded:
        per_field = python / recorded * 1e6, statistics.median(cpus) / recorded * 1e6
        print(f"  attribute deltas written: {recorded:g}; per recorded field: ", end="")
        print("Python {:.1f} µs, CPU {:.1f} µs".format(*per_field))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # Python's work in a number that a busy machine does not move.
    print(f"  function calls per run: {stats.total_calls / runs:,.0f}")
    print(f"  profile of {runs} run(s):")
    stats.sort_stats(os.environ.get("SORT") or "tottime").print_stats(
        int(os.environ.get("TOP") or 25)
    )
    print(out.getvalue())


def _attribute_deltas(library: libraries.Library) -> int:
    models = library.history_models()
    return models[-1]._base_manager.count() if len(models) >= 3 else 0


if __name__ == "__main__":
    main()
