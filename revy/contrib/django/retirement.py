"""Actors that stay who they were: a deleted actor's row is *retired*.

History names an actor by its content type and key. When that row is
deleted and a new one gets the key (an explicit key, ``restore()``, an
import), the history recorded before is still by the old row: ``retire()``
records the delete (revy calls it for the models of ``REVY_ACTOR_MODELS``),
and readers ask :func:`retirement_marks` which rows came before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models

from revy.contrib.django import conf
from revy.contrib.django.encoding import key_text

__all__ = ["retire", "retirement_marks"]


def _retired_actor_model() -> Any:
    return apps.get_model("revy", "RetiredActor")


def retire(model: type[models.Model], pk: Any, using: str) -> None:
    """Record that the ``model`` row ``pk``, an actor, was deleted: history
    recorded up to now was by that row, whatever row gets its key later."""
    history = conf.history_models()
    newest = (
        history.object_delta.objects.using(using)
        .aggregate(newest=models.Max("pk"))
        .get("newest")
    )
    _retired_actor_model().objects.using(using).create(
        content_type=ContentType.objects.db_manager(using).get_for_model(model),
        actor_id=key_text(model, pk),
        last_object_delta=newest or 0,
    )


def retirement_marks(
    pairs: Iterable[tuple[int, str]], using: str | None = None
) -> dict[tuple[int, str], int]:
    """``{(content type id, actor id): the newest object delta key recorded
    before that actor's row was last deleted}`` for those of ``pairs`` that
    were; one query (none for no pairs)."""
    by_type: dict[int, set[str]] = {}
    for type_id, actor_id in pairs:
        if type_id is not None and actor_id is not None:
            by_type.setdefault(type_id, set()).add(actor_id)
    if not by_type:
        return {}
    query = models.Q()
    for type_id, ids in by_type.items():
        query |= models.Q(content_type_id=type_id, actor_id__in=ids)
    rows = (
        _retired_actor_model()
        .objects.using(using)
        .filter(query)
        .values_list("content_type_id", "actor_id")
        .annotate(mark=models.Max("last_object_delta"))
        .order_by()
    )
    return {(type_id, actor_id): mark for type_id, actor_id, mark in rows}
