"""The house rules of docs/architecture.md that the import contracts of
pyproject.toml (checked by lint-imports in `make test`) cannot express."""

import ast
import re
from pathlib import Path

import pytest

from scripts import architecture

PACKAGE = Path(__file__).resolve().parent.parent / "revy"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def source(path):
    return path.read_text()


def test_the_picture_in_the_docs_is_the_one_the_imports_draw():
    assert architecture.current() == architecture.render(), (
        "docs/architecture.md is out of date: run `make architecture`."
    )


def test_only_the_backends_ask_which_database_a_connection_is():
    asking = [
        str(path.relative_to(PACKAGE))
        for path in MODULES
        if "backends" not in path.parts and re.search(r"\.vendor\b", source(path))
    ]
    assert asking == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_under_500_lines(path):
    assert len(source(path).splitlines()) <= 500


# The one function-local import of revy's own modules: Django loads an
# app's modules before its models can be imported.
IMPORTS_IN_FUNCTIONS_ALLOWED = {("contrib/django/apps.py", "ready")}


def test_revy_modules_are_imported_at_the_top_of_modules_only():
    found = set()
    for path in MODULES:
        tree = ast.parse(source(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                module = (
                    node.module
                    if isinstance(node, ast.ImportFrom)
                    else node.names[0].name
                    if isinstance(node, ast.Import)
                    else None
                )
                if module and module.split(".")[0] == "revy":
                    found.add((str(path.relative_to(PACKAGE)), function.name))
    assert found == IMPORTS_IN_FUNCTIONS_ALLOWED
