"""The starter's change merged into the project by git, as a cherry-pick.

Two renders of the starter (as the project was baked, and as the starter
would bake it now) become two trees of the project's repository, then two
commits on no branch; ``git cherry-pick --no-commit`` applies the change
between them to the working tree and index, with HEAD as ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from . import StarterError
from .git import git, run_git

__all__ = ["CONFLICTS", "Conflict", "merge", "tree_of"]

# The merge goes through two commits of its own, on no branch: who wrote them.
IDENTITY = {
    "GIT_AUTHOR_NAME": "starter",
    "GIT_AUTHOR_EMAIL": "starter@localhost",
    "GIT_COMMITTER_NAME": "starter",
    "GIT_COMMITTER_EMAIL": "starter@localhost",
}
# What git status --porcelain says of a path left unmerged, as update reports it.
CONFLICTS = {
    "UU": "changed here and in the starter: both between conflict markers",
    "AA": "added here and in the starter: both between conflict markers",
    "DU": "deleted here, changed in the starter: its version is back (git rm or git add it)",
    "UD": "changed here, deleted in the starter: yours is kept (git add or git rm it)",
    "AU": "added here, and by the starter's changes",
    "UA": "added by the starter, and here",
    "DD": "deleted on both sides (git rm it)",
}


class Conflict(NamedTuple):
    """A path git left unmerged: its status (a key of CONFLICTS) and the path
    from the repository's top folder."""

    status: str
    path: str

    @property
    def meaning(self) -> str:
        """What the status says, and what to do about it."""
        return CONFLICTS[self.status]


def tree_of(folder: Path, top: Path, prefix: str, index: Path) -> str:
    """The git tree of the project's repository with ``folder``'s files as the
    project's: the files git would add there, at ``prefix``. ``index`` names a
    scratch index file."""
    gitdir = git("rev-parse", "--absolute-git-dir", cwd=top)
    whole = {"GIT_INDEX_FILE": f"{index}-whole"}
    index = {"GIT_INDEX_FILE": str(index)}
    git("--git-dir", gitdir, "--work-tree", str(folder), "add", "--all", ".", cwd=folder, env=index)
    tree = git("--git-dir", gitdir, "write-tree", cwd=folder, env=index)
    if not prefix:
        return tree
    # The project is a folder of a larger repository: HEAD's tree, that folder replaced.
    git("read-tree", "HEAD", cwd=top, env=whole)
    git("rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", prefix, cwd=top, env=whole)
    git("read-tree", f"--prefix={prefix}", tree, cwd=top, env=whole)
    return git("write-tree", cwd=top, env=whole)


def unmerged_paths(top: Path) -> list[Conflict]:
    """Each path git left unmerged in the repository at ``top``."""
    fields = iter(run_git("status", "--porcelain", "-z", cwd=top).stdout.split("\0"))
    found = []
    for field in fields:
        status, path = field[:2], field[3:]
        if not field:
            continue
        if status[0] in "RC":
            next(fields, None)  # a rename or copy: its source follows
        elif status in CONFLICTS:
            found.append(Conflict(status, path))
    return found


def merge(top: Path, base_tree: str, theirs_tree: str, label: str) -> list[Conflict]:
    """Apply the change from ``base_tree`` to ``theirs_tree`` onto the working
    tree and index as a cherry-pick does; return the conflicts."""
    base = git("commit-tree", base_tree, "-m", "the starter as baked", cwd=top, env=IDENTITY)
    theirs = git("commit-tree", theirs_tree, "-p", base, "-m", label, cwd=top, env=IDENTITY)
    result = run_git("cherry-pick", "--no-commit", theirs, cwd=top)
    unmerged = unmerged_paths(top)
    if result.returncode and not unmerged:
        run_git("reset", "--merge", cwd=top)
        raise StarterError(
            f"git could not merge the starter's changes; nothing was written.\n"
            f"{result.stderr.strip()}"
        )
    run_git("cherry-pick", "--quit", cwd=top)
    return unmerged
