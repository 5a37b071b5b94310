"""Recording the related managers' many-to-many changes: ``add``,
``remove``, ``clear`` and ``set``, from ``m2m_changed``.

Each operation is recorded as ``relations.py`` says: one delta of the object
whose manager was used, listing every member added or removed, and one delta
per member on the other side. ``set()`` is Django's ``remove`` then ``add``,
and is recorded as those two operations.

A symmetrical relation's members are recorded by the rows Django writes
back to the owner. A ``remove`` or ``clear`` takes out what Django takes
out: the members the members' default manager shows, by the rows the
through model's default manager shows.

A ``remove`` or ``clear`` locks the owner's row first, as a delete would: a
member another transaction adds meanwhile cannot be taken out unrecorded.
The database writes the history where it can (``backends/sqlmembers.py``):
the members' deltas from the member rows (those a ``remove`` or ``clear``
is about to take out of the relation, just before Django deletes their
through rows, and those an ``add`` put in, just after), and the owner's
list of the members a ``remove`` or ``clear`` takes out, aggregated from
the through rows. Elsewhere they are recorded in Python, a batch at a
time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from django.apps import apps
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Exists
from django.db.models.signals import m2m_changed

from revy.contrib.django import backends, conf, transactions
from revy.contrib.django.backends.sqlmembers import MemberKeys
from revy.contrib.django.capture import sqlhistory
from revy.contrib.django.capture.relations import (
    is_recorded,
    is_through,
    keys_of,
    record_change,
)
from revy.contrib.django.capture.scope import recording_frame
from revy.contrib.django.recording import Recorder

# The signals a change is recorded at: a removal before its through rows go.
_RECORDED = ("post_add", "pre_remove", "pre_clear")


class _Sides(NamedTuple):
    """A relation as one side's manager changes it: the through table's
    columns of that side (``source``) and of the members (``target``), and
    each side's accessor (None where it has none). A symmetrical relation's
    members have the owner's accessor: Django writes a through row each
    way."""

    source: str
    target: str
    this: str | None
    other: str | None
    symmetrical: bool = False

    @classmethod
    def of(cls, field: Any, reverse: bool) -> _Sides:
        source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
        forward, backward = field.name, field.remote_field.get_accessor_name()
        if reverse:
            return cls(target, source, backward, forward)
        if field.remote_field.symmetrical:
            return cls(source, target, forward, forward, symmetrical=True)
        return cls(source, target, forward, backward)

    def mirrored(self) -> _Sides:
        """The through rows' other direction: a symmetrical relation's rows
        from the members to the owner."""
        return self._replace(source=self.target, target=self.source)


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
    frame = recording_frame()
    if frame is None:
        return
    # Between its pre_ and post_ signals the manager writes through rows:
    # recorded here, not as creates and deletes of those rows.
    transactions.set_managed(using, sender, action.startswith("pre_"))
    if action not in _RECORDED:
        return
    field = _field_of(sender, model if reverse else type(instance))
    if field is None:
        return
    sides = _Sides.of(field, reverse)
    if not (is_recorded(type(instance), sides.this) or is_recorded(model, sides.other)):
        return  # Neither side is recorded: no lock, no read.
    recorder = Recorder(frame, using)
    if action == "post_add":
        _record_added(recorder, sender, sides, instance, model, pk_set or set())
    else:
        keys = pk_set if action == "pre_remove" else None  # None: all of them.
        _record_removed(recorder, sender, sides, instance, model, keys)


def _record_added(
    recorder: Recorder,
    through: type[models.Model],
    sides: _Sides,
    instance: models.Model,
    model: type[models.Model],
    pk_set: set[Any],
) -> None:
    """Record ``add()``'s members ``pk_set`` (their through rows' values),
    just linked to ``instance``."""
    using = recorder.using
    foreign_key = through._meta.get_field(sides.target)
    if foreign_key.target_field.primary_key:
        # Django's own set of the keys added: not copied (10^6 members took
        # 150 MB more in copies).
        added = pk_set
    else:
        added = set(keys_of(foreign_key, pk_set, using).values())
    if not added:
        return
    record_change(
        recorder, type(instance), instance.pk, sides.this, model, set(), added
    )
    backend = backends.of(using)
    # The keys as one array where the database takes one.
    members = backend.by_keys(model._base_manager.using(using), list(added))
    if sides.symmetrical:
        if is_through(through) and conf.is_tracked(through):
            return  # Its rows back, inserted next, record their own change.
        # Django links the members back to the owner next, but for those
        # linked already (the owner itself, if it is one).
        back = backend.by_keys(
            through._default_manager.using(using).filter(**{sides.target: instance}),
            list(pk_set),
            through._meta.get_field(sides.source),
        )
        linked = set(back.values_list(f"{sides.source}__pk", flat=True))
        if linked:
            members = members.exclude(pk__in=linked)
            added = added - linked
    _record_members(recorder, sides.other, instance, members, lambda: added, True)


def _record_removed(
    recorder: Recorder,
    through: type[models.Model],
    sides: _Sides,
    instance: models.Model,
    model: type[models.Model],
    keys: set[Any] | None,
) -> None:
    """Record that ``remove()`` (of ``keys``, their through rows' values)
    or ``clear()`` (``keys`` None) is about to take members out of
    ``instance``'s relation."""
    using = recorder.using
    rows = _removable_rows(through, sides, instance, model, keys, using)
    # The owner's row locked as a delete locks it: no member can join it, in
    # another transaction, between the read of its members and their removal.
    owner = through._meta.get_field(sides.source).related_model
    backends.of(using).locked_row(owner, ("pk",), instance.pk, for_delete=True)
    removed: list[Any] | None = None  # Read only where Python records them.
    if is_recorded(type(instance), sides.this):
        owner_rows = type(instance)._base_manager.using(using).filter(pk=instance.pk)
        if keys is None:
            owner_rows = owner_rows.filter(Exists(rows))
        # A remove()'s rows name its keys: whether any goes is asked apart,
        # as a statement naming them twice took more than MariaDB's packet
        # where Django's own delete, naming them once, fits.
        count = (
            0
            if keys is not None and not rows.exists()
            else sqlhistory.relation_changed(
                owner_rows, sides.this, MemberKeys(_members(rows, sides)), [], recorder
            )
        )
        if count is None:
            removed = _current_members(rows, sides)
            if removed:
                record_change(
                    recorder,
                    type(instance),
                    instance.pk,
                    sides.this,
                    model,
                    removed,
                    set(),
                )
        if not (count or removed or sides.symmetrical):
            return  # No member to remove.
    if sides.symmetrical:
        # The members lose the owner by their rows to it, which Django
        # deletes too (a row from the owner to itself is the owner's own).
        sides = sides.mirrored()
        rows = _removable_rows(through, sides, instance, model, keys, using).exclude(
            **{f"{sides.target}__pk": instance.pk}
        )
        removed = None
    _record_members(
        recorder,
        sides.other,
        instance,
        _members(rows, sides),
        lambda: _current_members(rows, sides) if removed is None else removed,
        False,
    )


def _record_members(
    recorder: Recorder,
    relation: str | None,
    instance: models.Model,
    members: models.QuerySet,
    keys: Callable[[], Iterable[Any]],
    added: bool,
) -> None:
    """Record on each of ``members`` (their keys: ``keys()``) that its
    relation ``relation`` gained ``instance``, or lost it."""
    model = members.model
    if not is_recorded(model, relation):
        return
    assert relation is not None
    member = recorder.member_keys(type(instance), {instance.pk})
    old, new = ([], member) if added else (member, [])
    if sqlhistory.relation_changed(members, relation, old, new, recorder) is not None:
        return
    # A delta each, written a batch at a time: memory holds one batch however
    # many members change.
    change = (set(), {instance.pk}) if added else ({instance.pk}, set())
    for pk in keys():
        record_change(recorder, model, pk, relation, type(instance), *change)
        transactions.flush_if_full(recorder.using)


def _field_of(sender: type[models.Model], model: type[models.Model]) -> Any:
    for field in model._meta.many_to_many:
        if field.remote_field.through is sender:
            return field
    return None


def _removable_rows(
    through: type[models.Model],
    sides: _Sides,
    instance: models.Model,
    model: type[models.Model],
    keys: set[Any] | None,
    using: str,
) -> models.QuerySet:
    """The through rows from ``instance`` that a ``remove()`` of ``keys``
    (their target's values), or a ``clear()`` (``keys`` None), deletes: as
    Django's related manager deletes them, those the through model's
    default manager shows, to the members the members' default manager
    shows (a soft-deleted member stays in the relation)."""
    rows = through._default_manager.using(using).filter(**{sides.source: instance})
    shown = model._default_manager.get_queryset()
    if shown._has_filters():
        rows = rows.filter(**{f"{sides.target}__in": shown.using(using)})
    if keys is None:
        return rows
    # Read by several statements: the keys as one array where it can. A key
    # of the wrong type raises here, as Django's filter would, before any
    # query.
    target = through._meta.get_field(sides.target)
    return backends.of(using).by_keys(rows, list(keys), target)


def _members(rows: models.QuerySet, sides: _Sides) -> models.QuerySet:
    """The members of the through ``rows``."""
    model = rows.model._meta.get_field(sides.target).related_model
    return model._base_manager.using(rows.db).filter(
        pk__in=rows.values(f"{sides.target}__pk")
    )


def _current_members(rows: models.QuerySet, sides: _Sides) -> list[Any]:
    """The primary keys of the members of the through ``rows`` (of one
    owner), each once: a list, the smallest holder of what may be many
    keys."""
    owner = rows.model._meta.get_field(sides.source).attname
    # A foreign key's __pk is its own column when it refers to the key.
    key = f"{sides.target}__pk"
    # Ordered as the through table's unique index is, owner first: by the
    # member alone, PostgreSQL sorted every member once a page (450 ms a
    # page of 10^6 members, against 1 ms).
    ordered = rows.values_list(owner, key).distinct().order_by(owner, key)
    # A query per batch (key > last): no driver holds more than a batch of
    # rows, MariaDB's included, which fetches a whole result at once.
    size, members = conf.batch_size(), []
    while True:
        page = ordered.filter(**{f"{key}__gt": members[-1]}) if members else ordered
        batch = [member for _, member in page[:size]]
        members += batch
        if len(batch) < size:
            return members


def install() -> None:
    """Listen to the relations that touch a tracked model, and to no
    others: Django turns off its fast ``add()`` (one insert that ignores
    the rows already there, no read first) for a relation with a
    receiver, so one connected without a sender would change every
    relation of the project."""
    _listen()
    setting_changed.connect(_tracking_changed, dispatch_uid="revy.m2m-tracking")


_listened: list[type[models.Model]] = []


def _listen() -> None:
    for through in _listened:
        m2m_changed.disconnect(sender=through, dispatch_uid="revy.m2m")
    _listened.clear()
    for through in _throughs_recorded():
        m2m_changed.connect(on_m2m_changed, sender=through, dispatch_uid="revy.m2m")
        _listened.append(through)


def _throughs_recorded() -> set[type[models.Model]]:
    """The through models of the relations with a tracked side (inherited
    relations included), or themselves tracked."""
    found = set()
    for model in apps.get_models():
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            if any(map(conf.is_tracked, (model, field.related_model, through))):
                found.add(through)
    return found


def _tracking_changed(setting: str, **kwargs: Any) -> None:
    # A wrong value is for manage.py check to report, not for this receiver.
    if setting in conf.TRACKING_SETTINGS:
        with contextlib.suppress(TypeError, AttributeError):
            _listen()
