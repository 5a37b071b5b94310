"""Recording an allowed change of committed history: who, when, what.

Redaction (``redaction.py``) and pruning (``pruning.py``) call
:func:`record` inside the operation they declare (``appendonly.declared``),
in the transaction of the change, so the change and its record commit
together or not at all.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from revy.contrib.django import sealing
from revy.contrib.django.actors import DeletedActor, actor_reference
from revy.contrib.django.verifying import amendment_digest

__all__ = ["record"]


def record(
    kind: str,
    actor: models.Model | DeletedActor | None,
    description: str,
    details: dict[str, Any],
    using: str,
) -> Any:
    """Insert the :class:`~revy.contrib.django.ledger.Amendment` of a change
    of kind ``kind`` made by ``actor``; with its digest under tamper
    evidence."""
    if isinstance(actor, DeletedActor):
        from_type = apps.get_model("contenttypes", "ContentType").objects
        ref = (from_type.get_for_model(actor.model).pk, actor.pk)
    else:
        ref = actor_reference(actor)
    amendment = apps.get_model("revy", "Amendment")(
        kind=kind,
        actor_content_type_id=ref[0],
        actor_id=ref[1],
        description=description,
        details=details,
    )
    if sealing.enabled():
        amendment.digest = amendment_digest(amendment)
    amendment.save(using=using)
    return amendment
