"""git, as the tool runs it: what it prints, or a StarterError that says why not."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from . import StarterError

__all__ = ["git", "git_ok", "run_git"]


def run_git(*args: str, cwd: Path | None = None, env: dict | None = None):
    """``git args``, finished: its subprocess.CompletedProcess, whatever it exited."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    except OSError as error:
        raise StarterError(f"git could not be run: {error}") from None


def git(*args: str, cwd: Path | None = None, env: dict | None = None) -> str:
    """What ``git args`` prints, stripped; StarterError if it fails."""
    result = run_git(*args, cwd=cwd, env=env)
    if result.returncode:
        raise StarterError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def git_ok(*args: str, cwd: Path | None = None) -> bool:
    """True if ``git args`` succeeds."""
    return run_git(*args, cwd=cwd).returncode == 0
