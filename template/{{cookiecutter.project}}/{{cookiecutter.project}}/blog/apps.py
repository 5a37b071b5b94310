from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "{{ cookiecutter.project }}.blog"
    verbose_name = "Blog (example)"
