"""The Django integration of revy: add ``"revy.contrib.django"`` to INSTALLED_APPS.

The names below are its public API, importable from here once Django's apps
are loaded (``from revy.contrib.django import state_at``), and from the
modules that define them, which the documentation names
(``revy.contrib.django.models``, ``.history``, ``.middleware``, ``.actors``,
``.encoding``, ``.exceptions``, ``.operations``). Every other module is internal:
docs/architecture.md says what each does. This module imports nothing when
it is imported, since Django imports it before any model may be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from revy.exports import lazy_exports

# Each public name, and the module that defines it.
_EXPORTS = {
    "ActorRef": "actors",
    "Conflict": "exceptions",
    "ConvertTrackedField": "operations",
    "DeletedActor": "actors",
    "EncodingError": "exceptions",
    "FieldChange": "reading",
    "HistoryIsAppendOnly": "exceptions",
    "NotRecordable": "exceptions",
    "ObjectSnapshot": "snapshot",
    "PruneSummary": "retention",
    "REDACTED": "encoding",
    "RawValue": "schema",
    "RemoveTrackedField": "operations",
    "RenameTrackedField": "operations",
    "RevertConflict": "exceptions",
    "RevisionPartlyPruned": "exceptions",
    "RevyMiddleware": "middleware",
    "UndecodableValue": "exceptions",
    "ValueEncoder": "encoding",
    "authenticated_user": "actors",
    "changes": "reading",
    "deletions": "reading",
    "diff": "reading",
    "effects_of": "reading",
    "get_attribute_delta_model": "models",
    "get_object_delta_model": "models",
    "get_revision_model": "models",
    "members_as_of": "reading",
    "prune": "retention",
    "prune_revisions": "pruning",
    "redact": "redaction",
    "redact_actor": "redaction",
    "removed_fields_at": "reading",
    "restore": "undoing",
    "restore_deleted": "undoing",
    "revert": "undoing",
    "revert_conflicts": "undoing",
    "rows_as_of": "reading",
    "snapshot_of": "reading",
    "state_at": "reading",
    "verify": "verifying",
}

__all__ = [
    "ActorRef",
    "Conflict",
    "ConvertTrackedField",
    "DeletedActor",
    "EncodingError",
    "FieldChange",
    "HistoryIsAppendOnly",
    "NotRecordable",
    "ObjectSnapshot",
    "PruneSummary",
    "REDACTED",
    "RawValue",
    "RemoveTrackedField",
    "RenameTrackedField",
    "RevertConflict",
    "RevisionPartlyPruned",
    "RevyMiddleware",
    "UndecodableValue",
    "ValueEncoder",
    "authenticated_user",
    "changes",
    "deletions",
    "diff",
    "effects_of",
    "get_attribute_delta_model",
    "get_object_delta_model",
    "get_revision_model",
    "members_as_of",
    "prune",
    "prune_revisions",
    "redact",
    "redact_actor",
    "removed_fields_at",
    "restore",
    "restore_deleted",
    "revert",
    "revert_conflicts",
    "rows_as_of",
    "snapshot_of",
    "state_at",
    "verify",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # What the names are, for type checkers and editors.
    from revy.contrib.django.actors import ActorRef, DeletedActor, authenticated_user
    from revy.contrib.django.encoding import REDACTED, ValueEncoder
    from revy.contrib.django.exceptions import (
        Conflict,
        EncodingError,
        HistoryIsAppendOnly,
        NotRecordable,
        RevertConflict,
        RevisionPartlyPruned,
        UndecodableValue,
    )
    from revy.contrib.django.middleware import RevyMiddleware
    from revy.contrib.django.models import (
        get_attribute_delta_model,
        get_object_delta_model,
        get_revision_model,
    )
    from revy.contrib.django.operations import (
        ConvertTrackedField,
        RemoveTrackedField,
        RenameTrackedField,
    )
    from revy.contrib.django.pruning import prune_revisions
    from revy.contrib.django.reading import (
        FieldChange,
        changes,
        deletions,
        diff,
        effects_of,
        members_as_of,
        removed_fields_at,
        rows_as_of,
        snapshot_of,
        state_at,
    )
    from revy.contrib.django.redaction import redact, redact_actor
    from revy.contrib.django.retention import PruneSummary, prune
    from revy.contrib.django.schema import RawValue
    from revy.contrib.django.snapshot import ObjectSnapshot
    from revy.contrib.django.undoing import (
        restore,
        restore_deleted,
        revert,
        revert_conflicts,
    )
    from revy.contrib.django.verifying import verify
