from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "{{ cookiecutter.project }}.reviews"
    verbose_name = "Reviews"
