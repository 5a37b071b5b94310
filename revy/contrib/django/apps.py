from django.apps import AppConfig, apps


class RevyConfig(AppConfig):
    name = "revy.contrib.django"
    label = "revy"
    verbose_name = "Revy revision history"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from revy.contrib.django import capture, checks, conf, tracking

        checks.register()
        capture.install()
        for model in apps.get_models():
            if conf.is_tracked(model):
                tracking.install(model)
