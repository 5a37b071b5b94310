"""One run of ``make bench-scale`` (``benchmarks/scale.py``), in a process of
its own: ``python -m benchmarks.scale_run PATH LIBRARY ROWS`` prepares a
fresh table in a process of its own (``scale_run --prepare``), then runs
the write once and prints its time and peak memory as JSON."""

import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, NamedTuple

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
PREPARE = "--prepare"  # The argument of the preparing process.


def _kilobytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Sets the peak resident set to the current one.


class Models(NamedTuple):
    """The models a path writes: the 5-field model, a parent and its
    children (for ``set_null`` a holder and its held rows, for many-to-many
    a group and its members)."""

    item: Any
    parent: Any
    child: Any


def _models(path: str, library: str) -> Models:
    prefix = LIBRARIES[library]
    parent, child = "Parent", "Child"
    if path == "set_null":  # Rows of a parent of their own (benchmarks/models.py).
        parent, child = "Holder", "Held"
    elif path.startswith("m2m"):  # A group's members.
        parent, child = "Group", "Member"
    return Models(
        *(
            apps.get_model("benchmarks", prefix + name)
            for name in ("Item", parent, child)
        )
    )


def _fields(i: int, now: Any) -> dict[str, Any]:
    return {
        "text": f"text {i}",
        "number": i,
        "body": "body",
        "flag": i % 2 == 0,
        "moment": now,
    }


def _prepare(path: str, library: str, n: int) -> None:
    """Empty the tables and write the rows ``path``'s write starts from."""
    models = _models(path, library)
    item, parent_model, child = models.item, models.parent, models.child
    prefix = LIBRARIES[library]
    flush(
        [
            item,
            *(
                apps.get_model("benchmarks", prefix + name)
                for name in ("Parent", "Child")
            ),
            *(
                apps.get_model("revy", name)
                for name in ("AttributeDelta", "ObjectDelta", "Revision")
            ),
        ]
    )
    if path.startswith("m2m"):
        flush([parent_model.members.through, parent_model, child])
    elif path == "set_null":
        flush([parent_model, child])
    now = timezone.now()

    def insert(model: Any, **extra: Any) -> None:
        with revy.Context.as_disabled():
            for start in range(0, n, 10_000):
                model.objects.bulk_create(
                    model(**_fields(i, now), **extra)
                    for i in range(start, min(n, start + 10_000))
                )

    if path in ("revert_update", "revert_delete"):
        insert(item)
        with revy.Context():
            if path == "revert_update":
                item.objects.update(number=F("number") + 1, text="changed")
            else:
                item.objects.all().delete()
    elif path in ("restore_cascade", "set_null", "cascade"):
        with revy.Context.as_disabled():
            parent = parent_model.objects.create(name="parent")
        insert(child, **{"holder" if path == "set_null" else "parent": parent})
        if path == "restore_cascade":
            with revy.Context():
                parent.delete()
    elif path.startswith("m2m"):
        insert(child)
        with revy.Context.as_disabled():
            group = parent_model.objects.create(name="group")
        if path != "m2m_add":  # Every row a member, to take out.
            _add_members(
                parent_model, group, child.objects.values_list("pk", flat=True)
            )
    elif path == "delete_loaded":
        with revy.Context.as_disabled():
            for start in range(0, n, 10_000):
                keys = range(start, min(n, start + 10_000))
                parents = parent_model.objects.bulk_create(
                    parent_model(name=f"parent {i}") for i in keys
                )
                child.objects.bulk_create(
                    child(**_fields(i, now), parent=parent)
                    for i, parent in zip(keys, parents, strict=True)
                )
    elif path != "bulk_create":
        insert(item)


def _add_members(group_model: Any, group: Any, keys: Any) -> None:
    """Every row of ``keys`` a member of ``group``, by through rows inserted
    10,000 at a time (``add()`` reads the rows already there, by one query
    listing every key, too many for SQLite at 10^6)."""
    field = group_model._meta.get_field("members")
    through = field.remote_field.through
    owner, member = field.m2m_column_name(), field.m2m_reverse_name()
    keys = list(keys)
    for start in range(0, len(keys), 10_000):
        through.objects.bulk_create(
            through(**{owner: group.pk, member: key})
            for key in keys[start : start + 10_000]
        )


def _write(path: str, library: str, n: int) -> Callable[[], Any]:
    """The write of ``path`` on the rows :func:`_prepare` left, with what
    the caller holds for it (the objects of a bulk write, the keys of an
    ``add``) already in hand."""
    models = _models(path, library)
    item, parent_model, child = models.item, models.parent, models.child
    write: Callable[[], Any]
    if path in ("revert_update", "revert_delete"):
        revision = apps.get_model("revy", "Revision").objects.latest("pk")
        write = lambda: revert(revision)  # noqa: E731
    elif path == "restore_cascade":
        key = _deleted_key(parent_model)
        write = lambda: restore_deleted(parent_model, key, cascade=True)  # noqa: E731
    elif path in ("set_null", "cascade"):
        write = parent_model.objects.get().delete
    elif path in ("m2m_add", "m2m_remove", "m2m_set"):
        group = parent_model.objects.get()
        keys = list(child.objects.values_list("pk", flat=True))
        if path == "m2m_add":
            write = lambda: group.members.add(*keys)  # noqa: E731
        elif path == "m2m_remove":
            write = lambda: group.members.remove(*keys)  # noqa: E731
        else:  # Half of the members stay, the other half go.
            write = lambda: group.members.set(keys[: n // 2])  # noqa: E731
    elif path == "m2m_clear":
        write = parent_model.objects.get().members.clear
    elif path == "baseline":
        label = item._meta.label
        write = lambda: call_command("revy_baseline", label, verbosity=0)  # noqa: E731
    elif path == "bulk_create":
        now = timezone.now()
        objs = [item(**_fields(i, now)) for i in range(n)]
        write = lambda: item.objects.bulk_create(objs)  # noqa: E731
    elif path == "bulk_update":
        objs = list(item.objects.all())
        for obj in objs:
            obj.number += 1
        write = lambda: item.objects.bulk_update(objs, ["number"])  # noqa: E731
    elif path.startswith("update"):
        write = lambda: item.objects.update(  # noqa: E731
            number=F("number") + 1, text="changed"
        )
    elif path == "delete_loaded":
        write = lambda: parent_model.objects.all().delete()  # noqa: E731
    else:  # delete
        write = lambda: item.objects.all().delete()  # noqa: E731
    if library == "limit":
        write = limit_of(path, item, parent_model, child, write)
    return write


def _deleted_key(model: Any) -> Any:
    """The key of the ``model`` row deleted last, from its history."""
    delta = apps.get_model("revy", "ObjectDelta").objects.for_rows_of(model)
    return model._meta.pk.to_python(
        delta.filter(action="delete").latest("pk").content_id
    )


def _run_one(path: str, library: str, n: int) -> dict[str, Any]:
    """Prepare in a process of its own, then time and measure one write in
    this one: the memory the preparation freed, and how it left the heap,
    moved the write's peak by tens of megabytes (20 MB at 10^5 rows of
    ``delete_loaded``)."""
    subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_run", PREPARE, path, library, str(n)],
        check=True,
    )
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
    models = _models(path, library)
    item, child = models.item, models.child
    write = _write(path, library, n)
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
    if sys.argv[1] == PREPARE:
        connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
        _prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(json.dumps(_run_one(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
