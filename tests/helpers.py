"""What many test modules share: the history models in use (revy's own, or
the swapped ones of tests/swapped when REVY_TEST_SWAPPED=1), the actions,
and small helpers to make changes and read them back.

Fixtures (``alice``, ``bob``, ``comment``) are in tests/conftest.py.
"""

import asyncio
import contextlib
import datetime
import io
import threading
import time

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, connections, transaction

from revy import Context
from revy.contrib.django.appendonly import declared
from revy.contrib.django.models import (
    ObjectSnapshot,
    get_attribute_delta_model,
    get_object_delta_model,
    get_revision_model,
)
from tests.testapp.models import Article, Comment, Counter, EveryField, Tag

User = get_user_model()
Revision = get_revision_model()
ObjectDelta = get_object_delta_model()
AttributeDelta = get_attribute_delta_model()

CREATE = ObjectDelta.ACTION_CREATE
UPDATE = ObjectDelta.ACTION_UPDATE
DELETE = ObjectDelta.ACTION_DELETE

# A point in time that is exact whatever the clock's resolution.
T0 = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=datetime.UTC)


class Undo(Exception):
    """Raised inside ``transaction.atomic()`` to roll the block back."""


# Making changes ----------------------------------------------------------------


def make_user(name):
    return User.objects.create(username=name)


def acting(actor=None, description="", attribute_description=""):
    """An outermost context: one revision, by ``actor``, described."""
    values = {"actor": actor, "revision_description": description}
    if attribute_description:
        values["attribute_delta_description"] = attribute_description
    return Context.via(**values)


def run(coroutine):
    """Run ``coroutine`` from a sync test, then close the connection that
    Django's async ORM opened in its worker thread."""

    async def main():
        try:
            return await coroutine
        finally:
            await sync_to_async(connections.close_all)()

    return asyncio.run(main())


def run_baseline(*args):
    """Run ``manage.py revy_baseline`` with ``args``; what it printed."""
    out = io.StringIO()
    call_command("revy_baseline", *args, stdout=out)
    return out.getvalue()


# Reading history back ------------------------------------------------------------


def ct(model):
    return ContentType.objects.get_for_model(model)


def warm_content_types(*models):
    """Cache the content types of ``models``, so that query counts measure
    the work under test only."""
    for model in models:
        ct(model)


def flush_history():
    """Write pending history and warm the content type cache, so that query
    counts measure the reads only."""
    ObjectDelta.objects.exists()
    warm_content_types(Comment, Counter, Article, Tag, EveryField, User)
    # Django checks once per connection what the database's JSON can do.
    list(ObjectDelta.objects.annotate(snapshot=ObjectSnapshot(Counter))[:1])


def revisions():
    """Every revision, oldest first."""
    return list(Revision.objects.order_by("pk"))


def latest_revision():
    return Revision.objects.latest("pk")


def all_deltas():
    """Every object delta, oldest first."""
    return list(ObjectDelta.objects.order_by("pk"))


def deltas(obj):
    """The object deltas of the instance ``obj``, oldest first."""
    return list(ObjectDelta.objects.for_object(obj))


def deltas_of(model, pk):
    """The object deltas of one row, oldest first."""
    return list(ObjectDelta.objects.for_key(model, pk))


def delta_of(model, pk, action=None):
    """The one delta of the ``model`` row ``pk`` (of ``action``, if given)."""
    found = ObjectDelta.objects.for_key(model, pk)
    if action is not None:
        found = found.filter(action=action)
    found = list(found)
    assert len(found) == 1, f"{model.__name__} {pk}: {found}"
    return found[0]


def attribute(object_delta, field_name):
    """The attribute delta of ``field_name`` in ``object_delta``."""
    return object_delta.attribute_deltas.get(field_name=field_name)


def stored(object_delta):
    """``{field name: (old, new)}`` as stored in the attribute deltas."""
    return {
        a.field_name: (a.old_value, a.new_value)
        for a in object_delta.attribute_deltas.order_by("pk")
    }


def decoded(object_delta):
    """``{field name: (old, new)}`` decoded back into the fields' values."""
    return {
        a.field_name: (a.old(), a.new())
        for a in object_delta.attribute_deltas.order_by("pk")
    }


def history_counts():
    """How many revisions, object deltas and attribute deltas there are
    (read through the managers: pending history is written first)."""
    return (
        Revision.objects.count(),
        ObjectDelta.objects.count(),
        AttributeDelta.objects.count(),
    )


