"""Migration operations that make history follow a tracked model's schema.

Put them in the migration that changes the model, beside Django's own
operation (docs/schema-changes.md):

- :class:`RenameTrackedField` beside ``RenameField``: the attribute deltas
  of the old name take the new one (and back, when migrated back).
- :class:`RemoveTrackedField` beside ``RemoveField``: history keeps the
  field's values; the operation records that the field is gone on purpose,
  so ``manage.py check`` stops warning of it (revy.W070).
- :class:`ConvertTrackedField` beside ``AlterField`` of a new type: the
  stored values pass through a function of the project, as ``RunPython``.

Each rewrites history in batches inside ``appendonly.declared("migrate")``
and records an :class:`~revy.contrib.django.ledger.Amendment` of kind
``migrate`` (operation, model, fields, direction, count) in the same
transaction. Under tamper evidence the amendment keeps the seals of the
revisions whose rows were rewritten, which get seals of what they hold now,
so ``revy_verify`` still passes (decision 0023). A model renamed with
``RenameModel`` needs none: Django's contenttypes app renames its content
type, which history refers to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.migrations.operations.base import Operation, OperationCategory
from django.db.models import JSONField, Value

from revy.contrib.django import amendments, conf
from revy.contrib.django.appendonly import declared
from revy.contrib.django.encoding import redaction_of
from revy.contrib.django.ledger import Amendment

__all__ = [
    "ConvertTrackedField",
    "RemoveTrackedField",
    "RenameTrackedField",
]

# The value of a field as history stores it (JSON), in and out.
Converter = Callable[[Any], Any]


def _content_type_ids(
    state_apps: Any, app_label: str, model_name: str, using: str
) -> list[int]:
    """The content types history records a model's rows under: its own and
    its multi-table children's (which record the fields they inherit)."""
    model = state_apps.get_model(app_label, model_name)
    models = [model] + [
        other
        for other in state_apps.get_models()
        if model in other._meta.get_parent_list()
    ]
    found = ContentType.objects.db_manager(using).filter(
        app_label__in={m._meta.app_label for m in models},
        model__in={m._meta.model_name for m in models},
    )
    wanted = {(m._meta.app_label, m._meta.model_name) for m in models}
    return [ct.pk for ct in found if (ct.app_label, ct.model) in wanted]


def _revisions_of(attribute_deltas: list[int], using: str) -> set[int]:
    """The revisions the attribute deltas ``attribute_deltas`` belong to."""
    return set(
        conf.history_models()
        .attribute_delta.objects.using(using)
        .filter(pk__in=attribute_deltas)
        .values_list("object_delta__revision_id", flat=True)
        .distinct()
    )


def _history_rows(content_types: list[int], field_name: str, using: str) -> Any:
    """The attribute deltas of ``field_name`` recorded under ``content_types``."""
    return (
        conf.history_models()
        .attribute_delta.objects.using(using)
        .filter(content_type_id__in=content_types, field_name=field_name)
    )


class _HistoryOperation(Operation):
    """An operation that changes history only: the models stay as they are."""

    reversible = True
    reduces_to_sql = False
    elidable = False
    # How makemigrations lists it: "~" beside Django's operations.
    category = OperationCategory.ALTERATION

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # Django's own operation beside it changes the model.

    def _record(
        self, using: str, details: dict[str, Any], rewritten: set[int] | None = None
    ) -> None:
        """Record the amendment of a change of history (none if history
        holds nothing of the field: nothing changed), with the seals of the
        ``rewritten`` revisions, which are sealed anew."""
        if not details.get("attribute_deltas"):
            return
        details = {"operation": type(self).__name__, **details}
        if rewritten:
            details["seals"] = amendments.seals_of(rewritten, using)
        amendments.record(Amendment.KIND_MIGRATE, None, self.describe(), details, using)
        if rewritten:
            amendments.reseal(rewritten, using)


