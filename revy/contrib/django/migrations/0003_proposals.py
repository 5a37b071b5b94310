import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from revy.contrib.django import conf


class Migration(migrations.Migration):
    # The proposal model is swappable, as the history models are: labels
    # come from settings, with revy's own models as the default. A project
    # whose own Proposal model is not in its app's first migration names
    # this one in that migration's run_before (docs/proposals.md).
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("revy", "0002_integrity_records"),
        migrations.swappable_dependency(conf.revision_model_label()),
        migrations.swappable_dependency(conf.proposal_model_label()),
    ]

    operations = [
        migrations.CreateModel(
            name="Proposal",
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
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "open"),
                            ("applied", "applied"),
                            ("rejected", "rejected"),
                            ("withdrawn", "withdrawn"),
                        ],
                        db_index=True,
                        default="open",
                        max_length=16,
                        verbose_name="status",
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
                (
                    "decided_by_id",
                    models.CharField(
                        blank=True,
                        default=None,
                        max_length=255,
                        null=True,
                        verbose_name="decided by id",
                    ),
                ),
                (
                    "decided_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="decided at"
                    ),
                ),
                (
                    "reason",
                    models.TextField(blank=True, default="", verbose_name="reason"),
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
                    "decided_by_content_type",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="decided by type",
                    ),
                ),
                (
                    "revision",
                    models.ForeignKey(
                        blank=True,
                        help_text="The revision the applied proposal became.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="proposals",
                        to=conf.revision_model_label(),
                        verbose_name="revision",
                    ),
                ),
            ],
            options={
                "verbose_name": "proposal",
                "verbose_name_plural": "proposals",
                "get_latest_by": ["created_at", "pk"],
                "abstract": False,
                "swappable": "REVY_PROPOSAL_MODEL",
            },
        ),
        migrations.CreateModel(
            name="ProposedObjectDelta",
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
                    "action",
                    models.CharField(
                        choices=[
                            ("create", "create"),
                            ("update", "update"),
                            ("delete", "delete"),
                        ],
                        max_length=16,
                        verbose_name="action",
                    ),
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
                        help_text="The delete this change follows from.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="effects",
                        to="revy.proposedobjectdelta",
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
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deltas",
                        to=conf.proposal_model_label(),
                        verbose_name="proposal",
                    ),
                ),
            ],
            options={
                "verbose_name": "proposed object delta",
                "verbose_name_plural": "proposed object deltas",
            },
        ),
        migrations.CreateModel(
            name="ProposedAttributeDelta",
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
                    "field_name",
                    models.CharField(max_length=255, verbose_name="field name"),
                ),
                (
                    "base_value",
                    models.JSONField(blank=True, null=True, verbose_name="base value"),
                ),
                (
                    "proposed_value",
                    models.JSONField(
                        blank=True, null=True, verbose_name="proposed value"
                    ),
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
                    "object_delta",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attribute_deltas",
                        to="revy.proposedobjectdelta",
                        verbose_name="proposed object delta",
                    ),
                ),
            ],
            options={
                "verbose_name": "proposed attribute delta",
                "verbose_name_plural": "proposed attribute deltas",
            },
        ),
        migrations.AddIndex(
            model_name="proposedobjectdelta",
            index=models.Index(
                fields=["content_type", "content_id"], name="revy_proposed_object"
            ),
        ),
    ]
