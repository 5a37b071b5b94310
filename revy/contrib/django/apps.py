"""The app config: ``INSTALLED_APPS = [..., "revy.contrib.django"]``."""

import contextlib
import importlib
from typing import Any

from django.apps import AppConfig, apps
from django.core.signals import setting_changed

from revy.contrib.django import conf, tracking


class RevyConfig(AppConfig):
    name = "revy.contrib.django"
    label = "revy"
    verbose_name = "Revy revision history"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        super().import_models()
        # The proposal models live with the rest of proposals (their own
        # package), and belong to this app like the history models.
        importlib.import_module(f"{self.name}.proposals.models")

    def ready(self) -> None:
        # Imported here, as Django's apps do: these modules import models,
        # which cannot be imported while the app registry is loading.
        from revy.contrib.django import capture, checks, integrity, transaction_hooks

        checks.register()
        transaction_hooks.install()
        capture.install()
        integrity.install()
        install_tracking()
        setting_changed.connect(_tracking_changed, dispatch_uid="revy.apps")


def install_tracking() -> None:
    """Let every tracked model note who assigns each field (tracking.py)."""
    for model in apps.get_models():
        if conf.is_tracked(model):
            tracking.install(model)


def _tracking_changed(setting: str, **kwargs: Any) -> None:
    # A model tracked from now on (override_settings) needs its hook too. A
    # wrong value is for manage.py check to report, not for this receiver.
    if setting in conf.TRACKING_SETTINGS:
        with contextlib.suppress(TypeError, AttributeError):
            install_tracking()
