"""Wrapping Django's methods once, in a way that can be seen and undone.

Each wrapper is marked ``_revy`` and keeps the original in ``__wrapped__``;
decision 0002 lists what revy wraps and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def wrap(owner: object, wrappers: dict[str, Callable[[Any], Any]]) -> None:
    """Replace each method ``owner.<name>`` (of a class, or of one object such
    as a signal) by ``make(original)``, once."""
    for name, make in wrappers.items():
        original = getattr(owner, name)
        if getattr(original, "_revy", False):
            continue
        wrapper = make(original)
        wrapper._revy = True
        wrapper.__wrapped__ = original
        wrapper.__name__ = name
        wrapper.__doc__ = original.__doc__
        setattr(owner, name, wrapper)
