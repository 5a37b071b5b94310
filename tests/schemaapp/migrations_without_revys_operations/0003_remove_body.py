from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schemaapp", "0002_rename_title")]

    operations = [migrations.RemoveField("article", "body")]
