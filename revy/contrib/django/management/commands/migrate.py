"""Django's ``migrate``, with the autodetector of revy's ``makemigrations``
(Django's check commands.E001 asks the two commands to share one; ``migrate``
uses it only to say whether the models have changes not in a migration)."""

from django.core.management.commands import migrate

from revy.contrib.django.autodetector import PairedAutodetectorCommand


class Command(PairedAutodetectorCommand, migrate.Command):
    paired_with = "makemigrations"
