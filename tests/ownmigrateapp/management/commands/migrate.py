from django.core.management.commands import migrate


class Command(migrate.Command):
    """Django's own ``migrate``, as another app's replacement of it would be."""
