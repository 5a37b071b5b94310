"""Before and after: revy at another commit against this checkout, in turns.

``python -m benchmarks.compare REF`` (``make bench-compare BEFORE=REF``)
checks REF out in a temporary git worktree and runs the benchmarks of revy
alone (``LIBRARIES=revy``; the untracked twin always runs) from each tree in
turn, ROUNDS times, the order alternating, on DB. Each tree runs with its
own code and its own scenarios; the table compares the median, over the
rounds, of each run's ratio to its untracked twin, for the scenarios both
have. Interleaving spreads the machine's drift over both sides; a change is
worth believing when it holds across two such comparisons.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A row of the "Median time (ms)" table: | label | untracked | revy |
ROW = re.compile(r"^\| (?P<label>.+?) \| (?P<untracked>[\d.]+) \| (?P<revy>[\d.]+) \|$")


def run(tree: Path, db: str, only: str, quick: str) -> dict[str, float]:
    """One run of the benchmarks in ``tree``: {scenario label: ratio}."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DB": db,
        "ONLY": only,
        "QUICK": quick,
        "LIBRARIES": "revy",
        "BASELINE": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"The benchmarks failed in {tree}:\n{result.stderr[-3000:]}")
    output = result.stdout
    table = output.split("### Median time (ms)", 1)[1].split("###", 1)[0]
    ratios = {}
    for line in table.splitlines():
        match = ROW.match(line.strip())
        if match and float(match["untracked"]) > 0:
            ratios[match["label"]] = float(match["revy"]) / float(match["untracked"])
    return ratios


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BEFORE", "")
    if not ref:
        raise SystemExit("usage: python -m benchmarks.compare REF (a commit)")
    db = os.environ.get("DB") or "sqlite"
    rounds = int(os.environ.get("ROUNDS") or 5)
    only, quick = os.environ.get("ONLY", ""), os.environ.get("QUICK", "")
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(before), ref],
            cwd=ROOT,
            check=True,
        )
        try:
            results: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
            for number in range(rounds):
                order = [("before", before), ("after", ROOT)]
                for side, tree in order if number % 2 == 0 else order[::-1]:
                    print(f"round {number + 1}/{rounds}: {side}", file=sys.stderr)
                    for label, ratio in run(tree, db, only, quick).items():
                        results[side].setdefault(label, []).append(ratio)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(before)],
                cwd=ROOT,
                check=True,
            )
    print(f"\n{db}, {rounds} rounds in turns: revy's ratio to untracked, median")
    print(f"before = {ref}, after = this checkout\n")
    print("| scenario | before | after | change |")
    print("|---|---:|---:|---:|")
    for label in results["after"]:
        if label not in results["before"]:
            continue
        old = statistics.median(results["before"][label])
        new = statistics.median(results["after"][label])
        print(f"| {label} | {old:.2f}x | {new:.2f}x | {100 * (new / old - 1):+.1f}% |")


if __name__ == "__main__":
    main()
