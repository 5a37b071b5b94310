"""System checks: a revy setting with a wrong value fails ``manage.py check``.

One function per check, each with the ids it reports written out, so that a
message's id leads here. docs/checks.md lists them all.
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from revy.contrib.django import conf
from revy.contrib.django.models import (
    AbstractAttributeDelta,
    AbstractObjectDelta,
    AbstractRevision,
)
from revy.contrib.django.proposals.models import AbstractProposal
from revy.contrib.django.rows import recorded_fields
from revy.contrib.django.schemachecks import (
    check_field_rules,
    check_history_against_migrations,
)

__all__ = ["register"]

Messages = list[checks.CheckMessage]
_MISSING = object()


def _setting(name: str) -> Any:
    return getattr(settings, name, _MISSING)


def check_unknown_settings(**kwargs: Any) -> Messages:
    """revy.W001: a REVY_ setting revy does not read, such as a misspelt
    one, is ignored (a warning: the project may own names like it)."""
    warnings: Messages = []
    for name in dir(settings):
        if name.startswith("REVY_") and name not in conf.SETTINGS:
            close = difflib.get_close_matches(name, conf.SETTINGS, n=1)
            warnings.append(
                checks.Warning(
                    f"{name} is not a revy setting, so revy ignores it.",
                    hint=f"Did you mean {close[0]}?" if close else None,
                    id="revy.W001",
                )
            )
    return warnings


def check_encodable_fields(**kwargs: Any) -> Messages:
    """revy.W002: a tracked field whose values the value encoder may not
    store as they are (a field of the project's own that converts values in
    its own way), named before a request finds out."""
    try:
        encoder = conf.value_encoder()
    except Exception:
        return []  # revy.E007 says why it cannot be made.
    can_encode = getattr(encoder, "can_encode", None)
    if can_encode is None:
        return []  # A project's own encoder answers for what it stores.
    try:
        tracked = [m for m in apps.get_models() if conf.is_tracked(m)]
    except (TypeError, AttributeError):
        return []  # revy.E001 and revy.E002 say what is wrong with the patterns.
    warnings: Messages = []
    for model in tracked:
        if model._meta.proxy:
            continue
        for field in recorded_fields(model):
            if field.model is model and not can_encode(field):
                warnings.append(
                    checks.Warning(
                        f"revy may not record {model._meta.label}.{field.name} "
                        f"as it is stored: {type(field).__name__} converts its "
                        "values in its own way.",
                        hint=(
                            "revy stores what get_prep_value() returns (text, "
                            "numbers, dates, UUIDs, bytes, or lists and dicts "
                            "of them) and reads it back with to_python(). If "
                            "that holds, set revy_encodable = True on the field "
                            "class; else set REVY_VALUE_ENCODER to an encoder "
                            "that stores it."
                        ),
                        obj=field,
                        id="revy.W002",
                    )
                )
    return warnings


def check_tracked_models(**kwargs: Any) -> Messages:
    """revy.E001, revy.E014, revy.E015: ``REVY_TRACKED_MODELS``."""
    return _model_patterns("REVY_TRACKED_MODELS", "revy.E001")


def check_untracked_models(**kwargs: Any) -> Messages:
    """revy.E002, revy.E014, revy.E015: ``REVY_UNTRACKED_MODELS``."""
    return _model_patterns("REVY_UNTRACKED_MODELS", "revy.E002")


def _model_patterns(name: str, wrong_type_id: str) -> Messages:
    value = _setting(name)
    if value is _MISSING:
        return []
    if (
        isinstance(value, str)
        or not isinstance(value, list | tuple)
        or not all(isinstance(p, str) for p in value)
    ):
        return [
            checks.Error(
                f"{name} must be a list of model label patterns such as "
                f"['blog.*', 'shop.Order'], not {value!r}.",
                id=wrong_type_id,
            )
        ]
    # A pattern that matches nothing is most likely misspelt: the model it
    # means would silently be tracked (or not). Patterns apply to concrete
    # models: a proxy is recorded as its concrete model.
    labels = [m._meta.label_lower for m in apps.get_models() if not m._meta.proxy]
    proxies = {
        m._meta.label_lower: m._meta.concrete_model._meta.label
        for m in apps.get_models()
        if m._meta.proxy
    }
    errors: Messages = []
    for pattern in value:
        if fnmatch.filter(labels, pattern.lower()):
            continue
        concrete = sorted(
            {proxies[p] for p in fnmatch.filter(proxies, pattern.lower())}
        )
        if concrete:
            errors.append(
                checks.Error(
                    f"{name} pattern {pattern!r} matches only proxy models, which "
                    f"are recorded as their concrete model: name "
                    f"{', '.join(concrete)} instead.",
                    id="revy.E015",
                )
            )
        else:
            errors.append(
                checks.Error(
                    f"{name} pattern {pattern!r} matches no installed model; a "
                    "pattern is a model label such as 'blog.Post', or an fnmatch "
                    "pattern over labels such as 'blog.*'.",
                    id="revy.E014",
                )
            )
    return errors


# The settings that are True or False, with the id of the error of each.
_BOOLEANS = {
    "REVY_RECORD_OUTSIDE_CONTEXT": "revy.E003",
    "REVY_READ_BEFORE_SAVE": "revy.E016",
    "REVY_HISTORY_IN_SQL": "revy.E018",
}


def check_booleans(**kwargs: Any) -> Messages:
    """revy.E003, revy.E016, revy.E018: the settings of ``_BOOLEANS`` are
    True or False."""
    return [
        checks.Error(f"{name} must be True or False, not {value!r}.", id=check_id)
        for name, check_id in _BOOLEANS.items()
        if (value := _setting(name)) is not _MISSING and not isinstance(value, bool)
    ]


# The settings that count something, with the id of the error of each.
_COUNTS = {
    "REVY_BATCH_SIZE": "revy.E004",
    "REVY_REVISION_DESCRIPTION_MAX_LENGTH": "revy.E005",
    "REVY_PARTITION_SIZE": "revy.E017",
    "REVY_PARTITIONS_AHEAD": "revy.E017",
}


def check_counts(**kwargs: Any) -> Messages:
    """revy.E004, revy.E005, revy.E017: the settings of ``_COUNTS`` are
    positive integers."""
    errors: Messages = []
    for name, check_id in _COUNTS.items():
        value = _setting(name)
        if value is _MISSING or (type(value) is int and value >= 1):
            continue
        message = f"{name} must be a positive integer, not {value!r}."
        errors.append(checks.Error(message, id=check_id))
    return errors


def check_description_header(**kwargs: Any) -> Messages:
    """revy.E006: ``REVY_REVISION_DESCRIPTION_HEADER`` is a header name."""
    value = _setting("REVY_REVISION_DESCRIPTION_HEADER")
    if value is _MISSING or isinstance(value, str):
        return []
    return [
        checks.Error(
            "REVY_REVISION_DESCRIPTION_HEADER must be a header name such as "
            f"'X-Commit-Message', not {value!r}.",
            id="revy.E006",
        )
    ]


def check_value_encoder(**kwargs: Any) -> Messages:
    """revy.E007: ``REVY_VALUE_ENCODER`` names a class with encode() and
    decode(), which revy makes with no arguments, once."""
    value = _setting("REVY_VALUE_ENCODER")
    if value is _MISSING:
        return []
    factory, encoder, problem = _import(value), None, ""
    try:
        encoder = factory() if callable(factory) else None
    except Exception as error:
        problem = f" ({value!r}() fails: {error})"
    if encoder is not None and all(
        callable(getattr(encoder, method, None)) for method in ("encode", "decode")
    ):
        return []
    return [
        checks.Error(
            "REVY_VALUE_ENCODER must be the dotted path of a class with encode() "
            "and decode() methods, made with no arguments, not "
            f"{value!r}{problem}.",
            id="revy.E007",
        )
    ]


def check_actor_resolvers(**kwargs: Any) -> Messages:
    """revy.E008: ``REVY_ACTOR_RESOLVERS`` lists dotted paths of callables."""
    value = _setting("REVY_ACTOR_RESOLVERS")
    if value is _MISSING:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        bad = [value]
    else:
        bad = [path for path in value if not callable(_import(path))]
    if not bad:
        return []
    return [
        checks.Error(
            "REVY_ACTOR_RESOLVERS must list dotted paths of callables of the "
            f"request; these are not: {', '.join(map(repr, bad))}.",
            id="revy.E008",
        )
    ]


def check_history_models(**kwargs: Any) -> Messages:
    """revy.E009, revy.E010, revy.E011: ``REVY_REVISION_MODEL``,
    ``REVY_OBJECT_DELTA_MODEL`` and ``REVY_ATTRIBUTE_DELTA_MODEL`` name
    installed models that subclass revy's abstract bases."""
    errors: Messages = []
    for name, base, check_id in (
        ("REVY_REVISION_MODEL", AbstractRevision, "revy.E009"),
        ("REVY_OBJECT_DELTA_MODEL", AbstractObjectDelta, "revy.E010"),
        ("REVY_ATTRIBUTE_DELTA_MODEL", AbstractAttributeDelta, "revy.E011"),
    ):
        value = _setting(name)
        if value is _MISSING:
            continue
        try:
            model = apps.get_model(value, require_ready=False)
        except (LookupError, ValueError, AttributeError):
            errors.append(
                checks.Error(
                    f"{name} refers to {value!r}, which is not an installed "
                    "model ('app_label.ModelName').",
                    id=check_id,
                )
            )
            continue
        if not issubclass(model, base):
            errors.append(
                checks.Error(
                    f"{name} refers to {value!r}, which does not subclass "
                    f"revy's {base.__name__}.",
                    id=check_id,
                )
            )
    return errors


