"""Where this project was baked from, and bringing in later versions of it.

The project was baked from a starter: a cookiecutter template in a git
repository. ``.cruft.json`` records which one, in the format cruft reads: the
template's location, the commit baked, the branch or tag named at the bake
(``checkout``) and the answers given.

    python3 tools/starter.py                 # where the project was baked from
    python3 tools/starter.py check [REF]     # make check-starter: is the starter ahead?
    python3 tools/starter.py update [REF]    # make update: merge the starter's changes in
    python3 tools/starter.py requirement     # the cookiecutter that make update needs

REF is a branch, tag or commit of the starter; without it, the branch or tag
recorded as ``checkout``, else the starter's default branch. ``--from
LOCATION`` reads the starter from another git URL or folder (``update``
records it).

``check`` exits 0 when the project is at REF (or ahead of it), 1 when REF
has commits the project has not (it lists them), 2 when it cannot tell.

``update`` renders the starter at the recorded commit and at REF with the
recorded answers, and merges the difference into the project as git merges
two branches (a cherry-pick of the starter's changes onto HEAD): the project's
own changes stay, the starter's arrive, and where both changed the same lines
the file holds both between conflict markers (<<<<<<< HEAD, =======, >>>>>>>).
It refuses to start unless the git working tree is clean, and writes nothing
until the merge; .cruft.json names REF in the same uncommitted change as the
files merged, so committing the update records it and abandoning it
(``git reset --merge``) leaves the record as it was. Questions that a later
starter asks and .cruft.json has no answer for are asked when the input is a
terminal (``--ask`` always, ``--no-input`` never) and otherwise take their
defaults. Paths that .cruft.json's ``skip`` names (paths or glob patterns
from the project's folder, as cruft reads them) keep the project's version.
It exits 0 when the merge is clean, 1 when files hold conflicts, 2 when
nothing was written.

Standard library and git only, except that ``update`` renders with
cookiecutter (a dev dependency, which ``make update`` installs if missing).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PROVENANCE = ROOT / ".cruft.json"
README = 'README.md, "Keeping up with the starter"'
# update merges through two commits of its own, on no branch: who wrote them.
IDENTITY = {
    "GIT_AUTHOR_NAME": "starter",
    "GIT_AUTHOR_EMAIL": "starter@localhost",
    "GIT_COMMITTER_NAME": "starter",
    "GIT_COMMITTER_EMAIL": "starter@localhost",
}
SHOWN = 20  # commits that print_commits lists before "and N more"
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
# cookiecutter renders the starter in a process of its own, so that the
# messages of its hooks are kept for when something fails (its own log, which
# repeats them with a traceback, is left out).
RENDER = """\
import json, logging, sys
from cookiecutter.main import cookiecutter
logging.disable(logging.CRITICAL)
try:
    print(cookiecutter(**json.loads(sys.stdin.read())))
except Exception as error:
    sys.exit(f"{type(error).__name__}: {error}")
"""


class Conflict(NamedTuple):
    """A path git left unmerged: its status (a key of CONFLICTS) and the path
    from the repository's top folder."""

    status: str
    path: str

    @property
    def meaning(self) -> str:
        """What the status says, and what to do about it."""
        return CONFLICTS[self.status]


class StarterError(Exception):
    """Why nothing was done, said so that the user can act on it."""


# git ----------------------------------------------------------------------------


def run_git(*args: str, cwd: Path | None = None, env: dict | None = None):
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
    return run_git(*args, cwd=cwd).returncode == 0


# .cruft.json -------------------------------------------------------------------


def provenance(location: str, commit: str, checkout: str | None, answers: dict) -> dict:
    """The record of a bake, as cruft writes it."""
    return {
        "template": location,
        "commit": commit,
        "checkout": checkout or None,
        "context": {"cookiecutter": {**answers, "_template": location, "_commit": commit}},
        "directory": None,
    }


def dumps(state: dict) -> str:
    return json.dumps(state, indent=2, ensure_ascii=False) + "\n"


def read(path: Path = PROVENANCE) -> dict:
    if not path.is_file():
        raise StarterError(
            f"{path} is missing: this project does not record the starter it was baked "
            "from (it was baked from a copy without git, or before the starter wrote it)."
        )
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise StarterError(f"{path} is not valid JSON: {error}") from None
    context = state.get("context", {}) if isinstance(state, dict) else {}
    if not (
        isinstance(state.get("template"), str)
        and state["template"]
        and isinstance(state.get("commit"), str)
        and re.fullmatch(r"[0-9a-f]{40}", state["commit"])
        and isinstance(context.get("cookiecutter"), dict)
    ):
        raise StarterError(
            f"{path} should name the starter (template), its commit (40 hex digits) "
            "and the answers (context.cookiecutter)."
        )
    return state


