"""The entries of the history pages as HTML, written in Python: a page of a
hundred revisions renders in a fraction of what the template language (or
``format_html`` for each piece) takes for the same markup. The pages
themselves are templates (revy/admin/), which place these entries with
``{{ entries_html }}``. Every value goes through :func:`esc`, which escapes
all but what is already safe HTML.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from django.utils import formats, timezone
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.text import capfirst

from revy.contrib.django.admin.display import Change
from revy.contrib.django.admin.pages import Entry

__all__ = ["entries_html", "entry_html", "esc"]


def esc(value: Any) -> str:
    """``value`` as HTML: escaped, unless it is safe HTML already."""
    if isinstance(value, SafeData):
        return str(value)
    return html.escape(str(value), quote=True)


def _when(moment: Any) -> str:
    local = timezone.template_localtime(moment)
    shown = formats.date_format(local, "DATETIME_FORMAT")
    return f'<time datetime="{esc(local.isoformat())}">{esc(shown)}</time>'


def _members(change: Change, t: dict[str, str]) -> str:
    found = []
    if change.added:
        added = ", ".join(esc(member) for member in change.added)
        found.append(f'<span class="revy-added">{esc(t["added"])}: {added}</span>')
    if change.removed:
        removed = ", ".join(esc(member) for member in change.removed)
        found.append(
            f'<span class="revy-removed">{esc(t["removed"])}: {removed}</span>'
        )
    return " ".join(found)


def _change_row(change: Change, t: dict[str, str]) -> str:
    label = esc(change.label)
    if change.unknown:
        label += f' <span class="revy-quiet">({esc(t["no_longer_a_field"])})</span>'
    if change.added or change.removed:
        values = f'<td class="revy-value" colspan="2">{_members(change, t)}</td>'
    else:
        old = "" if change.old is None else esc(change.old)
        new = "" if change.new is None else esc(change.new)
        if change.diff:
            new += (
                f"<details><summary>{esc(t['show_the_change'])}</summary>"
                f'<div class="revy-diff">{esc(change.diff)}</div></details>'
            )
        values = f'<td class="revy-value">{old}</td><td class="revy-value">{new}</td>'
    return (
        f'<tr><th scope="row">{label}</th>{values}'
        f"<td>{esc(change.actor_text)}</td><td>{esc(change.description)}</td></tr>"
    )


def _other(other: Entry) -> str:
    name = f"{esc(capfirst(other.model_name))} {esc(other.delta.content_id)}"
    if other.object_url:
        name = f'<a href="{esc(other.object_url)}">{name}</a>'
    changes = []
    for change in other.changes:
        text = esc(change.label)
        if change.added or change.removed:
            if change.added:
                text += " +" + ", ".join(esc(member) for member in change.added)
            if change.removed:
                text += " −" + ", ".join(esc(member) for member in change.removed)
        else:
            if change.old is not None:
                text += f": {esc(change.old)}"
            if change.new is not None:
                text += f" → {esc(change.new)}"
        changes.append(text)
    listed = f" ({'; '.join(changes)})" if changes else ""
    return f"<li>{name}: {esc(other.action_label)}{listed}</li>"


def entry_html(
    entry: Entry,
    t: dict[str, str],
    index: int = 0,
    pick: bool = False,
    links: bool = False,
    show_object: bool = False,
) -> SafeString:
    """One entry: its heading, who and why, its changes, what else its
    revision changed, and (``links``) the links to act on it."""
    delta, revision = entry.delta, entry.revision
    anchor = f"revy-entry-{esc(delta.pk)}"
    action = ", ".join(entry.actions) if entry.actions else entry.action_label
    if show_object:
        action = f"{capfirst(entry.model_name)} {delta.content_id} · {action}"
    number = esc(revision.pk)
    word = esc(t["revision"])
    if show_object:  # On a page of one revision, which says when and why.
        parts = [
            f'<h2 id="{anchor}"><span class="revy-action">{esc(action)}</span></h2>'
        ]
    else:
        parts = [
            f'<h2 id="{anchor}"><span>{word} {number}</span> '
            f'<span class="revy-when">{_when(revision.created_at)}</span> '
            f'<span class="revy-action">{esc(action)}</span></h2>'
        ]
    if pick:
        parts.append(
            '<div class="revy-links revy-pick">'
            f'<label><input type="radio" name="from" value="{number}"'
            f"{' checked' if index == 1 else ''}> {esc(t['compare_from'])}"
            f'<span class="revy-sr"> {word} {number}</span></label>'
            f'<label><input type="radio" name="to" value="{number}"'
            f"{' checked' if index == 0 else ''}> {esc(t['to'])}"
            f'<span class="revy-sr"> {word} {number}</span></label></div>'
        )
    by = ", ".join(esc(label) for label in entry.actor_labels)
    meta = [f"<p><strong>{esc(t['by'])}:</strong> {by}</p>"]
    for key, text in (
        ("revision", "" if show_object else revision.description),
        ("object", delta.description),
        ("deletion", delta.deletion_description),
    ):
        if text:
            meta.append(f"<p><strong>{esc(t[key])}:</strong> {esc(text)}</p>")
    if entry.cause is not None:
        cause = (
            f"{esc(entry.cause.get_action_display())} {esc(t['of'])} "
            f"{esc(entry.cause_model_name)} {esc(entry.cause.content_id)}"
        )
        if entry.cause_url:
            cause = f'<a href="{esc(entry.cause_url)}">{cause}</a>'
        meta.append(f"<p><strong>{esc(t['caused_by'])}:</strong> {cause}</p>")
    parts.append(f'<div class="revy-meta">{"".join(meta)}</div>')
    if entry.changes:
        head = "".join(
            f'<th scope="col">{esc(t[key])}</th>'
            for key in ("field", "old_value", "new_value", "by", "description")
        )
        rows = "".join(_change_row(change, t) for change in entry.changes)
        parts.append(
            f'<table class="revy-changes"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    if entry.others:
        listed = "".join(_other(other) for other in entry.others)
        parts.append(
            f'<div class="revy-others"><h3>{esc(t["also_in_this_revision"])}</h3>'
            f"<ul>{listed}</ul></div>"
        )
    if links:
        found = []
        as_of = getattr(entry, "as_of_url", None)
        if as_of and entry.action != "delete":
            found.append(f'<a href="{esc(as_of)}">{esc(t["view_as_of"])}</a>')
        for name, key in (("restore_url", "restore"), ("revert_url", "revert")):
            url = getattr(entry, name, None)
            if url:
                found.append(f'<a href="{esc(url)}">{esc(t[key])}</a>')
        parts.append(f'<div class="revy-links">{" ".join(found)}</div>')
    return mark_safe(
        f'<section class="module revy-entry" aria-labelledby="{anchor}">'
        f"{''.join(parts)}</section>"
    )


def entries_html(
    entries: Iterable[Entry],
    t: dict[str, str],
    pick: bool = False,
    links: bool = False,
    show_object: bool = False,
) -> SafeString:
    """Every entry of a page, in order."""
    return mark_safe(
        "".join(
            entry_html(entry, t, index, pick=pick, links=links, show_object=show_object)
            for index, entry in enumerate(entries)
        )
    )
