"""Bake the starter project from this working copy, without copying all of it.

``python -m scripts.bake [cookiecutter options]`` (``make bake``) exports the
files the template is made of (cookiecutter.json, hooks/, template/), as
``git ls-files`` lists them (committed or new, never ignored: no .venv, no
demo/, no caches), into a temporary folder, and runs cookiecutter on it.
The export's cookiecutter.json names this checkout as the project's revy
(``_revy_source``), so the baked project installs the revy of this working
copy, and the checkout's commit (``_revy_commit``), which the project's
.cruft.json records as the starter's (``make update`` there reads the
checkout). Baking the checkout itself (``cookiecutter .``) also works, but
cookiecutter first copies the whole folder, virtual environments included.

``export(folder)`` is what ``make demo`` and the tests bake from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FILES = ("cookiecutter.json", "hooks", "template")


def template_files(root: Path = ROOT) -> list[str]:
    """The template's files in the working copy, as git sees them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--"]
        + list(TEMPLATE_FILES),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    # A file deleted but not yet committed is still listed: leave it out.
    return sorted(name for name in listed if name and (root / name).is_file())


def export(folder: Path, root: Path = ROOT) -> Path:
    """Copy the template's files of ``root`` into ``folder``/revy; return it."""
    target = folder / "revy"
    for name in template_files(root):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, destination)
    context_file = target / "cookiecutter.json"
    context = json.loads(context_file.read_text(encoding="utf-8"))
    context["_revy_source"] = str(root)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True
    )
    if head.returncode == 0:
        context["_revy_commit"] = head.stdout.strip()
    context_file.write_text(json.dumps(context, indent=2, ensure_ascii=False) + "\n")
    return target


def main(arguments: list[str]) -> int:
    from cookiecutter.cli import main as cookiecutter

    with tempfile.TemporaryDirectory(prefix="revy-template-") as scratch:
        template = export(Path(scratch))
        try:
            cookiecutter.main([str(template), *arguments], prog_name="make bake")
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
