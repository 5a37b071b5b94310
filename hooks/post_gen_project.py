"""Remove what the chosen options do not need, pin revy to where the
template came from, then say what to do next.

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

Runs in the generated project under cookiecutter's own Python: standard
library only (no Django here: the project's dependencies are not installed).
"""

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = {{ cookiecutter.project|jsonify }}
INCLUDE_EXAMPLE_APPS = {{ "True" if cookiecutter.include_example_apps else "False" }}
USE_ASYNC = {{ "True" if cookiecutter.use_async else "False" }}
TEMPLATE = {{ cookiecutter._template|jsonify }}
SOURCE = {{ cookiecutter._revy_source|jsonify }}
COMMIT = {{ cookiecutter._revy_commit|jsonify }}
ORIGIN = {{ cookiecutter._revy_origin|jsonify }}
VERSION = {{ cookiecutter._revy_version|jsonify }}
# What cookiecutter clones rather than reads from disk: a URL, user@host,
# or an abbreviation such as gh:owner/name.
REPOSITORY = re.compile(r"^(((git|hg)\+)?(git|ssh|file|https?):|\w+@[\w.]+|\w+:(?!//))")

EXAMPLES = [
    f"{PROJECT}/blog",
    f"{PROJECT}/invoices",
    f"{PROJECT}/demo",
    "tests/test_blog.py",
    "tests/test_invoices.py",
    "tests/test_demo.py",
]
ASYNC = [f"{PROJECT}/asgi.py", "tests/test_async.py"]


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
    print(
        f"\nCreated {Path.cwd()}.\n{pin_revy()}\n"
        f"Next: {next_step()} && make run   (then: make test)\n"
    )


if __name__ == "__main__":
    main()
