"""revy's settings, each read from ``django.conf.settings`` when it is needed.

A value read is kept while the same settings are in force and until
Django's ``setting_changed`` signal says that one changed, since every
recorded change asks for several; so ``override_settings`` and
pytest-django's ``settings`` work everywhere. Nothing is written back into
settings. ``checks.py`` validates the values.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.utils.module_loading import import_string

DEFAULT_REVISION_MODEL = "revy.Revision"
DEFAULT_OBJECT_DELTA_MODEL = "revy.ObjectDelta"
DEFAULT_ATTRIBUTE_DELTA_MODEL = "revy.AttributeDelta"
DEFAULT_PROPOSAL_MODEL = "revy.Proposal"

# The settings that say which models are tracked.
TRACKING_SETTINGS = ("REVY_TRACKED_MODELS", "REVY_UNTRACKED_MODELS")
# Every setting revy reads; ``check`` warns of other REVY_ names.
SETTINGS = (
    "REVY_REVISION_MODEL",
    "REVY_OBJECT_DELTA_MODEL",
    "REVY_ATTRIBUTE_DELTA_MODEL",
    "REVY_TRACKED_MODELS",
    "REVY_UNTRACKED_MODELS",
    "REVY_RECORD_OUTSIDE_CONTEXT",
    "REVY_READ_BEFORE_SAVE",
    "REVY_HISTORY_IN_SQL",
    "REVY_VALUE_ENCODER",
    "REVY_BATCH_SIZE",
    "REVY_ACTOR_RESOLVERS",
    "REVY_REVISION_DESCRIPTION_HEADER",
    "REVY_REVISION_DESCRIPTION_MAX_LENGTH",
    "REVY_PROPOSAL_MODEL",
    "REVY_ACTOR_MODELS",
    "REVY_PERSONAL_DATA",
    "REVY_TAMPER_EVIDENCE",
    "REVY_INTEGRITY_KEY",
    "REVY_EXCLUDED_FIELDS",
    "REVY_EXCLUDE_AUTO_NOW",
    "REVY_MASKED_FIELDS",
    "REVY_PARTITION_SIZE",
    "REVY_PARTITIONS_AHEAD",
)

# Django's own bookkeeping, never tracked whatever REVY_TRACKED_MODELS says.
ALWAYS_UNTRACKED = (
    "revy.*",
    "contenttypes.*",
    "sessions.*",
    "admin.logentry",
    "auth.permission",
    "migrations.*",
    # REST framework's tokens (secrets), task queues' results.
    "authtoken.*",
    "django_tasks_database.*",
    "django_celery_results.*",
)


def revision_model_label() -> str:
    """``REVY_REVISION_MODEL``: the Revision model, as ``"app_label.ModelName"``."""
    return _setting("REVY_REVISION_MODEL", DEFAULT_REVISION_MODEL)


def object_delta_model_label() -> str:
    """``REVY_OBJECT_DELTA_MODEL``: the ObjectDelta model."""
    return _setting("REVY_OBJECT_DELTA_MODEL", DEFAULT_OBJECT_DELTA_MODEL)


def attribute_delta_model_label() -> str:
    """``REVY_ATTRIBUTE_DELTA_MODEL``: the AttributeDelta model."""
    return _setting("REVY_ATTRIBUTE_DELTA_MODEL", DEFAULT_ATTRIBUTE_DELTA_MODEL)


def proposal_model_label() -> str:
    """``REVY_PROPOSAL_MODEL``: the Proposal model (proposals.md)."""
    return _setting("REVY_PROPOSAL_MODEL", DEFAULT_PROPOSAL_MODEL)


def proposal_model() -> Any:
    """The Proposal model class ``REVY_PROPOSAL_MODEL`` names."""
    return _model(proposal_model_label())


def tracked_models() -> Sequence[str]:
    """``REVY_TRACKED_MODELS``: patterns of the models to track.

    A pattern is a model label or an fnmatch pattern over labels, matched
    case-insensitively: ``"blog.Post"``, ``"blog.*"``. Default: ``["*"]``.
    """
    return _setting("REVY_TRACKED_MODELS", ("*",))


def untracked_models() -> Sequence[str]:
    """``REVY_UNTRACKED_MODELS``: patterns of models never to track. Default: none.

    revy's own models and Django's bookkeeping models (sessions, content
    types, permissions, admin log entries, REST framework's tokens, task
    results) are never tracked.
    """
    return _setting("REVY_UNTRACKED_MODELS", ())


def record_outside_context() -> bool:
    """``REVY_RECORD_OUTSIDE_CONTEXT``: record changes made outside any context.

    Default False: as upstream revy, nothing is recorded outside a context.
    When True, such a change is recorded in a revision of its own, by the
    system (actor None).
    """
    return _setting("REVY_RECORD_OUTSIDE_CONTEXT", False)


def read_before_save() -> bool:
    """``REVY_READ_BEFORE_SAVE``: a save reads the row it overwrites.

    Default True: each save of an existing row reads the fields it writes,
    locked until the transaction ends, so history holds what the row held
    even when the instance is stale (the row was changed by a
    ``QuerySet.update()``, another instance or another connection since it
    was loaded). False trusts what the instance remembers from loading:
    one query fewer per save, and a stale instance's save may be recorded
    wrongly or not at all (decision 0017).
    """
    return _setting("REVY_READ_BEFORE_SAVE", True)


def history_in_sql() -> bool:
    """``REVY_HISTORY_IN_SQL``: the database writes the history of a
    ``QuerySet.update()``, and of the deletes Django makes by filter, from
    the rows they change.

    Default True, where every field recorded has an SQL encoding equal to
    ``ValueEncoder``'s on the database (see docs/capture.md); else, and when
    False, revy reads and records the rows in Python, a batch at a time.
    """
    return _setting("REVY_HISTORY_IN_SQL", True)


def value_encoder() -> Any:
    """``REVY_VALUE_ENCODER``: dotted path of the value encoder class.

    Default ``"revy.contrib.django.encoding.ValueEncoder"``.
    """
    path = _setting("REVY_VALUE_ENCODER", "revy.contrib.django.encoding.ValueEncoder")
    return _import_instance(path)


def batch_size() -> int:
    """``REVY_BATCH_SIZE``: rows revy reads or writes per query, at most.

    Default 2000; the database's own limits may make batches smaller.
    """
    return _setting("REVY_BATCH_SIZE", 2000)


def partition_size() -> int:
    """``REVY_PARTITION_SIZE``: keys per partition of partitioned history
    (PostgreSQL, ``manage.py revy_partitions``). Default 10,000,000."""
    return _setting("REVY_PARTITION_SIZE", 10_000_000)


def partitions_ahead() -> int:
    """``REVY_PARTITIONS_AHEAD``: partitions ``manage.py revy_partitions``
    keeps ready beyond the one being written. Default 2."""
    return _setting("REVY_PARTITIONS_AHEAD", 2)


def actor_resolvers() -> list[Callable[[Any], Any]]:
    """``REVY_ACTOR_RESOLVERS``: dotted paths of callables of the request.

    The middleware asks each in turn and takes the first answer that is not
    None. Default: ``["revy.contrib.django.actors.authenticated_user"]``.
    """
    paths = _setting(
        "REVY_ACTOR_RESOLVERS",
        ("revy.contrib.django.actors.authenticated_user",),
    )
    return [_import(path) for path in paths]


def revision_description_header() -> str:
    """``REVY_REVISION_DESCRIPTION_HEADER``: the request header that describes
    the revision. Default ``"X-Commit-Message"``; an empty string turns it off.
    """
    return _setting("REVY_REVISION_DESCRIPTION_HEADER", "X-Commit-Message")


def revision_description_max_length() -> int:
    """``REVY_REVISION_DESCRIPTION_MAX_LENGTH``: longer header values are cut.

    Default 1000 characters.
    """
    return _setting("REVY_REVISION_DESCRIPTION_MAX_LENGTH", 1000)


def actor_models() -> Sequence[str]:
    """``REVY_ACTOR_MODELS``: labels of the models whose rows act.

    When such a row is deleted, revy records it, so that a new row given its
    key is not credited with what it did (docs/integrity.md). Default: the
    user model, ``[AUTH_USER_MODEL]``.
    """
    return _setting("REVY_ACTOR_MODELS", (settings.AUTH_USER_MODEL,))


def personal_data() -> dict[str, Sequence[str]]:
    """``REVY_PERSONAL_DATA``: ``{"app_label.ModelName": [field names]}``,
    the fields that hold personal data.

    ``redact_actor()`` and ``manage.py revy_redact --actor`` erase them, and
    the admin masks them as it masks passwords. Default: none.
    """
    return _setting("REVY_PERSONAL_DATA", {})


def personal_data_fields(model: type[models.Model]) -> frozenset[str]:
    """The names of ``model``'s fields that ``REVY_PERSONAL_DATA`` lists."""
    found = {label.lower(): names for label, names in personal_data().items()}
    return frozenset(found.get(model._meta.label_lower, ()))


