"""make update: merge the starter's changes since the recorded commit in.

``update`` renders the starter at the recorded commit and at REF with the
recorded answers, and merges the difference into the project as git merges
two branches (a cherry-pick of the starter's changes onto HEAD): the project's
own changes stay, the starter's arrive, and where both changed the same lines
the file holds both between conflict markers (<<<<<<< HEAD, =======, >>>>>>>).
It refuses to start unless the git working tree is clean, and writes nothing
until the merge; .cruft.json names REF in the same uncommitted change as the
files merged, so committing the update records it and abandoning it
(``git reset --merge``) leaves the record as it was. Questions that a later
starter asks and .cruft.json has no answer for are asked when ``ask`` is true
and otherwise take their defaults. Paths that .cruft.json's ``skip`` names
(paths or glob patterns from the project's folder, as cruft reads them) keep
the project's version. It returns 0 when the merge is clean, 1 when files hold
conflicts; a StarterError when nothing was written (the command line exits 2).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

from . import ROOT, StarterError
from .git import git, git_ok
from .merge import Conflict, merge, tree_of
from .record import PROVENANCE, answers_of, dumps, provenance, read
from .render import ask_new_questions, render, requirement
from .repository import (
    clone,
    commits_between,
    followed,
    names_a_ref,
    print_commits,
    require_commit,
    resolve,
)

__all__ = ["update"]


def project_repository() -> tuple[Path, str]:
    """(the git repository's top folder, the project's folder in it, "" or "dir/").

    Refuses a project outside git, without a commit, or with changes."""
    advice = "git init && git add . && git commit -m 'Baked with revy'"
    if not git_ok("rev-parse", "--is-inside-work-tree", cwd=ROOT):
        raise StarterError(f"make update merges with git, and {ROOT} is not in git: {advice}")
    top = Path(git("rev-parse", "--show-toplevel", cwd=ROOT))
    if not git_ok("rev-parse", "--verify", "--quiet", "HEAD", cwd=top):
        raise StarterError(f"make update merges with git, and nothing is committed yet: {advice}")
    changes = git("status", "--porcelain", "--untracked-files=all", cwd=top).splitlines()
    if changes:
        shown = "\n".join(f"  {line.strip()}" for line in changes[:10])
        more = f"\n  ... and {len(changes) - 10} more" if len(changes) > 10 else ""
        raise StarterError(
            "The git working tree has changes not committed; nothing was written. Commit "
            f"or stash them (git stash --include-untracked), then make update again:\n"
            f"{shown}{more}"
        )
    return top, git("rev-parse", "--show-prefix", cwd=ROOT)


def keep_skipped(patterns: list[str], base: Path, theirs: Path) -> None:
    """Leave the paths that .cruft.json's ``skip`` names (paths or glob
    patterns, as cruft reads them) as the project has them: on the starter's
    side, they are made what they were at the bake."""
    for pattern in patterns:
        for name in {p.relative_to(side) for side in (base, theirs) for p in side.glob(pattern)}:
            if (theirs / name).is_dir() and not (theirs / name).is_symlink():
                shutil.rmtree(theirs / name)
            elif (theirs / name).exists() or (theirs / name).is_symlink():
                (theirs / name).unlink()
            if (base / name).is_dir():
                shutil.copytree(base / name, theirs / name, symlinks=True)
            elif (base / name).exists():
                (theirs / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(base / name, theirs / name, follow_symlinks=False)


def update(ref: str | None, location: str | None, ask: bool) -> int:
    """Merge the starter's changes up to ``ref`` (None: the branch or tag
    followed), read from ``location`` (None: the one recorded)."""
    state = read()
    baked_from = state["template"]
    location = location or baked_from
    top, prefix = project_repository()
    if importlib.util.find_spec("cookiecutter") is None:
        raise StarterError(
            f"update bakes the starter with cookiecutter, which {sys.executable} lacks: "
            f"make update installs it, or pip install '{requirement()}'."
        )
    recorded = state["commit"]
    with tempfile.TemporaryDirectory(prefix="starter-") as name:
        scratch = Path(name)
        repository = clone(location, scratch / "starter.git")
        require_commit(repository, recorded, location)
        target = resolve(repository, ref or followed(repository, state))
        checkout = ref if names_a_ref(repository, ref) else state.get("checkout")
        newer = commits_between(repository, recorded, target)
        if location == baked_from and (target == recorded or not (ref or newer)):
            print(
                f"Nothing to do: the project is at {recorded[:12]} of {location}, which has "
                f"everything of {ref or 'its default branch'} ({target[:12]})."
            )
            return 0
        sources = {side: scratch / side for side in ("old", "new")}
        for side, commit in (("old", recorded), ("new", target)):
            git(
                "worktree", "add", "--detach", "--quiet", str(sources[side]), commit, cwd=repository
            )
        given = answers_of(state)
        if ask:
            given = ask_new_questions(sources["new"], given)
        # The base is the project as it was baked; the other side, as the
        # starter would bake it now from the same answers.
        base = render(sources["old"], answers_of(state), baked_from, recorded, scratch / "base")
        theirs = render(sources["new"], given, location, target, scratch / "theirs")
        keep_skipped(state.get("skip") or [], base, theirs)
        rendered = theirs / ".cruft.json"
        answers = answers_of(read(rendered)) if rendered.is_file() else given
        new_state = {**state, **provenance(location, target, checkout, answers)}
        # The record itself is not merged: the base holds the project's, the
        # starter's side the new one, so the merge writes the new one.
        (base / ".cruft.json").write_text(PROVENANCE.read_text(encoding="utf-8"), encoding="utf-8")
        rendered.write_text(dumps(new_state), encoding="utf-8")
        conflicts = merge(
            top,
            tree_of(base, top, prefix, scratch / "base.index"),
            tree_of(theirs, top, prefix, scratch / "theirs.index"),
            f"the starter at {target[:12]}",
        )
    PROVENANCE.write_text(dumps(new_state), encoding="utf-8")
    git("add", "--", str(PROVENANCE), cwd=top)
    report(state, new_state, newer, conflicts, prefix)
    return 1 if conflicts else 0


def report(
    state: dict, new_state: dict, newer: list[str], conflicts: list[Conflict], prefix: str
) -> None:
    """What update did: the commits merged, the questions new or gone, the
    files to resolve (their paths from the project's folder)."""
    old, new = answers_of(state), answers_of(new_state)
    count = len(newer)
    print(
        f"Merged the starter's changes from {state['commit'][:12]} to "
        f"{new_state['commit'][:12]} of {new_state['template']} into the project "
        f"({count} commit{'s' if count != 1 else ''}):"
    )
    print_commits(newer)
    for key in [key for key in new if key not in old]:
        print(f"New question {key}: {new[key]!r} (recorded in .cruft.json).")
    for key in [key for key in old if key not in new]:
        print(f"The starter no longer asks {key} (was {old[key]!r}).")
    if not conflicts:
        print(
            "No conflicts. Review the changes (git diff --staged), run make test, and "
            "commit them with .cruft.json."
        )
        return
    print(f"{len(conflicts)} file{'s' if len(conflicts) != 1 else ''} to resolve:")
    for conflict in conflicts:
        print(f"  {conflict.path.removeprefix(prefix)}: {conflict.meaning}")
    print(
        "Resolve them (edit the conflict markers away, then git add), run make test, "
        "and commit with .cruft.json. To drop the whole update instead: git reset --merge."
    )
