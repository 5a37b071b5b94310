"""The scenarios of issue 7: what is prepared, untimed, and what is timed.

``prepare(library, n)`` builds what a run needs and returns it; ``run(library,
prepared)`` is timed. Writes of a revision each run in autocommit, as a
request would: each library opens its own transaction or none. Writes "in
one revision" run in one transaction. Queries are counted per object for
``per_object`` scenarios and per run otherwise.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from benchmarks.libraries import Library, admin_client

LONG_TEXT = "A paragraph of long text, as a description field holds. " * 6
MOMENT = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def values(i: int) -> dict[str, Any]:
    """Field values of the i-th object: a 50-character text and the rest."""
    return {
        "text": f"object {i:08d} ".ljust(50, "."),
        "number": i,
        "body": LONG_TEXT,
        "flag": i % 2 == 0,
        "moment": MOMENT,
    }


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    sizes: tuple[int, int]  # objects in a full run, and with QUICK=1
    prepare: Callable[[Library, int], Any]
    run: Callable[[Library, Any], Any]
    # "each": writes, queries counted per object; "bulk": writes, queries
    # counted per run; "read": reads, prepared once, queries per run.
    kind: str = "each"

    @property
    def writes(self) -> bool:
        """A library that writes no history row here does not record it."""
        return self.kind != "read"


def nothing(library: Library, n: int) -> int:
    return n


def rows(library: Library, n: int) -> None:
    """n rows inserted in bulk, which no Python-side library records."""
    library.item.objects.bulk_create(library.item(**values(i)) for i in range(n))


def loaded(library: Library, n: int) -> list[Any]:
    """n rows, loaded back as a view would load them."""
    rows(library, n)
    return list(library.item.objects.order_by("pk"))


@contextmanager
def one_revision(library: Library) -> Iterator[None]:
    """One transaction holding one revision."""
    with transaction.atomic(), library.revision():
        yield


# Writes ----------------------------------------------------------------------


def create_each(library: Library, n: int) -> None:
    for i in range(n):
        with library.revision():
            library.item.objects.create(**values(i))


def update_each(library: Library, objects: list[Any]) -> None:
    for obj in objects:
        with library.revision():
            obj.number += 1
            obj.save()


def delete_each(library: Library, objects: list[Any]) -> None:
    for obj in objects:
        with library.revision():
            obj.delete()


def create_all(library: Library, n: int) -> None:
    with one_revision(library):
        for i in range(n):
            library.item.objects.create(**values(i))


def update_all(library: Library, objects: list[Any]) -> None:
    with one_revision(library):
        for obj in objects:
            obj.number += 1
            obj.save()


def delete_all(library: Library, objects: list[Any]) -> None:
    with one_revision(library):
        for obj in objects:
            obj.delete()


def load(library: Library, _: None) -> list[Any]:
    return list(library.item.objects.all())


def load_in_revision(library: Library, _: None) -> list[Any]:
    with library.revision():
        return list(library.item.objects.all())


def bulk_create(library: Library, n: int) -> None:
    with one_revision(library):
        library.item.objects.bulk_create([library.item(**values(i)) for i in range(n)])


def bulk_update(library: Library, objects: list[Any]) -> None:
    with one_revision(library):
        for obj in objects:
            obj.number += 1
        library.item.objects.bulk_update(objects, ["number"])


def queryset_update(library: Library, _: None) -> None:
    with one_revision(library):
        library.item.objects.update(number=F("number") + 1)


def queryset_delete(library: Library, _: None) -> None:
    with one_revision(library):
        library.item.objects.all().delete()


def parent_with_children(library: Library, n: int) -> Any:
    parent = library.parent.objects.create(name="parent")
    library.child.objects.bulk_create(
        library.child(parent=parent, **values(i)) for i in range(n)
    )
    return parent


def cascade(library: Library, parent: Any) -> None:
    with one_revision(library):
        parent.delete()


# Reading history -------------------------------------------------------------


def updated(library: Library, updates: int) -> Any:
    """One object created and then updated ``updates`` times, a revision each."""
    with transaction.atomic():
        with library.revision():
            obj = library.item.objects.create(**values(0))
        for _ in range(updates):
            with library.revision():
                obj.number += 1
                obj.save()
    return obj


def state_at(library: Library, obj: Any) -> Any:
    return library.state_at(obj, obj.number // 2)


def updated_and_dated(library: Library, updates: int) -> tuple[Any, Any]:
    """:func:`updated`, and the time of its middle change as the library dates it."""
    obj = updated(library, updates)
    return obj, library.change_time(obj, obj.number // 2)


def state_as_of(library: Library, prepared: tuple[Any, Any]) -> Any:
    obj, when = prepared
    return library.state_as_of(obj, when)


def created_and_updated(library: Library, n: int) -> int:
    """n objects created in one revision, then each updated in a second one."""
    with transaction.atomic():
        with library.revision():
            objects = [library.item.objects.create(**values(i)) for i in range(n)]
        with library.revision():
            for obj in objects:
                obj.number += 1
                obj.save()
    return n


def snapshots(library: Library, n: int) -> list[Any]:
    return library.snapshots(n)


def long_history(library: Library, n: int) -> tuple[Any, int]:
    """An object with n revisions, among n rows (the untracked twin reads those)."""
    rows(library, n - 1)
    return updated(library, n - 1), n


def history(library: Library, prepared: tuple[Any, int]) -> list[Any]:
    obj, n = prepared
    return library.history(obj, n)


def long_history_page(library: Library, n: int) -> tuple[Any, int]:
    """An object with n revisions, of which a run reads the newest
    ``READ[0]`` (1,000): the page of ``history``, from a longer history."""
    obj, _n = long_history(library, n)
    return obj, min(n, READ[0])


def admin_page(library: Library, n: int) -> tuple[Any, Any]:
    """An object with n revisions, and a client signed in to the admin."""
    obj, _n = long_history(library, n)
    library.admin_history_ready(obj, n - 1)
    return admin_client(), obj


def admin_history(library: Library, prepared: tuple[Any, Any]) -> bytes:
    client, obj = prepared
    return library.admin_history(client, obj)


EACH = (1000, 50)  # objects: (in a full run, with QUICK=1)
MANY = (2000, 100)
LOAD = (20000, 2000)
STATE = (50, 10)
READ = (1000, 100)
# Long histories: reads of them should take as long as of short ones.
LONG = (10000, 200)
SCENARIOS = [
    Scenario("create_each", "create, a revision each", EACH, nothing, create_each),
    Scenario(
        "update_each", "update a field, a revision each", EACH, loaded, update_each
    ),
    Scenario("delete_each", "delete, a revision each", EACH, loaded, delete_each),
    Scenario("create_all", "create, all in one revision", MANY, nothing, create_all),
    Scenario(
        "update_all", "update a field, all in one revision", MANY, loaded, update_all
    ),
    Scenario("delete_all", "delete, all in one revision", MANY, loaded, delete_all),
    Scenario("load_outside", "load rows, outside a revision", LOAD, rows, load, "read"),
    Scenario(
        "load_inside",
        "load rows, inside a revision",
        LOAD,
        rows,
        load_in_revision,
        "read",
    ),
    Scenario("bulk_create", "bulk_create", MANY, nothing, bulk_create, "bulk"),
    Scenario(
        "bulk_update", "bulk_update of one field", MANY, loaded, bulk_update, "bulk"
    ),
    Scenario(
        "queryset_update", "QuerySet.update, F()+1", MANY, rows, queryset_update, "bulk"
    ),
    Scenario("queryset_delete", "QuerySet.delete", MANY, rows, queryset_delete, "bulk"),
    Scenario(
        "cascade",
        "delete a parent with n children",
        MANY,
        parent_with_children,
        cascade,
        "bulk",
    ),
    Scenario(
        "state",
        "state after n updates, as of the middle",
        STATE,
        updated,
        state_at,
        "read",
    ),
    Scenario(
        "state_as_of",
        "state after n updates, as of a time in the middle",
        STATE,
        updated_and_dated,
        state_as_of,
        "read",
    ),
    Scenario(
        "snapshots",
        "snapshots of n object deltas",
        READ,
        created_and_updated,
        snapshots,
        "read",
    ),
    Scenario(
        "history",
        "history of an object with n revisions",
        READ,
        long_history,
        history,
        "read",
    ),
    Scenario(
        "state_long",
        "state after n updates, as of the middle",
        LONG,
        updated,
        state_at,
        "read",
    ),
    Scenario(
        "history_long",
        "history of an object with n revisions, newest 1,000",
        LONG,
        long_history_page,
        history,
        "read",
    ),
    Scenario(
        "admin_history",
        "admin history page of an object with n revisions",
        READ,
        admin_page,
        admin_history,
        "read",
    ),
]
