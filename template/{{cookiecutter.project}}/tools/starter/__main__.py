"""Where this project was baked from, and bringing in later versions of it.

The project was baked from a starter: a cookiecutter template in a git
repository. ``.cruft.json`` records which one, in the format cruft reads: the
template's location, the commit baked, the branch or tag named at the bake
(``checkout``) and the answers given.

    python3 tools/starter                 # where the project was baked from
    python3 tools/starter check [REF]     # make check-starter: is the starter ahead?
    python3 tools/starter update [REF]    # make update: merge the starter's changes in
    python3 tools/starter requirement     # the cookiecutter that make update needs

REF is a branch, tag or commit of the starter; without it, the branch or tag
recorded as ``checkout``, else the starter's default branch. ``--from
LOCATION`` reads the starter from another git URL or folder (``update``
records it).

``check`` exits 0 when the project is at REF (or ahead of it), 1 when REF
has commits the project has not (it lists them), 2 when it cannot tell.

``update`` (the module update says how it merges) exits 0 when the merge is
clean, 1 when files hold conflicts, 2 when nothing was written. It asks the
questions that a later starter asks and .cruft.json has no answer for when
the input is a terminal (``--ask`` always, ``--no-input`` never); otherwise
they take their defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if not __package__:
    # python3 tools/starter: Python put this folder first on sys.path. tools/
    # goes there instead, so that the package imports as starter.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from starter import StarterError
from starter.check import check
from starter.record import answers_of, read
from starter.render import requirement
from starter.update import update


def show() -> int:
    """Print what .cruft.json says."""
    state = read()
    checkout = f" ({state['checkout']})" if state.get("checkout") else ""
    print(f"Baked from {state['template']}{checkout} at {state['commit']}, with:")
    for key, value in answers_of(state).items():
        print(f"  {key} = {value!r}")
    return 0


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/starter", description=__doc__.split("\n\n")[0])
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