def check_swapped_models_named_together(**kwargs: Any) -> Messages:
    """revy.E012, revy.E013: a swapped delta model's foreign keys name the
    setting of the model they point to, so makemigrations needs it too."""
    errors: Messages = []
    for name, needs, check_id in (
        ("REVY_OBJECT_DELTA_MODEL", "REVY_REVISION_MODEL", "revy.E012"),
        ("REVY_ATTRIBUTE_DELTA_MODEL", "REVY_OBJECT_DELTA_MODEL", "revy.E013"),
    ):
        if hasattr(settings, name) and not hasattr(settings, needs):
            errors.append(
                checks.Error(
                    f"{name} is set but {needs} is not: set {needs} too (to its "
                    "default if you keep revy's model).",
                    id=check_id,
                )
            )
    return errors


def check_proposal_model(**kwargs: Any) -> Messages:
    """revy.E030, revy.E031: ``REVY_PROPOSAL_MODEL`` names an installed
    model that subclasses ``AbstractProposal``; a swapped proposal model's
    revision key names ``REVY_REVISION_MODEL``, so makemigrations needs it."""
    value = _setting("REVY_PROPOSAL_MODEL")
    if value is _MISSING:
        return []
    try:
        model = apps.get_model(value, require_ready=False)
    except (LookupError, ValueError, AttributeError, TypeError):
        model = None
    if model is None or not issubclass(model, AbstractProposal):
        what = (
            "which is not an installed model ('app_label.ModelName')"
            if model is None
            else "which does not subclass revy's AbstractProposal"
        )
        return [
            checks.Error(
                f"REVY_PROPOSAL_MODEL refers to {value!r}, {what}.", id="revy.E030"
            )
        ]
    if not hasattr(settings, "REVY_REVISION_MODEL"):
        return [
            checks.Error(
                "REVY_PROPOSAL_MODEL is set but REVY_REVISION_MODEL is not: set "
                "REVY_REVISION_MODEL too (to its default if you keep revy's model).",
                id="revy.E031",
            )
        ]
    return []


