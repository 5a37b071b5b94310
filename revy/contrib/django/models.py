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

import functools
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import deletion
from django.db.models.constants import LOOKUP_SEP
from django.db.models.query import ModelIterable
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from revy.contrib.django import conf, recorder
from revy.contrib.django.deltas import content_types_of_row, parent_content_types
from revy.contrib.django.encoding import key_text

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


class HistoryQuerySet(models.QuerySet):
    """Writes revy's pending history before any read, so reads see it all."""

    def _flush_pending(self) -> None:
        recorder.flush(self.db)

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._flush_pending()
        super()._fetch_all()

    def iterator(self, chunk_size: int | None = None) -> Any:
        self._flush_pending()
        return super().iterator(chunk_size)

    def count(self) -> int:
        self._flush_pending()
        return super().count()

    def exists(self) -> bool:
        self._flush_pending()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._flush_pending()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._flush_pending()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._flush_pending()
        return super().delete()

    def for_actor(self, actor: models.Model | None) -> HistoryQuerySet:
        """The rows whose actor is ``actor`` (None: the system)."""
        if actor is None:
            return self.filter(actor_content_type__isnull=True)
        return self.filter(
            actor_content_type=ContentType.objects.get_for_model(actor),
            actor_id=key_text(actor._meta.model, actor.pk),
        )


class ObjectDeltaQuerySet(HistoryQuerySet):
    def _prefetch_related_objects(self) -> None:
        # Django's prefetch builds a related manager and a filtered queryset
        # per object delta, several times the cost of reading the attribute
        # deltas: a history page of 1,000 deltas spent most of its time there.
        lookups = self._prefetch_related_lookups
        if issubclass(self._iterable_class, ModelIterable) and any(
            isinstance(lookup, str) and lookup.split(LOOKUP_SEP)[0] == _ATTRIBUTES
            for lookup in lookups
        ):
            _prefetch_attribute_deltas(self._result_cache)
            lookups = tuple(lookup for lookup in lookups if lookup != _ATTRIBUTES)
        models.prefetch_related_objects(self._result_cache, *lookups)
        self._prefetch_done = True

    def for_object(self, obj: models.Model) -> ObjectDeltaQuerySet:
        """The deltas of ``obj``, oldest first."""
        return self.for_key(type(obj), obj.pk)

    def for_rows_of(self, model: type[models.Model]) -> ObjectDeltaQuerySet:
        """The deltas of every ``model`` row. For a multi-table parent, also
        those saved through its children's models; for a multi-table child,
        also the updates saved through its parents' models (they change the
        fields the row shares)."""
        content_types = content_types_of_row(model)
        if content_types is None:
            return self.filter(content_type=ContentType.objects.get_for_model(model))
        row = models.Q(content_type__in=content_types)
        parents = parent_content_types(model)
        if parents:
            row |= models.Q(
                content_type__in=parents, action=AbstractObjectDelta.ACTION_UPDATE
            )
        return self.filter(row)

    def for_key(self, model: type[models.Model], pk: Any) -> ObjectDeltaQuerySet:
        """The deltas of the ``model`` row whose primary key is ``pk``, oldest
        first (see :meth:`for_rows_of`)."""
        key = key_text(model, pk)
        return self.for_rows_of(model).filter(content_id=key).order_by("pk")


_ATTRIBUTES = "attribute_deltas"


def _prefetch_attribute_deltas(deltas: list[Any]) -> None:
    """What ``prefetch_related("attribute_deltas")`` leaves on each object
    delta, in one query, with one light queryset per delta: its rows, and
    the filter that a further ``filter()`` on it starts from."""
    deltas = [
        delta
        for delta in deltas
        if _ATTRIBUTES not in getattr(delta, "_prefetched_objects_cache", {})
    ]
    if not deltas:
        return
    relation = deltas[0]._meta.get_field(_ATTRIBUTES)
    link = relation.field
    manager = relation.related_model._default_manager.db_manager(deltas[0]._state.db)
    found: dict[Any, list[Any]] = {delta.pk: [] for delta in deltas}
    for attribute in manager.filter(**{f"{link.name}__in": deltas}):
        found[getattr(attribute, link.attname)].append(attribute)
    for delta in deltas:
        rows = found[delta.pk]
        for attribute in rows:
            link.set_cached_value(attribute, delta)
        queryset = manager.get_queryset()
        queryset._add_hints(instance=delta)
        queryset._defer_next_filter = True  # As a related manager does.
        queryset = queryset.filter(**{link.name: delta})
        queryset._known_related_objects = {link: {delta.pk: delta}}
        queryset._result_cache = rows
        queryset._prefetch_done = True
        delta.__dict__.setdefault("_prefetched_objects_cache", {})[_ATTRIBUTES] = (
            queryset
        )


