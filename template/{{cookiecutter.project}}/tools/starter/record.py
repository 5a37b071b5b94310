""".cruft.json: where the project was baked from, in the format cruft reads.

The record names the starter's location (``template``), the commit baked, the
branch or tag named at the bake (``checkout``) and the answers given
(``context.cookiecutter``). The starter's hooks/post_gen_project.py writes it
with ``provenance`` and ``dumps``; check and update read it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from . import ROOT, StarterError

__all__ = ["PROVENANCE", "answers_of", "dumps", "provenance", "read"]

PROVENANCE = ROOT / ".cruft.json"


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
    """The record as the file holds it."""
    return json.dumps(state, indent=2, ensure_ascii=False) + "\n"


def read(path: Path = PROVENANCE) -> dict:
    """The record at ``path``; StarterError if it is missing or says too little."""
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
