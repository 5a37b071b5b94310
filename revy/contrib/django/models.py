"""revy's history models, their abstract bases, and the helpers the seed names.

A *revision* groups the changes of one outermost ``revy.Context``. Each
changed object gets an *object delta* (create, update or delete) in it, and
each changed field an *attribute delta* with its old and new value. Object
and attribute deltas both name their *actor*: any model instance, or None
for the system.

All three models are swappable, as ``AUTH_USER_MODEL`` is: subclass the
abstract bases, point ``REVY_REVISION_MODEL``, ``REVY_OBJECT_DELTA_MODEL``
and ``REVY_ATTRIBUTE_DELTA_MODEL`` at your models, and use
``get_revision_model()`` and its twins to reach whichever is in use.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import deletion
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from revy.contrib.django import conf
from revy.contrib.django.actors import (
    ActorForeignKey,
    ActorRef,
    DeletedActor,
    resolve_actors,
)
from revy.contrib.django.ledger import (  # noqa: F401 (revy's models, registered)
    Amendment,
    AppendOnly,
    Checkpoint,
    PartlyPrunedRevision,
    RetiredActor,
    Seal,
)
from revy.contrib.django.querysets import HistoryManager, ObjectDeltaManager
from revy.contrib.django.snapshot import ObjectSnapshot
from revy.contrib.django.undoing import revert

__all__ = [
    "AbstractAttributeDelta",
    "AbstractObjectDelta",
    "AbstractRevision",
    "CASCADE",
    "DeletedActor",
    "SET",
    "SET_DEFAULT",
    "SET_NULL",
    "AttributeDelta",
    "ObjectDelta",
    "ObjectSnapshot",
    "Revision",
    "get_attribute_delta_model",
    "get_object_delta_model",
    "get_revision_model",
]


class ActorFields(models.Model):
    """Who made a change: a generic link to any model instance; empty for the
    system."""

    actor_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # Half of a generic key: see decision 0007.
        db_index=False,  # The "actor" index starts with it.
        verbose_name=_("actor type"),
    )
    # NULL, not "", is the system: an empty string could be a real key.
    actor_id = models.CharField(  # noqa: DJ001
        _("actor id"), max_length=255, null=True, blank=True, default=None
    )
    # The row that acted; a DeletedActor once it is gone, also when a later
    # row has its key (actors.ActorForeignKey).
    actor = ActorForeignKey("actor_content_type", "actor_id")

    class Meta:
        abstract = True


class AbstractRevision(AppendOnly):
    """The changes made in one outermost ``revy.Context``. Append-only, as
    every history model (``ledger.AppendOnly``)."""

    description = models.TextField(_("description"), blank=True, default="")
    created_at = models.DateTimeField(
        _("created at"), default=timezone.now, db_index=True
    )

    objects = HistoryManager()

    class Meta:
        abstract = True
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.description or f"Revision {self.pk}"

    def actors(self) -> list[Any]:
        """The distinct actors of this revision, in the order they first acted.

        One query finds them; each actor model then costs one query to load,
        and one more asks which were deleted since. None stands for the
        system, a :class:`DeletedActor` for an actor whose row was deleted
        since (also when a new row has its key).
        """
        attribute_delta_model = get_attribute_delta_model()
        refs = list(
            attribute_delta_model.objects.filter(object_delta__revision=self)
            .values_list("actor_content_type", "actor_id", "object_delta_id", "pk")
            .union(
                self.object_deltas.values_list(
                    "actor_content_type", "actor_id", "pk", models.Value(0)
                ),
                all=True,
            )
        )
        refs.sort(key=lambda ref: (ref[2], ref[3]))
        ordered: dict[ActorRef, int] = {}
        for type_id, actor_id, delta, _attribute in refs:
            ordered.setdefault(ActorRef(type_id, actor_id), delta)
        return resolve_actors(ordered, ordered.values())

    def revert(self, overwrite: bool = False) -> Any:
        """Undo this revision as a whole: see ``revy.contrib.django.history.revert``."""
        return revert(self, overwrite=overwrite)


class TargetFields(models.Model):
    """The object a delta is about: its content type and primary key (as
    text, whatever the key's type)."""

    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,  # Half of a generic key: see decision 0007.
        db_index=False,  # The index that serves lookups starts with it.
        verbose_name=_("object type"),
    )
    content_id = models.CharField(_("object id"), max_length=255)

    class Meta:
        abstract = True


