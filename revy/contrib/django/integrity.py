"""What keeps history honest, installed when the app is ready.

- every history model refuses deletion by cascade (``ledger.refuse_deletion``
  on ``pre_delete``; ``save()``, ``delete()`` and the querysets refuse on
  their own);
- the rows of the models of ``REVY_ACTOR_MODELS`` are retired when deleted
  (``retirement.py``);
- each SQLite connection gets the SQL function ``revy_operation()`` that
  revy's triggers ask (``backends/guards.py``);
- after ``migrate``, triggers a migration dropped with the table it rebuilt
  (SQLite rebuilds tables to alter them) are installed again, when the other
  history tables still have theirs.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.db.models import signals

from revy.contrib.django import appendonly, conf, retirement, triggers
from revy.contrib.django.backends import guards
from revy.contrib.django.ledger import AppendOnly, refuse_deletion

__all__ = ["install"]

_retiring: list[type] = []


def install() -> None:
    """Connect the receivers above (idempotent)."""
    for model in apps.get_models():
        if issubclass(model, AppendOnly):
            signals.pre_delete.connect(
                refuse_deletion, sender=model, dispatch_uid=f"revy.append-only.{model}"
            )
    _connect_actor_models()
    connection_created.connect(_sqlite_function, dispatch_uid="revy.sqlite-operation")
    for connection in connections.all(initialized_only=True):
        _sqlite_function(connection)
    setting_changed.connect(_actor_models_changed, dispatch_uid="revy.actor-models")
    signals.post_migrate.connect(_triggers_kept, dispatch_uid="revy.triggers-kept")


def _connect_actor_models() -> None:
    for model in _retiring:
        signals.post_delete.disconnect(sender=model, dispatch_uid="revy.retire")
    _retiring.clear()
    for label in conf.actor_models():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue  # checks.py reports it.
        signals.post_delete.connect(_retire, sender=model, dispatch_uid="revy.retire")
        _retiring.append(model)


def _retire(sender: type, instance: Any, using: str, **kwargs: Any) -> None:
    retirement.retire(sender, instance.pk, using)


def _actor_models_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("REVY_ACTOR_MODELS", "AUTH_USER_MODEL"):
        _connect_actor_models()


def _sqlite_function(connection: Any, **kwargs: Any) -> None:
    guards.register_sqlite_function(connection, appendonly.sqlite_declared_operation)


def _triggers_kept(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    if getattr(sender, "label", None) != "revy":
        return  # Sent for each app: once is enough.
    guarded = set(triggers.installed(using).values())
    if guarded == {True, False}:
        triggers.install(using)
