"""Helpers of the cookiecutter tests: baking, running a command, the
environment a baked project runs in (this test run's Django settings, database
and make variables left out), and git."""

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO_ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def on_the_machines_python3() -> bool:
    """Whether this run's Python is the ``python3`` on PATH, which a baked
    project's ``make`` uses (``PYTHON ?= python3``): tests that install a
    project with it test the same thing in any run, so they run in that one
    (not again in ``make test PYTHON=python3.13``)."""
    found = subprocess.run(
        ["python3", "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        env=clean_environment(),
    )
    return found.stdout.strip() == str(sys.version_info[:2])


def bake(template, output_dir, config_file, **context):
    output_dir.mkdir(parents=True, exist_ok=True)
    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            extra_context=context,
            output_dir=str(output_dir),
            config_file=config_file,
        )
    )


def write_config(folder, **extra):
    """A cookiecutter config in ``folder`` that keeps clones and replays there."""
    path = folder / "config.yaml"
    lines = [
        f"cookiecutters_dir: {json.dumps(str(folder / 'cookiecutters'))}",
        f"replay_dir: {json.dumps(str(folder / 'replay'))}",
    ]
    for key, mapping in extra.items():
        lines.append(f"{key}:")
        lines.extend(
            f"  {name}: {json.dumps(value)}" for name, value in mapping.items()
        )
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# The variables of a baked project's Makefile. The make that runs these tests
# exports those given on its command line (make test VENV=.venv-313): a baked
# project must not read them.
MAKE_VARIABLES = (
    *("PYTHON", "VENV", "REVY", "TO", "FROM", "HOST", "PORT", "MFLAGS"),
    *("USERS", "WRITES", "SERVER"),
)


def clean_environment(**extra):
    """This process's environment without what configures its own Django,
    its database, its virtualenv or the make that started it."""
    drop = ("DJANGO_", "REVY_", "DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV", "MAKE")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(drop) and k not in MAKE_VARIABLES
    }
    return {**env, **extra}


def run(command, cwd, env=None, timeout=900):
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode} in {cwd}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
    return result


def git(*args, cwd):
    """``git args`` in ``cwd``, as the tests' own author; what it prints."""
    author = ["-c", "user.name=revy tests", "-c", "user.email=tests@revy.invalid"]
    return run(["git", *author, *args], cwd=cwd).stdout.strip()


def commit_working_copy(checkout):
    """Copy the files git lists in this working copy (committed or not, never
    ignored) into ``checkout``, a new repository, and commit them there.
    Return the commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, checkout / name)
    git("init", "--quiet", "--initial-branch=main", cwd=checkout)
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "--message=This working copy, under test", cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout)
