"""Tamper evidence: the keyed digests that seal what each transaction writes.

With ``REVY_TAMPER_EVIDENCE`` on, every transaction that wrote history
inserts, before it commits, one :class:`~revy.contrib.django.ledger.Seal`
per revision it wrote to: an HMAC, keyed with ``REVY_INTEGRITY_KEY``, of
the revision's row and of the object deltas it wrote, each with its
attribute deltas, as read back from the database. Seals take no lock and
share no counter, so writers wait for nothing but their own commit; the
chain that orders them is made afterwards by checkpoints
(``verifying.checkpoint``). Decision 0015 defines the digests.

A value is digested as the HMAC of its canonical JSON; a redacted value
keeps that digest in its marker (``encoding.redaction_marker``), so a
redaction changes no seal.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.apps import apps
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from revy.contrib.django import conf
from revy.contrib.django.encoding import redaction_of

__all__ = [
    "canonical",
    "digest",
    "enabled",
    "forget",
    "rolled_back_to",
    "runs",
    "seal",
    "seal_digest",
    "value_digest",
    "written",
    "written_between",
]

_SEALING = "_revy_sealing"
_VALUES = ("old_value", "new_value")


def enabled() -> bool:
    """Whether ``REVY_TAMPER_EVIDENCE`` is on."""
    return bool(conf.tamper_evidence())


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def canonical(value: Any) -> bytes:
    """One spelling of ``value`` as JSON: keys sorted, no spaces."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    ).encode()


def digest(data: Any, key: bytes | None = None) -> str:
    """The HMAC-SHA256 of ``data``'s canonical JSON, in hex."""
    key = conf.integrity_key() if key is None else key
    return hmac.new(key, canonical(data), hashlib.sha256).hexdigest()


def value_digest(value: Any, key: bytes | None = None) -> str:
    """The digest of one stored value; a redaction marker gives the digest
    of the value it replaced."""
    redaction = redaction_of(value)
    if redaction is not None and redaction.digest:
        return redaction.digest
    return digest(["value", value], key)


def runs(keys: Iterable[int]) -> list[list[int]]:
    """Sorted keys as ``[[first, last], ...]`` runs of consecutive keys."""
    found: list[list[int]] = []
    for key in sorted(set(keys)):
        if found and found[-1][1] == key - 1:
            found[-1][1] = key
        else:
            found.append([key, key])
    return found


def _row(model: type[models.Model], values: dict[str, Any]) -> list[Any]:
    return [[name, _plain(values[name])] for name in sorted(values)]


def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def _in_runs(name: str, found: Sequence[Sequence[int]]) -> models.Q:
    query = models.Q(pk__in=[])
    for first, last in found:
        query |= models.Q(**{f"{name}__range": (first, last)})
    return query


def seal_digest(
    revision_id: int,
    object_deltas: Sequence[Sequence[int]],
    using: str,
    key: bytes | None = None,
    causes: dict[int, Any] | None = None,
) -> str:
    """The digest of revision ``revision_id``'s row and of the object deltas
    in the key runs ``object_deltas`` with their attribute deltas, as the database holds
    them now. ``causes`` gives back the causes a pruning set to null."""
    key = conf.integrity_key() if key is None else key
    history = conf.history_models()
    revision = list(
        history.revision._base_manager.using(using)
        .filter(pk=revision_id)
        .values(*_attnames(history.revision))
    )
    deltas = list(
        history.object_delta._base_manager.using(using)
        .filter(_in_runs("pk", object_deltas), revision_id=revision_id)
        .order_by("pk")
        .values(*_attnames(history.object_delta))
    )
    attributes: dict[Any, list[Any]] = {}
    for row in (
        history.attribute_delta._base_manager.using(using)
        .filter(
            _in_runs("object_delta__id", object_deltas),
            object_delta__revision_id=revision_id,
        )
        .order_by("object_delta_id", "pk")
        .values(*_attnames(history.attribute_delta))
    ):
        for name in _VALUES:
            if row[name] is not None:
                row[name] = value_digest(row[name], key)
        attributes.setdefault(row["object_delta_id"], []).append(
            _row(history.attribute_delta, row)
        )
    sealed = []
    for delta in deltas:
        if causes and delta["id"] in causes:
            delta["cause_id"] = causes[delta["id"]]
        sealed.append(
            [_row(history.object_delta, delta), attributes.get(delta["id"], [])]
        )
    return digest(
        [
            "seal",
            revision_id,
            [_row(history.revision, row) for row in revision],
            sealed,
        ],
        key,
    )


# What a connection wrote in its open transaction ------------------------------


def written(
    connection: BaseDatabaseWrapper, deltas: Sequence[Any], stamp: int, open_: bool
) -> None:
    """Note the object ``deltas`` just written (with ``stamp``); sealed at
    the commit, or at once when no transaction is ``open_``."""
    if not enabled():
        return
    entries = connection.__dict__.setdefault(_SEALING, [])
    entries.extend(
        _Written(stamp, delta.revision.pk, delta.pk, delta.pk) for delta in deltas
    )
    if not open_:
        seal(connection)


def written_between(
    connection: BaseDatabaseWrapper,
    revision: Any,
    first: int,
    last: int,
    stamp: int,
    open_: bool,
) -> None:
    """Note the object deltas of ``revision`` (a key) that the database just
    wrote, with keys from ``first`` to ``last``: those of the revision in
    that range, read at the commit. Other transactions' rows may have keys
    between them, of other revisions (a revision is one transaction's until
    it commits)."""
    if not enabled():
        return
    connection.__dict__.setdefault(_SEALING, []).append(
        _Written(stamp, revision, first, last)
    )
    if not open_:
        seal(connection)


class _Written(NamedTuple):
    """Object deltas of one revision written in the open transaction."""

    stamp: int
    revision: Any
    first: int
    last: int


def rolled_back_to(connection: BaseDatabaseWrapper, made: int) -> None:
    """A savepoint made at ``made`` was rolled back: forget what it undid."""
    entries = connection.__dict__.get(_SEALING)
    if entries:
        entries[:] = [entry for entry in entries if entry.stamp <= made]


def forget(connection: BaseDatabaseWrapper) -> None:
    """The transaction was rolled back."""
    connection.__dict__.pop(_SEALING, None)


def seal(connection: BaseDatabaseWrapper) -> None:
    """Insert the seals of what ``connection`` wrote, before it commits."""
    entries = connection.__dict__.pop(_SEALING, None)
    if not entries:
        return
    using = connection.alias
    by_revision: dict[Any, set[int]] = {}
    for entry in entries:
        keys = by_revision.setdefault(entry.revision, set())
        if entry.first == entry.last:
            keys.add(entry.first)
        else:
            keys.update(
                conf.history_models()
                .object_delta._base_manager.using(using)
                .filter(revision_id=entry.revision, pk__range=(entry.first, entry.last))
                .values_list("pk", flat=True)
            )
    seal_model = apps.get_model("revy", "Seal")
    key = conf.integrity_key()
    seal_model.objects.using(using).bulk_create(
        [
            seal_model(
                revision_id=revision_id,
                object_deltas=runs(keys),
                digest=seal_digest(revision_id, runs(keys), using, key),
            )
            for revision_id, keys in sorted(by_revision.items())
        ]
    )
