from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "{{ cookiecutter.project }}.invoices"
    verbose_name = "Invoices (example)"
