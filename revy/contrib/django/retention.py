"""Retention: fold the history before a cut into one full-state row per object.

:func:`prune` is what ``manage.py revy_prune`` and scheduled tasks call.
For each object with history before the cut, the deltas before it (less
the last ``keep_revisions`` revisions of the object) are replaced by one
*fold*: the baseline row of decision 0010 (rule 4), holding the state
right after the last of them. The fold takes the revision of that last
delta and a key below every key (``foldkeys.py``; what is kept from before
the cut moves there too, in its order), so it sorts before every delta
kept, by key, by revision and by time: every read (``state_at()``,
snapshots, ``diff()``, ``members_as_of()``, ``restore()``, the admin's
pages) gives, from the cut on, what it gave before, without knowing that a
fold is there. A fold's
attribute deltas are the latest recorded of each field, moved onto it with
their actor and description; a many-to-many relation becomes its full
membership at the cut. An object whose history before the cut ends with its
delete leaves nothing.

Work runs in batches of objects, each in a transaction of its own that
records an :class:`~revy.contrib.django.ledger.Amendment` (who, when, what),
so an interrupted pruning is simply run again. Revisions left empty are
removed; revisions left in part are listed as
:class:`~revy.contrib.django.ledger.PartlyPrunedRevision` (``revert()``
refuses them). Under tamper evidence, the seals of the revisions a batch
touched are recorded in its amendment and replaced by seals of what stays,
so ``revy_verify`` still passes (decision 0020).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models import Q
from django.utils import timezone

from revy.contrib.django import amendments, conf
from revy.contrib.django.actors import DeletedActor
from revy.contrib.django.appendonly import declared
from revy.contrib.django.foldkeys import move_below_every_key
from revy.contrib.django.inheritance import children_of
from revy.contrib.django.ledger import Amendment

__all__ = ["FOLD_DESCRIPTION", "PruneSummary", "objects_before", "prune"]

FOLD_DESCRIPTION = "The state before {cut}: earlier history folded by pruning."


class ObjectKey(NamedTuple):
    """One object of the history: its content type and key text."""

    content_type_id: int
    content_id: str


@dataclass
class PruneSummary:
    """What :func:`prune` did (or, dry, would do)."""

    objects: int = 0  # Objects whose history was folded or removed.
    moved: int = 0  # Deltas before the cut kept, moved below every key.
    folds: int = 0  # Full-state rows written.
    object_deltas: int = 0  # Object deltas removed (folds not counted).
    attribute_deltas: int = 0  # Attribute deltas removed.
    revisions: int = 0  # Revisions removed whole.
    partly_pruned: int = 0  # Revisions left in part.
    amendments: list[int] = field(default_factory=list)
    dry_run: bool = False

    def add(self, other: PruneSummary) -> None:
        for name in (
            "objects",
            "moved",
            "folds",
            "object_deltas",
            "attribute_deltas",
            "revisions",
            "partly_pruned",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.amendments += other.amendments


class _Delta(NamedTuple):
    pk: int
    revision_id: int
    action: str
    before_cut: bool


class _Plan(NamedTuple):
    """What one batch changes."""

    removed: list[int]  # Object deltas deleted.
    folds: dict[int, ObjectKey]  # Object deltas that become folds.
    touched: set[int]  # Revisions that lose or change deltas.
    objects: int
    # The rest of the history before the cut, which is kept (a create or
    # baseline alone, the revisions kept): moved below every key unchanged
    # (delta -> its revision).
    unchanged: dict[int, int]


def _aware(point: datetime.datetime) -> datetime.datetime:
    if timezone.is_naive(point):
        return timezone.make_aware(point)
    return point


def _content_types(
    selected: Iterable[type[models.Model]] | None, using: str
) -> list[int] | None:
    """The content types of ``selected`` models and their multi-table
    children (None: every model)."""
    if selected is None:
        return None
    wanted: list[type[models.Model]] = []
    for model in selected:
        concrete = model._meta.concrete_model
        wanted += [concrete, *children_of(concrete)]
    found = ContentType.objects.db_manager(using).get_for_models(
        *wanted, for_concrete_models=True
    )
    return sorted({content_type.pk for content_type in found.values()})


def objects_before(
    before: datetime.datetime,
    models_: Iterable[type[models.Model]] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[ObjectKey]:
    """The objects with history recorded before ``before``, in key order."""
    deltas = conf.history_models().object_delta.objects.using(using)
    deltas = deltas.filter(revision__created_at__lt=_aware(before))
    content_types = _content_types(models_, using)
    if content_types is not None:
        deltas = deltas.filter(content_type__in=content_types)
    return [
        ObjectKey(*row)
        for row in deltas.order_by("content_type_id", "content_id")
        .values_list("content_type_id", "content_id")
        .distinct()
    ]


def _batches(items: Sequence[ObjectKey], size: int) -> Iterator[list[ObjectKey]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def prune(
    before: datetime.datetime,
    *,
    keep_revisions: int = 0,
    models: Iterable[type[models.Model]] | None = None,
    batch_size: int = 500,
    dry_run: bool = False,
    actor: models.Model | DeletedActor | None = None,
    description: str = "",
    using: str = DEFAULT_DB_ALIAS,
    progress: Callable[[int], None] | None = None,
) -> PruneSummary:
    """Fold the history recorded before ``before`` (revisions created
    earlier), keeping at least the last ``keep_revisions`` revisions of each
    object, for ``models`` (default: all). Runs ``batch_size`` objects per
    transaction, each recorded as an amendment by ``actor``; ``progress`` is
    called with the number of objects each batch handled. ``dry_run`` counts
    and changes nothing."""
    if keep_revisions < 0:
        raise ValueError(f"keep_revisions must be 0 or more, not {keep_revisions}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more, not {batch_size}.")
    cut = _aware(before)
    summary = PruneSummary(dry_run=dry_run)
    causes = amendments.causes_set_to_null(using)
    for batch in _batches(objects_before(cut, models, using), batch_size):
        with transaction.atomic(using=using), declared(Amendment.KIND_PRUNE, using):
            done = _prune_batch(
                batch, cut, keep_revisions, dry_run, actor, description, causes, using
            )
        summary.add(done)
        if progress is not None:
            progress(len(batch))
    return summary


def _history_of(
    batch: list[ObjectKey], cut: datetime.datetime, using: str
) -> dict[ObjectKey, list[_Delta]]:
    """Each object's deltas, oldest first."""
    by_type: dict[int, list[str]] = {}
    for key in batch:
        by_type.setdefault(key.content_type_id, []).append(key.content_id)
    wanted = Q(pk__in=[])
    for content_type_id, ids in by_type.items():
        wanted |= Q(content_type_id=content_type_id, content_id__in=ids)
    found: dict[ObjectKey, list[_Delta]] = {}
    for row in (
        conf.history_models()
        .object_delta.objects.using(using)
        .filter(wanted)
        .order_by("pk")
        .values_list(
            "content_type_id",
            "content_id",
            "pk",
            "revision_id",
            "action",
            "revision__created_at",
        )
    ):
        found.setdefault(ObjectKey(row[0], row[1]), []).append(
            _Delta(row[2], row[3], row[4], row[5] < cut)
        )
    return found


