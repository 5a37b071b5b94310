from django.db import migrations

from revy.contrib.django.operations import RenameTrackedField


class Migration(migrations.Migration):
    dependencies = [("schemaapp", "0001_initial")]

    operations = [
        migrations.RenameField("article", "title", "headline"),
        RenameTrackedField("article", "title", "headline"),
    ]
