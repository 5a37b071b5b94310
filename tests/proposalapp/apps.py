from django.apps import AppConfig


class ProposalAppConfig(AppConfig):
    name = "tests.proposalapp"
    label = "proposalapp"
    default_auto_field = "django.db.models.BigAutoField"
