from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("testapp", "0011_text_keyed_members"),
    ]

    operations = [
        migrations.AddField(
            model_name="untracked",
            name="follows",
            field=models.ManyToManyField(
                blank=True, related_name="followers", to="testapp.untracked"
            ),
        ),
    ]
