from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schemaapp", "0004_retype_count_and_rating")]

    # Django's contenttypes app renames the content type that history
    # refers to: history follows with no operation of revy's.
    operations = [migrations.RenameModel("Article", "Post")]