def excluded_fields_setting() -> dict[str, Sequence[str]]:
    """``REVY_EXCLUDED_FIELDS``: ``{"app_label.ModelName": [field names]}``,
    fields left out of history. A save that changes only such fields
    records nothing; snapshots leave them deferred. Default: none."""
    return _setting("REVY_EXCLUDED_FIELDS", {})


def exclude_auto_now() -> bool:
    """``REVY_EXCLUDE_AUTO_NOW``: leave every ``auto_now`` field (a "last
    modified" time) out of history, so that a save changing nothing else
    records nothing. Default False."""
    return _setting("REVY_EXCLUDE_AUTO_NOW", False)


def masked_fields_setting() -> dict[str, Sequence[str]]:
    """``REVY_MASKED_FIELDS``: ``{"app_label.ModelName": [field names]}``,
    fields whose changes are recorded (when, by whom, why) with the marker
    of a redacted value instead of the values. Default: none."""
    return _setting("REVY_MASKED_FIELDS", {})


class FieldRules(NamedTuple):
    """The per-field rules of one model: names of the fields left out of
    history and of those recorded masked."""

    excluded: frozenset[str]
    masked: frozenset[str]


def field_rules(model: type[models.Model]) -> FieldRules:
    """The rules ``REVY_EXCLUDED_FIELDS``, ``REVY_EXCLUDE_AUTO_NOW`` and
    ``REVY_MASKED_FIELDS`` give ``model``'s fields, each named under the
    model that declares it (a multi-table child follows its parents')."""
    return kept("field_rules", dict).get(model) or _field_rules(model)


