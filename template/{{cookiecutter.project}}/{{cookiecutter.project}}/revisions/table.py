"""History as a readable table: one block per revision, one line per field.

Used by ``manage.py history`` and the demo. Values are shown as revy stores
them (JSON), cut to a readable width; fields listed in MASKED_FIELDS are
never shown.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, QuerySet
from revy.contrib.django.models import DeletedActor

from {{ cookiecutter.project }}.revisions.models import (
    AttributeDelta,
    ObjectDelta,
    Revision,
)

MASKED_FIELDS = {"password"}
# Characters that would move the cursor, start a line or reorder text on a
# terminal, written as escapes so that no stored text can forge a line.
_ESCAPES = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (
        *range(0x20),
        *range(0x7F, 0xA0),
        0x200E,
        0x200F,
        *range(0x2028, 0x202F),
        *range(0x2066, 0x206A),
    )
}
WIDTH = 28
HEADERS = ("Object", "Action", "Actor", "Field", "Old", "New", "Note")


def revisions_with_deltas(revisions: QuerySet) -> QuerySet:
    """``revisions`` with their deltas and actors, in a few queries."""
    return revisions.prefetch_related(
        Prefetch(
            "object_deltas",
            queryset=ObjectDelta.objects.select_related("content_type")
            .prefetch_related(
                "actor",
                Prefetch(
                    "attribute_deltas",
                    queryset=AttributeDelta.objects.order_by("pk").prefetch_related("actor"),
                ),
            )
            .order_by("pk"),
        )
    )


def actor_label(delta: Any) -> str:
    """The actor's type and name, "system", or "(deleted)" if it is gone."""
    if delta.actor_content_type_id is None:
        return "system"
    actor = delta.actor
    kind = ContentType.objects.get_for_id(delta.actor_content_type_id).model
    if actor is None or isinstance(actor, DeletedActor):
        return f"{kind} #{delta.actor_id} (deleted)"
    return f"{kind} {actor}"


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``)."""
    return text.translate(_ESCAPES)


def masked(field_name: str, value: Any) -> Any:
    """``value``, or "***" for a field listed in MASKED_FIELDS."""
    return "***" if field_name in MASKED_FIELDS and value is not None else value


def value_label(field_name: str, value: Any) -> str:
    value = masked(field_name, value)
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def object_label(delta: ObjectDelta) -> str:
    content_type = delta.content_type
    return f"{content_type.app_label}.{content_type.model} {delta.content_id}"


def delta_rows(delta: ObjectDelta) -> list[tuple[str, ...]]:
    notes = [delta.description]
    if delta.deletion_description:
        notes.append(delta.deletion_description)
    if delta.cause_id:
        notes.append(f"(caused by delta {delta.cause_id})")
    note = " ".join(note for note in notes if note)
    head = (object_label(delta), delta.action, actor_label(delta))
    attributes = list(delta.attribute_deltas.all())
    if not attributes:
        return [(*head, "", "", "", note)]
    rows = []
    for index, attribute in enumerate(attributes):
        old = "" if delta.action == ObjectDelta.ACTION_CREATE else attribute.old_value
        new = "" if delta.action == ObjectDelta.ACTION_DELETE else attribute.new_value
        attribute_actor = actor_label(attribute)
        rows.append(
            (
                *(head if index == 0 else ("", "", "")),
                attribute.field_name,
                "" if old == "" else value_label(attribute.field_name, old),
                "" if new == "" else value_label(attribute.field_name, new),
                " ".join(
                    part
                    for part in (
                        note if index == 0 else "",
                        attribute.description,
                        "" if attribute_actor == head[2] else f"(by {attribute_actor})",
                    )
                    if part
                ),
            )
        )
    return rows


def revision_title(revision: Revision) -> str:
    # A description of several lines (a task's names its task) on one line.
    described = " / ".join(line for line in revision.description.splitlines() if line)
    parts = [
        f"Revision {revision.pk}",
        revision.created_at.strftime("%Y-%m-%d %H:%M:%S %Z"),
        f"“{described}”" if described else "(no description)",
    ]
    if revision.request_id:
        source = f"{revision.method} {revision.path}".strip()
        parts.append(f"request {revision.request_id[:8]} {source}".rstrip())
        if revision.client_ip:
            parts.append(f"from {revision.client_ip}")
    return printable(" · ".join(parts))


def render(revisions: Iterable[Revision], deltas: Any = None) -> str:
    """The table of ``revisions``; ``deltas(revision)`` picks the deltas shown."""
    blocks = []
    for revision in revisions:
        shown = list(revision.object_deltas.all()) if deltas is None else deltas(revision)
        rows = [row for delta in shown for row in delta_rows(delta)]
        blocks.append(revision_title(revision) + "\n" + grid(rows))
    return "\n\n".join(blocks) if blocks else "No history recorded."


def grid(rows: list[tuple[str, ...]]) -> str:
    rows = [tuple(printable(cell) for cell in row) for row in rows]
    widths = [
        max(len(HEADERS[column]), *(len(row[column]) for row in rows))
        for column in range(len(HEADERS))
    ]
    lines = [HEADERS, tuple("-" * width for width in widths), *rows]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def history_of(model: Any, pk: Any) -> str:
    """The table of every change of the ``model`` row ``pk``, even if deleted."""
    keys = ObjectDelta.objects.for_key(model, pk)
    revisions = revisions_with_deltas(
        Revision.objects.filter(pk__in=keys.values("revision_id")).order_by("pk")
    )
    wanted = set(keys.values_list("pk", flat=True))
    return render(
        revisions,
        deltas=lambda revision: [d for d in revision.object_deltas.all() if d.pk in wanted],
    )


def latest(count: int) -> str:
    """The table of the ``count`` latest revisions, oldest first."""
    newest = list(Revision.objects.order_by("-pk").values_list("pk", flat=True)[:count])
    revisions = revisions_with_deltas(Revision.objects.filter(pk__in=newest).order_by("pk"))
    return render(revisions)
