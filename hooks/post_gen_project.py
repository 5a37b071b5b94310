"""Remove what the chosen options do not need, pin revy to where the
template came from, record that in .cruft.json, then say what to do next.

The pin (the revy line of pyproject.toml) is, in this order:
- ``_revy_source`` when the bake names it (scripts/bake.py does: the
  checkout it exported the template from);
- the folder baked from, when the template argument is a folder that holds
  a checkout of revy: its ``file:`` URL;
- the repository baked from, when the template argument is a git URL or an
  abbreviation (gh:, gl:, bb:): ``git+<URL>@<commit>``, both as
  hooks/pre_prompt.py found them in cookiecutter's clone;
- else this version on the package index, with a warning.
tools/revy_pin.py of the project writes it, as it does later for
``make pin-revy``.

.cruft.json (written by the project's tools/starter/record.py, in the format
cruft reads) records the starter: where it is (the git URL cloned, or the
folder baked from, when that folder is a git checkout), the commit baked, the
branch or tag named with --checkout, and the answers. ``make check-starter``
and ``make update`` read it. When tools/starter renders a version of the
starter for ``make update``, it names the location recorded in
``_revy_template``: the pin and the record are then made as if the bake had
been from there. Without a commit (a zip, a copy without git) nothing is
recorded, and the message says so.

Runs in the generated project under cookiecutter's own Python: standard
library only (no Django here: the project's dependencies are not installed).
"""

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = {{ cookiecutter.project|jsonify }}
INCLUDE_EXAMPLE_APPS = {{ "True" if cookiecutter.include_example_apps else "False" }}
USE_ASYNC = {{ "True" if cookiecutter.use_async else "False" }}
API = {{ "True" if cookiecutter.api else "False" }}
# Where the bake is from: as typed, or as make update names it.
TEMPLATE = {{ (cookiecutter._revy_template or cookiecutter._template)|jsonify }}
CHECKOUT = {{ (cookiecutter.get("_checkout") or "")|jsonify }}
SOURCE = {{ cookiecutter._revy_source|jsonify }}
COMMIT = {{ cookiecutter._revy_commit|jsonify }}
ORIGIN = {{ cookiecutter._revy_origin|jsonify }}
VERSION = {{ cookiecutter._revy_version|jsonify }}
# The answers, in the order of the questions.
ANSWERS = {
{%- for key, value in cookiecutter.items() if not key.startswith("_") %}
    {{ key|jsonify }}: json.loads({{ value|jsonify|jsonify }}),
{%- endfor %}
}
# What cookiecutter clones rather than reads from disk: a URL, user@host,
# or an abbreviation such as gh:owner/name.
REPOSITORY = re.compile(r"^(((git|hg)\+)?(git|ssh|file|https?):|\w+@[\w.]+|\w+:(?!//))")

EXAMPLES = [
    f"{PROJECT}/blog",
    f"{PROJECT}/invoices",
    f"{PROJECT}/demo",
    f"{PROJECT}/reviews",
    "tests/test_blog.py",
    "tests/test_reviews.py",
    "tests/test_reviews_browser.py",
    "tests/browser.py",
    "tests/test_invoices.py",
    "tests/test_demo.py",
]
ASYNC = [f"{PROJECT}/asgi.py", "tests/test_async.py"]
# The REST API; its views of the example apps go with them.
API_FILES = [f"{PROJECT}/api", "tests/test_api_token.py"]
API_EXAMPLES = [f"{PROJECT}/api/views.py", f"{PROJECT}/api/serializers.py", "tests/test_api.py"]


def remove(paths: list[str]) -> None:
    for path in map(Path, paths):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_this_script() -> None:
    """Cookiecutter runs a rendered copy of each hook from a temporary file
    (tmp*.py) that it never removes: remove it, and only it."""
    script = Path(__file__).resolve()
    if (
        script.parent == Path(tempfile.gettempdir()).resolve()
        and script.name.startswith("tmp")
        and script.suffix == ".py"
    ):
        script.unlink(missing_ok=True)


def where_the_shell_is() -> Path | None:
    """The folder cookiecutter was started in, if the environment says so."""
    pwd = os.environ.get("PWD")
    return Path(pwd) if pwd and Path(pwd).is_dir() else None