def _prefix(deltas: list[_Delta], keep_revisions: int) -> list[_Delta]:
    """The deltas to fold: the leading ones before the cut, less those of
    the object's last ``keep_revisions`` revisions."""
    kept: set[int] = set()
    for delta in reversed(deltas):
        if len(kept) >= keep_revisions:
            break
        kept.add(delta.revision_id)
    prefix = []
    for delta in deltas:
        if not delta.before_cut or delta.revision_id in kept:
            break
        prefix.append(delta)
    return prefix


def _plan(
    batch: list[ObjectKey], cut: datetime.datetime, keep: int, using: str
) -> _Plan:
    history = _history_of(batch, cut, using)
    delete = conf.history_models().object_delta.ACTION_DELETE
    removed: list[int] = []
    folds: dict[int, ObjectKey] = {}
    touched: set[int] = set()
    unchanged: dict[int, int] = {}
    objects = 0
    object_delta = conf.history_models().object_delta
    full = (object_delta.ACTION_CREATE, object_delta.ACTION_BASELINE)
    for key, deltas in history.items():
        prefix = _prefix(deltas, keep)
        # One full state already (a create, or a fold of an earlier
        # pruning) has nothing to fold.
        if len(prefix) > 1 or (prefix and prefix[0].action not in full):
            objects += 1
            touched.update(delta.revision_id for delta in prefix)
            if prefix[-1].action == delete:
                removed += [delta.pk for delta in prefix]
            else:
                removed += [delta.pk for delta in prefix[:-1]]
                folds[prefix[-1].pk] = key
            leaving = {delta.pk for delta in prefix}
        else:
            leaving = set()
        # What stays of the history before the cut leaves the keys of its
        # time as the fold does, in the same order (kept revisions too).
        for delta in deltas:
            if not delta.before_cut:
                break
            if delta.pk > 0 and delta.pk not in leaving:
                unchanged[delta.pk] = delta.revision_id
    return _Plan(removed, folds, touched, objects, unchanged)


