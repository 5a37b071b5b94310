from django.db import migrations, models

from revy.contrib.django import conf


class Migration(migrations.Migration):
    initial = True

    # The operations of revy in later migrations write to history and to
    # its ledger: their tables come first.
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("revy", "0004_amendments_of_migrations"),
        migrations.swappable_dependency(conf.attribute_delta_model_label()),
    ]

    operations = [
        migrations.CreateModel(
            name="Article",
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
                ("title", models.CharField(max_length=100)),
                ("body", models.TextField(default="")),
                ("count", models.CharField(max_length=20, default="")),
                ("rating", models.CharField(max_length=20, default="")),
            ],
        ),
        migrations.CreateModel(
            name="Tag",
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
            ],
        ),
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
                ("text", models.CharField(default="", max_length=100)),
                ("secret", models.CharField(default="", max_length=100)),
                ("views", models.IntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("tags", models.ManyToManyField(blank=True, to="schemaapp.tag")),
            ],
        ),
    ]
