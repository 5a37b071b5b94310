from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0003_measured")]

    operations = [
        migrations.CreateModel(
            name="OddNames",
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
                ("it's", models.CharField(default="", max_length=20)),
            ],
        ),
    ]
