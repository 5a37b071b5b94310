"""Recording many-to-many changes: ``add``, ``remove``, ``clear`` and ``set``.

Each operation becomes, on each side whose model is tracked, an update
delta of every object whose relation changed, with one attribute delta named
after that side's accessor (``post.tags`` -> ``"tags"``, ``tag.posts`` ->
``"posts"``). For a many-to-many attribute delta, ``old_value`` lists the
ids removed and ``new_value`` the ids added, so replaying them in order
gives the members at any point in time. ``set()`` is Django's ``remove``
then ``add``, and is recorded as those two operations. Rows of an explicit
through model saved or deleted directly (``Membership.objects.create()``,
``membership.delete()``, ``bulk_create``, and updates that move a row to
another owner or member) are recorded the same way, besides their own
deltas.
"""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import m2m_changed

from revy.contrib.django import conf, transactions
from revy.contrib.django.capture.scope import recording_frame
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import read_rows

_MEMBERS = "revy_m2m_members"


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
    instance: models.Model,
    among: Any = None,
) -> list[Any]:
    """The primary keys of ``instance``'s members (of those ``among``),
    each once: a list, the smallest holder of what may be many keys."""
    queryset = sender._base_manager.using(using).filter(**{source: instance})
    if among is not None:
        queryset = queryset.filter(**{f"{target}__in": among})
    # A foreign key's __pk is its own column when it refers to the key.
    key = f"{target}__pk"
    ordered = queryset.values_list(key, flat=True).distinct().order_by(key)
    # A query per batch (key > last): no driver holds more than a batch of
    # rows, MariaDB's included, which fetches a whole result at once.
    size, members = conf.batch_size(), []
    while True:
        page = ordered.filter(**{f"{key}__gt": members[-1]}) if members else ordered
        batch = list(page[:size])
        members += batch
        if len(batch) < size:
            return members


def keys_of(foreign_key: Any, values: Any, using: str) -> dict[Any, Any]:
    """``{value of foreign_key's column: primary key of the row it refers
    to}`` for ``values``, of a foreign key that refers to a ``to_field``
    (one that refers to the primary key holds it already)."""
    target = foreign_key.target_field
    rows = foreign_key.related_model._base_manager.using(using).filter(
        **{f"{target.attname}__in": values}
    )
    return dict(rows.values_list(target.attname, "pk"))


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
    if action == "pre_add":
        return
    field = _field_of(sender, model if reverse else type(instance))
    if field is None:
        return
    # The through table's columns for this side and the other.
    source = field.m2m_reverse_field_name() if reverse else field.m2m_field_name()
    target = field.m2m_field_name() if reverse else field.m2m_reverse_field_name()
    if action in ("pre_remove", "pre_clear"):
        instance._state.__dict__[_MEMBERS] = _current_members(
            sender,
            using,
            source,
            target,
            instance,
            pk_set if action == "pre_remove" else None,
        )
        return
    if action == "post_add":
        foreign_key = sender._meta.get_field(target)
        if foreign_key.target_field.primary_key:
            # Django's own set of the keys added: not copied (10^6 members
            # took 150 MB more in copies).
            added, removed = pk_set or set(), set()
        else:
            added = set(keys_of(foreign_key, pk_set or (), using).values())
            removed = set()
    else:
        added, removed = set(), instance._state.__dict__.pop(_MEMBERS, set())
    if not added and not removed:
        return
    if reverse:
        this_side, other_side = field.remote_field.get_accessor_name(), field.name
    else:
        this_side, other_side = field.name, field.remote_field.get_accessor_name()
    recorder = Recorder(frame, using)
    _change(recorder, type(instance), instance.pk, this_side, model, removed, added)
    # A delta for each member on the other side: written a batch at a time,
    # so that memory holds one batch however many members change.
    for pk in removed:
        _change(recorder, model, pk, other_side, type(instance), {instance.pk}, set())
        transactions.flush_if_full(using)
    for pk in added:
        _change(recorder, model, pk, other_side, type(instance), set(), {instance.pk})
        transactions.flush_if_full(using)


def _change(
    recorder: Recorder,
    model: type[models.Model],
    pk: Any,
    name: str | None,
    member_model: type[models.Model],
    removed: set[Any],
    added: set[Any],
) -> None:
    """Record that ``model`` row ``pk``'s relation ``name`` changed, if that
    side has a name and is tracked."""
    model = model._meta.concrete_model
    if name is not None and conf.is_tracked(model):
        recorder.members_changed(model, pk, name, member_model, removed, added)