HistoryManager = models.Manager.from_queryset(HistoryQuerySet)
ObjectDeltaManager = models.Manager.from_queryset(ObjectDeltaQuerySet)


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
    actor = GenericForeignKey("actor_content_type", "actor_id")

    class Meta:
        abstract = True


class AbstractRevision(models.Model):
    """The changes made in one outermost ``revy.Context``."""

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

        One query finds them; each actor model then costs one query to load.
        None stands for the system, a :class:`DeletedActor` for an actor
        whose row was deleted since.
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
        ordered: dict[tuple[Any, Any], None] = {}
        for type_id, actor_id, _delta, _attribute in refs:
            ordered.setdefault((type_id, actor_id), None)
        return _resolve_actors(list(ordered))

    def revert(self, overwrite: bool = False) -> Any:
        """Undo this revision as a whole: see ``revy.contrib.django.history.revert``."""
        from revy.contrib.django.history import revert

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


class AbstractObjectDelta(TargetFields, ActorFields):
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


class AbstractAttributeDelta(TargetFields, ActorFields):
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
        return f"{self.field_name}: {self.old_value!r} -> {self.new_value!r}"

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
    return _model(conf.revision_model_label())


def get_object_delta_model() -> type[AbstractObjectDelta]:
    """The ObjectDelta model in use (``REVY_OBJECT_DELTA_MODEL``)."""
    return _model(conf.object_delta_model_label())


def get_attribute_delta_model() -> type[AbstractAttributeDelta]:
    """The AttributeDelta model in use (``REVY_ATTRIBUTE_DELTA_MODEL``)."""
    return _model(conf.attribute_delta_model_label())


@functools.cache
def _model(label: str) -> Any:
    # Every recorded change asks; a label names the same class for good.
    return apps.get_model(label, require_ready=False)


def history_model_labels() -> frozenset[str]:
    """Lower-case labels of the history models in use, never tracked."""
    return frozenset(
        label.lower()
        for label in (
            conf.revision_model_label(),
            conf.object_delta_model_label(),
            conf.attribute_delta_model_label(),
        )
    )


def actor_reference(actor: models.Model | None) -> tuple[ContentType | None, Any]:
    """The (content type, id) pair that stores ``actor``."""
    if actor is None:
        return None, None
    if not isinstance(actor, models.Model):
        raise TypeError(f"A revy actor is a model instance or None, not {actor!r}.")
    if actor.pk is None:
        raise ValueError(f"The actor {actor!r} has no primary key: save it first.")
    return ContentType.objects.get_for_model(actor), key_text(
        actor._meta.model, actor.pk
    )


def _resolve_actors(refs: list[tuple[Any, Any]]) -> list[Any]:
    by_type: dict[Any, list[Any]] = {}
    for type_id, actor_id in refs:
        if type_id is not None:
            by_type.setdefault(type_id, []).append(actor_id)
    loaded: dict[tuple[Any, str], Any] = {}
    for type_id, ids in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        for obj in model._base_manager.filter(pk__in=ids):
            loaded[type_id, key_text(type(obj), obj.pk)] = obj
    return [
        None
        if type_id is None
        else loaded.get(
            (type_id, actor_id),
            DeletedActor(
                ContentType.objects.get_for_id(type_id).model_class(), actor_id
            ),
        )
        for type_id, actor_id in refs
    ]


@dataclass(frozen=True)
class DeletedActor:
    """An actor whose row no longer exists; None stays the system's."""

    model: type[models.Model] | None
    pk: str

    def __str__(self) -> str:
        label = "unknown model" if self.model is None else self.model._meta.label
        return f"deleted {label} {self.pk}"


# The deletion handlers the seed README imports from here are Django's own:
# revy records whatever the deletion Collector does, so Django's handlers and
# their fast paths are kept whole. See docs/decisions/0003-deletion-handlers.md.
CASCADE = deletion.CASCADE
SET = deletion.SET
SET_DEFAULT = deletion.SET_DEFAULT
SET_NULL = deletion.SET_NULL


from revy.contrib.django.snapshot import ObjectSnapshot  # noqa: E402 (needs the models above)
