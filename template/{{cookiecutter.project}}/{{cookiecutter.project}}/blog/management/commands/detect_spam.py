from typing import Any

from django.core.management.base import BaseCommand

from {{ cookiecutter.project }}.blog.spam import detect_spam


class Command(BaseCommand):
    help = "Mark comments that look like spam; the system is the actor."

    def handle(self, *args: Any, **options: Any) -> None:
        found = detect_spam()
        self.stdout.write(f"Marked {len(found)} comment(s) as spam.")
