"""revy's settings, each read from ``django.conf.settings`` when it is needed.

Nothing here is cached across calls or written back into settings, so
``override_settings`` works everywhere. ``checks.py`` validates the values.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string

DEFAULT_REVISION_MODEL = "revy.Revision"
DEFAULT_OBJECT_DELTA_MODEL = "revy.ObjectDelta"
DEFAULT_ATTRIBUTE_DELTA_MODEL = "revy.AttributeDelta"

# Django's own bookkeeping, never tracked whatever REVY_TRACKED_MODELS says.
ALWAYS_UNTRACKED = (
    "revy.*",
    "contenttypes.*",
    "sessions.*",
    "admin.logentry",
    "auth.permission",
    "migrations.*",
)


def revision_model_label() -> str:
    """``REVY_REVISION_MODEL``: the Revision model, as ``"app_label.ModelName"``."""
    return getattr(settings, "REVY_REVISION_MODEL", DEFAULT_REVISION_MODEL)


def object_delta_model_label() -> str:
    """``REVY_OBJECT_DELTA_MODEL``: the ObjectDelta model."""
    return getattr(settings, "REVY_OBJECT_DELTA_MODEL", DEFAULT_OBJECT_DELTA_MODEL)


def attribute_delta_model_label() -> str:
    """``REVY_ATTRIBUTE_DELTA_MODEL``: the AttributeDelta model."""
    return getattr(
        settings, "REVY_ATTRIBUTE_DELTA_MODEL", DEFAULT_ATTRIBUTE_DELTA_MODEL
    )


def tracked_models() -> Sequence[str]:
    """``REVY_TRACKED_MODELS``: patterns of the models to track.

    A pattern is a model label or an fnmatch pattern over labels, matched
    case-insensitively: ``"blog.Post"``, ``"blog.*"``. Default: ``["*"]``.
    """
    return getattr(settings, "REVY_TRACKED_MODELS", ("*",))


def untracked_models() -> Sequence[str]:
    """``REVY_UNTRACKED_MODELS``: patterns of models never to track. Default: none.

    revy's own models and Django's bookkeeping models (sessions, content
    types, permissions, admin log entries) are never tracked.
    """
    return getattr(settings, "REVY_UNTRACKED_MODELS", ())


def record_outside_context() -> bool:
    """``REVY_RECORD_OUTSIDE_CONTEXT``: record changes made outside any context.

    Default False: as upstream revy, nothing is recorded outside a context.
    When True, such a change is recorded in a revision of its own, by the
    system (actor None).
    """
    return getattr(settings, "REVY_RECORD_OUTSIDE_CONTEXT", False)


def value_encoder() -> Any:
    """``REVY_VALUE_ENCODER``: dotted path of the value encoder class.

    Default ``"revy.contrib.django.encoding.ValueEncoder"``.
    """
    path = getattr(
        settings, "REVY_VALUE_ENCODER", "revy.contrib.django.encoding.ValueEncoder"
    )
    return _import_instance(path)


def batch_size() -> int:
    """``REVY_BATCH_SIZE``: rows revy reads or writes per query, at most.

    Default 2000; the database's own limits may make batches smaller.
    """
    return getattr(settings, "REVY_BATCH_SIZE", 2000)


def actor_resolvers() -> list[Callable[[Any], Any]]:
    """``REVY_ACTOR_RESOLVERS``: dotted paths of callables of the request.

    The middleware asks each in turn and takes the first answer that is not
    None. Default: ``["revy.contrib.django.actors.authenticated_user"]``.
    """
    paths = getattr(
        settings,
        "REVY_ACTOR_RESOLVERS",
        ("revy.contrib.django.actors.authenticated_user",),
    )
    return [_import(path) for path in paths]


def revision_description_header() -> str:
    """``REVY_REVISION_DESCRIPTION_HEADER``: the request header that describes
    the revision. Default ``"X-Commit-Message"``; an empty string turns it off.
    """
    return getattr(settings, "REVY_REVISION_DESCRIPTION_HEADER", "X-Commit-Message")


def revision_description_max_length() -> int:
    """``REVY_REVISION_DESCRIPTION_MAX_LENGTH``: longer header values are cut.

    Default 1000 characters.
    """
    return getattr(settings, "REVY_REVISION_DESCRIPTION_MAX_LENGTH", 1000)


def is_tracked(model: type[models.Model]) -> bool:
    """Whether changes to ``model`` are recorded, under the current settings.

    Automatically created models (the tables behind many-to-many fields) are
    not: their changes are recorded on the objects they relate.
    """
    if model._meta.auto_created:
        return False
    return _is_tracked(
        model._meta.concrete_model._meta.label_lower,
        tuple(tracked_models()),
        tuple(untracked_models()),
    )


@functools.lru_cache(maxsize=4096)
def _is_tracked(label: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    from revy.contrib.django.models import history_model_labels

    if label in history_model_labels():
        return False

    def matches(patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(label, p.lower()) for p in patterns)

    return matches(include) and not matches(exclude + ALWAYS_UNTRACKED)


@functools.lru_cache(maxsize=64)
def _import(path: str) -> Any:
    return import_string(path)


@functools.lru_cache(maxsize=64)
def _import_instance(path: str) -> Any:
    return import_string(path)()
