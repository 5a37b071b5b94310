"""What each library is to the scenarios: its models, its revision, its history.

A scenario calls ``revision()`` around what one revision holds and the
reading methods (``state_at``, ``snapshots``, ``history``) for history. A
library lists in ``cannot`` the scenarios it has no way to do, with the text
the table shows instead of a number. The untracked twin reads live rows: the
baseline that reading history is compared with.
"""

from contextlib import nullcontext
from typing import Any

import reversion
from auditlog.models import LogEntry
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import CHANGE
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client, override_settings
from django.urls import reverse
from reversion.models import Revision, Version

import revy
from revy.contrib.django import history
from revy.contrib.django.models import (
    get_attribute_delta_model,
    get_object_delta_model,
    get_revision_model,
)
from revy.contrib.django.snapshot import ObjectSnapshot

NOT_YET = "not yet"
NO_ADMIN_PAGE = "not measured (no admin history page)"


def admin_client() -> Client:
    """A client signed in as a superuser, for the admin's pages."""
    user, _created = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


class Library:
    key = "untracked"
    label = "untracked"
    prefix = "Plain"
    cannot: dict[str, str] = {}
    # The scenarios a variant of another library runs (None: all of them).
    only: frozenset[str] | None = None

    def __init__(self) -> None:
        self.item, self.parent, self.child = (
            apps.get_model("benchmarks", self.prefix + name)
            for name in ("Item", "Parent", "Child")
        )

    @property
    def models(self) -> list[Any]:
        return [self.item, self.parent, self.child]

    def revision(self) -> Any:
        """What groups changes into one revision: nothing for most libraries."""
        return nullcontext()

    def active(self) -> Any:
        """The settings a run of this library is made under."""
        return nullcontext()

    def history_models(self) -> list[Any]:
        return []

    def history_rows(self) -> int:
        return sum(model._base_manager.count() for model in self.history_models())

    def state_at(self, obj: Any, index: int) -> Any:
        """``obj`` as it stood after its ``index``-th recorded change (0: created)."""
        return self.item.objects.get(pk=obj.pk)

    def change_time(self, obj: Any, index: int) -> Any:
        """When ``obj``'s ``index``-th recorded change was made, as the
        library dates it (read untimed, before a run)."""
        return None

    def state_as_of(self, obj: Any, when: Any) -> Any:
        """``obj`` as it stood at the time ``when``, through the library's
        own read of a point in time."""
        return self.item.objects.get(pk=obj.pk)

    def snapshots(self, count: int) -> list[Any]:
        """The objects as they stood after each of the newest ``count`` changes."""
        return list(self.item.objects.order_by("-pk")[:count])

    def history(self, obj: Any, count: int) -> list[Any]:
        """The newest ``count`` entries of ``obj``'s history, with their times."""
        return list(self.item.objects.order_by("-pk")[:count])

    def admin_history_ready(self, obj: Any, count: int) -> None:
        """What the admin history page of the untracked twin shows: Django's
        own log, one entry per change, as the admin writes them."""
        admin_client()
        user = get_user_model().objects.get(username="bench-admin")
        AdminLogEntry.objects.bulk_create(
            AdminLogEntry(
                user=user,
                content_type=ContentType.objects.get_for_model(self.item),
                object_id=str(obj.pk),
                object_repr=str(obj),
                action_flag=CHANGE,
                change_message='[{"changed": {"fields": ["Number"]}}]',
            )
            for _ in range(count)
        )

    def admin_history(self, client: Client, obj: Any) -> bytes:
        """The first page of ``obj``'s history in the admin, rendered."""
        opts = self.item._meta
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]
        )
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.content


class Revy(Library):
    key = label = "revy"
    prefix = "Revy"

    def admin_history_ready(self, obj: Any, count: int) -> None:
        pass

    def revision(self) -> Any:
        return revy.Context()

    def history_models(self) -> list[Any]:
        return [
            get_revision_model(),
            get_object_delta_model(),
            get_attribute_delta_model(),
        ]

    def state_at(self, obj: Any, index: int) -> Any:
        # The row after its index-th delta (docs/history.md).
        return history.state_at(self.item, obj.pk, at=index)

    def change_time(self, obj: Any, index: int) -> Any:
        deltas = get_object_delta_model().objects.for_object(obj)
        return deltas.select_related("revision")[index].revision.created_at

    def state_as_of(self, obj: Any, when: Any) -> Any:
        return history.state_at(self.item, obj.pk, at=when)

    def snapshots(self, count: int) -> list[Any]:
        deltas = get_object_delta_model().objects.filter(
            content_type=ContentType.objects.get_for_model(self.item)
        )
        newest = deltas.order_by("-pk").annotate(snapshot=ObjectSnapshot(self.item))
        # Only the instances: the deltas themselves are not built (docs/history.md).
        return list(newest.values_list("snapshot", flat=True)[:count])

    def history(self, obj: Any, count: int) -> list[Any]:
        return list(history.history(obj)[:count])


