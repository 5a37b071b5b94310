"""Checkpoints that chain the seals, and the verification of the history.

:func:`checkpoint` digests, in key order, every seal not covered yet, after
the previous checkpoint's digest: a chain that tells when a whole revision
(rows and seal) was removed. Seals of transactions still open when it runs
are covered by the next one. :func:`verify` recomputes every amendment,
checkpoint and seal and reports the first revision whose rows were altered,
inserted or removed (``manage.py revy_verify``). Decision 0015.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, transaction

from revy.contrib.django import conf, sealing

__all__ = ["Problem", "Report", "amendment_digest", "checkpoint", "verify"]


def _model(name: str) -> Any:
    return apps.get_model("revy", name)


def amendment_digest(amendment: Any, key: bytes | None = None) -> str:
    """The keyed digest of an amendment's row (made before it has a key)."""
    return sealing.digest(
        [
            "amendment",
            amendment.kind,
            amendment.created_at,
            amendment.actor_content_type_id,
            amendment.actor_id,
            amendment.description,
            amendment.details,
        ],
        key,
    )


def _chain(previous: str, seals: list[list[Any]], key: bytes) -> str:
    return sealing.digest(["checkpoint", previous, seals], key)


def checkpoint(using: str = DEFAULT_DB_ALIAS) -> Any:
    """Chain the seals written since the last checkpoint; the new
    :class:`~revy.contrib.django.ledger.Checkpoint`, or None if there were
    none. Checkpoints are made one at a time (the last one is locked)."""
    key = conf.integrity_key()
    checkpoints = _model("Checkpoint").objects.using(using)
    with transaction.atomic(using=using):
        last = checkpoints.select_for_update().order_by("-pk").first()
        covered = {seal_id for point in checkpoints for seal_id, _ in point.seals}
        new = [
            [seal.pk, seal.revision_id, seal.digest]
            for seal in _model("Seal").objects.using(using).order_by("pk")
            if seal.pk not in covered
        ]
        if not new:
            return None
        return checkpoints.create(
            seals=[[seal_id, revision_id] for seal_id, revision_id, _ in new],
            count=len(new),
            digest=_chain("" if last is None else last.digest, new, key),
        )


@dataclass(frozen=True, order=True)
class Problem:
    """What :func:`verify` found wrong, about one revision."""

    revision: int
    message: str


@dataclass
class Report:
    """What :func:`verify` found: ``problems`` ordered by revision, the first
    one first; counts of what it checked."""

    problems: list[Problem] = field(default_factory=list)
    seals: int = 0
    checkpoints: int = 0
    amendments: int = 0
    unsealed_before: int = 0  # Revisions written before tamper evidence.

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems) if self.problems else None


def verify(using: str = DEFAULT_DB_ALIAS) -> Report:
    """Check every seal, checkpoint and amendment against the rows."""
    key = conf.integrity_key()
    report = Report()
    history = conf.history_models()
    removed, causes = _amendments(using, key, report)
    seals = {seal.pk: seal for seal in _model("Seal").objects.using(using)}
    _checkpoints(using, key, seals, removed, report)
    sealed: set[int] = set()
    for seal in seals.values():
        report.seals += 1
        for first, last in seal.object_deltas:
            sealed.update(range(first, last + 1))
        if seal.digest != sealing.seal_digest(
            seal.revision_id, seal.object_deltas, using, key, causes
        ):
            report.problems.append(
                Problem(
                    seal.revision_id,
                    f"revision {seal.revision_id}: its rows were altered, or rows "
                    f"were inserted into or removed from it (seal {seal.pk})",
                )
            )
    if not sealed:
        return report
    start = min(sealed)
    for pk, revision_id in _object_deltas(history.object_delta, using, start):
        if pk not in sealed:
            report.problems.append(
                Problem(
                    revision_id,
                    f"revision {revision_id}: object delta {pk} was inserted "
                    "(no seal covers it)",
                )
            )
    report.unsealed_before = (
        history.revision._base_manager.using(using)
        .filter(object_deltas__pk__lt=start)
        .distinct()
        .count()
    )
    report.problems.sort()
    return report


def _object_deltas(model: Any, using: str, start: int) -> Iterator[tuple[int, int]]:
    return (
        model._base_manager.using(using)
        .filter(pk__gte=start)
        .order_by("pk")
        .values_list("pk", "revision_id")
        .iterator()
    )


def _amendments(
    using: str, key: bytes, report: Report
) -> tuple[dict[int, tuple[int, str]], dict[int, Any]]:
    """Check the amendments; the seals prunings removed, ``{seal key:
    (revision, digest)}``, and the causes they set to null."""
    removed: dict[int, tuple[int, str]] = {}
    causes: dict[int, Any] = {}
    for amendment in _model("Amendment").objects.using(using).order_by("pk"):
        report.amendments += 1
        if amendment.digest != amendment_digest(amendment, key):
            revisions = amendment.details.get("revisions") or [0]
            report.problems.append(
                Problem(
                    min(revisions),
                    f"amendment {amendment.pk} ({amendment.kind}) was altered",
                )
            )
            continue
        for seal_id, revision_id, digest in amendment.details.get("seals", []):
            removed[seal_id] = (revision_id, digest)
        for delta_id, cause_id in amendment.details.get("causes", []):
            causes[delta_id] = cause_id
    return removed, causes


def _checkpoints(
    using: str,
    key: bytes,
    seals: dict[int, Any],
    removed: dict[int, tuple[int, str]],
    report: Report,
) -> None:
    previous = ""
    for point in _model("Checkpoint").objects.using(using).order_by("pk"):
        report.checkpoints += 1
        chained = []
        missing = False
        for seal_id, revision_id in point.seals:
            seal = seals.get(seal_id)
            if seal is not None:
                chained.append([seal_id, seal.revision_id, seal.digest])
            elif seal_id in removed:
                chained.append([seal_id, *removed[seal_id]])
            else:
                missing = True
                report.problems.append(
                    Problem(
                        revision_id,
                        f"revision {revision_id}: removed (its seal {seal_id}, "
                        f"covered by checkpoint {point.pk}, is gone)",
                    )
                )
        if not missing and _chain(previous, chained, key) != point.digest:
            first = min((revision for _, revision in point.seals), default=0)
            report.problems.append(
                Problem(
                    first,
                    f"checkpoint {point.pk} does not match the seals it covered "
                    f"(revisions {first} on): a seal or the checkpoint was altered",
                )
            )
        previous = point.digest
