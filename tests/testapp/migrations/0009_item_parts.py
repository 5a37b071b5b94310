from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0008_note")]

    operations = [
        migrations.CreateModel(
            name="UUIDItemPart",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        related_name="parts",
                        to="testapp.uuiditem",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="CodeItemPart",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        related_name="parts",
                        to="testapp.codeitem",
                    ),
                ),
            ],
        ),
    ]
