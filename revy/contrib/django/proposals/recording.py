"""``propose()``: run a block against the live data, keep its changes in a
proposal, and undo them.

The block runs in a savepoint under a revy context of its own, so revy
records its changes as usual; at the end of the block that history is
read back, folded into one proposed change per row, and the savepoint is
rolled back: the data, the history and any ``on_commit`` callbacks of the
block are gone, and the proposal is written (decision 0016).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from django.db import router, transaction

from revy.context import Activation, Context, Frame, current_frame, restore_frame
from revy.contrib.django import backends, conf
from revy.contrib.django.actors import actor_reference
from revy.contrib.django.proposals import folding
from revy.contrib.django.proposals.applying import write_changes
from revy.contrib.django.proposals.exceptions import (
    NotProposable,
    ProposalStateError,
)
from revy.contrib.django.proposals.loading import load
from revy.contrib.django.proposals.review import ProposalConflict, find_conflicts

__all__ = ["current_proposal", "is_proposing", "propose"]

_proposing: ContextVar[Any] = ContextVar("revy_proposing", default=None)


def is_proposing() -> bool:
    """Whether the calling code runs inside a ``propose()`` block: a signal
    receiver asks, so as not to act on a change that will not happen."""
    return _proposing.get() is not None


def current_proposal() -> Any:
    """The proposal the innermost ``propose()`` block records, or None."""
    return _proposing.get()


class _Proposing(Context):
    """The revy context of a propose block: it takes the actor and the
    descriptions in force, records even inside a disabled context, and has
    a revision of its own, which is never committed."""

    def __enter__(self) -> Context:
        parent = current_frame()
        values = {} if parent is None else dict(parent.values)
        values.update(self._checkpoint_data)
        values.update(revision=None, enabled=True)
        self.activation = Activation()
        restore_frame(Frame(self, parent, values, self.activation))
        return self


class propose:  # noqa: N801 (used as a function: with propose(...) as proposal)
    """Record the changes a block makes as a proposal, without applying them.

    ``with propose(description="...") as proposal:`` runs the block against
    the live data, as usual; at its end the changes are undone and kept in
    ``proposal``, which is saved. ``propose(proposal)`` adds the changes of
    another block to an open proposal: the block sees the proposal's
    changes applied. An exception in the block leaves no proposal (and
    adds nothing to an existing one).
    """

    def __init__(
        self,
        proposal: Any = None,
        *,
        description: str = "",
        using: str | None = None,
    ) -> None:
        self.proposal = proposal
        self.description = description
        self.using = using

    def __enter__(self) -> Any:
        model = conf.proposal_model()
        proposal = self.proposal
        if proposal is None:
            reference = actor_reference(Context.get_actor())
            proposal = model(
                description=self.description,
                actor_content_type_id=reference.content_type_id,
                actor_id=reference.id,
            )
            self.proposal = proposal
        elif proposal.pk is None or proposal.status != proposal.STATUS_OPEN:
            raise ProposalStateError(
                f"Only an open, saved proposal can be added to, not {proposal}."
            )
        using = self.using or proposal._state.db or router.db_for_write(model)
        self.using = using
        self._atomic = transaction.atomic(using=using)
        self._atomic.__enter__()
        self._token: Token = _proposing.set(proposal)
        try:
            backends.of(using).check_foreign_keys_at_once()
            self._earlier = None
            self._keys: dict[Any, Any] = {}
            if proposal.pk is not None:
                self._earlier = load(proposal, lock=True)
                found = find_conflicts(self._earlier)
                if found:
                    raise ProposalConflict(found)
                with Context.as_disabled():
                    self._keys = write_changes(self._earlier)
            self._context = _Proposing()
            self._context.__enter__()
        except BaseException as error:
            _proposing.reset(self._token)
            self._atomic.__exit__(type(error), error, error.__traceback__)
            raise
        return proposal

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        recorded = None
        try:
            try:
                if exception_type is None:
                    recorded = self._read_back()
            finally:
                self._context.__exit__(None, None, None)
                _proposing.reset(self._token)
                transaction.set_rollback(True, using=self.using)
        finally:
            self._atomic.__exit__(exception_type, exception, traceback)
        if recorded is not None:
            folding.store(self.proposal, self._earlier, self._keys, recorded)

    def _read_back(self) -> folding.Recorded:
        """The history the block recorded, read before it is rolled back."""
        using = self.using
        assert using is not None
        # Reading the history models writes the history still queued first.
        recorded = folding.read(self._context.activation, using)
        backends.of(using).check_foreign_keys(recorded.tables())
        for model in recorded.models():
            if model._meta.parents:
                raise NotProposable(
                    f"A proposal cannot hold changes to {model._meta.label}, a "
                    "model of multi-table inheritance; the block's changes were "
                    "undone and no proposal was written."
                )
        return recorded
