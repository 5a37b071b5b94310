from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("testapp", "0010_more_relations"),
    ]

    operations = [
        migrations.CreateModel(
            name="Sticker",
            fields=[
                (
                    "code",
                    models.CharField(max_length=20, primary_key=True, serialize=False),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Binder",
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
                ("name", models.CharField(max_length=50)),
                (
                    "stickers",
                    models.ManyToManyField(
                        blank=True, related_name="binders", to="testapp.sticker"
                    ),
                ),
            ],
        ),
    ]
