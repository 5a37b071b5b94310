from django.apps import AppConfig


class RevisionsConfig(AppConfig):
    name = "{{ cookiecutter.project }}.revisions"
    verbose_name = "Revisions"
