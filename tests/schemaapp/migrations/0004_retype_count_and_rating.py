from django.db import migrations, models

from revy.contrib.django.operations import ConvertTrackedField


def count_to_integer(stored):
    """History held the count as text; "" meant none."""
    return int(stored) if stored else None


def count_to_text(stored):
    return str(stored)


class Migration(migrations.Migration):
    dependencies = [("schemaapp", "0003_remove_body")]

    # rating is retyped with no converter: its older history stays text.
    operations = [
        migrations.AlterField("article", "count", models.IntegerField(null=True)),
        ConvertTrackedField("article", "count", count_to_integer, count_to_text),
        migrations.AlterField("article", "rating", models.IntegerField(null=True)),
    ]
