"""When a write is recorded, and under which context frame.

Inside an enabled context, a write to a tracked model is recorded; outside
any context, only if ``REVY_RECORD_OUTSIDE_CONTEXT`` says so (then by the
system, in a revision of its own). While Django carries out a write revy
records as a whole, the writes it makes on the way are part of that record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

from revy.context import Activation, Context, Frame, current_frame
from revy.contrib.django import conf

_SYSTEM = Context()

# Set while Django carries out a write that revy has recorded as a whole:
# the writes it makes on the way (bulk_update's updates, the SET_NULL
# updates of a delete) are part of that record.
_recorded_by_caller: ContextVar[bool] = ContextVar("revy_nested", default=False)


def recording_frame() -> Frame | None:
    """The frame changes are recorded under now; None when nothing is recorded."""
    if _recorded_by_caller.get():
        return None
    frame = current_frame()
    if frame is None:
        if conf.record_outside_context():
            # A revision of its own for each change, by the system.
            return Frame(_SYSTEM, None, {}, Activation())
        return None
    return frame if frame.is_enabled else None


def frame_for(model: type[models.Model]) -> Frame | None:
    """The frame a write to ``model`` is recorded under; None: not recorded."""
    frame = recording_frame()
    if frame is None or not conf.is_tracked(model._meta.concrete_model):
        return None
    return frame


@contextmanager
def nested_writes_recorded() -> Iterator[None]:
    """Run Django's own nested writes of a write revy records as a whole."""
    token = _recorded_by_caller.set(True)
    try:
        yield
    finally:
        _recorded_by_caller.reset(token)


@contextmanager
def receivers_recorded() -> Iterator[None]:
    """Record what signal receivers write, inside a write revy records as a
    whole: their writes are the user's, not Django's."""
    token = _recorded_by_caller.set(False)
    try:
        yield
    finally:
        _recorded_by_caller.reset(token)
