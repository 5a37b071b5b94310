"""The members' side of many-to-many changes, written by the database.

``add``, ``remove`` and ``clear`` give each member whose relation changed an
update delta: the database inserts them from the member rows, in one or a few
statements however many members change (``backends/sqlmembers.py``). They are
the rows the Python path writes (``REVY_HISTORY_IN_SQL = False``), in the same
revision, after the delta of the object whose manager was used.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revy import Context
from tests.helpers import (
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    ct,
    make_user,
)
from tests.testapp.models import (
    Article,
    Band,
    Binder,
    Musician,
    Player,
    Sticker,
    Tag,
    Team,
)

pytestmark = pytest.mark.django_db

THROUGH = {"membership", "bandmember"}  # Explicit through models, tracked.


def _by_sql(queries):
    # The members go through a CTE or a temporary table of revy's.
    return any("revy_changed" in query["sql"] for query in queries)


def _history(after, actor):
    """The history rows with a key above ``after``, as comparable tuples:
    ``(model, object key, action, in the latest revision, description, by
    actor, field, old, new, by actor, description)``."""
    revision = Revision.objects.latest().pk
    actor_id = str(actor.pk)
    rows = []
    deltas = ObjectDelta.objects.filter(pk__gt=after).order_by("pk")
    for delta in deltas.select_related("content_type"):
        for attribute in AttributeDelta.objects.filter(object_delta=delta):
            rows.append(
                (
                    delta.content_type.model,
                    delta.content_id,
                    delta.action,
                    delta.revision_id == revision,
                    delta.description,
                    delta.actor_id == actor_id,
                    attribute.field_name,
                    attribute.old_value,
                    attribute.new_value,
                    attribute.actor_id == actor_id,
                    attribute.description,
                )
            )
    return rows


def _recorded(change, in_sql, settings):
    """The history ``change()`` records, in SQL or not, rolled back after;
    whether SQL wrote the members' side."""
    settings.REVY_HISTORY_IN_SQL = in_sql
    last = ObjectDelta.objects.order_by("-pk").values_list("pk", flat=True).first()
    with transaction.atomic():
        actor = make_user("writer")
        with (
            CaptureQueriesContext(connection) as queries,
            Context.via_actor(actor),
            Context.via_object_delta_description("Regrouped."),
            Context.via_attribute_delta_description("By hand."),
        ):
            change()
        history = _history(last or 0, actor)
        transaction.set_rollback(True)
    return history, _by_sql(queries)


def _same_by_sql_as_in_python(change, settings):
    """``change()``'s history, the same written by SQL as by Python (which
    records the members an add gives it in the order of Django's set), the
    through rows' own deltas aside: their keys differ between the runs."""
    by_sql, used_sql = _recorded(change, True, settings)
    in_python, used_sql_anyway = _recorded(change, False, settings)
    assert used_sql
    assert not used_sql_anyway
    by_sql, in_python = (
        [row for row in rows if row[0] not in THROUGH] for rows in (by_sql, in_python)
    )
    assert by_sql[0] == in_python[0]
    assert sorted(by_sql[1:], key=str) == sorted(in_python[1:], key=str)
    return by_sql


@pytest.fixture
def article_with_tags():
    article = Article.objects.create(title="x")
    tags = [Tag.objects.create(name=f"t{i}") for i in range(12)]
    article.tags.add(*tags)
    return article, tags


def test_a_clear_gives_every_member_its_delta(article_with_tags, settings):
    article, tags = article_with_tags
    history = _same_by_sql_as_in_python(lambda: article.tags.clear(), settings)
    own, *members = history
    assert own[:3] == ("article", str(article.pk), UPDATE)
    assert own[6:9] == ("tags", sorted(t.pk for t in tags), [])
    assert [m[1] for m in members] == [str(t.pk) for t in sorted(tags, key=_pk)]
    for member in members:
        assert member[0] == "tag"
        assert member[2:] == (
            UPDATE,
            True,  # In the revision of the own side's delta.
            "Regrouped.",
            True,  # By the context's actor.
            "articles",
            [article.pk],
            [],
            True,
            "By hand.",
        )


