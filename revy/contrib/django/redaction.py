"""Redaction, the right to erasure: recorded values replaced by a marker.

:func:`redact` replaces the old and new values recorded for given fields of
given rows with a marker; which fields changed, when, by whom and why stay.
Snapshots, ``state_at()`` and decoded deltas show
:data:`~revy.contrib.django.encoding.REDACTED` in their place. Each call is
recorded as an :class:`~revy.contrib.django.ledger.Amendment` (who, when,
which model, keys and fields) in the same transaction. Under tamper
evidence the marker keeps the keyed digest of the value it replaced, so the
history still verifies (decision 0015).

Which fields hold personal data is the project's decision, written in
``REVY_PERSONAL_DATA``; :func:`redact_actor` erases those of an actor's own
row (``manage.py revy_redact --actor``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, models, transaction

from revy.contrib.django import amendments, conf, sealing
from revy.contrib.django.actors import DeletedActor
from revy.contrib.django.appendonly import declared
from revy.contrib.django.encoding import key_text, redaction_marker, redaction_of
from revy.contrib.django.ledger import Amendment

__all__ = ["redact", "redact_actor"]


def redact(
    model: type[models.Model],
    pks: Iterable[Any],
    fields: Sequence[str],
    *,
    actor: models.Model | DeletedActor | None = None,
    description: str = "",
    using: str = DEFAULT_DB_ALIAS,
) -> Any:
    """Erase the recorded values of ``fields`` of the ``model`` rows ``pks``
    (live or deleted); ``actor`` is who redacts. Returns the recorded
    :class:`~revy.contrib.django.ledger.Amendment`, whose ``details`` say
    how many attribute deltas it changed. An unknown field is refused
    before anything changes."""
    fields = list(dict.fromkeys(fields))
    if not fields:
        raise ValueError("Name the fields to redact: none were given.")
    known = {field.name for field in model._meta.get_fields()}
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise ValueError(
            f"{model._meta.label} has no field {', '.join(map(repr, unknown))}: "
            f"nothing was redacted. Its fields are {', '.join(sorted(known))}."
        )
    keys = sorted({key_text(model, pk) for pk in pks})
    history = conf.history_models()
    with transaction.atomic(using=using), declared(Amendment.KIND_REDACT, using):
        deltas = (
            history.object_delta.objects.using(using)
            .for_rows_of(model)
            .filter(content_id__in=keys)
        )
        rows = list(
            history.attribute_delta.objects.using(using)
            .filter(object_delta__in=deltas, field_name__in=fields)
            .order_by("pk")
        )
        amendment = amendments.record(
            Amendment.KIND_REDACT,
            actor,
            description,
            {
                "model": model._meta.label,
                "keys": keys,
                "fields": fields,
                "attribute_deltas": len(rows),
            },
            using,
        )
        sealed = sealing.enabled()
        changed = []
        for row in rows:
            erased = False
            for name in ("old_value", "new_value"):
                value = getattr(row, name)
                if value is None or redaction_of(value) is not None:
                    continue
                digest = sealing.value_digest(value) if sealed else ""
                setattr(row, name, redaction_marker(amendment.pk, digest))
                erased = True
            if erased:
                changed.append(row)
        history.attribute_delta.objects.using(using).bulk_update(
            changed, ["old_value", "new_value"], batch_size=conf.batch_size()
        )
    return amendment


def redact_actor(
    actor: models.Model | DeletedActor,
    *,
    by: models.Model | DeletedActor | None = None,
    description: str = "",
    using: str = DEFAULT_DB_ALIAS,
) -> Any:
    """Erase the personal data of ``actor``'s own row from its history: the
    fields ``REVY_PERSONAL_DATA`` lists for its model (a deleted actor
    included). ``by`` is who redacts."""
    if isinstance(actor, DeletedActor):
        model, pk = actor.model, actor.pk
    else:
        model, pk = type(actor), actor.pk
    if model is None:
        raise ValueError(f"{actor}: its model no longer exists.")
    fields = sorted(conf.personal_data_fields(model))
    if not fields:
        raise ValueError(
            f"REVY_PERSONAL_DATA names no fields of {model._meta.label}: say "
            'which hold personal data, e.g. {"%s": ["email"]}.' % model._meta.label
        )
    return redact(model, [pk], fields, actor=by, description=description, using=using)
