from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schemaapp", "0001_initial")]

    operations = [migrations.RenameField("article", "title", "headline")]
