"""Draw revy's modules and their imports into docs/architecture.md.

``python -m scripts.architecture`` (or ``make architecture``) rewrites the
picture between the markers of docs/architecture.md from the imports as
they are: a Mermaid flowchart with one box per layer of the import-linter
contract in pyproject.toml, and an arrow for each import that is not
already implied by others (the transitive reduction). A test checks that
the picture in the docs is the one this draws.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- architecture:begin (python -m scripts.architecture) -->"
END = "<!-- architecture:end -->"
PREFIX = "revy.contrib.django."
# Subpackages drawn as one box: what is inside them is theirs alone.
COLLAPSED = ("admin", "capture", "backends", "management", "migrations")
# Modules outside revy.contrib.django drawn by their full name; packages
# among them as one box.
OUTSIDE = (
    "revy.context",
    "revy.deferred",
    "revy.contrib.rest_framework",
    "revy.contrib.celery",
    "revy.contrib.tasks",
)


def _name(module: str) -> str | None:
    """The box a module is drawn in; None for modules left out."""
    for outside in OUTSIDE:
        if module == outside or module.startswith(outside + "."):
            return outside
    if not module.startswith(PREFIX):
        return None
    name = module[len(PREFIX) :]
    top = name.split(".")[0]
    if top == "migrations":
        return None
    return top if top in COLLAPSED else name


def layers() -> list[list[str]]:
    """The layers of the contract in pyproject.toml, top first, as boxes."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    ]
    return [
        [_name(part.strip()) for part in layer.replace(":", "|").split("|")]
        for layer in contract["layers"]
    ]


def edges() -> set[tuple[str, str]]:
    """The imports between boxes, less those other imports imply."""
    graph = grimp.build_graph("revy")
    found: set[tuple[str, str]] = set()
    for module in graph.modules:
        source = _name(module)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = _name(imported)
            if target is not None and target != source:
                found.add((source, target))
    reached = {}
    for source in {s for s, _t in found}:
        seen: set[str] = set()
        stack = [t for s, t in found if s == source]
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(t for s, t in found if s == node)
        reached[source] = seen
    return {
        (source, target)
        for source, target in found
        if not any(
            target in reached.get(middle, ())
            for s, middle in found
            if s == source and middle != target
        )
    }


def render() -> str:
    """The Mermaid picture, between its markers."""
    lines = [BEGIN, "```mermaid", "flowchart TB"]
    for number, layer in enumerate(layers()):
        lines.append(f'  subgraph L{number}[" "]')
        lines.extend(f'    {_id(box)}["{box}"]' for box in layer)
        lines.append("  end")
    for source, target in sorted(edges()):
        lines.append(f"  {_id(source)} --> {_id(target)}")
    lines += ["```", END]
    return "\n".join(lines)


def _id(box: str) -> str:
    return box.replace(".", "_")


def current() -> str:
    """The picture as docs/architecture.md holds it now."""
    text = DOC.read_text()
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def main() -> None:
    text = DOC.read_text()
    DOC.write_text(text.replace(current(), render()))


if __name__ == "__main__":
    main()
