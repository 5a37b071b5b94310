"""The database refuses UPDATE and DELETE of the history tables unless revy
declares one of its recorded operations (redaction, pruning, flush): see
revy's docs/integrity.md. ``manage.py revy_triggers --status`` shows them."""

from django.db import migrations
from revy.contrib.django.triggers import InstallHistoryTriggers


class Migration(migrations.Migration):
    dependencies = [
        ("revisions", "0001_initial"),
        ("revy", "0002_integrity_records"),
    ]

    operations = [InstallHistoryTriggers()]
