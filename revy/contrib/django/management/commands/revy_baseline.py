"""``manage.py revy_baseline``: record rows that existed before tracking."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models import Max

from revy.context import Context, current_frame
from revy.contrib.django import conf, transactions
from revy.contrib.django.encoding import key_text
from revy.contrib.django.inheritance import children_of
from revy.contrib.django.management.labels import add_labels_argument, tracked_models
from revy.contrib.django.models import get_object_delta_model
from revy.contrib.django.recording import Recorder
from revy.contrib.django.rows import batches, recorded_fields

DESCRIPTION = "Baseline of rows that existed before tracking began."


class Command(BaseCommand):
    help = (
        "Record the current state of every row that history has never seen, "
        "so that snapshots, points in time and restores know all its fields. "
        "Rows with any history are left alone; running it twice adds nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        add_labels_argument(parser)
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(
        self, *args: Any, labels: list[str], database: str, **options: Any
    ) -> None:
        targets = tracked_models(labels, database)
        with (
            transaction.atomic(using=database),
            Context.via_revision_description(DESCRIPTION),
        ):
            for model in targets:
                count = baseline(model, database)
                self.stdout.write(f"{model._meta.label}: {count} rows recorded")


def baseline(model: type[models.Model], using: str) -> int:
    """Record a baseline delta for each row of ``model`` without history,
    or whose history ends with its delete (a row made again since, while
    nothing was recorded)."""
    frame = current_frame()
    assert frame is not None, "baseline() runs inside a revy context"
    object_delta_model = get_object_delta_model()
    content_type = ContentType.objects.db_manager(using).get_for_model(model)
    deltas = object_delta_model.objects.using(using).filter(content_type=content_type)
    fields = recorded_fields(model)
    recorder = Recorder(frame, using)
    count = 0
    rows = model._base_manager.all()
    for child in children_of(model):
        # A multi-table child and its parent rows are one object: the child's.
        if conf.is_tracked(child):
            rows = rows.exclude(pk__in=child._base_manager.values("pk"))
    # A batch at a time, its history written before the next is read: the
    # memory a baseline takes does not grow with the table.
    for batch in batches(model, using, rows):
        transactions.flush_if_full(using)
        keys = {key_text(model, pk): pk for pk in batch}
        of_batch = deltas.filter(content_id__in=keys)
        latest = of_batch.values("content_id").annotate(latest=Max("pk"))
        seen = set(
            of_batch.filter(pk__in=latest.values("latest"))
            .exclude(action=object_delta_model.ACTION_DELETE)
            .values_list("content_id", flat=True)
        )
        for key, pk in keys.items():
            if key in seen:
                continue
            row = batch[pk]
            attributes = [
                recorder.attribute(f.name, None, recorder.encode(f, row[f.attname]))
                for f in fields
            ]
            recorder.baseline(model, pk, attributes)
            count += 1
    return count
