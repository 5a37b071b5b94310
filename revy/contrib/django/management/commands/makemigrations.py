"""Django's ``makemigrations``, writing revy's operations beside Django's
where a tracked model's field is renamed or removed
(:class:`~revy.contrib.django.autodetector.HistoryAutodetector`).

Installed with revy's app, it replaces Django's command. A project app with a
``makemigrations`` of its own, listed before revy, subclasses this one."""

from django.core.management.commands import makemigrations

from revy.contrib.django.autodetector import PairedAutodetectorCommand


class Command(PairedAutodetectorCommand, makemigrations.Command):
    paired_with = "migrate"