def _import(path: Any) -> Any:
    if not isinstance(path, str):
        return None
    try:
        return import_string(path)
    except ImportError:
        return None


# Integrity: tamper evidence, actors, personal data (docs/integrity.md) ----------


def check_tamper_evidence(**kwargs: Any) -> Messages:
    """revy.E020, revy.E021, revy.W010: ``REVY_TAMPER_EVIDENCE`` is True or
    False, and when True, ``REVY_INTEGRITY_KEY`` is a secret long enough."""
    value = _setting("REVY_TAMPER_EVIDENCE")
    if value is _MISSING or value is False:
        return []
    if not isinstance(value, bool):
        return [
            checks.Error(
                f"REVY_TAMPER_EVIDENCE must be True or False, not {value!r}.",
                id="revy.E020",
            )
        ]
    key = _setting("REVY_INTEGRITY_KEY")
    if key is _MISSING or not key or not isinstance(key, str | bytes):
        return [
            checks.Error(
                "REVY_TAMPER_EVIDENCE is on but REVY_INTEGRITY_KEY is not a "
                "secret (text or bytes): every commit that writes history "
                "would fail.",
                hint="Read it from the environment, never from the database.",
                id="revy.E021",
            )
        ]
    if len(key) < 32:
        return [
            checks.Warning(
                f"REVY_INTEGRITY_KEY has {len(key)} characters; a key shorter "
                "than 32 can be guessed, and digests forged with it.",
                id="revy.W010",
            )
        ]
    return []


