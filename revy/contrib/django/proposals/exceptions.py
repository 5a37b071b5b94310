"""The exceptions of proposals that callers may catch besides
``ProposalConflict`` (``review.py``)."""

from __future__ import annotations

__all__ = ["NotProposable", "ProposalStateError"]


class ProposalStateError(RuntimeError):
    """A proposal is not in the state the operation needs: only an open
    proposal can be applied, rebased, rejected, withdrawn or added to."""


class NotProposable(ValueError):
    """A propose() block changed what a proposal cannot hold (a row of a
    multi-table inheritance model); the block's changes were undone and no
    proposal was written."""
