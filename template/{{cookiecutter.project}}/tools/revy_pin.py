"""Where this project's revy comes from: show the pin, or move it.

    python3 tools/revy_pin.py                # print the pin (make pin-revy)
    python3 tools/revy_pin.py TO             # move it (make pin-revy TO=...)
    python3 tools/revy_pin.py --portable     # fail if it names a path of this machine
    python3 tools/revy_pin.py --others       # the other requirements, one a line

TO is one of:

- a release on the package index: ``2.0.0a1`` (pins ``revy==2.0.0a1``);
- a git repository (a URL, or the folder of a bare repository), with a
  branch, tag or commit after ``@``:
  ``https://github.com/ertgl/revy.git@main``, ``gh:ertgl/revy@v2.0.0a1``,
  ``git@github.com:ertgl/revy.git@main``. A branch or tag is turned into its
  commit (``git ls-remote``), so the pin names exactly one revy;
- a folder holding a checkout of revy: ``../revy`` (pins its ``file:`` URL,
  which works on this machine only).

The pin is the ``revy`` line of ``dependencies`` in pyproject.toml; the
cookiecutter's post-generation hook wrote the first one with this script.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# The revy line of dependencies, with an optional comment after it.
LINE = re.compile(r'^(?P<indent>[ \t]*)"(?P<requirement>revy\b[^"]*)",(?P<note>.*)$', re.M)
ABBREVIATIONS = {
    "gh": "https://github.com/{}.git",
    "gl": "https://gitlab.com/{}.git",
    "bb": "https://bitbucket.org/{}",
}
SHA = re.compile(r"[0-9a-f]{40}")
VERSION = re.compile(r"(==)?\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")
SCP = re.compile(r"^(?P<user>[\w.-]+)@(?P<host>[\w.-]+):(?P<path>(?!//).+)$")


class PinError(Exception):
    """What is wrong with a TO, said so that the user can fix it."""


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if result.returncode:
        raise PinError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def is_revy_checkout(folder: Path) -> bool:
    return (folder / "revy" / "__init__.py").is_file() and (folder / "pyproject.toml").is_file()


def is_bare_repository(folder: Path) -> bool:
    try:
        return git("rev-parse", "--is-bare-repository", cwd=folder) == "true"
    except (PinError, OSError):
        return False


def checkout_note(folder: Path) -> str:
    """The commit a checkout is at, and whether it has changes not committed."""
    try:
        commit = git("rev-parse", "HEAD", cwd=folder)
        changed = git("--no-optional-locks", "status", "--porcelain", cwd=folder)
    except (PinError, OSError):
        return "not a git checkout"
    return f"at {commit}" + (" with uncommitted changes" if changed else "")


def git_location(location: str) -> tuple[str, str | None]:
    """(a URL git and pip both take, without ``git+``; the ref after ``@``)."""
    location = location.removeprefix("git+")
    prefix, _, rest = location.partition(":")
    if prefix in ABBREVIATIONS and rest and not rest.startswith("//"):
        name, _, ref = rest.partition("@")
        return ABBREVIATIONS[prefix].format(name), ref or None
    scp = SCP.match(location)
    if scp:
        location = f"ssh://{scp['user']}@{scp['host']}/{scp['path']}"
    # As pip reads it: an "@" in the path starts the ref, one before is a user.
    if "@" not in urlsplit(location).path:
        return location, None
    url, ref = location.rsplit("@", 1)
    return url, ref or None


def commit_of(url: str, ref: str | None) -> str:
    """The commit ``ref`` (a branch, a tag, HEAD if None) names in ``url``."""
    if ref and SHA.fullmatch(ref):
        return ref
    wanted = ref or "HEAD"
    lines = git("ls-remote", url, wanted).splitlines()
    refs = dict(reversed(line.split("\t", 1)) for line in lines if "\t" in line)
    for name in (
        "refs/tags/" + wanted + "^{}",  # an annotated tag: the commit it points at
        f"refs/tags/{wanted}",
        f"refs/heads/{wanted}",
        wanted,
    ):
        if name in refs:
            return refs[name]
    raise PinError(f"{url} has no branch or tag {wanted!r}; name a commit instead.")


def requirement_for(to: str) -> tuple[str, str]:
    """(the requirement, a note for the reader) that ``to`` pins."""
    to = to.strip()
    if not to:
        raise PinError("name a release, a git URL@ref or a folder.")
    if VERSION.fullmatch(to):
        return f"revy=={to.removeprefix('==')}", ""
    folder = Path(to.removeprefix("file://")).expanduser()
    bare, _, ref = to.rpartition("@")
    if bare and not folder.is_dir() and Path(bare).expanduser().is_dir():
        folder = Path(bare).expanduser()  # the folder of a bare repository, @ref
    else:
        ref = ""
    if folder.is_dir() and is_bare_repository(folder):
        to = folder.resolve().as_uri() + (f"@{ref}" if ref else "")
    elif folder.is_dir():
        folder = folder.resolve()
        if not is_revy_checkout(folder):
            raise PinError(f"{folder} is not a checkout of revy (no revy/__init__.py).")
        return f"revy @ {folder.as_uri()}", f"{checkout_note(folder)}; this machine only"
    url, ref = git_location(to)
    if not urlsplit(url).scheme:
        raise PinError(f"{to!r} is neither a release, a git URL nor a folder.")
    return f"revy @ git+{url}@{commit_of(url, ref)}", ""


def read(pyproject: Path = PYPROJECT) -> str:
    """The pin as pyproject.toml has it."""
    matches = LINE.findall(pyproject.read_text())
    if len(matches) != 1:
        raise PinError(f"{pyproject} should have one revy line in dependencies.")
    return matches[0][1]


def write(requirement: str, note: str = "", pyproject: Path = PYPROJECT) -> None:
    text = pyproject.read_text()
    comment = f"  # {note}" if note else ""
    new, count = LINE.subn(
        lambda match: f'{match["indent"]}"{requirement}",{comment}', text, count=1
    )
    if count != 1:
        raise PinError(f"{pyproject} should have one revy line in dependencies.")
    pyproject.write_text(new)


def others(pyproject: Path = PYPROJECT) -> list[str]:
    """The project's requirements and its dev extra, revy left out."""
    import tomllib

    project = tomllib.loads(pyproject.read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [r for r in declared if not re.match(r"revy\b", r)]


def main(arguments: list[str]) -> int:
    try:
        if not arguments:
            print(read())
        elif arguments == ["--portable"]:
            pin = read()
            if "file:" in pin:
                print(
                    f"ERROR: revy is pinned to a path on the machine that made this "
                    f"project ({pin}): pin a git URL or a release first, e.g. "
                    f"make pin-revy TO=https://github.com/ertgl/revy.git@main",
                    file=sys.stderr,
                )
                return 1
            print(f"{pin}: installable anywhere")
        elif arguments == ["--others"]:
            print("\n".join(others()))
        elif len(arguments) == 1 and not arguments[0].startswith("-"):
            requirement, note = requirement_for(arguments[0])
            write(requirement, note)
            print(f"revy is now pinned to: {requirement}" + (f"  ({note})" if note else ""))
        else:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            return 2
    except PinError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
