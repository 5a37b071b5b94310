from django.db import migrations, models


class Migration(migrations.Migration):
    # Schema migrations that rewrite history (revy.contrib.django.operations)
    # record an amendment of their own kind.
    dependencies = [
        ("revy", "0003_proposals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="amendment",
            name="kind",
            field=models.CharField(
                choices=[
                    ("redact", "redaction"),
                    ("prune", "pruning"),
                    ("migrate", "schema migration"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
    ]
