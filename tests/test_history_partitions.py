"""History kept in PostgreSQL partitions by key range (``partitions.py``,
``manage.py revy_partitions``): converting plain tables keeps every row,
key and constraint; writes land in the partition of their key and never
fail for want of one; pruning empties whole partitions, which maintenance
drops, and every state from the cut on reads back as before. Elsewhere the
command says that partitions are PostgreSQL's.

Each test converts the tables inside its own transaction (PostgreSQL's DDL
is transactional), so the rest of the suite keeps plain tables.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from revy.contrib.django import partitions, triggers
from revy.contrib.django.history import members_as_of, rows_as_of, state_at
from revy.contrib.django.partitions import PartitionHistoryTables
from revy.contrib.django.retention import prune
from tests.helpers import (
    AttributeDelta,
    ObjectDelta,
    Revision,
    acting,
    article_of_three_hours,
    at_hour,
)
from tests.testapp.models import Article, Tag

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's"
)
DELTAS = ObjectDelta._meta.db_table
ATTRIBUTES = AttributeDelta._meta.db_table


def partition_of(model, pk):
    """The partition that holds ``model``'s row ``pk``."""
    with connection.cursor() as cursor:
        table = model._meta.db_table
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk]
        )
        return cursor.fetchone()[0].strip('"')


def names(table):
    return [p.name for p in partitions.partitions() if p.table == table]


