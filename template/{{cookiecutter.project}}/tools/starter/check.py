"""make check-starter: is the starter ahead of the project?

``check`` returns 0 when the project is at REF (or ahead of it), 1 when REF
has commits the project has not (it lists them); a StarterError when it
cannot tell (the command line exits 2).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import README
from .git import git_ok
from .record import read
from .repository import (
    clone,
    commits_between,
    followed,
    print_commits,
    require_commit,
    resolve,
)

__all__ = ["check"]


def check(ref: str | None, location: str | None) -> int:
    """Compare the commit recorded with ``ref`` (None: the branch or tag
    followed) of the starter at ``location`` (None: the one recorded)."""
    state = read()
    location = location or state["template"]
    with tempfile.TemporaryDirectory(prefix="starter-") as scratch:
        repository = clone(location, Path(scratch) / "starter.git", blobs=False)
        recorded = state["commit"]
        require_commit(repository, recorded, location)
        ref = ref or followed(repository, state)
        target = resolve(repository, ref)
        named = ref or "its default branch"
        missing = commits_between(repository, recorded, target)
        if not missing:
            print(
                f"Up to date: the project is at {recorded[:12]} of {location}, "
                f"which has everything of {named} ({target[:12]})."
            )
            return 0
        contained = git_ok("merge-base", "--is-ancestor", recorded, target, cwd=repository)
        count = len(missing)
        print(
            f"Behind: {named} of {location} is at {target[:12]}, with {count} "
            f"commit{'s' if count != 1 else ''} the project does not have"
            + ("" if contained else f" (and without {recorded[:12]}, the project's)")
            + ":"
        )
        print_commits(missing)
        print(f"make update merges them into the project ({README}).")
        return 1