def answers_of(state: dict) -> dict:
    """The answers given: the public variables of the recorded context."""
    context = state["context"]["cookiecutter"]
    return {key: value for key, value in context.items() if not key.startswith("_")}


# The starter's repository ------------------------------------------------------


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


# check -------------------------------------------------------------------------


def check(ref: str | None, location: str | None) -> int:
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


# update ------------------------------------------------------------------------


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


def ask_new_questions(source: Path, recorded: dict) -> dict:
    """The recorded answers, plus those to questions the starter at ``source``
    asks that the bake did not, asked as cookiecutter asks them."""
    from cookiecutter.environment import StrictEnvironment
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import (
        read_user_choice,
        read_user_variable,
        read_user_yes_no,
        render_variable,
    )

    context = generate_context(
        context_file=str(source / "cookiecutter.json"), extra_context=recorded
    )
    variables = context["cookiecutter"]
    prompts = variables.get("__prompts__", {})
    env = StrictEnvironment(context=context)
    values: dict = {}
    asked = {}
    for key, raw in variables.items():
        if key.startswith("_") or isinstance(raw, dict):
            continue
        if isinstance(raw, list):
            options = [render_variable(env, option, values) for option in raw]
            value = options[0] if key in recorded else read_user_choice(key, options, prompts)
        elif isinstance(raw, bool):
            value = raw if key in recorded else read_user_yes_no(key, raw, prompts)
        else:
            value = render_variable(env, raw, values)
            if key not in recorded:
                value = read_user_variable(key, value, prompts)
        values[key] = value
        if key not in recorded:
            asked[key] = value
    return {**recorded, **asked}


def write_config(folder: Path) -> Path:
    """A cookiecutter config that keeps its clones and replays in ``folder``."""
    config = folder / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(folder / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(folder / 'replay'))}\n",
        encoding="utf-8",
    )
    return config


def render(source: Path, answers: dict, location: str, commit: str, output: Path) -> Path:
    """The project cookiecutter bakes from ``source`` (the starter at ``commit``)
    with ``answers``, as if baked from ``location``."""
    output.mkdir(parents=True)
    home = output.parent / f"{output.name}-cookiecutter"
    home.mkdir()
    arguments = {
        "template": str(source),
        "no_input": True,
        "output_dir": str(output),
        "config_file": str(write_config(home)),
        # The starter's hooks pin revy and write .cruft.json from these.
        "extra_context": {
            **answers,
            "_revy_template": location,
            "_revy_commit": commit,
            "_revy_origin": location,
        },
    }
    try:
        result = subprocess.run(
            [sys.executable, "-c", RENDER],
            input=json.dumps(arguments),
            capture_output=True,
            text=True,
            cwd=output,
        )
    except OSError as error:
        raise StarterError(f"cookiecutter could not be run: {error}") from None
    if result.returncode:
        told = (result.stderr.strip() or result.stdout.strip()).splitlines()[-15:]
        raise StarterError(
            f"cookiecutter could not bake the starter at {commit[:12]}; nothing was written.\n"
            + "\n".join(told)
        )
    return Path(result.stdout.strip().splitlines()[-1])


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


def update(ref: str | None, location: str | None, ask: bool) -> int:
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


# The rest ----------------------------------------------------------------------


def requirement(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The cookiecutter requirement of the dev extra (what make update installs)."""
    import tomllib

    dev = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["dev"]
    found = [line for line in dev if re.match(r"cookiecutter\b", line)]
    return found[0] if found else "cookiecutter>=2.6,<3"


def show() -> int:
    state = read()
    checkout = f" ({state['checkout']})" if state.get("checkout") else ""
    print(f"Baked from {state['template']}{checkout} at {state['commit']}, with:")
    for key, value in answers_of(state).items():
        print(f"  {key} = {value!r}")
    return 0


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/starter.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    for name in ("check", "update"):
        command = commands.add_parser(name)
        command.add_argument("ref", nargs="?", help="a branch, tag or commit of the starter")
        command.add_argument("--from", dest="location", help="the starter's git URL or folder")
    asking = commands.choices["update"].add_mutually_exclusive_group()
    asking.add_argument("--ask", action="store_true", default=None, help="ask new questions")
    asking.add_argument("--no-input", dest="ask", action="store_false", help="take defaults")
    commands.add_parser("requirement")
    options = parser.parse_args(arguments)
    try:
        if options.command == "check":
            return check(options.ref or None, options.location or None)
        if options.command == "update":
            ask = sys.stdin.isatty() if options.ask is None else options.ask
            return update(options.ref or None, options.location or None, ask)
        if options.command == "requirement":
            print(requirement())
            return 0
        return show()
    except StarterError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