def advance_keys(model, by):
    """Move ``model``'s key sequence on by ``by``, as time and other writers would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"(SELECT max(id) FROM {model._meta.db_table}) + %s)",
            [model._meta.db_table, by],
        )


def every_row(model):
    return list(model.objects.order_by("pk").values_list())


@on_postgresql
def test_converting_keeps_every_row_key_and_reference(settings):
    settings.REVY_PARTITION_SIZE = 100
    with acting():
        article = Article.objects.create(title="one")
    for title in ("two", "three"):
        with acting():
            article.title = title
            article.save()
    deltas, attributes = every_row(ObjectDelta), every_row(AttributeDelta)
    highest = ObjectDelta.objects.order_by("-pk").first().pk

    assert partitions.convert() == [DELTAS, ATTRIBUTES]

    assert partitions.is_partitioned(DELTAS) and partitions.is_partitioned(ATTRIBUTES)
    assert every_row(ObjectDelta) == deltas
    assert every_row(AttributeDelta) == attributes
    for table in (DELTAS, ATTRIBUTES):
        assert names(table) == [f"{table}_folds", f"{table}_1", f"{table}_default"]
    assert partitions.convert() == []  # Already partitioned.
    # Keys go on from where they were, into the partition of their key.
    with acting():
        article.title = "four"
        article.save()
    latest = ObjectDelta.objects.order_by("-pk").first()
    assert latest.pk == highest + 1
    assert partition_of(ObjectDelta, latest.pk) in (f"{DELTAS}_1", f"{DELTAS}_default")
    assert state_at(Article, article.pk).title == "four"
    # The foreign keys hold on the partitioned tables.
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"UPDATE {ATTRIBUTES} SET object_delta_id = -42 WHERE id = %s",
            [attributes[0][0]],
        )


@on_postgresql
def test_revys_triggers_guard_the_partitioned_tables(settings):
    triggers.install()
    partitions.convert()

    assert triggers.installed()[DELTAS] and triggers.installed()[ATTRIBUTES]
    with acting():
        Article.objects.create(title="guarded")
    assert AttributeDelta.objects.exists()  # Written (an ORM read flushes it).
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {ATTRIBUTES}")


@on_postgresql
def test_partitions_are_made_ahead_and_a_write_beyond_them_lands_in_the_default(
    settings,
):
    settings.REVY_PARTITION_SIZE = 50
    settings.REVY_PARTITIONS_AHEAD = 1
    with acting():
        article = Article.objects.create(title="one")
    partitions.convert()
    highest = ObjectDelta.objects.order_by("-pk").first().pk

    done = partitions.maintain()

    ahead = (highest // 50 + 1) * 50
    assert f"{DELTAS}_{ahead}" in done.created
    assert [p.upper for p in partitions.partitions() if p.table == DELTAS][-2] == (
        ahead + 50
    )
    # Nobody ran maintenance for a while: writes go on, into the default.
    advance_keys(ObjectDelta, ahead + 100 - highest)
    with acting():
        article.title = "late"
        article.save()
    late = ObjectDelta.objects.order_by("-pk").first()
    assert partition_of(ObjectDelta, late.pk) == f"{DELTAS}_default"

    again = partitions.maintain()

    # The next range starts right above what reached the default, which stays.
    assert again.created[0] == f"{DELTAS}_{late.pk + 1}"
    assert partition_of(ObjectDelta, late.pk) == f"{DELTAS}_default"
    with acting():
        article.title = "on time"
        article.save()
    newest = ObjectDelta.objects.order_by("-pk").first()
    assert partition_of(ObjectDelta, newest.pk) == again.created[0]
    assert state_at(Article, article.pk).title == "on time"


def reads(articles, tags, points):
    return [
        (
            [(a.pk, a.title) for a in rows_as_of(Article, point)],
            [getattr(state_at(Article, a.pk, point), "title", None) for a in articles],
            [members_as_of(tag, "articles", point) for tag in tags],
        )
        for point in points
    ]


def holding_only_history_before(cut):
    """The range partitions whose rows all belong to revisions made before ``cut``."""
    revisions = Revision._meta.db_table
    found = []
    with connection.cursor() as cursor:
        for partition in partitions.partitions():
            if partition.lower is None or partition.upper is None:
                continue
            if partition.table == DELTAS:
                rows = f"{partition.name} d"
            else:
                rows = f"{partition.name} a JOIN {DELTAS} d ON d.id = a.object_delta_id"
            cursor.execute(
                f"SELECT bool_and(r.created_at < %s) FROM {rows} "
                f"JOIN {revisions} r ON r.id = d.revision_id",
                [cut],
            )
            if cursor.fetchone()[0]:
                found.append(partition.name)
    return found


@on_postgresql
def test_pruning_empties_old_partitions_and_maintenance_drops_them(settings, clock):
    settings.REVY_PARTITION_SIZE = 20
    settings.REVY_PARTITIONS_AHEAD = 1
    partitions.convert()
    partitions.maintain()
    tags = [Tag.objects.create(name=name) for name in ("red", "blue")]
    articles = []
    for hour in range(6):
        with clock.step():
            articles.append(Article.objects.create(title=f"a{hour}"))
            for article in articles:
                article.title = f"{article.title}+"
                article.save()
            articles[0].tags.add(tags[hour % 2])
        advance_keys(ObjectDelta, 20)  # A partition's worth of other history.
        advance_keys(AttributeDelta, 20)
        partitions.maintain()
    with clock.step():
        articles[-1].title = "after the cut"
        articles[-1].save()
    partitions.maintain()  # Ranges the keys skipped over, empty, are gone.
    points = [at_hour(4.5), at_hour(5), None]
    before = reads(articles, tags, points)
    emptied = holding_only_history_before(at_hour(4.5))

    prune(at_hour(4.5))
    done = partitions.maintain()

    assert reads(articles, tags, points) == before
    assert {name.rsplit("_", 1)[0] for name in emptied} == {DELTAS, ATTRIBUTES}
    assert sorted(done.dropped) == sorted(emptied)
    for fold in ObjectDelta.objects.filter(action=ObjectDelta.ACTION_BASELINE):
        assert partition_of(ObjectDelta, fold.pk) == f"{DELTAS}_folds"
        for attribute in fold.attribute_deltas.all():
            assert partition_of(AttributeDelta, attribute.pk) == f"{ATTRIBUTES}_folds"
    assert partitions.maintain().dropped == []


@on_postgresql
def test_folds_made_before_converting_stay_in_the_first_partition(clock):
    article = article_of_three_hours(clock)
    prune(at_hour(1.5))
    fold = ObjectDelta.objects.get(action=ObjectDelta.ACTION_BASELINE)

    partitions.convert()

    found = [p for p in partitions.partitions() if p.table == DELTAS]
    assert [(p.name, p.lower) for p in found[:1]] == [(f"{DELTAS}_1", None)]
    assert f"{DELTAS}_folds" not in [p.name for p in found]
    assert partition_of(ObjectDelta, fold.pk) == f"{DELTAS}_1"
    prune(at_hour(2.5))  # Later folds go there too.
    fold = ObjectDelta.objects.get(action=ObjectDelta.ACTION_BASELINE)
    assert partition_of(ObjectDelta, fold.pk) == f"{DELTAS}_1"
    assert state_at(Article, article.pk).title == "v2"
    assert f"{DELTAS}_1" not in partitions.maintain().dropped


@on_postgresql
def test_the_command_converts_lists_and_keeps_partitions(settings):
    settings.REVY_PARTITION_SIZE = 1000
    out = io.StringIO()
    with pytest.raises(CommandError, match="revy_partitions --convert"):
        call_command("revy_partitions", stdout=out)
    call_command("revy_partitions", "--list", stdout=out)
    assert f"{DELTAS}: not partitioned (--convert partitions it)" in out.getvalue()
    call_command("revy_partitions", "--convert", "--dry-run", stdout=out)
    assert f"Would partition {DELTAS}, {ATTRIBUTES}." in out.getvalue()
    assert not partitions.is_partitioned(DELTAS)

    call_command("revy_partitions", "--convert", stdout=out)
    call_command("revy_partitions", "--list", stdout=out)

    text = out.getvalue()
    assert f"Partitioned {DELTAS}, {ATTRIBUTES} by key range." in text
    assert "Created 4 partitions" in text  # Two ranges ahead of each table.
    assert f"{DELTAS}_folds: keys -∞ to 1, about" in text
    assert f"{DELTAS}_default: keys beyond every range" in text


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL partitions")
def test_elsewhere_the_command_says_partitions_are_postgresqls():
    with pytest.raises(CommandError, match="History partitions are a PostgreSQL"):
        call_command("revy_partitions", "--convert")


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's schema editor cannot run inside a test's transaction; "
    "MariaDB stands for the databases without partitions",
)
def test_the_migration_operation_partitions_on_postgresql_only():
    operation = PartitionHistoryTables()
    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("revy", editor, None, None)

    if connection.vendor == "postgresql":
        assert partitions.is_partitioned(DELTAS) and partitions.is_partitioned(
            ATTRIBUTES
        )
    else:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert f"{DELTAS}_1" not in tables and DELTAS in tables
    assert operation.describe() == (
        "Partition revy's history tables by key range (PostgreSQL)"
    )
