"""The exceptions of proposals that callers may catch besides
``ProposalConflict`` (``review.py``)."""

from __future__ import annotations

__all__ = ["ProposalStateError"]


class ProposalStateError(RuntimeError):
    """A proposal is not in the state the operation needs: only an open
    proposal can be applied, rebased, rejected, withdrawn or added to."""