def _pk(obj):
    return obj.pk


def test_a_remove_gives_only_the_members_removed_their_delta(
    article_with_tags, settings
):
    article, tags = article_with_tags
    outsider = Tag.objects.create(name="outsider")
    removed = tags[3:7]
    history = _same_by_sql_as_in_python(
        lambda: article.tags.remove(*removed, outsider), settings
    )
    assert [row[1] for row in history[1:]] == [str(t.pk) for t in removed]
    assert all(row[6:9] == ("articles", [article.pk], []) for row in history[1:])


def test_an_add_gives_every_member_added_its_delta(settings):
    article = Article.objects.create(title="x")
    before = Tag.objects.create(name="already")
    article.tags.add(before)
    tags = [Tag.objects.create(name=f"t{i}") for i in range(9)]
    history = _same_by_sql_as_in_python(
        lambda: article.tags.add(before, *reversed(tags)), settings
    )
    own, *members = history
    assert own[6:9] == ("tags", [], sorted(t.pk for t in tags))
    # In key order, whatever order they were given in.
    assert [row[1] for row in members] == [str(t.pk) for t in tags]
    assert all(row[6:9] == ("articles", [], [article.pk]) for row in members)


def test_a_change_from_the_reverse_side_gives_the_owners_their_deltas(settings):
    tag = Tag.objects.create(name="t")
    articles = [Article.objects.create(title=f"a{i}") for i in range(5)]
    history = _same_by_sql_as_in_python(lambda: tag.articles.set(articles), settings)
    assert history[0][6:9] == ("articles", [], sorted(a.pk for a in articles))
    assert all(
        row[:1] + row[6:9] == ("article", "tags", [], [tag.pk]) for row in history[1:]
    )


def _aggregated(queries):
    # The owner's list built by the database, not read in pages by Python.
    return any(
        word in query["sql"].lower()
        for query in queries
        for word in ("jsonb_agg(", "group_concat(")
    )


def test_members_keyed_by_uuid_are_recorded_by_their_key_text(settings):
    team = Team.objects.create(name="red")
    players = [Player.objects.create(name=f"p{i}") for i in range(40)]
    team.players.add(*players, through_defaults={})
    history = _same_by_sql_as_in_python(lambda: team.players.clear(), settings)
    # The owner's list sorted as Python sorts their text (MariaDB's own UUID
    # type sorts otherwise), the same by SQL as in Python.
    assert history[0][6:9] == ("players", sorted(str(p.pk) for p in players), [])
    members = history[1:]
    assert sorted(row[1] for row in members) == sorted(str(p.pk) for p in players)
    assert all(row[6:9] == ("teams", [team.pk], []) for row in members)


# Keys that collations order otherwise than Python: case, accents,
# punctuation, a tab; none equal to another under a case-insensitive one.
TEXT_KEYS = ["B", "a", "_x", "ab", "a-b", "\u00e9", "Z", "a\tc", "~", "1", "A2"]