def _field_rules(model: type[models.Model]) -> FieldRules:
    excluded = _by_label(excluded_fields_setting())
    masked = _by_label(masked_fields_setting())
    labels = [m._meta.label_lower for m in (model, *model._meta.all_parents)]
    names = {name for label in labels for name in excluded.get(label, ())}
    if exclude_auto_now():
        names.update(
            field.name
            for field in model._meta.concrete_fields
            if getattr(field, "auto_now", False)
        )
    rules = FieldRules(
        frozenset(names),
        frozenset(name for label in labels for name in masked.get(label, ())),
    )
    kept("field_rules", dict)[model] = rules
    return rules


def _by_label(value: Any) -> dict[str, Sequence[str]]:
    if not isinstance(value, dict):
        return {}  # revy.E070 says what is wrong with it.
    return {str(label).lower(): names for label, names in value.items()}


def tamper_evidence() -> bool:
    """``REVY_TAMPER_EVIDENCE``: seal what each transaction writes with a
    keyed digest, for ``manage.py revy_verify``. Default False."""
    return _setting("REVY_TAMPER_EVIDENCE", False)


def integrity_key() -> bytes:
    """``REVY_INTEGRITY_KEY``: the secret of the digests (text or bytes).

    Keep it outside the database (an environment variable): whoever has it
    can make digests that verify. Required with ``REVY_TAMPER_EVIDENCE``.
    """
    key = _setting("REVY_INTEGRITY_KEY", None)
    if not key:
        raise ImproperlyConfigured(
            "REVY_TAMPER_EVIDENCE needs REVY_INTEGRITY_KEY, the secret of its "
            "digests, kept outside the database."
        )
    return key.encode() if isinstance(key, str) else bytes(key)


