"""One run of ``make bench-scale`` (``benchmarks/scale.py``), in a process of
its own: ``python -m benchmarks.scale_run PATH LIBRARY ROWS`` prepares a
fresh table, runs the write once and prints its time and peak memory as
JSON."""

import gc
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

import revy  # noqa: E402
from benchmarks.runner import flush  # noqa: E402
from benchmarks.scale_limit import limit_of  # noqa: E402
from revy.contrib.django.capture.sqlhistory import (  # noqa: E402
    fields_recorded_in_python,
)
from revy.contrib.django.history import restore_deleted, revert  # noqa: E402
from revy.contrib.django.rows import recorded_fields  # noqa: E402

LIBRARIES = {
    "untracked": "Plain",
    "revy": "Revy",
    "limit": "Revy",  # revy's tables, written by the database alone.
    "pghistory": "PgRow",
}


def _kilobytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Sets the peak resident set to the current one.


def _run_one(path: str, library: str, n: int) -> dict[str, Any]:
    """Prepare, then time and measure one write."""
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
    prefix = LIBRARIES[library]
    item, parent_model, child = (
        apps.get_model("benchmarks", prefix + name)
        for name in ("Item", "Parent", "Child")
    )
    history = [
        apps.get_model("revy", name)
        for name in ("AttributeDelta", "ObjectDelta", "Revision")
    ]
    flush([item, parent_model, child, *history])
    if path == "set_null":  # Rows of a parent of their own (benchmarks/models.py).
        parent_model, child = (
            apps.get_model("benchmarks", prefix + name) for name in ("Holder", "Held")
        )
        flush([parent_model, child])
    elif path.startswith("m2m"):  # A group's members.
        parent_model, child = (
            apps.get_model("benchmarks", prefix + name) for name in ("Group", "Member")
        )
        flush([parent_model.members.through, parent_model, child])
    now = timezone.now()

    def fields(i: int) -> dict[str, Any]:
        return {
            "text": f"text {i}",
            "number": i,
            "body": "body",
            "flag": i % 2 == 0,
            "moment": now,
        }

    def insert(model: Any, **extra: Any) -> None:
        with revy.Context.as_disabled():
            for start in range(0, n, 10_000):
                model.objects.bulk_create(
                    model(**fields(i), **extra)
                    for i in range(start, min(n, start + 10_000))
                )

    write: Callable[[], Any]
    if path in ("revert_update", "revert_delete"):
        insert(item)
        with revy.Context():
            if path == "revert_update":
                item.objects.update(number=F("number") + 1, text="changed")
            else:
                item.objects.all().delete()
        revision = history[2].objects.latest("pk")
        write = lambda: revert(revision)  # noqa: E731
    elif path == "restore_cascade":
        with revy.Context.as_disabled():
            parent = parent_model.objects.create(name="parent")
        insert(child, parent=parent)
        key = parent.pk
        with revy.Context():
            parent.delete()
        write = lambda: restore_deleted(parent_model, key, cascade=True)  # noqa: E731
    elif path == "set_null":
        with revy.Context.as_disabled():
            parent = parent_model.objects.create(name="holder")
        insert(child, holder=parent)
        write = parent.delete
    elif path.startswith("m2m"):
        insert(child)
        with revy.Context.as_disabled():
            group = parent_model.objects.create(name="group")
        keys = list(child.objects.values_list("pk", flat=True))
        if path == "m2m_add":
            write = lambda: group.members.add(*keys)  # noqa: E731
        else:
            with revy.Context.as_disabled():
                group.members.add(*keys)
            write = group.members.clear
    elif path == "baseline":
        insert(item)
        label = item._meta.label
        write = lambda: call_command("revy_baseline", label, verbosity=0)  # noqa: E731
    elif path == "bulk_create":
        objs = [item(**fields(i)) for i in range(n)]
        write = lambda: item.objects.bulk_create(objs)  # noqa: E731
    elif path == "bulk_update":
        insert(item)
        objs = list(item.objects.all())
        for obj in objs:
            obj.number += 1
        write = lambda: item.objects.bulk_update(objs, ["number"])  # noqa: E731
    elif path.startswith("update"):
        insert(item)
        write = lambda: item.objects.update(  # noqa: E731
            number=F("number") + 1, text="changed"
        )
    elif path == "delete_loaded":
        with revy.Context.as_disabled():
            for start in range(0, n, 10_000):
                keys = range(start, min(n, start + 10_000))
                parents = parent_model.objects.bulk_create(
                    parent_model(name=f"parent {i}") for i in keys
                )
                child.objects.bulk_create(
                    child(**fields(i), parent=parent)
                    for i, parent in zip(keys, parents, strict=True)
                )
        write = lambda: parent_model.objects.all().delete()  # noqa: E731
    elif path.startswith("delete"):
        insert(item)
        write = lambda: item.objects.all().delete()  # noqa: E731
    else:  # cascade
        with revy.Context.as_disabled():
            parent = parent_model.objects.create(name="parent")
        insert(child, parent=parent)
        write = parent.delete
    if library == "limit":
        write = limit_of(path, item, parent_model, child, write)
    context = revy.Context() if library == "revy" else nullcontext()
    if path == "update_in_python":  # The update recorded by revy's Python path.
        settings.REVY_HISTORY_IN_SQL = False
    if path.endswith("_python_values"):  # Every value encoded by Python.
        settings.REVY_VALUE_ENCODER = "benchmarks.encoders.PythonValueEncoder"
    gc.collect()
    before = _kilobytes("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    with context:
        write()
    seconds = time.perf_counter() - started
    peak = _kilobytes("VmHWM")
    if path.startswith("update"):
        fields = [item._meta.get_field(name) for name in ("number", "text")]
        in_python = fields_recorded_in_python(item, fields, connection.alias)
    elif path == "delete_loaded":
        # The parents are rows Django loads; their children go by filter.
        fields = recorded_fields(child)
        in_python = [
            "the parents' fields",
            *fields_recorded_in_python(child, fields, connection.alias),
        ]
    elif path.startswith(("delete", "cascade")):
        deleted = item if path.startswith("delete") else child
        fields = recorded_fields(deleted)
        in_python = fields_recorded_in_python(deleted, fields, connection.alias)
    else:
        in_python = []
    return {
        "seconds": seconds,
        "extra_mb": (peak - before) / 1024,
        "in_python": in_python,
    }


if __name__ == "__main__":
    print(json.dumps(_run_one(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