def record_through_rows(
    recorder: Recorder,
    through: type[models.Model],
    rows: list[dict[str, Any]],
    added: bool,
    deleted: dict[type[models.Model], Any] | None = None,
) -> None:
    """Record rows of an explicit through model saved or deleted directly
    as the relation changes they are, on both sides.

    Rows whose owner or member is itself being deleted (``deleted``: model
    to primary keys) are left out: that delete records the memberships it
    ends."""
    if transactions.is_managed(recorder.using, through):
        return  # A related manager's add(), remove() or clear(): recorded there.
    for field in _through_fields(through):
        source_key = through._meta.get_field(field.m2m_field_name())
        target_key = through._meta.get_field(field.m2m_reverse_field_name())
        source, target = source_key.attname, target_key.attname
        rows = _by_primary_keys(rows, source_key, target_key, recorder.using)
        owners: dict[Any, set[Any]] = {}
        members: dict[Any, set[Any]] = {}
        gone_owners = (deleted or {}).get(field.model._meta.concrete_model, ())
        gone_members = (deleted or {}).get(
            field.remote_field.model._meta.concrete_model, ()
        )
        for row in rows:
            if row[source] is None or row[target] is None:
                continue  # A row with an empty end relates nothing.
            if row[source] in gone_owners or row[target] in gone_members:
                continue
            owners.setdefault(row[source], set()).add(row[target])
            members.setdefault(row[target], set()).add(row[source])
        owner_model, member_model = field.model, field.remote_field.model
        reverse_name = field.remote_field.get_accessor_name()
        for pk, ids in owners.items():
            change = (set(), ids) if added else (ids, set())
            _change(recorder, owner_model, pk, field.name, member_model, *change)
        for pk, ids in members.items():
            change = (set(), ids) if added else (ids, set())
            _change(recorder, member_model, pk, reverse_name, owner_model, *change)


def _by_primary_keys(
    rows: list[dict[str, Any]], source_key: Any, target_key: Any, using: str
) -> list[dict[str, Any]]:
    """``rows`` with the ends that refer to a ``to_field`` replaced by the
    primary keys of the rows they refer to."""
    for key in (source_key, target_key):
        if not key.target_field.primary_key:
            attname = key.attname
            values = {row[attname] for row in rows if row[attname] is not None}
            keys = keys_of(key, values, using)
            rows = [{**row, attname: keys.get(row[attname])} for row in rows]
    return rows


def record_through_updates(
    recorder: Recorder,
    through: type[models.Model],
    old_rows: dict[Any, dict[str, Any]],
    new_rows: dict[Any, dict[str, Any]],
) -> None:
    """Record rows of an explicit through model that an update moved to
    another owner or member (``old_rows`` and ``new_rows``: the values the
    update changed, by primary key): the old pair leaves the relation, the
    new one joins it."""
    ends = _ends(through)
    moved = [
        pk
        for pk, old in old_rows.items()
        if pk in new_rows
        and any(a in old and old[a] != new_rows[pk].get(a, old[a]) for a in ends)
    ]
    if not moved:
        return
    # The update may have changed one end only: read the other.
    fields = [through._meta.get_field(a) for a in ends]
    now = read_rows(through, recorder.using, through._base_manager.all(), moved, fields)
    before = [{a: old_rows[pk].get(a, row[a]) for a in ends} for pk, row in now.items()]
    record_through_rows(recorder, through, before, added=False)
    record_through_rows(recorder, through, list(now.values()), added=True)


def is_through(model: type[models.Model]) -> bool:
    """Whether ``model`` is the explicit through model of a relation."""
    return bool(_ends(model))


@functools.cache
def _ends(through: type[models.Model]) -> tuple[str, ...]:
    """The attnames of the foreign keys of ``through`` that a relation uses."""
    ends: list[str] = []
    for field in _through_fields(through):
        for name in (field.m2m_field_name(), field.m2m_reverse_field_name()):
            attname = through._meta.get_field(name).attname
            if attname not in ends:
                ends.append(attname)
    return tuple(ends)


@functools.cache
def _through_fields(through: type[models.Model]) -> list[Any]:
    if through._meta.auto_created:
        return []
    # A relation whose ends are multi-column ForeignObjects has no member
    # keys to record; its through rows' own deltas still are.
    return [
        field
        for model in apps.get_models()
        for field in model._meta.local_many_to_many
        if field.remote_field.through is through
        and all(
            through._meta.get_field(name).concrete
            for name in (field.m2m_field_name(), field.m2m_reverse_field_name())
        )
    ]


def install() -> None:
    m2m_changed.connect(on_m2m_changed, dispatch_uid="revy.relations")