@pytest.fixture
def keys_under_a_language_s_collation():
    """On PostgreSQL, the stickers' keys under ICU's English collation (in
    this test's transaction): its order is not their code points'.
    MariaDB's default collation is not either; SQLite's is."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE testapp_sticker ALTER COLUMN code TYPE varchar(20) "
                'COLLATE "en-x-icu"'
            )


def test_members_keyed_by_text_are_listed_in_python_s_order(
    keys_under_a_language_s_collation, settings
):
    binder = Binder.objects.create(name="b")
    stickers = [Sticker.objects.create(code=code) for code in TEXT_KEYS]
    binder.stickers.add(*stickers)
    with CaptureQueriesContext(connection) as queries:
        history = _same_by_sql_as_in_python(lambda: binder.stickers.clear(), settings)
    assert _aggregated(queries.captured_queries)
    assert history[0][6:9] == ("stickers", sorted(TEXT_KEYS), [])
    assert sorted(row[1] for row in history[1:]) == sorted(TEXT_KEYS)


def test_members_a_through_row_refers_to_by_another_field_are_found(settings):
    band = Band.objects.create(name="b")
    musicians = [Musician.objects.create(name=name) for name in ("Jean", "Ringo")]
    band.members.add(*musicians)
    history = _same_by_sql_as_in_python(lambda: band.members.clear(), settings)
    assert history[0][6:9] == ("members", sorted(m.pk for m in musicians), [])
    keys = [str(m.pk) for m in musicians]
    assert [row[1] for row in history[1:]] == keys
    other = Band.objects.create(name="other")
    added = _same_by_sql_as_in_python(lambda: other.members.add(*musicians), settings)
    assert [row[1] for row in added[1:]] == keys


@pytest.mark.parametrize("in_sql", [True, False], ids=["by_sql", "in_python"])
def test_the_history_statements_grow_with_the_members_only_in_python(in_sql, settings):
    settings.REVY_HISTORY_IN_SQL = in_sql
    settings.REVY_BATCH_SIZE = 2  # The Python path writes a batch of two at a time.
    history_table = ObjectDelta._meta.db_table
    counts = []
    for size in (2, 10):
        article = Article.objects.create(title=f"x{size}")
        article.tags.add(*(Tag.objects.create(name=f"t{i}") for i in range(size)))
        with CaptureQueriesContext(connection) as queries, Context():
            article.tags.clear()
        counts.append(sum(history_table in query["sql"] for query in queries))
        assert ObjectDelta.objects.filter(content_type=ct(Tag)).count() >= size
    assert (counts[1] == counts[0]) is in_sql


def test_no_statement_of_a_remove_takes_more_parameters_than_djangos_delete():
    """Django deletes the through rows of a remove() naming its keys once. A
    statement of revy's naming them twice took more than MariaDB takes in
    one packet (max_allowed_packet) at 10^6 members, where Django's own
    delete fits."""
    article = Article.objects.create(title="x")
    tags = [Tag.objects.create(name=f"t{i}") for i in range(30)]
    article.tags.add(*tags)
    sent = []

    def note(execute, sql, params, many, context):
        sent.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with Context(), connection.execute_wrapper(note):
        article.tags.remove(*tags)
    through = Article.tags.through._meta.db_table
    [django_delete] = [
        n for sql, n in sent if sql.startswith("DELETE FROM") and through in sql
    ]
    assert django_delete > len(tags)
    assert max(n for _, n in sent) <= django_delete + 10
    assert not Article.objects.get().tags.exists()


def test_an_untracked_member_model_gets_no_delta(settings):
    settings.REVY_UNTRACKED_MODELS = ["testapp.Tag"]
    article = Article.objects.create(title="x")
    article.tags.add(Tag.objects.create(name="t"))
    with Context():
        article.tags.clear()
    assert not ObjectDelta.objects.filter(content_type=ct(Tag)).exists()
    assert ObjectDelta.objects.filter(content_type=ct(Article)).count() == 1


@pytest.mark.skipif(connection.vendor != "mysql", reason="MariaDB's GROUP_CONCAT")
def test_mariadb_lists_every_member_whatever_its_group_concat_length(
    article_with_tags,
):
    article, tags = article_with_tags
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode, @@SESSION.group_concat_max_len")
        [(mode, length)] = cursor.fetchall()
        # Strict: a length out of range is an error there, not cut to the most.
        cursor.execute("SET SESSION sql_mode = 'TRADITIONAL'")
        cursor.execute("SET SESSION group_concat_max_len = 4")  # "[1, " at most
        try:
            with Context():
                article.tags.clear()
            cursor.execute("SELECT @@SESSION.group_concat_max_len")
            assert cursor.fetchall()[0][0] == 4  # Set back.
        finally:
            cursor.execute("SET SESSION sql_mode = %s", [mode])
            cursor.execute("SET SESSION group_concat_max_len = %s", [length])
    own = ObjectDelta.objects.get(content_type=ct(Article))
    assert own.attribute_deltas.get().old_value == sorted(t.pk for t in tags)
