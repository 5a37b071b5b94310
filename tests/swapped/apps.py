from django.apps import AppConfig


class SwappedConfig(AppConfig):
    """History models that replace revy's own, as a project would swap them."""

    name = "tests.swapped"
    label = "swapped"
    default_auto_field = "django.db.models.BigAutoField"
