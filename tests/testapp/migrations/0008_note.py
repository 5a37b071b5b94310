from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0007_column_key_item")]

    operations = [
        migrations.CreateModel(
            name="Note",
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
                ("text", models.CharField(blank=True, default="", max_length=100)),
                (
                    "editor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="notes",
                        to="testapp.editor",
                    ),
                ),
                (
                    "shelf",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        related_name="notes",
                        to="testapp.shelf",
                    ),
                ),
            ],
        ),
    ]
