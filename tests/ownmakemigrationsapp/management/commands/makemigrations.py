from django.core.management.commands import makemigrations


class Command(makemigrations.Command):
    """Django's own ``makemigrations``, as another app's replacement of it would be."""