class AbstractObjectDelta(AppendOnly, TargetFields, ActorFields):
    """One object created, updated or deleted in a revision."""

    ACTION_CREATE = "create"
    ACTION_UPDATE = "update"
    ACTION_DELETE = "delete"
    # The state of a row that existed before tracking began (revy_baseline).
    ACTION_BASELINE = "baseline"
    ACTION_CHOICES = [
        (ACTION_CREATE, _("create")),
        (ACTION_UPDATE, _("update")),
        (ACTION_DELETE, _("delete")),
        (ACTION_BASELINE, _("baseline")),
    ]

    revision = models.ForeignKey(
        conf.revision_model_label(),
        on_delete=models.CASCADE,
        related_name="object_deltas",
        verbose_name=_("revision"),
    )
    action = models.CharField(_("action"), max_length=16, choices=ACTION_CHOICES)
    target = GenericForeignKey("content_type", "content_id")
    description = models.TextField(_("description"), blank=True, default="")
    deletion_description = models.TextField(
        _("deletion description"), blank=True, default=""
    )
    cause = models.ForeignKey(
        conf.object_delta_model_label(),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="effects",
        verbose_name=_("cause"),
        help_text=_("The delete that made this one happen, for cascades."),
    )

    objects = ObjectDeltaManager()

    class Meta:
        abstract = True
        # Django's deletion collector reads related rows through the base
        # manager: this one writes pending history first, so that PROTECT and
        # CASCADE see it.
        base_manager_name = "objects"
        verbose_name = _("object delta")
        verbose_name_plural = _("object deltas")
        indexes = [
            # The history of one object; the changes to one model, newest
            # first (a query that also builds snapshots stops after its page).
            models.Index(
                fields=["content_type", "content_id", "id"],
                name="%(app_label)s_%(class)s_object",
            ),
            models.Index(
                fields=["content_type", "id"],
                name="%(app_label)s_%(class)s_model",
            ),
            models.Index(
                fields=["actor_content_type", "actor_id"],
                name="%(app_label)s_%(class)s_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.content_type.model} {self.content_id}"


class AbstractAttributeDelta(AppendOnly, TargetFields, ActorFields):
    """One field of an object that changed, with its old and new value.

    Values are stored by ``REVY_VALUE_ENCODER``; :meth:`old` and :meth:`new`
    decode them back into the field's Python values. The target repeats the
    object delta's, so that the latest value of one field of one object is a
    single lookup in the "field" index.
    """

    object_delta = models.ForeignKey(
        conf.object_delta_model_label(),
        on_delete=models.CASCADE,
        related_name="attribute_deltas",
        verbose_name=_("object delta"),
    )
    field_name = models.CharField(_("field name"), max_length=255)
    # NULL: no such side (a create's old value, a delete's new value);
    # a value that was None is stored as JSON null.
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, default="")

    objects = HistoryManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"  # As AbstractObjectDelta's.
        verbose_name = _("attribute delta")
        verbose_name_plural = _("attribute deltas")
        indexes = [
            models.Index(
                fields=["content_type", "content_id", "field_name", "object_delta"],
                name="%(app_label)s_%(class)s_field",
            ),
            models.Index(
                fields=["actor_content_type", "actor_id"],
                name="%(app_label)s_%(class)s_actor",
            ),
        ]

    def __str__(self) -> str:
        # Its name only: pages and logs that show a row by its str() (the
        # admin's titles and breadcrumbs) must not show a secret's value.
        return f"{self.field_name} of {self.content_id}"

    def _field(self) -> models.Field:
        model = self.object_delta.content_type.model_class()
        return model._meta.get_field(self.field_name)

    def old(self) -> Any:
        """The old value, as the field holds it in Python."""
        return conf.value_encoder().decode(self._field(), self.old_value)

    def new(self) -> Any:
        """The new value, as the field holds it in Python."""
        return conf.value_encoder().decode(self._field(), self.new_value)


class Revision(AbstractRevision):
    class Meta(AbstractRevision.Meta):
        swappable = "REVY_REVISION_MODEL"


class ObjectDelta(AbstractObjectDelta):
    class Meta(AbstractObjectDelta.Meta):
        swappable = "REVY_OBJECT_DELTA_MODEL"


class AttributeDelta(AbstractAttributeDelta):
    class Meta(AbstractAttributeDelta.Meta):
        swappable = "REVY_ATTRIBUTE_DELTA_MODEL"


def get_revision_model() -> type[AbstractRevision]:
    """The Revision model in use (``REVY_REVISION_MODEL``)."""
    return conf.history_models().revision


def get_object_delta_model() -> type[AbstractObjectDelta]:
    """The ObjectDelta model in use (``REVY_OBJECT_DELTA_MODEL``)."""
    return conf.history_models().object_delta


def get_attribute_delta_model() -> type[AbstractAttributeDelta]:
    """The AttributeDelta model in use (``REVY_ATTRIBUTE_DELTA_MODEL``)."""
    return conf.history_models().attribute_delta


# The deletion handlers the seed README imports from here are Django's own:
# revy records whatever the deletion Collector does, so Django's handlers and
# their fast paths are kept whole. See docs/decisions/0003-deletion-handlers.md.
CASCADE = deletion.CASCADE
SET = deletion.SET
SET_DEFAULT = deletion.SET_DEFAULT
SET_NULL = deletion.SET_NULL
