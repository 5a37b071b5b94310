"""The starter's repository: a bare clone of it, and what its history says."""

from __future__ import annotations

import re
from pathlib import Path

from . import README, StarterError
from .git import git, git_ok, run_git

__all__ = [
    "clone",
    "commits_between",
    "followed",
    "names_a_ref",
    "print_commits",
    "require_commit",
    "resolve",
]

SHOWN = 20  # commits that print_commits lists before "and N more"


def clone(location: str, into: Path, blobs: bool = True) -> Path:
    """A bare clone of the starter; without blobs, history only (check)."""
    arguments = ["clone", "--bare", "--quiet"] + ([] if blobs else ["--filter=blob:none"])
    try:
        git(*arguments, "--", location, str(into))
    except StarterError as error:
        if re.match(r"^[\w+.-]+://|^[\w.-]+@[\w.-]+:", location):
            advice = "check the URL, or name another with FROM=<URL>"
        else:
            advice = (
                "a folder of the machine that baked the project? Name its git URL with FROM=<URL>"
            )
        raise StarterError(
            f"The starter could not be read from {location}: {advice} ({README}).\n{error}"
        ) from None
    return into


def resolve(repository: Path, ref: str | None) -> str:
    """The commit that ``ref`` (a branch, tag or commit; None: HEAD) names."""
    names = [f"refs/heads/{ref}", f"refs/tags/{ref}", ref] if ref else ["HEAD"]
    for name in names:
        result = run_git("rev-parse", "--verify", "--quiet", name + "^{commit}", cwd=repository)
        if result.returncode == 0:
            return result.stdout.strip()
    raise StarterError(f"The starter has no branch, tag or commit {ref!r}.")


def names_a_ref(repository: Path, ref: str | None) -> bool:
    """True if ``ref`` is a branch or tag of the starter (not a commit)."""
    return bool(ref) and any(
        git_ok("show-ref", "--verify", "--quiet", f"refs/{kind}/{ref}", cwd=repository)
        for kind in ("heads", "tags")
    )


def followed(repository: Path, state: dict) -> str | None:
    """The branch or tag the project follows: the one recorded as checkout, if
    the starter has it; else None, its default branch."""
    checkout = state.get("checkout")
    return checkout if names_a_ref(repository, checkout) else None


def require_commit(repository: Path, commit: str, location: str) -> None:
    """StarterError unless the starter has ``commit``, the one the project was baked from."""
    if not git_ok("cat-file", "-e", commit + "^{commit}", cwd=repository):
        raise StarterError(
            f"{location} has no commit {commit}, which .cruft.json says the project "
            "was baked from: was its history rewritten, or is this another repository?"
        )


def commits_between(repository: Path, older: str, newer: str) -> list[str]:
    """The commits of ``newer`` that ``older`` has not, newest first."""
    log = git("log", "--format=%h %s", f"{older}..{newer}", cwd=repository)
    return log.splitlines()


def print_commits(commits: list[str]) -> None:
    """The first of ``commits`` (from commits_between), one a line, and how many more."""
    for line in commits[:SHOWN]:
        print(f"  {line}")
    if len(commits) > SHOWN:
        print(f"  ... and {len(commits) - SHOWN} more")
