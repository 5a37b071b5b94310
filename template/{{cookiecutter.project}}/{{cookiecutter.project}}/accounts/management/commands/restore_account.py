from typing import Any

from django.core.management.base import BaseCommand, CommandError

from {{ cookiecutter.project }}.accounts.services import restore_account
from {{ cookiecutter.project }}.actors import system


class Command(BaseCommand):
    help = "Restore a deleted user, and what its deletion took, from the history."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("user_id", type=int)

    @system()
    def handle(self, *args: Any, user_id: int, **options: Any) -> None:
        try:
            user = restore_account(user_id)
        except LookupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restored user {user.pk} ({user.get_username()}).")
