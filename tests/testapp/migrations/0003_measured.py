from django.db import migrations, models

import tests.testapp.models


class Migration(migrations.Migration):
    dependencies = [("testapp", "0002_plain_columns")]

    operations = [
        migrations.CreateModel(
            name="Measured",
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
                ("length", tests.testapp.models.LengthField(max_length=20, null=True)),
            ],
        ),
    ]
