import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from revy.contrib.django import conf


class Migration(migrations.Migration):
    initial = True

    # The history models are swappable: their labels come from settings, with
    # revy's own models as the default (settings need not name them).
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(conf.revision_model_label()),
        migrations.swappable_dependency(conf.object_delta_model_label()),
    ]

    operations = [
        migrations.CreateModel(
            name="Revision",
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
                    "description",
                    models.TextField(
                        blank=True, default="", verbose_name="description"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        verbose_name="created at",
                    ),
                ),
            ],
            options={
                "verbose_name": "revision",
                "verbose_name_plural": "revisions",
                "get_latest_by": ["created_at", "pk"],
                "abstract": False,
                "swappable": "REVY_REVISION_MODEL",
            },
        ),
        migrations.CreateModel(
            name="ObjectDelta",
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
                    "actor_id",
                    models.CharField(
                        blank=True,
                        default=None,
                        max_length=255,
                        null=True,
                        verbose_name="actor id",
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("create", "create"),
                            ("update", "update"),
                            ("delete", "delete"),
                            ("baseline", "baseline"),
                        ],
                        max_length=16,
                        verbose_name="action",
                    ),
                ),
                (
                    "content_id",
                    models.CharField(max_length=255, verbose_name="object id"),
                ),
                (
                    "description",
                    models.TextField(
                        blank=True, default="", verbose_name="description"
                    ),
                ),
                (
                    "deletion_description",
                    models.TextField(
                        blank=True, default="", verbose_name="deletion description"
                    ),
                ),
                (
                    "actor_content_type",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="actor type",
                    ),
                ),
                (
                    "cause",
                    models.ForeignKey(
                        blank=True,
                        help_text="The delete that made this one happen, for cascades.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="effects",
                        to=conf.object_delta_model_label(),
                        verbose_name="cause",
                    ),
                ),
                (
                    "content_type",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="object type",
                    ),
                ),
                (
                    "revision",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="object_deltas",
                        to=conf.revision_model_label(),
                        verbose_name="revision",
                    ),
                ),
            ],
            options={
                "base_manager_name": "objects",
                "verbose_name": "object delta",
                "verbose_name_plural": "object deltas",
                "abstract": False,
                "swappable": "REVY_OBJECT_DELTA_MODEL",
            },
        ),
        migrations.CreateModel(
            name="AttributeDelta",
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
                    "actor_id",
                    models.CharField(
                        blank=True,
                        default=None,
                        max_length=255,
                        null=True,
                        verbose_name="actor id",
                    ),
                ),
                (
                    "content_id",
                    models.CharField(max_length=255, verbose_name="object id"),
                ),
                (
                    "field_name",
                    models.CharField(max_length=255, verbose_name="field name"),
                ),
                (
                    "old_value",
                    models.JSONField(blank=True, null=True, verbose_name="old value"),
                ),
                (
                    "new_value",
                    models.JSONField(blank=True, null=True, verbose_name="new value"),
                ),
                (
                    "description",
                    models.TextField(
                        blank=True, default="", verbose_name="description"
                    ),
                ),
                (
                    "actor_content_type",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="actor type",
                    ),
                ),
                (
                    "content_type",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="object type",
                    ),
                ),
                (
                    "object_delta",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attribute_deltas",
                        to=conf.object_delta_model_label(),
                        verbose_name="object delta",
                    ),
                ),
            ],
            options={
                "base_manager_name": "objects",
                "verbose_name": "attribute delta",
                "verbose_name_plural": "attribute deltas",
                "abstract": False,
                "swappable": "REVY_ATTRIBUTE_DELTA_MODEL",
                "indexes": [
                    models.Index(
                        fields=[
                            "content_type",
                            "content_id",
                            "field_name",
                            "object_delta",
                        ],
                        name="revy_attributedelta_field",
                    ),
                    models.Index(
                        fields=["actor_content_type", "actor_id"],
                        name="revy_attributedelta_actor",
                    ),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="objectdelta",
            index=models.Index(
                fields=["content_type", "content_id", "id"],
                name="revy_objectdelta_object",
            ),
        ),
        migrations.AddIndex(
            model_name="objectdelta",
            index=models.Index(
                fields=["content_type", "id"], name="revy_objectdelta_model"
            ),
        ),
        migrations.AddIndex(
            model_name="objectdelta",
            index=models.Index(
                fields=["actor_content_type", "actor_id"], name="revy_objectdelta_actor"
            ),
        ),
    ]
