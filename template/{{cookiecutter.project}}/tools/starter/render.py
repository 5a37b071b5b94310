"""The starter baked with cookiecutter, as make update renders it.

cookiecutter is a dev dependency of the project: this module imports it only
where it asks questions, and bakes in a process of its own. ``requirement``
says which cookiecutter make update installs when the virtualenv lacks it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from . import ROOT, StarterError

__all__ = ["ask_new_questions", "render", "requirement"]

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


def requirement(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The cookiecutter requirement of the dev extra (what make update installs)."""
    import tomllib  # Python 3.11 and later; only requirement needs it

    dev = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["dev"]
    found = [line for line in dev if re.match(r"cookiecutter\b", line)]
    return found[0] if found else "cookiecutter>=2.6,<3"


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
