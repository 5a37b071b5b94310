from django.core.management.commands import migrate


class Command(migrate.Command):
    pass
