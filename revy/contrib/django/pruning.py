"""Pruning: the one way whole revisions leave the history.

:func:`prune_revisions` deletes given revisions with their object and
attribute deltas, and records it as an
:class:`~revy.contrib.django.ledger.Amendment` (who, when, which revisions,
how many rows) in the same transaction. It is the entry point retention
policies build on (a fold first records the state at the cut as baselines,
then prunes what came before). Under tamper evidence the amendment keeps
the removed revisions' seals, and the causes it set to null in deltas that
stay, so that checkpoints and seals still verify (decision 0015).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, models, transaction

from revy.contrib.django import amendments, conf
from revy.contrib.django.actors import DeletedActor
from revy.contrib.django.appendonly import declared
from revy.contrib.django.ledger import Amendment

__all__ = ["prune_revisions"]


def prune_revisions(
    revisions: Iterable[Any],
    *,
    actor: models.Model | DeletedActor | None = None,
    description: str = "",
    using: str = DEFAULT_DB_ALIAS,
) -> Any:
    """Delete ``revisions`` (instances or keys) and their deltas; ``actor``
    is who prunes. Returns the recorded amendment."""
    keys = sorted({getattr(revision, "pk", revision) for revision in revisions})
    history = conf.history_models()
    seal_model = apps.get_model("revy", "Seal")
    with transaction.atomic(using=using), declared(Amendment.KIND_PRUNE, using):
        deltas = history.object_delta.objects.using(using).filter(revision__in=keys)
        attributes = history.attribute_delta.objects.using(using).filter(
            object_delta__in=deltas
        )
        # Effects in revisions that stay lose their cause (SET_NULL).
        causes = list(
            history.object_delta.objects.using(using)
            .filter(cause__in=deltas)
            .exclude(revision__in=keys)
            .values_list("pk", "cause_id")
        )
        seals = seal_model.objects.using(using).filter(revision_id__in=keys)
        details = {
            "revisions": keys,
            "object_deltas": deltas.count(),
            "attribute_deltas": attributes.count(),
            "seals": amendments.seals_of(keys, using),
            "causes": [list(pair) for pair in causes],
        }
        amendment = amendments.record(
            Amendment.KIND_PRUNE, actor, description, details, using
        )
        attributes.delete()
        history.object_delta.objects.using(using).filter(
            pk__in=[pk for pk, _cause in causes]
        ).update(cause=None)
        deltas.filter(cause__isnull=False).update(cause=None)
        deltas.delete()
        history.revision.objects.using(using).filter(pk__in=keys).delete()
        seals.delete()
    return amendment
