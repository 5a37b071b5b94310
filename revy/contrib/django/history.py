"""Reading and undoing history: the functions the documentation names.

``from revy.contrib.django import history`` then ``history.state_at(...)``,
``history.revert(revision)``, ``history.restore_deleted(Model, pk,
cascade=True)``. They live in ``reading.py`` (an object's
history, past states, diffs) and ``undoing.py`` (restore, revert); this
module gathers them under the one name users import.
"""

from revy.contrib.django.exceptions import Conflict, RevertConflict, UndecodableValue
from revy.contrib.django.reading import (
    FieldChange,
    changes,
    deletions,
    diff,
    effects_of,
    history,
    members_as_of,
    removed_fields_at,
    rows_as_of,
    snapshot_of,
    state_at,
)
from revy.contrib.django.schema import RawValue
from revy.contrib.django.undoing import (
    restore,
    restore_deleted,
    revert,
    revert_conflicts,
)

__all__ = [
    "Conflict",
    "FieldChange",
    "RawValue",
    "RevertConflict",
    "UndecodableValue",
    "changes",
    "deletions",
    "diff",
    "effects_of",
    "history",
    "members_as_of",
    "removed_fields_at",
    "restore",
    "restore_deleted",
    "revert",
    "revert_conflicts",
    "rows_as_of",
    "snapshot_of",
    "state_at",
]
