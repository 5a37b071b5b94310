"""Recording an allowed change of committed history: who, when, what.

Redaction (``redaction.py``), pruning (``pruning.py``, ``retention.py``)
and the schema operations (``operations.py``) call :func:`record` inside
the operation they declare (``appendonly.declared``), in the transaction of
the change, so the change and its record commit together or not at all.

A change that rewrites sealed rows records the seals of the revisions it
touched (:func:`seals_of`, in its details' ``seals``) and replaces them by
seals of what the revisions hold now (:func:`reseal`), so ``revy_verify``
still passes and still catches any later alteration (decision 0015).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.apps import apps
from django.db import models

from revy.contrib.django import conf, sealing
from revy.contrib.django.actors import DeletedActor, actor_reference
from revy.contrib.django.ledger import Amendment
from revy.contrib.django.verifying import amendment_digest

__all__ = ["causes_set_to_null", "record", "reseal", "seals_of"]


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


def seals_of(revisions: Collection[int], using: str) -> list[list[Any]]:
    """The seals of ``revisions`` as an amendment records them in its
    details' ``seals``: ``[[seal key, revision, digest], ...]``."""
    return [
        [pk, revision_id, digest]
        for pk, revision_id, digest in apps.get_model("revy", "Seal")
        .objects.using(using)
        .filter(revision_id__in=revisions)
        .order_by("pk")
        .values_list("pk", "revision_id", "digest")
    ]


def causes_set_to_null(using: str) -> dict[int, Any]:
    """The causes earlier prunings set to null: reseals digest them as the
    verifier does (``verifying.verify``)."""
    causes: dict[int, Any] = {}
    for details in (
        Amendment.objects.using(using)
        .filter(kind=Amendment.KIND_PRUNE)
        .values_list("details", flat=True)
    ):
        causes.update({delta: cause for delta, cause in details.get("causes", [])})
    return causes


def reseal(
    revisions: Collection[int], using: str, causes: dict[int, Any] | None = None
) -> None:
    """Replace the seals of ``revisions`` (recorded first with
    :func:`seals_of`) by one seal each of the object deltas they hold now;
    a revision left empty gets none. ``causes`` are those pruning set to
    null (read from the amendments when not given)."""
    seal_model = apps.get_model("revy", "Seal")
    seals = seal_model.objects.using(using).filter(revision_id__in=revisions)
    resealed = set(seals.values_list("revision_id", flat=True))
    seals.delete()
    if not resealed or not sealing.enabled():
        return
    causes = causes_set_to_null(using) if causes is None else causes
    by_revision: dict[int, list[int]] = {}
    for revision_id, pk in (
        conf.history_models()
        .object_delta.objects.using(using)
        .filter(revision__in=resealed)
        .values_list("revision_id", "pk")
    ):
        by_revision.setdefault(revision_id, []).append(pk)
    seal_model.objects.using(using).bulk_create(
        [
            seal_model(
                revision_id=revision_id,
                object_deltas=sealing.runs(keys),
                digest=sealing.seal_digest(
                    revision_id, sealing.runs(keys), using, causes=causes
                ),
            )
            for revision_id, keys in sorted(by_revision.items())
        ]
    )