def _prune_batch(
    batch: list[ObjectKey],
    cut: datetime.datetime,
    keep: int,
    dry_run: bool,
    actor: Any,
    description: str,
    causes: dict[int, Any],
    using: str,
) -> PruneSummary:
    history = conf.history_models()
    plan = _plan(batch, cut, keep, using)
    affected = [*plan.removed, *plan.folds]
    attributes = history.attribute_delta.objects.using(using).filter(
        object_delta__in=affected
    )
    summary = PruneSummary(
        objects=plan.objects,
        moved=len(plan.unchanged),
        folds=len(plan.folds),
        object_deltas=len(plan.removed),
        dry_run=dry_run,
    )
    if not plan.objects and not plan.unchanged:
        return summary
    kept_attributes = _fold_attributes(plan, using, dry_run)
    summary.attribute_deltas = attributes.count() - len(kept_attributes)
    if dry_run:
        summary.revisions = len(
            plan.touched
            - set(
                history.object_delta.objects.using(using)
                .filter(revision__in=plan.touched)
                .exclude(pk__in=plan.removed)
                .values_list("revision_id", flat=True)
            )
        )
        summary.partly_pruned = len(plan.touched) - summary.revisions
        return summary
    # A cause moved or set to null earlier is recorded as it was first.
    nulled = [
        (pk, causes.get(pk, cause))
        for pk, cause in history.object_delta.objects.using(using)
        .filter(cause__in=plan.removed)
        .exclude(pk__in=plan.removed)
        .values_list("pk", "cause_id")
    ]
    causes.update(dict(nulled))
    attributes.exclude(pk__in=kept_attributes).delete()
    history.object_delta.objects.using(using).filter(
        pk__in=[pk for pk, _cause in nulled]
    ).update(cause=None)
    doomed = history.object_delta.objects.using(using).filter(pk__in=plan.removed)
    doomed.filter(cause__isnull=False).update(cause=None)
    doomed.delete()
    history.object_delta.objects.using(using).filter(pk__in=plan.folds).update(
        action=history.object_delta.ACTION_BASELINE,
        cause=None,
        description=FOLD_DESCRIPTION.format(cut=cut.isoformat()),
        deletion_description="",
    )
    moved = move_below_every_key([*plan.folds, *plan.unchanged], using)
    for pk, fold in moved.causes:
        causes.setdefault(pk, fold)
    resealed = plan.touched | set(plan.unchanged.values())
    staying = set(
        history.object_delta.objects.using(using)
        .filter(revision__in=plan.touched)
        .values_list("revision_id", flat=True)
    )
    gone = sorted(plan.touched - staying)
    details = {
        "before": cut.isoformat(),
        "keep_revisions": keep,
        "objects": plan.objects,
        "folds": [[old, moved.keys[old]] for old in sorted(plan.folds)],
        "moved": [[old, moved.keys[old]] for old in sorted(plan.unchanged)],
        "object_deltas": len(plan.removed),
        "attribute_deltas": summary.attribute_deltas,
        "revisions": gone,
        "partly_pruned": sorted(staying),
        "seals": amendments.seals_of(resealed, using),
        "causes": [[pk, causes[pk]] for pk, _cause in [*nulled, *moved.causes]],
    }
    amendment = amendments.record(
        Amendment.KIND_PRUNE, actor, description, details, using
    )
    amendments.reseal(resealed, using, causes)
    partly = apps.get_model("revy", "PartlyPrunedRevision").objects.using(using)
    partly.filter(revision_id__in=gone).delete()
    known = set(
        partly.filter(revision_id__in=staying).values_list("revision_id", flat=True)
    )
    partly.bulk_create(
        [
            partly.model(revision_id=revision_id, amendment=amendment)
            for revision_id in sorted(staying - known)
        ]
    )
    history.revision.objects.using(using).filter(pk__in=gone).delete()
    summary.revisions, summary.partly_pruned = len(gone), len(staying)
    summary.amendments = [amendment.pk]
    return summary