def _installed_model(label: Any) -> Any:
    """The installed model ``label`` names, or None."""
    try:
        return apps.get_model(label)
    except (LookupError, ValueError, TypeError, AttributeError):
        return None


def check_actor_models(**kwargs: Any) -> Messages:
    """revy.E022: ``REVY_ACTOR_MODELS`` lists installed models."""
    value = _setting("REVY_ACTOR_MODELS")
    if value is _MISSING:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        return [
            checks.Error(
                f"REVY_ACTOR_MODELS must be a list of model labels such as "
                f"['accounts.User'], not {value!r}.",
                id="revy.E022",
            )
        ]
    errors: Messages = []
    for label in value:
        if _installed_model(label) is None:
            errors.append(
                checks.Error(
                    f"REVY_ACTOR_MODELS names {label!r}, which is not an "
                    "installed model ('app_label.ModelName').",
                    id="revy.E022",
                )
            )
    return errors


def check_personal_data(**kwargs: Any) -> Messages:
    """revy.E023, revy.E024: ``REVY_PERSONAL_DATA`` maps installed models to
    lists of their fields."""
    value = _setting("REVY_PERSONAL_DATA")
    if value is _MISSING:
        return []
    if not isinstance(value, dict) or not all(
        isinstance(names, list | tuple) and not isinstance(names, str)
        for names in value.values()
    ):
        return [
            checks.Error(
                "REVY_PERSONAL_DATA must map model labels to lists of field "
                f"names, such as {{'accounts.User': ['email']}}, not {value!r}.",
                id="revy.E023",
            )
        ]
    errors: Messages = []
    for label, names in value.items():
        model = _installed_model(label)
        if model is None:
            errors.append(
                checks.Error(
                    f"REVY_PERSONAL_DATA names {label!r}, which is not an "
                    "installed model.",
                    id="revy.E024",
                )
            )
            continue
        known = {field.name for field in model._meta.get_fields()}
        for name in names:
            if name not in known:
                errors.append(
                    checks.Error(
                        f"REVY_PERSONAL_DATA names {label}.{name}, a field "
                        f"{model._meta.label} does not have.",
                        id="revy.E024",
                    )
                )
    return errors


CHECKS = (
    check_unknown_settings,
    check_encodable_fields,
    check_tracked_models,
    check_untracked_models,
    check_booleans,
    check_counts,
    check_description_header,
    check_value_encoder,
    check_actor_resolvers,
    check_history_models,
    check_swapped_models_named_together,
    check_proposal_model,
    check_tamper_evidence,
    check_actor_models,
    check_personal_data,
    check_field_rules,
)


def register() -> None:
    """Register every check with Django, under the tag ``revy``; those that
    read the database also under Django's ``database`` tag."""
    for check in CHECKS:
        checks.register(check, "revy")
    checks.register(check_history_against_migrations, "revy", checks.Tags.database)