def is_tracked(model: type[models.Model]) -> bool:
    """Whether changes to ``model`` are recorded, under the current settings.

    Automatically created models (the tables behind many-to-many fields) are
    not: their changes are recorded on the objects they relate.
    """
    if model._meta.auto_created:
        return False
    _current()
    tracked = _tracked.get(model)
    if tracked is None:
        tracked = _tracked[model] = _is_tracked(
            model._meta.concrete_model._meta.label_lower,
            tuple(tracked_models()),
            tuple(untracked_models()),
        )
    return tracked


def _is_tracked(label: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    if label in history_model_labels():
        return False

    def matches(patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(label, p.lower()) for p in patterns)

    return matches(include) and not matches(exclude + ALWAYS_UNTRACKED)


class HistoryModels(NamedTuple):
    """The three history model classes in use."""

    revision: Any
    object_delta: Any
    attribute_delta: Any


def history_models() -> HistoryModels:
    """The Revision, ObjectDelta and AttributeDelta models the settings name."""
    return kept("history_models", _history_models)


def _history_models() -> HistoryModels:
    return HistoryModels(
        _model(revision_model_label()),
        _model(object_delta_model_label()),
        _model(attribute_delta_model_label()),
    )


def history_model_labels() -> frozenset[str]:
    """Lower-case labels of the history models in use, never tracked."""
    return frozenset(
        label.lower()
        for label in (
            revision_model_label(),
            object_delta_model_label(),
            attribute_delta_model_label(),
            proposal_model_label(),
        )
    )


@functools.cache
def _model(label: str) -> Any:
    # A label names the same class for good; apps may still be loading.
    return apps.get_model(label, require_ready=False)


_values: dict[Any, Any] = {}
_tracked: dict[type[models.Model], bool] = {}
_holder: list[Any] = [None]  # The settings object the values were read from.


def _current() -> None:
    """Forget what was read from settings that are no longer in force:
    ``override_settings`` puts a new settings object in place."""
    # Past LazySettings.__getattribute__: this runs for every value recorded.
    holder = object.__getattribute__(settings, "_wrapped")
    if holder is not _holder[0]:
        _forget()
        _holder[0] = holder


def _setting(name: str, default: Any) -> Any:
    """``settings.<name>``, or ``default`` when it is not set."""
    _current()
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = getattr(settings, name, default)
        return value


def kept(name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, a value derived from settings, computed once while the
    same settings are in force (as the settings themselves are)."""
    _current()
    key = ("kept", name)
    try:
        return _values[key]
    except KeyError:
        value = _values[key] = compute()
        return value


# Settings that swap a model: which models are installed depends on them.
_SWAPPING = frozenset(
    (
        "REVY_REVISION_MODEL",
        "REVY_OBJECT_DELTA_MODEL",
        "REVY_ATTRIBUTE_DELTA_MODEL",
        "REVY_PROPOSAL_MODEL",
    )
)


def _forget(setting: str = "", **kwargs: Any) -> None:
    _values.clear()
    _tracked.clear()
    if setting in _SWAPPING:
        apps.clear_cache()  # As Django does when AUTH_USER_MODEL changes.


setting_changed.connect(_forget, dispatch_uid="revy.conf")


@functools.lru_cache(maxsize=64)
def _import(path: str) -> Any:
    return import_string(path)


@functools.lru_cache(maxsize=64)
def _import_instance(path: str) -> Any:
    return import_string(path)()
