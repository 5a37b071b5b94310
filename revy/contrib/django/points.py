"""Points in history: where a read of history stops.

A *point* is an object delta (right after it), a revision (right after it),
or a datetime (a naive one read in the current time zone). Each bounds the
deltas recorded at or before it, by a lookup the ORM runs (``up_to``) or by
the deltas already read (``is_up_to``).
"""

from __future__ import annotations

import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from revy.contrib.django import conf

__all__ = ["Bound", "Point", "aware", "bound_of", "is_up_to", "up_to"]

# A point in history: an object delta, a revision, or a datetime.
Point = models.Model | datetime.datetime


class Bound(NamedTuple):
    """How a point bounds the deltas recorded at or before it: the lookup,
    the field whose column it compares, and the value."""

    lookup: str
    field: models.Field
    value: Any


def bound_of(at: Point | None) -> Bound | None:
    """The bound of the point ``at``: the key of an object delta or of a
    revision, or an aware datetime; None for now."""
    if at is None:
        return None
    history = conf.history_models()
    if isinstance(at, history.object_delta):
        return Bound("pk__lte", history.object_delta._meta.pk, at.pk)
    if isinstance(at, history.revision):
        return Bound("revision__pk__lte", history.revision._meta.pk, at.pk)
    if isinstance(at, datetime.datetime):
        created_at = history.revision._meta.get_field("created_at")
        return Bound("revision__created_at__lte", created_at, aware(at))
    raise TypeError(
        f"A point in history is an object delta, a revision or a datetime, not {at!r}."
    )


def up_to(at: Point | None) -> Q:
    """Deltas recorded at or before ``at``."""
    bound = bound_of(at)
    return Q() if bound is None else Q(**{bound.lookup: bound.value})


def is_up_to(delta: Any, point: Point | None) -> bool:
    if point is None:
        return True
    history = conf.history_models()
    if isinstance(point, history.object_delta):
        return delta.pk <= point.pk
    if isinstance(point, history.revision):
        return delta.revision_id <= point.pk
    return delta.revision.created_at <= aware(point)


def aware(point: datetime.datetime) -> datetime.datetime:
    """A naive point read in the current time zone (Django's lookups would
    read it in the default one, and warn)."""
    if settings.USE_TZ and timezone.is_naive(point):
        return timezone.make_aware(point)
    return point
