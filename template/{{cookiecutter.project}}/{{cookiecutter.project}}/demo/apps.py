from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "{{ cookiecutter.project }}.demo"
    verbose_name = "Demo scenario"