def nothing_recorded():
    return (
        not Revision.objects.exists()
        and not ObjectDelta.objects.exists()
        and not AttributeDelta.objects.exists()
    )


def tag_ids(article):
    """The keys of the tags an article has now."""
    return set(article.tags.values_list("pk", flat=True))


def article_ids(tag):
    """The keys of the articles a tag has now."""
    return set(tag.articles.values_list("pk", flat=True))


def rewriting_history(using="default"):
    """A block that may change committed history, as a schema migration's
    conversion of it does (history is append-only otherwise): to set up the
    history an older version of a project would have left."""
    return declared("migrate", using)


HOUR = datetime.timedelta(hours=1)


class Clock:
    """Revisions an hour apart from T0, whatever the real clock says (the
    ``clock`` fixture)."""

    def __init__(self):
        self.hours = 0

    def step(self, description=""):
        """A context whose revision is dated the next hour."""
        return _Dated(self, description)


class _Dated:
    def __init__(self, clock, description):
        self.clock, self.description = clock, description

    def __enter__(self):
        self.context = acting(description=self.description)
        self.context.__enter__()

    def __exit__(self, *exc):
        self.context.__exit__(*exc)
        if exc[0] is None:
            revision = Revision.objects.order_by("-pk").first()
            with rewriting_history():
                Revision.objects.filter(pk=revision.pk).update(
                    created_at=T0 + self.clock.hours * HOUR
                )
            self.clock.hours += 1


def at_hour(hours):
    return T0 + hours * HOUR


def article_of_three_hours(clock):
    """An article made at hour 0 ("v0") and retitled at hours 1 and 2."""
    with clock.step():
        article = Article.objects.create(title="v0")
    for version in (1, 2):
        with clock.step():
            article.title = f"v{version}"
            article.save()
    return article


def forget_field(model, pk, field_name):
    """History as it stands for a field added to the model after it was
    written: no attribute delta of that field."""
    with rewriting_history():
        AttributeDelta.objects.filter(
            content_type=ct(model), content_id=str(pk), field_name=field_name
        ).delete()


@contextlib.contextmanager
def between_read_and_write(model, work):
    """Run ``work`` in another connection (``run_in_other_connection``) right
    after the first statement that reads ``model``'s table (a SELECT, or on
    PostgreSQL a save's UPDATE that reads the row as it goes); yield a list
    that then holds its error (or None)."""
    table = model._meta.db_table
    outcome = []

    def hook(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not outcome and "SELECT " in sql.upper() and table in sql:
            outcome.append(run_in_other_connection(work))
        return result

    with connection.execute_wrapper(hook):
        yield outcome
    assert outcome, f"nothing read {table}"


def run_in_other_connection(work):
    """Run ``work()`` in a thread with a connection of its own that waits at
    most a second for a lock; return the error it raised, or None."""
    errors = []
    thread = threading.Thread(target=_in_other_connection, args=(work, errors))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the other connection did not finish"
    return errors[0] if errors else None


@contextlib.contextmanager
def other_connection_holding_until_waited_for(work):
    """Run ``work()`` in a transaction of another connection and go on while
    it holds its locks: the other connection commits once a connection waits
    for one of them (seen in the database's own view of lock waits), so the
    block's write waits for that commit; at the exit, the other must have
    committed."""
    done = threading.Event()
    errors = []

    def hold():
        with transaction.atomic():
            try:
                work()
            finally:
                done.set()
            _wait_until_a_connection_waits_for_a_lock()

    thread = threading.Thread(target=_in_other_connection, args=(hold, errors))
    thread.start()
    assert done.wait(30), "the other connection did not start"
    try:
        yield
    finally:
        thread.join(timeout=30)
    assert not thread.is_alive(), "the other connection did not finish"
    assert not errors, errors


def _wait_until_a_connection_waits_for_a_lock():
    # MariaDB's INNODB_TRX and INNODB_LOCK_WAITS miss a wait for a row in a
    # read by key, which its InnoDB status reports.
    for _ in range(3000):  # At most 30 seconds.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                waiting = cursor.fetchone()[0]
            else:
                cursor.execute("SHOW ENGINE INNODB STATUS")
                waiting = "\nLOCK WAIT " in cursor.fetchone()[2]
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("no connection waited for a lock")


def _in_other_connection(work, errors):
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET lock_timeout = '1s'")
            elif connection.vendor == "mysql":
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
            else:
                cursor.execute("PRAGMA busy_timeout = 1000")
        work()
    except Exception as error:  # reported to the test's thread
        errors.append(error)
    finally:
        connections.close_all()
