"""Recording many-to-many changes: ``add``, ``remove``, ``clear`` and ``set``.

Each operation becomes, on each side whose model is tracked, an update
delta of every object whose relation changed, with one attribute delta named
after that side's accessor (``post.tags`` -> ``"tags"``, ``tag.posts`` ->
``"posts"``). For a many-to-many attribute delta, ``old_value`` lists the
ids removed and ``new_value`` the ids added, so replaying them in order
gives the members at any point in time. ``set()`` is Django's ``remove``
then ``add``, and is recorded as those two operations.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import m2m_changed

from revy.contrib.django import conf, recorder
from revy.contrib.django.deltas import (
    Attribution,
    history_models,
    new_attribute_delta,
    new_object_delta,
    recording_frame,
)

_MEMBERS = "revy_m2m_members"
_RECORDED_ACTIONS = {"pre_remove", "pre_clear", "post_add", "post_remove", "post_clear"}


def _field_of(sender: type[models.Model], model: type[models.Model]) -> Any:
    for field in model._meta.many_to_many:
        if field.remote_field.through is sender:
            return field
    return None


def _current_members(
    sender: type[models.Model],
    using: str,
    source: str,
    target: str,
    pk: Any,
    among: Any = None,
) -> set[Any]:
    queryset = sender._base_manager.using(using).filter(**{source: pk})
    if among is not None:
        queryset = queryset.filter(**{f"{target}__in": among})
    return set(queryset.values_list(target, flat=True))


def on_m2m_changed(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[Any] | None,
    using: str,
    **kwargs: Any,
) -> None:
    """Receiver of ``m2m_changed``: records the change on both sides."""
    if action not in (
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    ):
        return
    frame = recording_frame()
    if frame is None:
        return
    field = _field_of(sender, model if reverse else type(instance))
    if field is None:
        return
    # The through table's columns for this side and the other.
    source = field.m2m_reverse_field_name() if reverse else field.m2m_field_name()
    target = field.m2m_field_name() if reverse else field.m2m_reverse_field_name()
    if action == "pre_remove":
        instance._state.__dict__[_MEMBERS] = _current_members(
            sender, using, source, target, instance.pk, pk_set
        )
        return
    if action == "pre_clear":
        instance._state.__dict__[_MEMBERS] = _current_members(
            sender, using, source, target, instance.pk
        )
        return
    if action == "post_add":
        added, removed = set(pk_set or ()), set()
    else:
        added, removed = set(), instance._state.__dict__.pop(_MEMBERS, set())
    if not added and not removed:
        return
    if reverse:
        this_side, other_side = field.remote_field.get_accessor_name(), field.name
    else:
        this_side, other_side = field.name, field.remote_field.get_accessor_name()
    who = Attribution(frame)
    record = _Recorder(frame, using, who)
    record.change(type(instance), instance.pk, this_side, model, removed, added)
    other_model = model
    for pk in removed:
        record.change(other_model, pk, other_side, type(instance), {instance.pk}, set())
    for pk in added:
        record.change(other_model, pk, other_side, type(instance), set(), {instance.pk})


class _Recorder:
    def __init__(self, frame: Any, using: str, who: Attribution) -> None:
        self.frame, self.using, self.who = frame, using, who
        self.encoder = conf.value_encoder()

    def change(
        self,
        model: type[models.Model],
        pk: Any,
        name: str | None,
        member_model: type[models.Model],
        removed: set[Any],
        added: set[Any],
    ) -> None:
        model = model._meta.concrete_model
        if name is None or not conf.is_tracked(model):
            return
        pk_field = member_model._meta.pk
        object_delta_model, _ = history_models()
        attribute = new_attribute_delta(
            name,
            sorted(self.encoder.encode(pk_field, p) for p in removed),
            sorted(self.encoder.encode(pk_field, p) for p in added),
            self.who,
        )
        delta = new_object_delta(
            recorder.revision_for(self.frame, self.using),
            object_delta_model.ACTION_UPDATE,
            model,
            pk,
            self.who,
            self.using,
        )
        recorder.add(self.using, delta, [attribute])


def install() -> None:
    m2m_changed.connect(on_m2m_changed, dispatch_uid="revy.relations")
