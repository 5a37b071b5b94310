"""Django's ``migrate``, with the autodetector of revy's ``makemigrations``
(which Django's check commands.E001 asks of the two commands; ``migrate``
uses it only to say whether the models have changes not in a migration)."""

from django.core.management.commands import migrate

from revy.contrib.django.autodetector import HistoryAutodetector


class Command(migrate.Command):
    autodetector = HistoryAutodetector
