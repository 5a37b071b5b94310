"""Recording creates, updates and deletes of tracked models.

``install()`` wraps three Django methods: ``Model.save_base`` (creates and
updates), ``Model.refresh_from_db`` (what the database holds changed) and
``Collector.delete`` (deletes, cascades and the foreign keys they set).
Outside an enabled context each wrapper costs one ContextVar lookup and
calls Django's method unchanged. Why wrapping rather than signals is in
``docs/decisions/0002-capture-by-wrapping-django.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connections, models, router
from django.db.models import signals
from django.db.models.base import DEFERRED
from django.db.models.deletion import Collector

from revy.context import Frame
from revy.contrib.django import bulk, conf, recorder, relations, tracking, wrapping
from revy.contrib.django.deltas import (
    Attribution,
    fetch_values,
    history_models,
    is_expression,
    may_differ,
    nested_writes_recorded,
    new_attribute_delta,
    new_object_delta,
    old_values,
    read_back,
    read_rows,
    receivers_recorded,
    recording_frame,
    same_value,
    saved_fields,
    stored_rows,
)
from revy.contrib.django.encoding import encode

# Saves -----------------------------------------------------------------------


def _record_save(
    original: Any,
    instance: models.Model,
    frame: Frame,
    model: type[models.Model],
    connection: Any,
    save_args: tuple[Any, ...],
    update_fields: Iterable[str] | None,
) -> None:
    using = connection.alias
    encoder = conf.value_encoder()
    force_insert = save_args[1]
    fields = may_differ(instance, model, saved_fields(model, update_fields))
    old = old_values(instance, model, using, fields, bool(force_insert))
    data = instance.__dict__
    # Encode before writing, so a value revy cannot store fails the save
    # before anything reaches the database.
    before = {}
    encoded = {}
    for field in fields:
        attname = field.attname
        value = before[attname] = data.get(attname, DEFERRED)
        if value is DEFERRED or is_expression(value):
            continue
        if old is None or not same_value(field, old[attname], value):
            encoded[attname] = encode(encoder, field, value)
    original(instance, *save_args, update_fields=update_fields)
    try:
        stored = {}
        computed = []
        for field in fields:
            attname = field.attname
            value = stored[attname] = data.get(attname, DEFERRED)
            if read_back(field, value):
                computed.append(field)
        if computed:
            stored.update(fetch_values(model, using, instance.pk, computed) or {})
        if old is None:
            changed = fields
        else:
            changed = [
                f
                for f in fields
                if (new := stored[f.attname]) is not DEFERRED
                and (
                    # Unchanged by the save and compared above.
                    f.attname in encoded
                    if new is before[f.attname]
                    else not same_value(f, old[f.attname], new)
                )
            ]
        changes = []
        for field in changed:
            attname = field.attname
            new = stored[attname]
            changes.append(
                (
                    field,
                    None if old is None else encode(encoder, field, old[attname]),
                    encoded[attname]
                    if attname in encoded and before[attname] is new
                    else encode(encoder, field, new),
                )
            )
        if changes or old is None:  # A row whose only field is its key too.
            _record_changes(frame, instance, model, connection, old is None, changes)
            if relations.is_through(model):
                _record_through_save(
                    frame, instance, model, using, old, stored, changes
                )
    except Exception as error:
        if connection.in_atomic_block:  # As transaction.mark_for_rollback_on_error.
            connection.needs_rollback = True
            connection.rollback_exc = error
        raise
    remember_saved(instance, stored, connection)


def _record_through_save(
    frame: Frame,
    instance: models.Model,
    model: type[models.Model],
    using: str,
    old: dict[str, Any] | None,
    stored: dict[str, Any],
    changes: list[tuple[models.Field, Any, Any]],
) -> None:
    """A saved row of an explicit through model joins the relation, or
    moves within it, on both sides."""
    if old is None:
        relations.record_through_rows(
            frame, model, [{**stored, "pk": instance.pk}], using, added=True
        )
        return
    attnames = [field.attname for field, _old, _new in changes]
    relations.record_through_updates(
        frame,
        model,
        using,
        {instance.pk: {a: old[a] for a in attnames}},
        {instance.pk: {a: stored[a] for a in attnames}},
    )


def _record_changes(
    frame: Frame,
    instance: models.Model,
    model: type[models.Model],
    connection: Any,
    created: bool,
    changes: list[tuple[models.Field, Any, Any]],
) -> None:
    """Queue the deltas of a save: ``changes`` holds (field, encoded old
    value, encoded new value) for each field that changed."""
    using = connection.alias
    who = Attribution.of(frame)
    object_delta_model = who.object_delta_model
    assigned = tracking.attributions(instance)
    attribute_deltas = [
        new_attribute_delta(field.name, old, new, who, assigned.get(field.attname))
        for field, old, new in changes
    ]
    object_delta = new_object_delta(
        recorder.revision_for(frame, using),
        object_delta_model.ACTION_CREATE
        if created
        else object_delta_model.ACTION_UPDATE,
        model,
        instance.pk,
        who,
        using,
    )
    recorder.add(connection, object_delta, attribute_deltas)


def remember_saved(
    instance: models.Model, stored: dict[str, Any], connection: Any = None
) -> None:
    """The database now holds ``stored``; the rest is as it was loaded."""
    tracking.remember_stored(instance, stored)
    taken = {a: v for a, v in tracking.attributions(instance).items() if a in stored}
    recorder.saved(instance, connection, taken)
    tracking.forget_attributions(instance, stored)


def _wrap_save_base(original: Any) -> Any:
    def save_base(
        self: models.Model,
        raw: bool = False,
        force_insert: Any = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: Iterable[str] | None = None,
    ) -> None:
        model = self._meta.concrete_model
        frame = recording_frame()
        if frame is None or raw or not conf.is_tracked(model):
            original(self, raw, force_insert, force_update, using, update_fields)
            if tracking.is_installed(type(self)) and not raw:
                stored = {
                    f.attname: self.__dict__.get(f.attname, DEFERRED)
                    for f in may_differ(self, model, saved_fields(model, update_fields))
                }
                remember_saved(self, stored)
            return
        using = using or router.db_for_write(type(self), instance=self)
        connection = connections[using]
        args = (raw, force_insert, force_update, using)
        if connection.in_atomic_block:
            _record_save(original, self, frame, model, connection, args, update_fields)
        else:
            with recorder.atomic(using):
                _record_save(
                    original, self, frame, model, connection, args, update_fields
                )

    save_base.alters_data = True  # type: ignore[attr-defined]
    return save_base


def _wrap_refresh_from_db(original: Any) -> Any:
    def refresh_from_db(
        self: models.Model,
        using: str | None = None,
        fields: Iterable[str] | None = None,
        from_queryset: Any = None,
    ) -> None:
        original(self, using=using, fields=fields, from_queryset=from_queryset)
        if not tracking.is_installed(type(self)):
            return
        data = self.__dict__
        wanted = None if fields is None else set(fields)
        refreshed = {
            field.attname: data[field.attname]
            for field in self._meta.concrete_fields
            if not field.primary_key
            and field.attname in data
            and (wanted is None or field.attname in wanted or field.name in wanted)
        }
        tracking.remember_stored(self, refreshed)
        tracking.forget_attributions(self, refreshed)
        recorder.saved(self)  # What it read is void if the transaction is undone.

    return refresh_from_db


# Deletes ---------------------------------------------------------------------


def _record_deletion(frame: Frame, collector: Collector) -> None:
    using = collector.using
    deleted: dict[type[models.Model], dict[Any, dict[str, Any]]] = {}
    for model, instances in collector.data.items():
        concrete = model._meta.concrete_model
        if model._meta.auto_created or not conf.is_tracked(concrete) or not instances:
            continue
        deleted.setdefault(concrete, {}).update(
            stored_rows(concrete, using, list(instances))
        )
    for queryset in collector.fast_deletes:
        concrete = queryset.model._meta.concrete_model
        if queryset.model._meta.auto_created or not conf.is_tracked(concrete):
            continue
        deleted.setdefault(concrete, {}).update(read_rows(concrete, using, queryset))
    _drop_parent_rows(deleted)
    for model, rows in deleted.items():
        relations.record_through_rows(
            frame, model, list(rows.values()), using, False, deleted
        )
    if not deleted and not collector.field_updates:
        return

    encoder = conf.value_encoder()
    who = Attribution.of(frame)
    object_delta_model, _ = history_models()
    revision = None
    deltas: dict[type[models.Model], dict[Any, Any]] = {}
    entries = []
    for model, rows in deleted.items():
        fields = saved_fields(model, None)
        # delete(keep_parents=True): the parents' fields are not deleted.
        kept = _parent_rows_kept(collector, model, rows)
        own = [f for f in fields if f.model._meta.concrete_model is model]
        for pk, row in rows.items():
            revision = revision or recorder.revision_for(frame, using)
            delta = new_object_delta(
                revision, object_delta_model.ACTION_DELETE, model, pk, who, using
            )
            deltas.setdefault(model, {})[pk] = (delta, row)
            attributes = [
                new_attribute_delta(
                    f.name, encode(encoder, f, row[f.attname]), None, who
                )
                for f in (own if pk in kept else fields)
            ]
            entries.append((delta, attributes))
    for model, by_pk in deltas.items():
        for delta, row in by_pk.values():
            cause = _cause(model, row, deltas)
            if cause is not None and delta not in _chain(cause):
                delta.cause = cause  # Rows deleting each other: only one way.
    # Causes first: a cascade's parents before the children it took.
    entries.sort(key=lambda entry: _depth(entry[0]))
    attributes_of = {id(delta): attributes for delta, attributes in entries}
    for model, by_pk in deltas.items():
        for relation in _memberships(model, using, list(by_pk)):
            for pk, members in relation.members.items():
                delta = by_pk[pk][0]
                attributes_of[id(delta)].append(
                    new_attribute_delta(
                        relation.name, relation.encode(members), [], who
                    )
                )
            if relation.other_name is None or not conf.is_tracked(relation.other_model):
                continue
            removed: dict[Any, list[Any]] = {}
            for pk, members in relation.members.items():
                for member in members:
                    removed.setdefault(member, []).append(pk)
            other_deleted = deleted.get(relation.other_model, {})
            for member, pks in removed.items():
                if member in other_deleted:
                    continue
                revision = revision or recorder.revision_for(frame, using)
                delta = new_object_delta(
                    revision,
                    object_delta_model.ACTION_UPDATE,
                    relation.other_model,
                    member,
                    who,
                    using,
                    cause=by_pk[pks[0]][0],
                )
                attribute = new_attribute_delta(
                    relation.other_name, relation.encode_own(pks), [], who
                )
                entries.append((delta, [attribute]))

    for (field, value), targets in collector.field_updates.items():
        model = field.model._meta.concrete_model
        if not conf.is_tracked(model):
            continue
        if isinstance(value, models.Model):  # SET(instance), SET(callable)
            value = getattr(value, field.target_field.attname)
        for pk, old in _field_values(model, using, field, targets):
            if old == value or pk in deleted.get(model, ()):
                continue
            revision = revision or recorder.revision_for(frame, using)
            delta = new_object_delta(
                revision,
                object_delta_model.ACTION_UPDATE,
                model,
                pk,
                who,
                using,
                cause=_cause_of_field(field, old, deltas),
                caused_by_deletion=True,
            )
            attribute = new_attribute_delta(
                field.name,
                encode(encoder, field, old),
                encode(encoder, field, value),
                who,
            )
            entries.append((delta, [attribute]))
    connection = connections[using]
    for delta, attributes in entries:
        recorder.add(connection, delta, attributes)


class _Membership:
    """The members a many-to-many relation gave the objects being deleted."""

    def __init__(
        self,
        model: type[models.Model],
        name: str,
        other_model: type[models.Model],
        other_name: str | None,
        members: dict[Any, list[Any]],
    ) -> None:
        self.name, self.other_model, self.other_name = name, other_model, other_name
        self.members = members
        self._model = model

    def encode(self, pks: list[Any]) -> list[Any]:
        return _encode_pks(self.other_model, pks)

    def encode_own(self, pks: list[Any]) -> list[Any]:
        return _encode_pks(self._model, pks)


def _encode_pks(model: type[models.Model], pks: list[Any]) -> list[Any]:
    encoder = conf.value_encoder()
    return sorted(encoder.encode(model._meta.pk, pk) for pk in pks)


def _memberships(
    model: type[models.Model], using: str, pks: list[Any]
) -> list[_Membership]:
    """Every many-to-many relation of ``model`` that the rows ``pks`` have
    members in: one query per relation."""
    found = []
    relations = [
        (
            f,
            f.m2m_field_name(),
            f.m2m_reverse_field_name(),
            f.name,
            f.remote_field.model,
            f.remote_field.get_accessor_name(),
        )
        for f in model._meta.many_to_many
    ] + [
        (
            rel.field,
            rel.field.m2m_reverse_field_name(),
            rel.field.m2m_field_name(),
            rel.get_accessor_name(),
            rel.related_model,
            rel.field.name,
        )
        for rel in model._meta.related_objects
        if rel.many_to_many
    ]
    size = conf.batch_size()
    for field, source, target, name, other_model, other_name in relations:
        if name is None:
            continue
        through = field.remote_field.through._base_manager.using(using)
        members: dict[Any, list[Any]] = {}
        for start in range(0, len(pks), size):
            rows = through.filter(**{f"{source}__in": pks[start : start + size]})
            for pk, member in rows.values_list(source, target):
                members.setdefault(pk, []).append(member)
        if members:
            found.append(
                _Membership(
                    model, name, other_model._meta.concrete_model, other_name, members
                )
            )
    return found


def _chain(delta: Any) -> list[Any]:
    """``delta`` and the causes it descends from, nearest first."""
    chain = [delta]
    cause = delta.cause
    while cause is not None:
        chain.append(cause)
        cause = cause.cause
    return chain


def _depth(delta: Any) -> int:
    return len(_chain(delta)) - 1


def _drop_parent_rows(deleted: dict[type[models.Model], dict[Any, Any]]) -> None:
    """A multi-table child and its parent rows are one object: keep the child."""
    for model in list(deleted):
        for parent, link in model._meta.parents.items():
            parent_rows = deleted.get(parent._meta.concrete_model)
            if not parent_rows or link is None:
                continue
            for row in deleted[model].values():
                parent_rows.pop(row[link.attname], None)
    for model in [m for m, rows in deleted.items() if not rows]:
        del deleted[model]


def _parent_rows_kept(
    collector: Collector, model: type[models.Model], rows: dict[Any, dict[str, Any]]
) -> set[Any]:
    """The keys of deleted multi-table ``model`` rows whose parent rows the
    collector keeps, as ``delete(keep_parents=True)`` does."""
    kept: set[Any] = set()
    for parent, link in model._meta.parents.items():
        if link is None:
            continue
        gone = {obj.pk for obj in collector.data.get(parent, ())}
        kept.update(pk for pk, row in rows.items() if row[link.attname] not in gone)
    return kept


def _cause(
    model: type[models.Model],
    row: dict[str, Any],
    deltas: dict[type[models.Model], dict[Any, Any]],
) -> Any:
    for field in model._meta.concrete_fields:
        if field.many_to_one or field.one_to_one:
            if getattr(field.remote_field, "parent_link", False):
                continue
            cause = _cause_of_field(field, row[field.attname], deltas)
            if cause is not None:
                return cause
    return None


def _cause_of_field(
    field: models.Field, value: Any, deltas: dict[type[models.Model], dict[Any, Any]]
) -> Any:
    if value is None or not field.is_relation:
        return None
    target = field.remote_field.model._meta.concrete_model
    if field.target_field is not target._meta.pk:
        return None
    found = deltas.get(target, {}).get(value)
    if found is None:
        # A parent row is recorded as its multi-table child, whose key is
        # the same value.
        found = next(
            (
                by_pk[value]
                for model, by_pk in deltas.items()
                if value in by_pk and target in model._meta.all_parents
            ),
            None,
        )
    return None if found is None else found[0]


def _field_values(
    model: type[models.Model], using: str, field: models.Field, targets: list[Any]
) -> list[tuple[Any, Any]]:
    """``(pk, value of field)`` of every row a SET/SET_NULL/SET_DEFAULT changes."""
    pairs = []
    for target in targets:
        if isinstance(target, models.QuerySet) and target._result_cache is None:
            pairs.extend(
                target.using(using).order_by().values_list("pk", field.attname)
            )
        else:
            pairs.extend(
                (instance.pk, getattr(instance, field.attname)) for instance in target
            )
    return pairs


def _wrap_collector_delete(original: Any) -> Any:
    def delete(self: Collector) -> tuple[int, dict[str, int]]:
        frame = recording_frame()
        if frame is None:
            return original(self)
        with recorder.atomic(self.using):
            _record_deletion(frame, self)
            with nested_writes_recorded():
                return original(self)

    return delete


def _wrap_send(send: Any) -> Any:
    def revy_send(*args: Any, **kwargs: Any) -> Any:
        with receivers_recorded():
            return send(*args, **kwargs)

    return revy_send


def install() -> None:
    """Wrap Django's save, refresh and delete methods, once."""
    # Collector.delete() runs as one recorded write; the delete signals'
    # receivers it calls write on their own account.
    for signal in (signals.pre_delete, signals.post_delete):
        wrapping.wrap(signal, {"send": _wrap_send})
    wrapping.wrap(
        models.Model,
        {"save_base": _wrap_save_base, "refresh_from_db": _wrap_refresh_from_db},
    )
    wrapping.wrap(Collector, {"delete": _wrap_collector_delete})
    tracking.install_from_db()
    recorder.install()
    bulk.install()
    relations.install()
