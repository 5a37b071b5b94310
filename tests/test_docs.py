"""The documentation site's own logic (scripts/docs_site.py, mkdocs.yml).

``make docs`` builds the site in strict mode (CI runs it); these tests check
what the strict build cannot: that the API reference covers the public API
and names objects that exist, that every decision record is listed, and that
links out of docs/ are rewritten to what the site carries and only those.
"""

import importlib
import re

import pytest

import revy
import revy.contrib.django as integration
from revy.contrib.django import history
from scripts import docs_site

REFERENCE = docs_site.reference()
ALL_DIRECTIVES = re.findall(r"^::: ([\w.]+)$", REFERENCE, re.M)
# The REST framework and task queue integrations: their own packages.
INTEGRATIONS = {
    path: package for package, paths in docs_site.INTEGRATIONS.items() for path in paths
}
DIRECTIVES = [path for path in ALL_DIRECTIVES if path not in INTEGRATIONS]


def test_the_reference_documents_every_public_name_once():
    documented = [path.rsplit(".", 1)[1] for path in DIRECTIVES]
    public = ["Context", "NoActiveContext", *integration.__all__]
    gathered = [name for name in history.__all__ if name not in integration.__all__]
    assert sorted(documented) == sorted(public + gathered)
    assert gathered == ["history"]


@pytest.mark.parametrize("path", DIRECTIVES)
def test_each_directive_names_the_object_users_import(path):
    module, name = path.rsplit(".", 1)
    value = getattr(importlib.import_module(module), name)
    if module == "revy":
        assert getattr(revy, name) is value
    elif name in integration.__all__:
        assert getattr(integration, name) is value
    else:
        assert getattr(history, name) is value


def test_the_reference_documents_every_public_name_of_the_integrations():
    assert set(INTEGRATIONS) <= set(ALL_DIRECTIVES)
    for package in docs_site.INTEGRATIONS:
        documented = sorted(
            path.rsplit(".", 1)[1] for path, of in INTEGRATIONS.items() if of == package
        )
        exported = importlib.import_module(package).__all__
        assert sorted(exported) == documented, package


@pytest.mark.parametrize("path", list(INTEGRATIONS))
def test_each_integration_directive_names_what_its_package_exports(path):
    module, name = path.rsplit(".", 1)
    value = getattr(importlib.import_module(module), name)
    package = importlib.import_module(INTEGRATIONS[path])
    assert getattr(package, name, value) is value


def test_every_decision_record_is_in_the_index_and_the_navigation():
    decisions = docs_site.ROOT / "docs" / "decisions"
    records = sorted(p.name for p in decisions.glob("[0-9][0-9][0-9][0-9]-*.md"))
    index = (decisions / "index.md").read_text()
    nav = (docs_site.ROOT / "mkdocs.yml").read_text()
    assert records == sorted(set(re.findall(r"\((\d{4}-[\w.-]+\.md)\)", index)))
    assert records == sorted(re.findall(r"- decisions/(\d{4}-[\w.-]+\.md)$", nav, re.M))


@pytest.mark.parametrize(
    ("markdown", "folder", "page", "expected"),
    [
        # A chart of the performance page, as docs/performance.md links it.
        (
            "![SQLite](../benchmarks/results/sqlite.png)",
            "docs",
            "performance.md",
            "![SQLite](benchmarks/results/sqlite.png)",
        ),
        (
            "[how](../benchmarks/README.md#method)",
            "docs",
            "performance.md",
            "[how](benchmarks.md#method)",
        ),
        # From a page in a subfolder of docs/.
        (
            "[log](../../CHANGELOG.md)",
            "docs/decisions",
            "decisions/0012-version-line-2.0.md",
            "[log](../changelog.md)",
        ),
        # A carried file linking back into docs/.
        (
            "[0012](docs/decisions/0012-version-line-2.0.md)",
            ".",
            "changelog.md",
            "[0012](decisions/0012-version-line-2.0.md)",
        ),
        # Links within docs/ and to the web are left alone ...
        ("[ctx](context.md#top)", "docs", "index.md", "[ctx](context.md#top)"),
        ("[web](https://example.com/a.md)", "docs", "index.md", None),
        # ... and so is a link to a file the site does not carry: the strict
        # build then fails on it.
        ("[t](../template/README.md)", "docs", "cookiecutter.md", None),
    ],
)
def test_links_out_of_docs_are_rewritten_to_what_the_site_carries(
    markdown, folder, page, expected
):
    assert docs_site.rewrite_links(markdown, folder, page) == (expected or markdown)


def test_restructuredtext_roles_in_docstrings_become_code():
    text = "See :class:`~revy.contrib.django.actors.DeletedActor` and :meth:`revert`."
    assert docs_site.plain_roles(text) == "See `DeletedActor` and `revert`."
