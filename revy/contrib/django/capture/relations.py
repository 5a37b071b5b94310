"""Many-to-many changes as history records them, and the rows of explicit
through models.

A change of a relation becomes, on each side whose model is tracked, an
update delta of every object whose relation changed, with one attribute
delta named after that side's accessor (``post.tags`` -> ``"tags"``,
``tag.posts`` -> ``"posts"``). For a many-to-many attribute delta,
``old_value`` lists the ids removed and ``new_value`` the ids added, so
replaying them in order gives the members at any point in time
(:func:`record_change`). The related managers' ``add``, ``remove``,
``clear`` and ``set`` are recorded by ``m2m.py``. Rows of an explicit
through model saved or deleted directly (``Membership.objects.create()``,
``membership.delete()``, ``bulk_create``, and updates that move a row to
another owner or member) are recorded here the same way, besides their own
deltas.
"""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps
from django.db import models

from revy.contrib.django import conf, transactions
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import read_rows


def keys_of(foreign_key: Any, values: Any, using: str) -> dict[Any, Any]:
    """``{value of foreign_key's column: primary key of the row it refers
    to}`` for ``values``, of a foreign key that refers to a ``to_field``
    (one that refers to the primary key holds it already)."""
    target = foreign_key.target_field
    rows = foreign_key.related_model._base_manager.using(using).filter(
        **{f"{target.attname}__in": values}
    )
    return dict(rows.values_list(target.attname, "pk"))


def record_change(
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
    if is_recorded(model, name):
        model = model._meta.concrete_model
        recorder.members_changed(model, pk, name, member_model, removed, added)


def is_recorded(model: type[models.Model], name: str | None) -> bool:
    """Whether a relation ``name`` of ``model`` is recorded: that side has
    a name (an accessor), and its model is tracked."""
    return name is not None and conf.is_tracked(model._meta.concrete_model)


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
            record_change(recorder, owner_model, pk, field.name, member_model, *change)
        for pk, ids in members.items():
            change = (set(), ids) if added else (ids, set())
            record_change(
                recorder, member_model, pk, reverse_name, owner_model, *change
            )


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
