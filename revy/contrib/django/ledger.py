"""The records that keep history honest, and the append-only base of every
history model.

- :class:`AppendOnly`: the abstract base whose rows are inserted, never
  updated or deleted through the ORM (``appendonly.py`` says when they may).
- :class:`Amendment`: each allowed change of committed history (a redaction,
  a pruning): who, when, what.
- :class:`RetiredActor`: an actor's row that was deleted, so that a new row
  given its key is not credited with what the old one did.
- :class:`PartlyPrunedRevision`: a revision a pruning left in part, which
  therefore cannot be reverted (an index kept by pruning).
- :class:`Seal` and :class:`Checkpoint`: the keyed digests of tamper
  evidence (``sealing.py``, ``verifying.py``, decision 0015).

These are revy's own models (not swappable), in the ``revy`` app.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.base import DEFERRED, ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from revy.contrib.django import appendonly, tracking

__all__ = [
    "Amendment",
    "AppendOnly",
    "AppendOnlyQuerySet",
    "Checkpoint",
    "PartlyPrunedRevision",
    "RetiredActor",
    "Seal",
    "refuse_deletion",
]


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses ``update()`` and ``delete()`` outside an allowed operation."""

    def update(self, **kwargs: Any) -> int:
        appendonly.refuse("QuerySet.update()", self.model)
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        appendonly.refuse("QuerySet.delete()", self.model)
        return super().delete()


def refuse_deletion(sender: type[models.Model], **kwargs: Any) -> None:
    """A ``pre_delete`` receiver: Django's deletion collector sends it for
    every row it deletes, so a cascade into history is refused too."""
    appendonly.refuse("a cascade from a deleted row", sender)


class AppendOnly(models.Model):
    """Rows inserted once and never changed through the ORM, unless an
    allowed operation is declared (``appendonly.declared``)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(
        cls, db: str, field_names: Any, values: Any, **kwargs: Any
    ) -> AppendOnly:
        # History is read by the thousand rows (a history page, snapshots):
        # built with what Django's __init__ leaves on a loaded row, without
        # its call per field, unless the model or a receiver adds to that.
        attnames = _plain_attnames(cls)
        if attnames is None or not tracking.can_build_directly(cls):
            return super().from_db(db, field_names, values, **kwargs)
        new = cls.__new__(cls)
        state = ModelState()
        state.adding = False
        state.db = db
        if kwargs.get("fetch_mode") is not None:  # Django 6.1+
            state.fetch_mode = kwargs["fetch_mode"]
        data = new.__dict__
        data["_state"] = state
        if len(values) == len(attnames):
            data.update(zip(attnames, values, strict=True))
        else:
            values = tracking.row_values(cls, field_names, values)
            data.update(
                (attname, value)
                for attname, value in zip(attnames, values, strict=True)
                if value is not DEFERRED
            )
        return new

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        appendonly.refuse("delete()", type(self))
        return super().delete(*args, **kwargs)

    def _do_update(self, *args: Any, **kwargs: Any) -> Any:
        # save() tries an UPDATE first when the key is set. A new instance
        # goes straight to its INSERT, which fails if the key is taken,
        # rather than overwrite the row that has it.
        if self._state.adding and appendonly.declared_operation() is None:
            return []
        appendonly.refuse("save() of an existing row", type(self))
        return super()._do_update(*args, **kwargs)


@functools.cache
def _plain_attnames(model: type[models.Model]) -> tuple[str, ...] | None:
    """The attnames of ``model``'s concrete fields, if setting each is
    storing it: Django's own descriptors of a field's value (a foreign key's
    forgets the object it cached, which a new instance has not). None if a
    field's descriptor may do more."""
    attnames = []
    for field in model._meta.concrete_fields:
        descriptor = inspect.getattr_static(model, field.attname, None)
        if hasattr(descriptor, "__set__") and type(descriptor) not in (
            ForeignKeyDeferredAttribute,
        ):
            return None
        attnames.append(field.attname)
    return tuple(attnames)


class Amendment(AppendOnly):
    """One allowed change of committed history, recorded as it is made."""

    KIND_REDACT = "redact"
    KIND_PRUNE = "prune"
    KIND_MIGRATE = "migrate"
    KIND_CHOICES = [
        (KIND_REDACT, _("redaction")),
        (KIND_PRUNE, _("pruning")),
        (KIND_MIGRATE, _("schema migration")),
    ]

    kind = models.CharField(_("kind"), max_length=16, choices=KIND_CHOICES)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    actor_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("actor type"),
    )
    actor_id = models.CharField(  # noqa: DJ001
        _("actor id"), max_length=255, null=True, blank=True, default=None
    )
    description = models.TextField(_("description"), blank=True, default="")
    # What was changed: for a redaction the model, keys and fields; for a
    # pruning the revisions removed and their seals; for a schema migration
    # the operation, model, fields and how many attribute deltas it changed.
    details = models.JSONField(_("details"), default=dict)
    # The keyed digest of the row when tamper evidence is on, else "".
    digest = models.CharField(_("digest"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("amendment of history")
        verbose_name_plural = _("amendments of history")

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} at {self.created_at:%Y-%m-%d %H:%M}"


class PartlyPrunedRevision(models.Model):
    """A revision some of whose object deltas a pruning removed or folded,
    while others stay: what it changed can no longer be undone as a whole.

    An index for ``revert()``, kept by pruning alone; the record of what was
    pruned is the amendment. Not append-only: a migration that installs the
    history triggers (``InstallHistoryTriggers``) may run before this table
    exists."""

    revision_id = models.BigIntegerField(_("revision"), db_index=True)
    amendment = models.ForeignKey(
        Amendment,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("amendment"),
    )

    class Meta:
        verbose_name = _("partly pruned revision")
        verbose_name_plural = _("partly pruned revisions")

    def __str__(self) -> str:
        return f"revision {self.revision_id}, partly pruned"


class RetiredActor(AppendOnly):
    """An actor's row that was deleted: history up to ``last_object_delta``
    was by that row, not by a later one given the same key."""

    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=_("actor type"),
    )
    actor_id = models.CharField(_("actor id"), max_length=255)
    retired_at = models.DateTimeField(_("retired at"), default=timezone.now)
    # The newest object delta's key when the row was deleted (0: none).
    last_object_delta = models.BigIntegerField(_("last object delta"))

    class Meta:
        verbose_name = _("retired actor")
        verbose_name_plural = _("retired actors")
        indexes = [
            models.Index(
                fields=["content_type", "actor_id", "last_object_delta"],
                name="revy_retiredactor_actor",
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.actor_id} retired {self.retired_at}"


class Seal(AppendOnly):
    """The keyed digest of what one transaction wrote to one revision: the
    revision's row and those object deltas, with their attribute deltas."""

    revision_id = models.BigIntegerField(_("revision"), db_index=True)
    # The keys of the object deltas sealed, as [[first, last], ...] runs.
    object_deltas = models.JSONField(_("object deltas"))
    digest = models.CharField(_("digest"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("seal")
        verbose_name_plural = _("seals")

    def __str__(self) -> str:
        return f"seal {self.pk} of revision {self.revision_id}"


class Checkpoint(AppendOnly):
    """A link of the chain: the seals written since the previous checkpoint,
    digested in key order after the previous checkpoint's digest."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The keys of the seals covered, as [[first, last], ...] runs.
    seals = models.JSONField(_("seals"))
    count = models.PositiveIntegerField(_("seals covered"))
    digest = models.CharField(_("digest"), max_length=64)

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"checkpoint {self.pk} ({self.count} seals)"
