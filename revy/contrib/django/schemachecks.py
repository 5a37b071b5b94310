"""System checks of the per-field rules, and of history against the schema.

``checks.py`` registers them with the others; docs/checks.md lists them.
revy.W070 and revy.W071 read the database, so they run with ``manage.py
check --database default`` (and before ``migrate``), as Django's database
checks; they take the fields to look up from the project's migrations
(``fieldchanges.py``), so that their cost does not grow with history.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import DatabaseError, models, router

from revy.contrib.django import conf
from revy.contrib.django.encoding import redaction_of
from revy.contrib.django.exceptions import UndecodableValue
from revy.contrib.django.fieldchanges import FieldChanges, Retyped, field_changes
from revy.contrib.django.inheritance import children_of
from revy.contrib.django.schema import decode

__all__ = ["check_field_rules", "check_history_against_migrations"]

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


def check_history_against_migrations(databases: Any = None, **kwargs: Any) -> Messages:
    """revy.W070 and revy.W071, the check Django runs: the project's
    migrations are read and replayed once for both."""
    changes = _changes_by_database(databases)
    return _names_warnings(changes) + _types_warnings(changes)


def _names_warnings(changes: list[tuple[str, FieldChanges]]) -> Messages:
    """revy.W070: a migration renamed or removed a field of a model after
    revy's history tables were made, no ``RenameTrackedField`` or
    ``RemoveTrackedField`` covers it, and history still names the field.

    The fields come from the project's migrations: the check asks history
    about those alone, one ``EXISTS`` each, not for every name it holds."""
    return [
        _history_names_warning(using, model, name)
        for using, found in changes
        for model, name in found.uncovered_names()
        if _history_rows(using, model, name).exists()
    ]


def _types_warnings(changes: list[tuple[str, FieldChanges]]) -> Messages:
    """revy.W071: a migration gave a field another type after revy's
    history tables were made, no ``ConvertTrackedField`` converts its
    history, and history holds a value of it the field cannot parse.

    Only such fields are read, until their first value that does not
    parse; a field whose values all parse is read whole at each check,
    until a ``ConvertTrackedField`` (or the history) covers it."""
    suspects = [
        (using, retyped)
        for using, found in changes
        for retyped in found.unconverted_types()
    ]
    if not suspects:
        return []
    try:
        encoder = conf.value_encoder()
    except Exception:  # revy.E007 says why it cannot be made.
        return []
    warnings: Messages = []
    for using, retyped in suspects:
        found = _first_unparsable(using, encoder, retyped)
        if found is not None:
            warnings.append(_history_types_warning(using, retyped, *found))
    return warnings


def _changes_by_database(databases: Any) -> list[tuple[str, FieldChanges]]:
    """The databases to check that hold history tables, with what the
    project's migrations did to fields as each has applied them."""
    if not databases:
        return []  # manage.py check without --database: no database to read.
    try:
        attribute_delta = conf.history_models().attribute_delta
    except (LookupError, ValueError, AttributeError):
        return []  # revy.E009-E011 say which history model setting is wrong.
    found = []
    for using in databases:
        if not router.allow_migrate_model(using, attribute_delta):
            continue  # No history tables of its own there (a replica).
        try:
            found.append((using, field_changes(using)))
        except DatabaseError:
            continue  # Not migrated yet: no history to check.
    return found


def _history_rows(using: str, model: type[models.Model], name: str) -> Any:
    """The attribute deltas of the field ``name`` of ``model`` (and of its
    multi-table children, which record the fields they inherit)."""
    owners = (model, *children_of(model))
    return (
        conf.history_models()
        .attribute_delta.objects.using(using)
        .filter(
            content_type__app_label__in={m._meta.app_label for m in owners},
            content_type__model__in={m._meta.model_name for m in owners},
            field_name=name,
        )
    )


def _first_unparsable(
    using: str, encoder: Any, retyped: Retyped
) -> tuple[int, Any] | None:
    """``(attribute delta, stored value)``: the first value of the field
    that it cannot parse, if any (masked and redacted values aside)."""
    rows = _history_rows(using, retyped.model, retyped.field.name).values_list(
        "pk", "old_value", "new_value"
    )
    for pk, *values in rows.order_by("pk").iterator(chunk_size=conf.batch_size()):
        for stored in values:
            if stored is None or redaction_of(stored) is not None:
                continue
            try:
                decode(encoder, retyped.field, stored, f"attribute delta {pk}")
            except UndecodableValue:
                return pk, stored
    return None


def _history_names_warning(
    using: str, model: type[models.Model], name: str
) -> checks.Warning:
    label, model_name = model._meta.label, model._meta.model_name
    return checks.Warning(
        f"History of {label} on {using!r} names the field {name!r}, which "
        f"{label} does not have.",
        hint=(
            "If it was renamed, add revy.contrib.django.operations."
            f"RenameTrackedField({model_name!r}, {name!r}, '<new name>') to "
            "the migration that renames it, or to a new one (manage.py "
            f"makemigrations --empty {model._meta.app_label}); if it was "
            f"removed, RemoveTrackedField({model_name!r}, {name!r}). See "
            "docs/schema-changes.md."
        ),
        obj=model,
        id="revy.W070",
    )


def _history_types_warning(
    using: str, retyped: Retyped, attribute_delta: int, stored: Any
) -> checks.Warning:
    model, name = retyped.model, retyped.field.name
    label, model_name = model._meta.label, model._meta.model_name
    return checks.Warning(
        f"History of {label}.{name} on {using!r} holds {stored!r} (attribute "
        f"delta {attribute_delta}), which the field cannot parse: "
        f"{retyped.change.migration} changed it from {retyped.change.old_type} "
        f"to {retyped.change.new_type} and no ConvertTrackedField converts its "
        "history.",
        hint=(
            "Add revy.contrib.django.operations.ConvertTrackedField("
            f"{model_name!r}, {name!r}, <forwards>, <backwards>) after the "
            "AlterField, or in a new migration (manage.py makemigrations "
            f"--empty {model._meta.app_label}). Until then reads show such "
            "values as recorded, and snapshots, state_at() and undo raise "
            "UndecodableValue. See docs/schema-changes.md."
        ),
        obj=model,
        id="revy.W071",
    )