class RevySealed(Revy):
    """revy with tamper evidence on: each commit also seals what it wrote
    (docs/integrity.md). The same models as revy's, run in turn with it."""

    key = "revy_sealed"
    label = "revy, tamper evidence on"
    # Reads are revy's own: sealing costs only at commits.
    cannot = dict.fromkeys(
        (
            "load_outside",
            "load_inside",
            "state",
            "state_as_of",
            "snapshots",
            "history",
            "admin_history",
        ),
        "reads as revy does",
    )

    def active(self) -> Any:
        return override_settings(
            REVY_TAMPER_EVIDENCE=True, REVY_INTEGRITY_KEY="bench-" + "k" * 40
        )

    def history_models(self) -> list[Any]:
        return [*super().history_models(), apps.get_model("revy", "Seal")]


class RevyTrusting(Revy):
    """revy with ``REVY_READ_BEFORE_SAVE = False``: saves trust what the
    instance remembers instead of reading the row they overwrite."""

    key = "revy_trusting"
    label = "revy, REVY_READ_BEFORE_SAVE=False"
    only = frozenset({"update_each", "update_all"})

    def active(self) -> Any:
        return override_settings(REVY_READ_BEFORE_SAVE=False)


class Reversion(Library):
    key = "reversion"
    label = "django-reversion"
    prefix = "Reversion"

    def admin_history_ready(self, obj: Any, count: int) -> None:
        pass

    def revision(self) -> Any:
        return reversion.create_revision()

    def history_models(self) -> list[Any]:
        return [Revision, Version]

    def state_at(self, obj: Any, index: int) -> Any:
        version = Version.objects.get_for_object(obj).order_by("pk")[index]
        return version._object_version.object

    def change_time(self, obj: Any, index: int) -> Any:
        version = Version.objects.get_for_object(obj).order_by("pk")[index]
        return version.revision.date_created

    def state_as_of(self, obj: Any, when: Any) -> Any:
        versions = Version.objects.get_for_object(obj)
        version = versions.filter(revision__date_created__lte=when).first()
        return version._object_version.object

    def snapshots(self, count: int) -> list[Any]:
        versions = Version.objects.get_for_model(self.item).order_by("-pk")[:count]
        return [version._object_version.object for version in versions]

    def history(self, obj: Any, count: int) -> list[Any]:
        versions = Version.objects.get_for_object(obj).select_related("revision")
        return list(versions[:count])


class SimpleHistory(Library):
    key = "simple_history"
    label = "django-simple-history"
    prefix = "History"

    def admin_history_ready(self, obj: Any, count: int) -> None:
        pass

    def history_models(self) -> list[Any]:
        return [model.history.model for model in self.models]

    def state_at(self, obj: Any, index: int) -> Any:
        return obj.history.order_by("history_id")[index].instance

    def change_time(self, obj: Any, index: int) -> Any:
        return obj.history.order_by("history_id")[index].history_date

    def state_as_of(self, obj: Any, when: Any) -> Any:
        return obj.history.as_of(when)

    def snapshots(self, count: int) -> list[Any]:
        records = self.item.history.order_by("-history_id")[:count]
        return [record.instance for record in records]

    def history(self, obj: Any, count: int) -> list[Any]:
        return list(obj.history.all()[:count])


class Auditlog(Library):
    key = "auditlog"
    label = "django-auditlog"
    prefix = "Audit"
    cannot = {
        "state": "cannot (logs changes, rebuilds no object)",
        "state_as_of": "cannot (logs changes, rebuilds no object)",
        "snapshots": "cannot (logs changes, rebuilds no object)",
        "admin_history": NO_ADMIN_PAGE,
    }

    def history_models(self) -> list[Any]:
        return [LogEntry]

    def history(self, obj: Any, count: int) -> list[Any]:
        return list(LogEntry.objects.get_for_object(obj)[:count])


class PgHistoryRow(Library):
    key = "pghistory_row"
    label = "django-pghistory (row triggers)"
    prefix = "PgRow"
    cannot = {
        "admin_history": NO_ADMIN_PAGE,
        # pgh_created_at is the transaction's start, and the updates share one.
        "state_as_of": "cannot (dates a transaction's changes alike)",
    }

    def history_models(self) -> list[Any]:
        return [apps.get_model("benchmarks", m.__name__ + "Event") for m in self.models]

    @property
    def events(self) -> Any:
        return self.history_models()[0].objects

    def instance(self, event: Any) -> Any:
        fields = self.item._meta.concrete_fields
        return self.item(**{f.attname: getattr(event, f.attname) for f in fields})

    def state_at(self, obj: Any, index: int) -> Any:
        return self.instance(self.events.filter(pgh_obj=obj).order_by("pgh_id")[index])

    def snapshots(self, count: int) -> list[Any]:
        return [self.instance(e) for e in self.events.order_by("-pgh_id")[:count]]

    def history(self, obj: Any, count: int) -> list[Any]:
        return list(self.events.filter(pgh_obj=obj).order_by("-pgh_id")[:count])


class PgHistoryStatement(PgHistoryRow):
    key = "pghistory_statement"
    label = "django-pghistory (statement triggers)"
    prefix = "PgStatement"


def available() -> list[Library]:
    """The libraries of this database, the untracked twin first."""
    kinds = [
        Library,
        Revy,
        RevyTrusting,
        RevySealed,
        Reversion,
        SimpleHistory,
        Auditlog,
    ]
    if settings.PGHISTORY:
        kinds += [PgHistoryRow, PgHistoryStatement]
    return [kind() for kind in kinds]