def folder_baked_from() -> Path | None:
    """The folder named as the template, if it is one."""
    folder = Path(TEMPLATE).expanduser()
    if not folder.is_absolute():
        shell = where_the_shell_is()
        if shell is None:
            return None
        folder = shell / folder
    return folder.resolve() if (folder / "cookiecutter.json").is_file() else None


def pin_target() -> tuple[str | None, str]:
    """(what to pin revy to, or None for the release; where that came from)."""
    if SOURCE:
        return SOURCE, "the checkout the template was exported from"
    folder = folder_baked_from()
    if folder is not None:
        if (folder / "revy" / "__init__.py").is_file():
            return str(folder), "the folder baked from"
        return None, f"{folder} holds no checkout of revy"
    if REPOSITORY.match(TEMPLATE):
        if ORIGIN and COMMIT:
            return f"{ORIGIN}@{COMMIT}", "the repository baked from"
        return None, f"git did not say which commit of {TEMPLATE} this is"
    return None, f"{TEMPLATE} is neither a folder nor a git repository"


def pin_revy() -> str:
    """Write the revy line of pyproject.toml; return what to tell the user."""
    sys.dont_write_bytecode = True  # no __pycache__ left in tools/
    sys.path.insert(0, str(Path.cwd() / "tools"))
    import revy_pin

    target, origin = pin_target()
    if target is not None:
        try:
            requirement, note = revy_pin.requirement_for(target)
        except revy_pin.PinError as error:
            target, origin = None, str(error)
    if target is None:
        revy_pin.write(f"revy=={VERSION}")
        return (
            f"revy: revy=={VERSION}, from the package index ({origin}).\n"
            "To install revy from git or a folder instead: make pin-revy TO=... "
            '(README.md, "Where revy comes from").'
        )
    revy_pin.write(requirement, note)
    told = f"revy: {requirement}, {origin}" + (f" ({note})" if note else "") + "."
    if "file:" in requirement:
        told += (
            "\nThat path exists on this machine only: before the project leaves it, "
            "pin a git URL or a release with make pin-revy TO=... "
            '(README.md, "Where revy comes from").'
        )
    return told


def starter_location() -> str | None:
    """Where make update finds the starter again: a git URL, or a folder that
    is a git checkout; None if it is neither."""
    if SOURCE:
        folder = Path(SOURCE)
    else:
        folder = folder_baked_from()
    if folder is not None:
        return str(folder) if (folder / ".git").exists() else None
    if REPOSITORY.match(TEMPLATE):
        return ORIGIN or TEMPLATE.removeprefix("git+")
    return None


def record_the_starter() -> str:
    """Write .cruft.json; return what to tell the user."""
    from starter.record import dumps, provenance  # tools/starter/, on sys.path since pin_revy()

    location = starter_location()
    if location is None or not COMMIT:
        return (
            f"No record of the starter: {TEMPLATE} is not a git repository, so make "
            "update cannot bring its later versions in."
        )
    # --checkout of a branch or tag is followed by make update; a commit is not.
    checkout = "" if re.fullmatch(r"[0-9a-f]{7,40}", CHECKOUT) else CHECKOUT
    record = provenance(location, COMMIT, checkout, ANSWERS)
    Path(".cruft.json").write_text(dumps(record), encoding="utf-8")
    return f"Starter: {location} at {COMMIT[:12]}, in .cruft.json (make check-starter, make update)."


def next_step() -> str:
    project = Path.cwd()
    shell = where_the_shell_is()
    if shell is not None and project.is_relative_to(shell.resolve()):
        return f"cd {project.relative_to(shell.resolve())}"
    return f"cd {project}"


def main() -> None:
    remove_this_script()
    if not INCLUDE_EXAMPLE_APPS:
        remove(EXAMPLES)
    if not USE_ASYNC:
        remove(ASYNC)
    if not API or not INCLUDE_EXAMPLE_APPS:
        remove(API_EXAMPLES)
    if not API:
        remove(API_FILES)
    pinned = pin_revy()
    print(
        f"\nCreated {Path.cwd()}.\n{pinned}\n{record_the_starter()}\n"
        f"Next: {next_step()} && make run   (then: make test)\n"
    )


if __name__ == "__main__":
    main()