def _fold_attributes(plan: _Plan, using: str, dry_run: bool) -> list[int]:
    """Move onto each fold the latest attribute delta of each field before
    it (a relation's holding its full membership); the keys moved."""
    history = conf.history_models()
    fold_of: dict[int, int] = {}  # Folded object delta -> its fold.
    fold_by_key = {key: fold for fold, key in plan.folds.items()}
    actions: dict[int, str] = {}
    for pk, action, content_type_id, content_id in (
        history.object_delta.objects.using(using)
        .filter(pk__in=[*plan.removed, *plan.folds])
        .values_list("pk", "action", "content_type_id", "content_id")
    ):
        actions[pk] = action
        fold = fold_by_key.get(ObjectKey(content_type_id, content_id))
        if fold is not None:
            fold_of[pk] = fold
    latest: dict[tuple[int, str], int] = {}
    relations: dict[tuple[int, str], list[int]] = {}
    relation_names = _relation_names(plan)
    for pk, delta, name in (
        history.attribute_delta.objects.using(using)
        .filter(object_delta__in=list(fold_of))
        .order_by("object_delta_id", "pk")
        .values_list("pk", "object_delta_id", "field_name")
    ):
        fold = fold_of[delta]
        if name in relation_names[plan.folds[fold].content_type_id]:
            relations.setdefault((fold, name), []).append(pk)
        elif actions[delta] == history.object_delta.ACTION_DELETE:
            # Made again since without this field: unknown, as snapshots say.
            latest.pop((fold, name), None)
        else:
            latest[fold, name] = pk
    moved = [*latest.values(), *(pks[-1] for pks in relations.values())]
    if dry_run:
        return moved
    by_fold: dict[int, list[int]] = {}
    for (fold, _name), pk in latest.items():
        by_fold.setdefault(fold, []).append(pk)
    attributes = history.attribute_delta.objects.using(using)
    # One small statement per fold: a CASE over the batch, or a correlated
    # subquery, took longer to compile (or, on SQLite, to run).
    for fold, pks in by_fold.items():
        attributes.filter(pk__in=pks).update(object_delta=fold, old_value=None)
    members = _memberships(relations, using)
    for (fold, _name), pks in relations.items():
        attributes.filter(pk=pks[-1]).update(
            object_delta=fold, old_value=None, new_value=members[pks[-1]]
        )
    return moved


def _relation_names(plan: _Plan) -> dict[int, set[str]]:
    """The names under which each folded model's many-to-many relations are
    recorded, both ends. Every other name is a field's, a removed one's too."""
    names = {}
    for content_type_id in {key.content_type_id for key in plan.folds.values()}:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        names[content_type_id] = {
            field.get_accessor_name() if field.auto_created else field.name
            for field in (model._meta.get_fields() if model else ())
            if field.many_to_many
        }
    return names


def _memberships(
    relations: dict[tuple[int, str], list[int]], using: str
) -> dict[int, list[Any]]:
    """The full membership each relation's changes add up to, by the key of
    its latest attribute delta (replayed as ``members_as_of`` does: a fold
    is the first delta of its object, so its full membership starts it)."""
    wanted = [pk for pks in relations.values() for pk in pks]
    if not wanted:
        return {}
    rows = {
        pk: (removed, added)
        for pk, removed, added in conf.history_models()
        .attribute_delta.objects.using(using)
        .filter(pk__in=wanted)
        .values_list("pk", "old_value", "new_value")
    }
    found = {}
    for pks in relations.values():
        members: set[Any] = set()
        for pk in pks:
            removed, added = rows[pk]
            members.difference_update(removed or ())
            members.update(added or ())
        found[pks[-1]] = sorted(members)
    return found
