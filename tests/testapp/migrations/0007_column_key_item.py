from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0006_django_kinds")]

    operations = [
        migrations.CreateModel(
            name="ColumnKeyItem",
            fields=[
                (
                    "number",
                    models.IntegerField(
                        db_column="item_number", primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=50)),
            ],
        ),
    ]
