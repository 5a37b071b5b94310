"""Where this project was baked from, and bringing in later versions of it.

The package behind ``python3 tools/starter`` (``__main__``: the command line),
one module a job:

- ``record``: .cruft.json, the record of the bake (the starter's hooks write it);
- ``git``: running git;
- ``repository``: the starter's repository, cloned, and its history;
- ``check``: make check-starter, is the starter ahead?
- ``render``: the starter baked with cookiecutter, for make update;
- ``merge``: the starter's change merged into the project, by git;
- ``update``: make update.

Standard library and git only, except that ``update`` renders with
cookiecutter (a dev dependency, which ``make update`` installs if missing).
This module holds what they all share.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["README", "ROOT", "StarterError"]

# The project's folder: this package is tools/starter/ in it.
ROOT = Path(__file__).resolve().parent.parent.parent
# Where the project tells how to keep up with the starter.
README = 'README.md, "Keeping up with the starter"'


class StarterError(Exception):
    """Why nothing was done, said so that the user can act on it."""
