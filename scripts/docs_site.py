"""What ``make docs`` adds to MkDocs (decision 0013); scripts/docs_hooks.py
hands it to MkDocs and mkdocstrings. This module imports neither, so that
the tests (tests/test_docs.py) run without the docs extra.

- The API reference page, ``reference.md``, written from the public names:
  ``revy.Context`` and ``revy.NoActiveContext``, and each name of
  ``revy.contrib.django.__all__`` under the module that defines it
  (``_EXPORTS``), so a name added to ``__all__`` is documented by the next
  build, from its docstring; then what ``revy.contrib.django.history`` adds.
- Files that live outside docs/ but that docs/ links to, as GitHub renders
  them: the benchmark charts (``benchmarks/results/*.png``), the benchmarks'
  README and the CHANGELOG. Links to them are rewritten to where the site
  has them; any other link out of docs/ is left as it is, and the strict
  build fails on it.
- Docstrings written with reStructuredText roles (``:class:`Name```) are
  shown as code (``Name``), since the site renders docstrings as Markdown.
"""

from __future__ import annotations

import ast
import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = "docs"
# Repository files outside docs/ that the site carries: repository path ->
# where the site has it.
CARRIED = {
    "CHANGELOG.md": "changelog.md",
    "benchmarks/README.md": "benchmarks.md",
}
CHARTS = "benchmarks/results"
LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")
ROLE = re.compile(
    r":(?:class|func|meth|attr|mod|exc|data|obj):`~?(?:[\w.]+\.)?([\w]+)`"
)

REFERENCE_HEAD = """# API reference

Generated from the docstrings by `make docs`. The public API is
`revy.Context` (with `revy.NoActiveContext`, what its getters raise outside
any context) and the names below, importable from `revy.contrib.django`
once Django's apps are loaded, and from the module named beside each:

```python
from revy import Context
from revy.contrib.django import state_at, history, ObjectSnapshot  # and so on
from revy.contrib.django.models import CASCADE, SET, SET_NULL, SET_DEFAULT
```

`revy.contrib.django.history` gathers the reading and undoing functions
under the one name the guides use (`history.state_at(...)`). The deletion
handlers, the abstract models and the history models themselves are in
[Swapping the history models](swapping.md) and [What is recorded](capture.md).
"""


def public_api() -> dict[str, list[str]]:
    """{module: [names]} of ``revy.contrib.django.__all__``, in that order."""
    import revy.contrib.django as integration

    by_module: dict[str, list[str]] = {}
    for name in integration.__all__:
        by_module.setdefault(integration._EXPORTS[name], []).append(name)
    return by_module


def gathered_by_history() -> dict[str, str]:
    """{name: defining module} of the names ``revy.contrib.django.history``
    exports that ``revy.contrib.django`` does not (read from its source:
    importing it needs Django's apps)."""
    import revy.contrib.django as integration

    tree = ast.parse((ROOT / "revy/contrib/django/history.py").read_text())
    defined = {
        alias.name: node.module.rsplit(".", 1)[-1]
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    exported = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "__all__"
    )
    return {name: defined[name] for name in exported if name not in integration.__all__}


def reference() -> str:
    parts = [
        REFERENCE_HEAD,
        "## `revy`\n",
        "::: revy.Context\n",
        "::: revy.NoActiveContext\n",
    ]
    for module, names in public_api().items():
        parts.append(f"## `revy.contrib.django.{module}`\n")
        parts.extend(f"::: revy.contrib.django.{module}.{name}\n" for name in names)
    parts.append(
        "## `revy.contrib.django.history`\n\n"
        "Everything above from `reading` and `undoing`, and:\n"
    )
    for name, module in gathered_by_history().items():
        parts.append(f"::: revy.contrib.django.{module}.{name}\n")
    for title, names in INTEGRATIONS.items():
        parts.append(f"## `{title}`\n")
        parts.extend(f"::: {name}\n" for name in names)
    return "\n".join(parts)


# The integrations with REST framework and task queues (docs/api.md,
# docs/tasks.md) and PostgreSQL's partitions (docs/scale.md), each name at
# the module that defines it.
INTEGRATIONS = {
    "revy.contrib.django.partitions": [
        f"revy.contrib.django.partitions.{name}"
        for name in (
            "convert",
            "maintain",
            "partitions",
            "is_partitioned",
            "unpartitioned",
            "partitioned_tables",
            "PartitionHistoryTables",
            "Partition",
            "Maintenance",
            "PartitionsNeedPostgreSQL",
        )
    ],
    "revy.contrib.django.handoff": [
        f"revy.contrib.django.handoff.{name}"
        for name in (
            "Handoff",
            "HandoffError",
            "TaskRun",
            "capture",
            "on_commit",
            "task_context",
            "task_run",
        )
    ],
    "revy.contrib.rest_framework": [
        "revy.contrib.rest_framework.viewsets.RevyViewSetMixin",
        "revy.contrib.rest_framework.permissions.HistoryPermission",
        *(
            f"revy.contrib.rest_framework.serializers.{name}"
            for name in (
                "ObjectDeltaSerializer",
                "AttributeDeltaSerializer",
                "RevisionSerializer",
                "ActorSerializer",
                "RevertSerializer",
                "ConflictSerializer",
                "actors_of",
            )
        ),
    ],
    "revy.contrib.tasks": [
        "revy.contrib.tasks.task",
        "revy.contrib.tasks.RevyTask",
        "revy.contrib.tasks.KWARG",
    ],
    "revy.contrib.celery": [
        "revy.contrib.celery.RevyTask",
        "revy.contrib.celery.HEADER",
    ],
}


def carried_page(source: str) -> str:
    """A repository Markdown file with its links made relative to docs/."""
    text = (ROOT / source).read_text(encoding="utf-8")
    return rewrite_links(text, posixpath.dirname(source), CARRIED[source])


def site_path(repository_path: str) -> str | None:
    """Where the site has a repository file, None if it is not carried."""
    if repository_path.startswith(f"{DOCS}/"):
        return repository_path.removeprefix(f"{DOCS}/")
    if repository_path in CARRIED:
        return CARRIED[repository_path]
    if repository_path.startswith(f"{CHARTS}/") and repository_path.endswith(".png"):
        return repository_path
    return None


def rewrite_links(markdown: str, folder: str, page: str) -> str:
    """Relative links of a file in repository ``folder``, made relative to
    ``page`` of the site where they name a file the site carries."""

    def replace(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        repository_path = posixpath.normpath(posixpath.join(folder, target))
        found = site_path(repository_path)
        if found is None or (folder == DOCS and found == target):
            return match.group(0)
        relative = posixpath.relpath(found, posixpath.dirname(page) or ".")
        return f"{match.group(1)}{relative}{match.group(3)}"

    return LINK.sub(replace, markdown)


def plain_roles(docstring: str) -> str:
    """``:class:`~a.Name``` and the like, as Markdown code: ```Name```."""
    return ROLE.sub(r"`\1`", docstring)
