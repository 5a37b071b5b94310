from django.db import migrations

from revy.contrib.django.operations import RemoveTrackedField


class Migration(migrations.Migration):
    dependencies = [("schemaapp", "0002_rename_title")]

    operations = [
        migrations.RemoveField("article", "body"),
        RemoveTrackedField("article", "body"),
    ]
