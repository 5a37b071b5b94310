"""Proposals: changes recorded without being applied, reviewed against what
changed since, and applied atomically as one revision (docs/proposals.md).

The names below are the public API, importable from here once Django's
apps are loaded (``from revy.contrib.django.proposals import propose``).
This module imports nothing when it is imported: revy's app config loads
the proposal models while the app registry is still filling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from revy.exports import lazy_exports

# Each public name, and the module of this package that defines it.
_EXPORTS = {
    "ABSENT": "loading",
    "AbstractProposal": "models",
    "FieldValues": "review",
    "NotProposable": "exceptions",
    "ObjectChange": "review",
    "Proposal": "models",
    "ProposalConflict": "review",
    "ProposalConflictItem": "review",
    "ProposalStateError": "exceptions",
    "ProposedAttributeDelta": "models",
    "ProposedObjectDelta": "models",
    "current_proposal": "recording",
    "get_proposal_model": "models",
    "is_proposing": "recording",
    "propose": "recording",
}

__all__ = [
    "ABSENT",
    "AbstractProposal",
    "FieldValues",
    "NotProposable",
    "ObjectChange",
    "Proposal",
    "ProposalConflict",
    "ProposalConflictItem",
    "ProposalStateError",
    "ProposedAttributeDelta",
    "ProposedObjectDelta",
    "current_proposal",
    "get_proposal_model",
    "is_proposing",
    "propose",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # What the names are, for type checkers and editors.
    from revy.contrib.django.proposals.exceptions import (
        NotProposable,
        ProposalStateError,
    )
    from revy.contrib.django.proposals.loading import ABSENT
    from revy.contrib.django.proposals.models import (
        AbstractProposal,
        Proposal,
        ProposedAttributeDelta,
        ProposedObjectDelta,
        get_proposal_model,
    )
    from revy.contrib.django.proposals.recording import (
        current_proposal,
        is_proposing,
        propose,
    )
    from revy.contrib.django.proposals.review import (
        FieldValues,
        ObjectChange,
        ProposalConflict,
        ProposalConflictItem,
    )
