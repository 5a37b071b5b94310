"""The MkDocs hooks and the griffe extension of ``make docs`` (mkdocs.yml
names this file for both); what they add is in scripts/docs_site.py."""

from __future__ import annotations

import posixpath
import sys
from pathlib import Path
from typing import Any

import griffe
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository
from scripts import docs_site  # noqa: E402


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "reference.md", content=docs_site.reference()))
    for source, page in docs_site.CARRIED.items():
        files.append(
            File.generated(config, page, content=docs_site.carried_page(source))
        )
    for chart in sorted((docs_site.ROOT / docs_site.CHARTS).glob("*.png")):
        files.append(
            File.generated(
                config, f"{docs_site.CHARTS}/{chart.name}", abs_src_path=str(chart)
            )
        )
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.generated_by:
        return markdown
    folder = posixpath.join(docs_site.DOCS, posixpath.dirname(page.file.src_uri))
    return docs_site.rewrite_links(markdown, folder.rstrip("/"), page.file.src_uri)


class ReStructuredTextRoles(griffe.Extension):
    """``:class:`~a.Name``` in a docstring becomes ```Name```."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = docs_site.plain_roles(obj.docstring.value)
