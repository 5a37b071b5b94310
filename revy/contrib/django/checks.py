"""System checks: a revy setting with a wrong value fails ``manage.py check``."""

from __future__ import annotations

import difflib
import fnmatch
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

_MODEL_SETTINGS = {
    "REVY_REVISION_MODEL": "AbstractRevision",
    "REVY_OBJECT_DELTA_MODEL": "AbstractObjectDelta",
    "REVY_ATTRIBUTE_DELTA_MODEL": "AbstractAttributeDelta",
}


def _error(setting: str, message: str, number: int) -> checks.Error:
    return checks.Error(f"{setting} {message}", id=f"revy.E{number:03d}")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = _unknown_settings()
    missing = object()

    for number, name in enumerate(("REVY_TRACKED_MODELS", "REVY_UNTRACKED_MODELS"), 1):
        value = getattr(settings, name, missing)
        if value is missing:
            continue
        if (
            isinstance(value, str)
            or not isinstance(value, list | tuple)
            or not all(isinstance(p, str) for p in value)
        ):
            errors.append(
                _error(
                    name,
                    f"must be a list of model label patterns "
                    f"such as ['blog.*', 'shop.Order'], not {value!r}.",
                    number,
                )
            )
            continue
        # A pattern that matches nothing is most likely misspelt: the model
        # it means would silently be tracked (or not). Patterns apply to
        # concrete models: a proxy is recorded as its concrete model.
        labels = [m._meta.label_lower for m in apps.get_models() if not m._meta.proxy]
        proxies = {
            m._meta.label_lower: m._meta.concrete_model._meta.label
            for m in apps.get_models()
            if m._meta.proxy
        }
        for pattern in value:
            if fnmatch.filter(labels, pattern.lower()):
                continue
            concrete = sorted(
                {proxies[p] for p in fnmatch.filter(proxies, pattern.lower())}
            )
            if concrete:
                errors.append(
                    _error(
                        name,
                        f"pattern {pattern!r} matches only proxy models, which "
                        f"are recorded as their concrete model: name "
                        f"{', '.join(concrete)} instead.",
                        15,
                    )
                )
            else:
                errors.append(
                    _error(
                        name,
                        f"pattern {pattern!r} matches no installed model; "
                        "a pattern is a model label such as 'blog.Post', or "
                        "an fnmatch pattern over labels such as 'blog.*'.",
                        14,
                    )
                )

    value = getattr(settings, "REVY_RECORD_OUTSIDE_CONTEXT", missing)
    if value is not missing and not isinstance(value, bool):
        errors.append(
            _error(
                "REVY_RECORD_OUTSIDE_CONTEXT",
                f"must be True or False, not {value!r}.",
                3,
            )
        )

    for number, name in (
        (4, "REVY_BATCH_SIZE"),
        (5, "REVY_REVISION_DESCRIPTION_MAX_LENGTH"),
    ):
        value = getattr(settings, name, missing)
        if value is not missing and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            errors.append(
                _error(name, f"must be a positive integer, not {value!r}.", number)
            )

    value = getattr(settings, "REVY_REVISION_DESCRIPTION_HEADER", missing)
    if value is not missing and not isinstance(value, str):
        errors.append(
            _error(
                "REVY_REVISION_DESCRIPTION_HEADER",
                f"must be a header name such as 'X-Commit-Message', not {value!r}.",
                6,
            )
        )

    value = getattr(settings, "REVY_VALUE_ENCODER", missing)
    if value is not missing:
        # revy calls what the path names with no arguments, once.
        factory, encoder, problem = _import(value), None, ""
        try:
            encoder = factory() if callable(factory) else None
        except Exception as error:
            problem = f" ({value!r}() fails: {error})"
        if encoder is None or not all(
            callable(getattr(encoder, m, None)) for m in ("encode", "decode")
        ):
            errors.append(
                _error(
                    "REVY_VALUE_ENCODER",
                    f"must be the dotted path of a class with encode() and "
                    f"decode() methods, made with no arguments, not "
                    f"{value!r}{problem}.",
                    7,
                )
            )

    value = getattr(settings, "REVY_ACTOR_RESOLVERS", missing)
    if value is not missing:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            bad = [value]
        else:
            bad = [path for path in value if not callable(_import(path))]
        if bad:
            errors.append(
                _error(
                    "REVY_ACTOR_RESOLVERS",
                    f"must list dotted paths of callables of the request; "
                    f"these are not: {', '.join(map(repr, bad))}.",
                    8,
                )
            )

    # A swapped model's foreign keys name the setting of the model they point
    # to, so makemigrations needs that setting too.
    for number, (name, needs) in enumerate(
        (
            ("REVY_OBJECT_DELTA_MODEL", "REVY_REVISION_MODEL"),
            ("REVY_ATTRIBUTE_DELTA_MODEL", "REVY_OBJECT_DELTA_MODEL"),
        ),
        12,
    ):
        if hasattr(settings, name) and not hasattr(settings, needs):
            errors.append(
                _error(
                    name,
                    f"is set but {needs} is not: set {needs} too "
                    "(to its default if you keep revy's model).",
                    number,
                )
            )

    from revy.contrib.django import models as revy_models

    for number, (name, base_name) in enumerate(_MODEL_SETTINGS.items(), 9):
        value = getattr(settings, name, missing)
        if value is missing:
            continue
        base = getattr(revy_models, base_name)
        try:
            model = apps.get_model(value, require_ready=False)
        except (LookupError, ValueError, AttributeError):
            errors.append(
                _error(
                    name,
                    f"refers to {value!r}, which is not an "
                    "installed model ('app_label.ModelName').",
                    number,
                )
            )
            continue
        if not issubclass(model, base):
            errors.append(
                _error(
                    name,
                    f"refers to {value!r}, which does not subclass revy's {base_name}.",
                    number,
                )
            )
    return errors


def _unknown_settings() -> list[checks.CheckMessage]:
    """A REVY_ setting revy does not read, such as a misspelt one, is
    ignored: say so (a warning: the project may own names like it)."""
    from revy.contrib.django import conf

    warnings: list[checks.CheckMessage] = []
    for name in dir(settings):
        if name.startswith("REVY_") and name not in conf.SETTINGS:
            close = difflib.get_close_matches(name, conf.SETTINGS, n=1)
            hint = f"Did you mean {close[0]}?" if close else None
            warnings.append(
                checks.Warning(
                    f"{name} is not a revy setting, so revy ignores it.",
                    hint=hint,
                    id="revy.W001",
                )
            )
    return warnings


def _import(path: Any) -> Any:
    if not isinstance(path, str):
        return None
    try:
        return import_string(path)
    except ImportError:
        return None


def register() -> None:
    checks.register(check_settings, "revy")