class RenameTrackedField(_HistoryOperation):
    """History of ``model_name.old_name`` becomes that of ``new_name``.

    Place it after ``RenameField`` (or anywhere in that migration)."""

    def __init__(self, model_name: str, old_name: str, new_name: str) -> None:
        self.model_name = model_name
        self.old_name = old_name
        self.new_name = new_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (
            self.__class__.__qualname__,
            [],
            {
                "model_name": self.model_name,
                "old_name": self.old_name,
                "new_name": self.new_name,
            },
        )

    def describe(self) -> str:
        return (
            f"Rename the history of {self.model_name}.{self.old_name} "
            f"to {self.new_name}"
        )

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._rename(app_label, to_state, schema_editor, self.old_name, self.new_name)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._rename(app_label, to_state, schema_editor, self.new_name, self.old_name)

    def _rename(
        self, app_label: str, state: Any, schema_editor: Any, old: str, new: str
    ) -> None:
        using = schema_editor.connection.alias
        types = _content_type_ids(state.apps, app_label, self.model_name, using)
        rows = _history_rows(types, old, using)
        model = conf.history_models().attribute_delta
        size = conf.batch_size()
        count = 0
        rewritten: set[int] = set()
        with declared("migrate", using):
            while keys := list(rows.values_list("pk", flat=True)[:size]):
                rewritten |= _revisions_of(keys, using)
                count += (
                    model.objects.using(using)
                    .filter(pk__in=keys)
                    .update(field_name=new)
                )
            self._record(
                using,
                {
                    "model": f"{app_label}.{self.model_name}".lower(),
                    "old_name": old,
                    "new_name": new,
                    "attribute_deltas": count,
                },
                rewritten,
            )


class RemoveTrackedField(_HistoryOperation):
    """Record that ``model_name.name`` was removed on purpose: its history
    stays readable, shown as a field the model no longer has."""

    def __init__(self, model_name: str, name: str) -> None:
        self.model_name = model_name
        self.name = name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "name": self.name},
        )

    def describe(self) -> str:
        return f"Keep the history of the removed field {self.model_name}.{self.name}"

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._note(app_label, to_state, schema_editor, removed=True)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._note(app_label, to_state, schema_editor, removed=False)

    def _note(
        self, app_label: str, state: Any, schema_editor: Any, removed: bool
    ) -> None:
        using = schema_editor.connection.alias
        types = _content_type_ids(state.apps, app_label, self.model_name, using)
        with declared("migrate", using):
            self._record(
                using,
                {
                    "model": f"{app_label}.{self.model_name}".lower(),
                    "field": self.name,
                    "removed": removed,
                    "attribute_deltas": _history_rows(types, self.name, using).count(),
                },
            )


class ConvertTrackedField(_HistoryOperation):
    """Pass every stored value of ``model_name.name`` through ``forwards``
    (and ``backwards`` when migrated back; without it the operation cannot
    be reversed), as ``RunPython`` runs a function.

    The functions take and return values as history stores them (JSON:
    text, numbers, booleans, lists, dicts); nulls and redacted or masked
    values are left as they are. Place it after the ``AlterField``."""

    category = OperationCategory.PYTHON

    def __init__(
        self,
        model_name: str,
        name: str,
        forwards: Converter,
        backwards: Converter | None = None,
    ) -> None:
        self.model_name = model_name
        self.name = name
        self.forwards = forwards
        self.backwards = backwards

    @property
    def reversible(self) -> bool:  # type: ignore[override]
        return self.backwards is not None

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "model_name": self.model_name,
            "name": self.name,
            "forwards": self.forwards,
        }
        if self.backwards is not None:
            kwargs["backwards"] = self.backwards
        return (self.__class__.__qualname__, [], kwargs)

    def describe(self) -> str:
        return f"Convert the history of {self.model_name}.{self.name}"

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._convert(app_label, to_state, schema_editor, self.forwards, "forwards")

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if self.backwards is None:
            raise NotImplementedError(f"{self.describe()}: no backwards function.")
        self._convert(app_label, to_state, schema_editor, self.backwards, "backwards")

    def _convert(
        self,
        app_label: str,
        state: Any,
        schema_editor: Any,
        convert: Converter,
        direction: str,
    ) -> None:
        using = schema_editor.connection.alias
        types = _content_type_ids(state.apps, app_label, self.model_name, using)
        rows = _history_rows(types, self.name, using).order_by("pk")
        model = conf.history_models().attribute_delta
        size = conf.batch_size()
        count = 0
        rewritten: set[int] = set()
        last = None
        with declared("migrate", using):
            while batch := list(
                (rows if last is None else rows.filter(pk__gt=last))[:size]
            ):
                last = batch[-1].pk
                for row in batch:
                    for side in ("old_value", "new_value"):
                        value = getattr(row, side)
                        if value is None or redaction_of(value) is not None:
                            continue
                        converted = convert(value)
                        setattr(
                            row,
                            side,
                            # JSON null: SQL NULL would mean "no such side".
                            Value(None, JSONField())
                            if converted is None
                            else converted,
                        )
                model.objects.using(using).bulk_update(
                    batch, ["old_value", "new_value"], batch_size=size
                )
                count += len(batch)
                rewritten |= _revisions_of([row.pk for row in batch], using)
            self._record(
                using,
                {
                    "model": f"{app_label}.{self.model_name}".lower(),
                    "field": self.name,
                    "direction": direction,
                    "attribute_deltas": count,
                },
                rewritten,
            )
