"""Put the project template where cookiecutter looks for it, and note where
the template came from.

This repository is both the revy package and a cookiecutter: cookiecutter.json
and hooks/ are at its root, the project template under
template/{{cookiecutter.project}}/. Cookiecutter looks for the project folder
only beside cookiecutter.json, so this hook moves it there. Cookiecutter runs
it (before any prompt) in a temporary copy of the repository, never in the
repository itself; the hook checks that before it moves anything.

Before it trims the copy, it writes into the copy's cookiecutter.json what
the copy's git knows: the commit (``_revy_commit``) and the URL it was
cloned from (``_revy_origin``). hooks/post_gen_project.py pins the baked
project's revy with them. Values already set (scripts/bake.py sets them for
a copy that has no .git) are kept.

Runs under cookiecutter's own Python: standard library only.
"""

import json
import os
import subprocess
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = "{{cookiecutter.project}}"


def git(here: Path, *args: str) -> str:
    """What ``git args`` prints in ``here``; "" if git fails or is missing."""
    try:
        result = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=here,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def note_the_source(here: Path) -> None:
    """Write the copy's commit and origin into its cookiecutter.json."""
    if not (here / ".git").exists():
        return
    found = {
        "_revy_commit": git(here, "rev-parse", "HEAD"),
        "_revy_origin": git(here, "config", "--get", "remote.origin.url"),
    }
    path = here / "cookiecutter.json"
    context = json.loads(path.read_text(encoding="utf-8"))
    for key, value in found.items():
        if not context.get(key):
            context[key] = value
    path.write_text(json.dumps(context, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
    note_the_source(here)
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
