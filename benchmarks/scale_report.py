"""The chart and the table of a ``make bench-scale`` run written with
``RESULTS=file.json``: ``python -m benchmarks.scale_report file.json``
writes ``file.png`` (cost against rows, per database: revy, its limit and
the untracked write) and prints the Markdown table docs/performance.md
shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LIBRARIES = ("untracked", "revy", "limit", "pghistory")
STYLES = {"untracked": ":", "revy": "-", "limit": "--", "pghistory": "-."}


def _seconds(run: dict[str, Any], library: str) -> float | None:
    result = run.get(library)
    if not result or "error" in result:
        return None
    return result["seconds"]


def _shown(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    databases = list(results["results"])
    paths = sorted(
        {run["path"] for runs in results["results"].values() for run in runs}
    )
    figure, axes = plt.subplots(
        len(paths),
        len(databases),
        figsize=(4.2 * len(databases), 3.4 * len(paths)),
        squeeze=False,
    )
    for row, write in enumerate(paths):
        for column, db in enumerate(databases):
            ax = axes[row][column]
            runs = [run for run in results["results"][db] if run["path"] == write]
            for library in LIBRARIES:
                points = [
                    (run["rows"], seconds)
                    for run in runs
                    if (seconds := _seconds(run, library)) is not None
                ]
                if points:
                    xs, ys = zip(*points, strict=True)
                    ax.plot(xs, ys, STYLES[library], marker="o", label=library)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{write}, {db}")
            ax.set_xlabel("rows")
            ax.set_ylabel("seconds")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def table(results: dict[str, Any]) -> str:
    lines = [
        "| database | write | rows | untracked s | revy s | limit s | revy / limit "
        "| revy's extra memory | recorded in Python |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for db, runs in results["results"].items():
        for run in runs:
            revy, limit, plain = (
                _seconds(run, name) for name in ("revy", "limit", "untracked")
            )
            ratio = f"{revy / limit:.2f}" if revy and limit else "-"
            extra = (
                f"{run['revy']['extra_mb'] - run['untracked']['extra_mb']:.1f} MB"
                if revy is not None and plain is not None
                else "-"
            )
            in_python = ", ".join(run.get("revy", {}).get("in_python", [])) or "none"
            lines.append(
                f"| {db} | {run['path']} | {run['rows']:,} | {_shown(plain)} | "
                f"{_shown(revy)} | {_shown(limit)} | {ratio} | {extra} | "
                f"{in_python} |"
            )
    return "\n".join(lines)


def main() -> None:
    source = Path(sys.argv[1])
    results = json.loads(source.read_text())
    chart(results, source.with_suffix(".png"))
    print(table(results))


if __name__ == "__main__":
    main()
