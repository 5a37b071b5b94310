"""History rows recorded but not written yet.

``recording.py`` makes them, ``transactions.py`` queues them per
connection, ``writer.py`` inserts them. They are far cheaper than model
instances for the thousands of rows a bulk write records.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

from revy.contrib.django.backends.sqltypes import OBJECT_DELTA_COLUMNS


class AttributeRow(NamedTuple):
    """One attribute delta to write: its columns other than the object
    delta's key and target, which the writer adds."""

    field_name: str
    old_value: Any  # Encoded; None: no such side (a create's old value).
    new_value: Any
    actor_content_type_id: int | None
    actor_id: str | None
    description: str


# The object delta's own columns, between its revision and its cause.
_OBJECT_DELTA_FIELDS = OBJECT_DELTA_COLUMNS[1:-1]


class PendingObjectDelta:
    """One object delta to write, with its attribute deltas.

    ``revision`` may itself wait to be written; ``cause`` is the pending
    delete that made this change happen, if any. ``pk`` is set once it is
    inserted, ``stamp`` when it is queued (see transactions.py).
    """

    __slots__ = (
        "revision",
        *_OBJECT_DELTA_FIELDS,
        "cause",
        "attributes",
        "pk",
        "stamp",
    )

    # The columns of row(), in its order.
    COLUMNS = OBJECT_DELTA_COLUMNS
    _values = operator.attrgetter(*_OBJECT_DELTA_FIELDS)

    def __init__(
        self,
        revision: Any,
        action: str,
        content_type_id: int,
        content_id: str,
        actor_content_type_id: int | None,
        actor_id: str | None,
        description: str,
        deletion_description: str,
        cause: PendingObjectDelta | None,
        attributes: list[AttributeRow],
    ) -> None:
        self.revision = revision
        self.action = action
        self.content_type_id = content_type_id
        self.content_id = content_id
        self.actor_content_type_id = actor_content_type_id
        self.actor_id = actor_id
        self.description = description
        self.deletion_description = deletion_description
        self.cause = cause
        self.attributes = attributes
        self.pk: Any = None
        self.stamp = -1

    def row(self) -> tuple[Any, ...]:
        """The values of ``COLUMNS``; the revision and a cause must be
        written first."""
        cause = self.cause
        return (
            self.revision.pk,
            *self._values(self),
            None if cause is None else cause.pk,
        )

    def causes(self) -> list[PendingObjectDelta]:
        """The causes this delta descends from, nearest first."""
        found = []
        cause = self.cause
        while cause is not None:
            found.append(cause)
            cause = cause.cause
        return found
