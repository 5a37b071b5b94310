"""System checks of the per-field rules, and of history against the schema.

``checks.py`` registers them with the others; docs/checks.md lists them.
revy.W070 reads the database, so it runs with ``manage.py check
--database default`` (and before ``migrate``), as Django's database checks.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import checks
from django.db import DatabaseError, connections, router
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RenameModel

from revy.contrib.django import conf
from revy.contrib.django.operations import RemoveTrackedField, RenameTrackedField
from revy.contrib.django.schema import known_names

__all__ = ["check_field_rules", "check_history_names"]

Messages = list[checks.CheckMessage]
_RULES = ("REVY_EXCLUDED_FIELDS", "REVY_MASKED_FIELDS")


def check_field_rules(**kwargs: Any) -> Messages:
    """revy.E070 to revy.E074: ``REVY_EXCLUDED_FIELDS``,
    ``REVY_MASKED_FIELDS`` and ``REVY_EXCLUDE_AUTO_NOW``."""
    errors: Messages = []
    named: dict[str, dict[tuple[str, str], None]] = {}
    for setting in _RULES:
        value = getattr(settings, setting, {})
        if not isinstance(value, dict) or not all(
            isinstance(names, list | tuple)
            and all(isinstance(name, str) for name in names)
            for names in value.values()
        ):
            errors.append(
                checks.Error(
                    f"{setting} must map model labels to lists of field names, "
                    f"such as {{'blog.Post': ['view_count']}}, not {value!r}.",
                    id="revy.E070",
                )
            )
            continue
        found = named[setting] = {}
        for label, names in value.items():
            errors += _rule_fields(setting, label, names, found)
    both = set(named.get(_RULES[0], ())) & set(named.get(_RULES[1], ()))
    errors += [
        checks.Error(
            f"{label}.{name} is both left out of history (REVY_EXCLUDED_FIELDS) "
            "and masked (REVY_MASKED_FIELDS).",
            hint="Leave it out to record nothing of it; mask it to record "
            "when and by whom it changed, without its values.",
            id="revy.E073",
        )
        for label, name in sorted(both)
    ]
    auto_now = getattr(settings, "REVY_EXCLUDE_AUTO_NOW", False)
    if not isinstance(auto_now, bool):
        errors.append(
            checks.Error(
                f"REVY_EXCLUDE_AUTO_NOW must be True or False, not {auto_now!r}.",
                id="revy.E074",
            )
        )
    return errors


def _rule_fields(
    setting: str, label: str, names: Any, found: dict[tuple[str, str], None]
) -> Messages:
    """revy.E071, revy.E072: ``label`` is an installed model and ``names``
    are fields history records of it."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return [
            checks.Error(
                f"{setting} names {label!r}, which is not an installed model.",
                id="revy.E071",
            )
        ]
    # Named under the model that declares them: a multi-table parent's
    # fields under the parent, whose rules its children follow.
    recorded = {
        field.name
        for field in model._meta.local_concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    }
    errors: Messages = []
    for name in names:
        found[model._meta.label, name] = None
        if name not in recorded:
            errors.append(
                checks.Error(
                    f"{setting} names {model._meta.label}.{name}, which is not a "
                    "field history records of it.",
                    hint=f"Its fields are {', '.join(sorted(recorded))}.",
                    obj=model,
                    id="revy.E072",
                )
            )
    return errors


def check_history_names(databases: Any = None, **kwargs: Any) -> Messages:
    """revy.W070: history names a field its model does not have, and no
    ``RenameTrackedField`` or ``RemoveTrackedField`` in the project's
    migrations covers it (a field renamed or removed without one)."""
    if not databases:
        return []
    warnings: Messages = []
    attribute_delta = conf.history_models().attribute_delta
    for using in databases:
        if not router.allow_migrate_model(using, attribute_delta):
            continue  # No history tables of its own there (a replica).
        try:
            names = _recorded_names(using)
        except DatabaseError:
            continue  # Not migrated yet: no history to check.
        covered = _covered(using)
        for (app_label, model_name), field_names in sorted(names.items()):
            try:
                model = apps.get_model(app_label, model_name)
            except LookupError:
                continue  # A model that is gone: its content type is stale.
            known = known_names(model)
            for name in sorted(field_names - known):
                if (app_label, model_name, name) in covered:
                    continue
                label = model._meta.label
                warnings.append(
                    checks.Warning(
                        f"History of {label} on {using!r} names the field "
                        f"{name!r}, which {label} does not have.",
                        hint=(
                            "If it was renamed, add revy.contrib.django."
                            f"operations.RenameTrackedField({model_name!r}, "
                            f"{name!r}, '<new name>') to the migration that "
                            "renames it, or to a new one (manage.py "
                            f"makemigrations --empty {app_label}); if it was "
                            "removed, RemoveTrackedField("
                            f"{model_name!r}, {name!r}). See "
                            "docs/schema-changes.md."
                        ),
                        obj=model,
                        id="revy.W070",
                    )
                )
    return warnings


def _recorded_names(using: str) -> dict[tuple[str, str], set[str]]:
    """``{(app label, model name): field names}`` recorded in history."""
    attribute_delta = conf.history_models().attribute_delta
    pairs = (
        attribute_delta.objects.using(using)
        .values_list("content_type_id", "field_name")
        .distinct()
    )
    by_type: dict[int, set[str]] = {}
    for content_type_id, field_name in pairs:
        by_type.setdefault(content_type_id, set()).add(field_name)
    types = ContentType.objects.db_manager(using).filter(pk__in=by_type)
    return {(ct.app_label, ct.model): by_type[ct.pk] for ct in types}


def _covered(using: str) -> set[tuple[str, str, str]]:
    """``(app label, model name, field name)`` that a ``RenameTrackedField``
    (its old name) or ``RemoveTrackedField`` of a migration covers, under
    the model's names then and since (``RenameModel``)."""
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    covered = set()
    renamed: dict[tuple[str, str], str] = {}  # Models renamed since.
    for (app_label, _name), migration in loader.disk_migrations.items():
        for operation in migration.operations:
            if isinstance(operation, RenameModel):
                renamed[app_label, operation.old_name_lower] = operation.new_name_lower
            elif isinstance(operation, RenameTrackedField):
                covered.add(
                    (app_label, operation.model_name.lower(), operation.old_name)
                )
            elif isinstance(operation, RemoveTrackedField):
                covered.add((app_label, operation.model_name.lower(), operation.name))
    for app_label, model_name, field_name in list(covered):
        seen = {model_name}
        while (model_name := renamed.get((app_label, model_name))) not in (None, *seen):
            seen.add(model_name)
            covered.add((app_label, model_name, field_name))
    return covered
