"""Multi-table inheritance: which models share a row, and the content types
its history is recorded under.

A save through a multi-table child records under the child's model, with
every field of the row; an update saved through a parent instance records
under the parent's model, with the fields the two share. Writers and
readers both ask these questions, so they live here, below both.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models


@functools.cache
def children_of(model: type[models.Model]) -> tuple[type[models.Model], ...]:
    """The concrete models that inherit ``model``'s table, at any depth."""
    return tuple(
        other
        for other in apps.get_models()
        if not other._meta.proxy and model in other._meta.all_parents
    )


def content_types_of_row(model: type[models.Model]) -> tuple[int, ...] | None:
    """The content type ids a row of ``model``, or a value of one of its
    fields, is recorded under when multi-table children share it (a save
    through a child records under the child's model, with every field of
    the row); None when ``model`` shares its table with no other model. A
    parent's content type is not one of them: a parent row need not have a
    child row at all (see :func:`parent_content_types`)."""
    concrete = model._meta.concrete_model
    models_ = (concrete, *children_of(concrete))
    if len(models_) == 1 and not concrete._meta.parents:
        return None
    return content_type_ids(models_)


def parent_content_types(model: type[models.Model]) -> tuple[int, ...]:
    """The content type ids of ``model``'s multi-table parents. An update
    saved through a parent instance changes the fields the row shares with
    it, and is recorded under the parent's model."""
    parents = model._meta.concrete_model._meta.all_parents
    return content_type_ids(parents) if parents else ()


def content_type_ids(models_: Iterable[type[models.Model]]) -> tuple[int, ...]:
    """The content type ids of ``models_``, sorted."""
    found = ContentType.objects.get_for_models(*models_)
    return tuple(sorted(content_type.pk for content_type in found.values()))


def family_content_types(model: type[models.Model]) -> tuple[int, ...]:
    """The content type ids of ``model``, its multi-table parents and its
    children: all those a read of its rows' history may name."""
    concrete = model._meta.concrete_model
    family = (concrete, *concrete._meta.all_parents, *children_of(concrete))
    return content_type_ids(family)
