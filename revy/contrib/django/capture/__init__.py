"""Capture: what changed, found where Django makes each kind of write.

- ``saves.py``: ``Model.save_base`` (creates, updates), ``refresh_from_db``;
- ``deletes.py``: the deletion collector (deletes, cascades, SET_NULL);
- ``bulk.py``: ``QuerySet.update()``, ``bulk_create()``, ``bulk_update()``;
- ``m2m.py``: the related managers' many-to-many changes (``m2m_changed``);
- ``relations.py``: how a relation's change is recorded, and explicit
  through rows;
- ``sqlhistory.py``: the writes whose history the database writes;
- ``scope.py``: whether a write is recorded now, and under which frame.

Each finds what a write changed and hands it to a ``recording.Recorder``.
Why revy wraps these methods rather than listening to signals is decision
0002; ``install()`` wraps them once, at ``AppConfig.ready()``.
"""

from __future__ import annotations

from revy.contrib.django.capture import bulk, deletes, m2m, saves


def install() -> None:
    """Wrap Django's write methods and listen to many-to-many changes, once."""
    saves.install()
    deletes.install()
    bulk.install()
    m2m.install()
