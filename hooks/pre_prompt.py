"""Put the project template where cookiecutter looks for it.

This repository is both the revy package and a cookiecutter: cookiecutter.json
and hooks/ are at its root, the project template under
template/{{cookiecutter.project}}/. Cookiecutter looks for the project folder
only beside cookiecutter.json, so this hook moves it there. Cookiecutter runs
it (before any prompt) in a temporary copy of the repository, never in the
repository itself; the hook checks that before it moves anything.

Runs under cookiecutter's own Python: standard library only.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = "{{cookiecutter.project}}"


def main() -> int:
    here = Path.cwd().resolve()
    temporary = Path(tempfile.gettempdir()).resolve()
    if temporary not in here.parents:
        print(
            f"ERROR: pre_prompt.py runs only in cookiecutter's temporary copy of the "
            f"repository, not in {here}.",
            file=sys.stderr,
        )
        return 1
    source = here / "template" / PROJECT
    if not source.is_dir():
        print(f"ERROR: {source} is missing: is this the revy repository?", file=sys.stderr)
        return 1
    target = here / PROJECT
    if target.exists():
        shutil.rmtree(target)
    os.replace(source, target)
    # Nothing else of the copy is needed, and cookiecutter leaves the copy
    # behind when baking fails: keep it small (a working tree has a .venv).
    for entry in here.iterdir():
        if entry.name in {"cookiecutter.json", "hooks", PROJECT}:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
