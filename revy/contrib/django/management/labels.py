"""What the management commands' arguments name: tracked models, rows."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import models, router

from revy.contrib.django import conf
from revy.contrib.django.actors import DeletedActor

__all__ = ["add_labels_argument", "model_named", "row_named", "tracked_models"]


def add_labels_argument(parser: Any) -> None:
    """The optional app and model labels a command limits itself to."""
    parser.add_argument(
        "labels",
        nargs="*",
        metavar="app_label[.ModelName]",
        help="Limit to these apps or models (default: every tracked model).",
    )


def model_named(label: str) -> Any:
    """The model ``app_label.ModelName`` names."""
    try:
        return apps.get_model(label)
    except (LookupError, ValueError) as error:
        raise CommandError(f"{label!r} is not a model: {error}") from None


def row_named(text: str) -> Any:
    """``app_label.ModelName:pk`` as the row, or a DeletedActor if it is gone."""
    label, sep, pk = text.rpartition(":")
    if not sep or not label:
        raise CommandError(f"{text!r} is not app_label.ModelName:pk.")
    model = model_named(label)
    found = model._base_manager.filter(pk=pk).first()
    return found if found is not None else DeletedActor(model, pk)


def tracked_models(labels: list[str], database: str) -> list[type[models.Model]]:
    """The tracked models ``labels`` name (app labels or
    app_label.ModelName; a proxy names its concrete model), each at most
    once; every label must name one. No labels: every tracked model."""
    tracked = [
        model
        for model in apps.get_models()
        if not model._meta.proxy
        and conf.is_tracked(model)
        and router.allow_migrate_model(database, model)
    ]
    if not labels:
        return tracked
    found: list[type[models.Model]] = []
    for wanted in labels:
        named = {
            model._meta.concrete_model
            for model in apps.get_models()
            if wanted.lower() in (model._meta.label_lower, model._meta.app_label)
        }
        picked = [model for model in tracked if model in named]
        if not picked:
            raise CommandError(
                f"{wanted!r} names no tracked model on {database!r}: name an "
                "app label or app_label.ModelName of a tracked model."
            )
        found.extend(model for model in picked if model not in found)
    return found
