"""The exceptions revy raises that callers may catch.

Each says what went wrong and what to do instead; none is raised after
anything was written, so catching one leaves the data as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import models

__all__ = [
    "Conflict",
    "EncodingError",
    "HistoryIsAppendOnly",
    "HistoryRowTooLarge",
    "NotRecordable",
    "RevertConflict",
    "RevisionPartlyPruned",
    "UndecodableValue",
]


class NotRecordable(RuntimeError):
    """A write revy cannot record truthfully; nothing of it was written."""


class HistoryRowTooLarge(NotRecordable):
    """A change whose history row is larger than the database accepts in one
    statement; raised before the data is written. The message names the
    field, the value and the server setting that limits it."""


class HistoryIsAppendOnly(RuntimeError):
    """An update or delete of committed history outside the operations that
    may change it (redaction, pruning); the message names those."""


class EncodingError(ValueError):
    """A value that revy cannot store; the message names model and field."""


class UndecodableValue(ValueError):
    """A value in history that its field, as the model has it now, cannot
    parse (its type changed). The message and the attributes name the
    ``model``, the ``field``, ``where`` it was recorded (the delta) and the
    ``stored`` value."""

    def __init__(
        self, message: str, *, model: Any, field: str, where: str, stored: Any
    ) -> None:
        super().__init__(message)
        self.model = model
        self.field = field
        self.where = where
        self.stored = stored


@dataclass(frozen=True)
class Conflict:
    """A later revision changed what a revert would undo; or the value to
    put back is not there (``reason``): the field is not the model's any
    more, or its value was recorded masked or later redacted."""

    FIELD_MISSING: ClassVar[str] = "field missing"
    VALUE_HIDDEN: ClassVar[str] = "value hidden"

    model: type[models.Model]
    pk: Any
    field: str
    revision: Any
    reason: str = ""

    def __str__(self) -> str:
        label = self.model._meta.label
        if self.reason == self.FIELD_MISSING:
            return (
                f"{label} {self.pk}: {self.field} is not a field of the model "
                "any more, so its recorded value cannot be put back"
            )
        if self.reason == self.VALUE_HIDDEN:
            return (
                f"{label} {self.pk}: the value of {self.field} to put back was "
                "recorded masked or redacted"
            )
        if self.revision is None:
            return (
                f"{self.model._meta.label} {self.pk}: {self.field} points at a row "
                f"the revert deletes, and no recorded revision made it"
            )
        return (
            f"{self.model._meta.label} {self.pk}: {self.field} was changed later "
            f"in revision {self.revision.pk}"
        )


class RevertConflict(Exception):
    """``revert()`` refused: later revisions changed what it would undo."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        listed = "; ".join(str(conflict) for conflict in conflicts)
        super().__init__(
            f"Cannot revert: {listed}. Pass overwrite=True to revert anyway."
        )


class RevisionPartlyPruned(RevertConflict):
    """``revert()`` refused: a pruning removed or folded part of the
    revision, so what it changed can no longer be undone as a whole."""

    def __init__(self, revision: Any) -> None:
        self.revision = revision
        self.conflicts = []
        Exception.__init__(
            self,
            f"Cannot revert revision {revision.pk}: pruning folded part of it "
            "into the state at its cut. Restore the rows it changed to a point "
            "instead (restore()).",
        )
