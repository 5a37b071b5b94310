from django.apps import AppConfig


class RevyConfig(AppConfig):
    name = "revy.contrib.django"
    label = "revy"
    verbose_name = "Revy revision history"
    default_auto_field = "django.db.models.BigAutoField"
