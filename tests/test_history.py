"""Reading history back: issue 5, "Point in time and diffs".

history() lists an object's deltas newest first, a page of them in a bounded
number of queries; state_at(), snapshot_of(), rows_as_of() and
members_as_of() read the state at an object delta, a revision or a datetime
(a naive one in the current time zone), each in one query, as instances of
the model asked for (a proxy included); diff() and changes() list what
changed between points.

Undoing is tested in test_revert.py and test_restore.py, rows of multi-table
models in test_history_multi_table.py. Every test reads history through the
models in use, so the suite runs unchanged with swapped history models
(REVY_TEST_SWAPPED=1).
"""

import datetime
import decimal
import time
import warnings

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from revy import Context
from revy.contrib.django.history import (
    FieldChange,
    changes,
    diff,
    history,
    members_as_of,
    rows_as_of,
    snapshot_of,
    state_at,
)
from revy.contrib.django.models import ObjectSnapshot
from tests.helpers import (
    CREATE,
    T0,
    UPDATE,
    ObjectDelta,
    Revision,
    User,
    acting,
    article_ids,
    flush_history,
    latest_revision,
    rewriting_history,
    tag_ids,
)
from tests.testapp.models import (
    Article,
    Category,
    Comment,
    Counter,
    EveryField,
    Invoice,
    SpamComment,
    Tag,
    Task,
)

pytestmark = pytest.mark.django_db


# Helpers -----------------------------------------------------------------------


def at_hours(revisions):
    """Give ``revisions`` the times T0, T0 + 1h, T0 + 2h...: points in time
    that are exact whatever the clock's resolution."""
    for hours, revision in enumerate(revisions):
        with rewriting_history():
            Revision.objects.filter(pk=revision.pk).update(
                created_at=T0 + datetime.timedelta(hours=hours)
            )
        revision.refresh_from_db()


def as_tuples(found):
    return [(c.field, c.old, c.new, c.actor, c.description) for c in found]


# history() ------------------------------------------------------------------------


def test_history_is_newest_first_with_revision_actor_description_and_fields(alice, bob):
    with acting(alice, "Write"):
        comment = Comment.objects.create(text="a")
        Comment.objects.create(text="another comment")
    with acting(bob, "Edit"):
        comment.text = "b"
        comment.save()
    with acting(None, "Detected by the system."):
        comment.is_marked_as_spam = True
        comment.save()

    rows = list(history(comment))
    assert [row.action for row in rows] == [UPDATE, UPDATE, CREATE]
    assert [row.revision.description for row in rows] == [
        "Detected by the system.",
        "Edit",
        "Write",
    ]
    assert [row.actor for row in rows] == [None, bob, alice]
    assert [
        sorted(a.field_name for a in row.attribute_deltas.all()) for row in rows
    ] == [
        ["is_marked_as_spam"],
        ["text"],
        ["is_marked_as_spam", "text"],
    ]
    times = [row.revision.created_at for row in rows]
    assert times == sorted(times, reverse=True)
    assert all(row.content_id == str(comment.pk) for row in rows)


def test_a_history_page_of_an_object_with_1000_revisions_takes_3_queries(alice, bob):
    actors = [alice, bob, None]
    with acting(alice, "step 0"):
        counter = Counter.objects.create(value=0)
    for step in range(1, 1000):
        with acting(actors[step % 3], f"step {step}"):
            counter.value = step
            counter.save()
    flush_history()
    assert Revision.objects.count() == 1000

    paginator = Paginator(history(counter), 25)
    assert paginator.count == 1000
    assert paginator.num_pages == 40
    for number in (1, 17, 40):
        page = paginator.page(number)
        with CaptureQueriesContext(connection) as queries:
            read = [
                (
                    row.revision.description,
                    row.revision.created_at,
                    row.actor,
                    [
                        (a.field_name, a.old_value, a.new_value)
                        for a in row.attribute_deltas.all()
                    ],
                )
                for row in page.object_list
            ]
        assert len(queries) <= 3, [q["sql"] for q in queries]
        steps = range(1000 - 25 * (number - 1) - 1, 1000 - 25 * number - 1, -1)
        assert len(read) == 25
        assert [r[0] for r in read] == [f"step {step}" for step in steps]
        assert [r[2] for r in read] == [actors[step % 3] for step in steps]
        assert [r[3] for r in read] == [
            [("value", step - 1, step)] if step else [("value", None, 0)]
            for step in steps
        ]

    # A plain slice is a page too.
    with CaptureQueriesContext(connection) as queries:
        rows = list(history(counter)[500:510])
        for row in rows:
            row.revision.description  # noqa: B018
            row.actor  # noqa: B018
            list(row.attribute_deltas.all())
    assert len(queries) <= 3
    assert [row.revision.description for row in rows] == [
        f"step {step}" for step in range(499, 489, -1)
    ]


def test_prefetched_attribute_deltas_read_as_a_related_manager_reads_them(alice):
    """revy fills prefetch_related("attribute_deltas") itself, in one query:
    each delta's rows come without a query, know their delta, and a further
    filter() still reads only that delta's rows."""
    with acting(alice):
        comment = Comment.objects.create(text="a")
        Comment.objects.create(text="other")
    with acting(alice):
        comment.text = "b"
        comment.save()
    with acting(alice):
        comment.save()  # Records nothing.
    flush_history()
    deltas = ObjectDelta.objects.order_by("pk").prefetch_related(
        "attribute_deltas", "attribute_deltas__actor"
    )
    with CaptureQueriesContext(connection) as queries:
        rows = list(deltas)
        read = [
            sorted(
                (a.field_name, a.new_value, a.actor, a.object_delta is row)
                for a in row.attribute_deltas.all()
            )
            for row in rows
        ]
    # The deltas, their attribute deltas, and the actors of the users' model.
    assert len(queries) == 3, [q["sql"] for q in queries]
    assert read == [
        [("is_marked_as_spam", False, alice, True), ("text", "a", alice, True)],
        [("is_marked_as_spam", False, alice, True), ("text", "other", alice, True)],
        [("text", "b", alice, True)],
    ]
    first = rows[0].attribute_deltas
    assert first.count() == 2
    assert [a.field_name for a in first.filter(field_name="text")] == ["text"]
    assert list(first.exclude(field_name="text").values_list("new_value")) == [(False,)]
    assert (
        list(ObjectDelta.objects.filter(pk=0).prefetch_related("attribute_deltas"))
        == []
    )


# state_at() and snapshot_of() --------------------------------------------------------


@pytest.fixture
def counter_history():
    """A counter created, updated twice and deleted, one revision each, with
    an unrelated revision before and after; revisions at T0, T0 + 1h..."""
    with acting(description="before"):
        Comment.objects.create(text="unrelated")
    with acting(description="create"):
        counter = Counter.objects.create(value=1)
    pk = counter.pk
    for value in (2, 3):
        with acting(description=f"set {value}"):
            counter.value = value
            counter.save()
    with acting(description="delete"):
        counter.delete()
    with acting(description="after"):
        Comment.objects.create(text="unrelated too")
    revisions = list(Revision.objects.order_by("pk"))
    at_hours(revisions)
    deltas = list(ObjectDelta.objects.for_key(Counter, pk))
    flush_history()
    return pk, revisions, deltas


def test_state_at_an_object_delta_a_revision_a_datetime_each_in_one_query(
    counter_history,
):
    pk, revisions, deltas = counter_history
    before, created, set2, set3, deleted, after = revisions
    expected = [
        # object deltas
        (deltas[0], 1),
        (deltas[1], 2),
        (deltas[2], 3),
        (deltas[3], None),
        # revisions
        (before, None),
        (created, 1),
        (set2, 2),
        (set3, 3),
        (deleted, None),
        (after, None),
        # datetimes
        (T0 - datetime.timedelta(days=1), None),
        (T0, None),
        (T0 + datetime.timedelta(hours=1), 1),
        (T0 + datetime.timedelta(hours=1, minutes=59), 1),
        (T0 + datetime.timedelta(hours=2), 2),
        (T0 + datetime.timedelta(hours=3, minutes=30), 3),
        (T0 + datetime.timedelta(hours=4), None),
        (T0 + datetime.timedelta(days=365), None),
        # now
        (None, None),
    ]
    for at, value in expected:
        with CaptureQueriesContext(connection) as queries:
            state = state_at(Counter, pk, at)
        assert len(queries) == 1, (at, [q["sql"] for q in queries])
        if value is None:
            assert state is None, at
        else:
            assert isinstance(state, Counter)
            assert (state.pk, state.value) == (pk, value), at


def test_state_at_now_is_the_live_state():
    with acting():
        counter = Counter.objects.create(value=1)
    with acting():
        counter.value = 5
        counter.save()
    flush_history()
    with CaptureQueriesContext(connection) as queries:
        state = state_at(Counter, counter.pk)
    assert len(queries) == 1
    assert state.value == 5
    assert state_at(Counter, counter.pk + 1000) is None


def test_state_at_of_a_point_that_is_not_one_is_a_type_error():
    with pytest.raises(TypeError):
        state_at(Counter, 1, "yesterday")


def test_a_naive_point_is_read_in_the_current_time_zone():
    """docs/history.md: a naive datetime point "is read in the current time
    zone". With UTC active (the default zone is Europe/Istanbul), a naive UTC
    time between two revisions is a point between them."""
    with Context():
        counter = Counter.objects.create(value=1)
    time.sleep(0.01)
    with timezone.override(datetime.UTC):
        between = timezone.make_naive(timezone.now())
        time.sleep(0.01)
        with Context():
            counter.value = 2
            counter.save()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            state = state_at(Counter, counter.pk, between)
    assert state is not None and state.value == 1


def test_state_at_before_the_delete_of_a_row_with_only_a_key():
    """A Category (its key is its only field) created in a context existed
    until it was deleted: state_at a point before the delete gives it (and
    the delete has a create to revert to)."""
    for code in ("general", "archive"):
        Category.objects.create(code=code)
    with Context():
        Category.objects.create(code="x")
        Task.objects.create(title="t", category_id="x")
    created = latest_revision()
    with Context():
        Category.objects.get(code="x").delete()
    assert state_at(Category, "x", at=created) is not None


def test_a_row_recreated_untracked_does_not_take_values_of_its_previous_life():
    """A row deleted, then re-created with the same key while tracking was
    off, then changed: fields history never saw in its new life read the
    live value, not the one the deleted row had."""
    with Context():
        comment = Comment.objects.create(text="old", is_marked_as_spam=True)
    pk = comment.pk
    with Context():
        comment.delete()
    with Context.as_disabled():
        comment = Comment.objects.create(pk=pk, text="new", is_marked_as_spam=False)
    with Context():
        comment.text = "newer"
        comment.save()

    state = state_at(Comment, pk)
    assert (state.text, state.is_marked_as_spam) == ("newer", False)


def test_state_at_knows_a_row_deleted_after_a_cascade_touched_it():
    """History is written in the order it happened: the update a cascade
    records for a row comes before that row's own delete later in the same
    revision, so state_at() knows the row is gone."""
    with Context():
        article = Article.objects.create(title="a")
        tag = Tag.objects.create(name="t")
        article.tags.add(tag)
    pk = tag.pk
    with Context():
        article.delete()  # records an update of the tag, caused by this delete
        tag.delete()
    actions = [d.action for d in ObjectDelta.objects.for_key(Tag, pk)]
    assert actions == ["create", "update", "update", "delete"]
    assert state_at(Tag, pk) is None


def test_snapshot_of_a_delta_in_one_query(counter_history):
    pk, _revisions, _deltas = counter_history
    deltas = ObjectDelta.objects.for_key(Counter, pk).select_related("content_type")
    for delta, value in zip(deltas, [1, 2, 3, 3], strict=True):
        with CaptureQueriesContext(connection) as queries:
            snapshot = snapshot_of(delta)
        assert (snapshot.pk, snapshot.value) == (pk, value)
        assert len(queries) == 1, [q["sql"] for q in queries]


def test_snapshot_of_takes_one_query():
    """docs/history.md: snapshot_of() takes one query."""
    with Context():
        counter = Counter.objects.create(value=1)
    delta = ObjectDelta.objects.for_object(counter).get()
    ContentType.objects.get_for_model(Counter)
    list(ObjectDelta.objects.annotate(snapshot=ObjectSnapshot(Counter))[:1])
    with CaptureQueriesContext(connection) as queries:
        snapshot = snapshot_of(delta)
    assert snapshot.value == 1
    assert len(queries) == 1, [q["sql"] for q in queries]


# rows_as_of() ------------------------------------------------------------------------


def test_rows_as_of_a_point_in_one_query():
    with acting():
        a = Counter.objects.create(value=1)
        b = Counter.objects.create(value=2)
    with acting():
        a.value = 10
        a.save()
        c = Counter.objects.create(value=3)
    b_pk = b.pk
    with acting():
        b.delete()
    with acting():
        c.value = 30
        c.save()
    with Context.as_disabled():
        Counter.objects.create(value=99)  # never seen by history
    with acting():
        Comment.objects.create(text="other model")
    revisions = list(Revision.objects.order_by("pk"))
    at_hours(revisions)
    flush_history()
    first, second, third, fourth, fifth = revisions
    expected = {
        first: {a.pk: 1, b_pk: 2},
        second: {a.pk: 10, b_pk: 2, c.pk: 3},
        third: {a.pk: 10, c.pk: 3},
        fourth: {a.pk: 10, c.pk: 30},
        fifth: {a.pk: 10, c.pk: 30},
        T0 - datetime.timedelta(hours=1): {},
        T0 + datetime.timedelta(minutes=30): {a.pk: 1, b_pk: 2},
        T0 + datetime.timedelta(hours=2, minutes=30): {a.pk: 10, c.pk: 3},
        ObjectDelta.objects.for_object(c).first(): {a.pk: 10, b_pk: 2, c.pk: 3},
    }
    for at, values in expected.items():
        with CaptureQueriesContext(connection) as queries:
            rows = rows_as_of(Counter, at)
        assert len(queries) == 1, [q["sql"] for q in queries]
        assert all(type(row) is Counter for row in rows)
        assert {row.pk: row.value for row in rows} == values, at
        assert len(rows) == len(values)


def test_state_at_and_rows_as_of_a_proxy_model_give_proxy_instances():
    with Context():
        comment = SpamComment.objects.create(text="buy now")
    created = latest_revision()

    assert type(SpamComment.objects.get(pk=comment.pk)) is SpamComment
    assert type(state_at(SpamComment, comment.pk)) is SpamComment
    assert [type(r) for r in rows_as_of(SpamComment, created)] == [SpamComment]


# members_as_of() ---------------------------------------------------------------------


def test_members_as_of_on_the_forward_and_the_reverse_side():
    with acting():
        first = Article.objects.create(title="first")
        second = Article.objects.create(title="second")
        t1, t2, t3 = (Tag.objects.create(name=n) for n in ("t1", "t2", "t3"))
    points = [latest_revision()]
    live = []

    def step():
        points.append(latest_revision())
        live.append(
            (
                tag_ids(first),
                tag_ids(second),
                article_ids(t1),
                article_ids(t2),
                article_ids(t3),
            )
        )

    live.append((set(), set(), set(), set(), set()))
    with acting():
        first.tags.add(t1, t2)
    step()
    with acting():
        first.tags.remove(t1)
        second.tags.add(t1)
    step()
    with acting():
        t3.articles.add(first, second)  # the reverse side
    step()
    with acting():
        first.tags.set([t3])
    step()
    with acting():
        t3.articles.remove(second)
    step()
    with acting():
        first.tags.clear()
    step()
    second_pk = second.pk
    with acting():
        second.delete()
    second = Article(pk=second_pk)  # What history knows it by.
    step()
    flush_history()

    assert live[-1] == (set(), set(), set(), set(), set())
    assert live[3] == (
        {t2.pk, t3.pk},
        {t1.pk, t3.pk},
        {second.pk},
        {first.pk},
        {
            first.pk,
            second.pk,
        },
    )
    for point, expected in zip(points, live, strict=True):
        with CaptureQueriesContext(connection) as queries:
            found = (
                members_as_of(first, "tags", point),
                members_as_of(second, "tags", point),
                members_as_of(t1, "articles", point),
                members_as_of(t2, "articles", point),
                members_as_of(t3, "articles", point),
            )
        assert found == expected, point
        assert len(queries) == 5
    # Now, by default.
    assert members_as_of(first, "tags") == set()
    assert members_as_of(t3, "articles") == set()


def test_members_as_of_now_are_the_live_members():
    with acting():
        article = Article.objects.create(title="a")
        tags = [Tag.objects.create(name=str(i)) for i in range(5)]
    with acting():
        article.tags.set(tags[:3])
    with acting():
        article.tags.set(tags[2:])
    members = members_as_of(article, "tags")
    assert members == tag_ids(article) == {t.pk for t in tags[2:]}
    assert all(type(member) is int for member in members)


def test_members_as_of_an_unknown_relation_is_an_error_even_without_members():
    with Context():
        article = Article.objects.create(title="a")
    with pytest.raises(ValueError):
        members_as_of(article, "tagz")


# diff() and changes() ----------------------------------------------------------------


def test_diff_between_two_points(alice, bob):
    with acting(alice, "Write"):
        comment = Comment.objects.create(text="a")
    created = latest_revision()
    with acting(bob, "Edit", attribute_description="Reworded"):
        comment.text = "b"
        comment.save()
    edited = latest_revision()
    with acting(None, "Detected", attribute_description="Detected by the system."):
        comment.is_marked_as_spam = True
        comment.save()
    flagged = latest_revision()
    flush_history()

    found = diff(Comment, comment.pk, created, flagged)
    assert as_tuples(found) == [
        ("text", "a", "b", bob, "Reworded"),
        ("is_marked_as_spam", False, True, None, "Detected by the system."),
    ]
    assert all(isinstance(change, FieldChange) for change in found)
    assert found[0].object_delta == ObjectDelta.objects.get(revision=edited)
    assert found[1].object_delta == ObjectDelta.objects.get(revision=flagged)

    assert as_tuples(diff(Comment, comment.pk, created, edited)) == [
        ("text", "a", "b", bob, "Reworded")
    ]
    assert as_tuples(diff(Comment, comment.pk, edited)) == [
        ("is_marked_as_spam", False, True, None, "Detected by the system."),
    ]
    assert diff(Comment, comment.pk, flagged) == []
    # From nothing: every field, as created.
    assert as_tuples(diff(Comment, comment.pk, None, created)) == [
        ("text", None, "a", alice, ""),
        ("is_marked_as_spam", None, False, alice, ""),
    ]


def test_diff_costs_the_same_queries_whatever_the_history_length(alice):
    with acting(alice):
        comment = Comment.objects.create(text="start")
    start = latest_revision()
    counts = []
    for length in (1, 30):
        for step in range(length):
            with acting(alice):
                comment.text = f"{length} {step}"
                comment.is_marked_as_spam = not comment.is_marked_as_spam
                comment.save()
        flush_history()
        with CaptureQueriesContext(connection) as queries:
            found = diff(Comment, comment.pk, start)
            assert [c.actor for c in found] == [alice] * len(found)
        counts.append(len(queries))
        assert found[0].new == f"{length} {length - 1}"
    assert counts[0] == counts[1]


def test_diff_takes_3_queries_however_many_fields_changed():
    """docs/history.md: diff() takes 2 queries, and 1 per actor model (here
    one), however many fields changed."""
    user = User.objects.create(username="u")
    with Context.via_actor(user):
        obj = EveryField.objects.create()
    start = Revision.objects.latest("pk")
    with Context.via_actor(user):
        for name in ("integer", "small", "big", "positive", "floating"):
            setattr(obj, name, 1)
        obj.char = obj.text = obj.slug = "x"
        obj.save()
    ObjectDelta.objects.exists()
    list(ObjectDelta.objects.annotate(snapshot=ObjectSnapshot(EveryField))[:1])
    with CaptureQueriesContext(connection) as queries:
        found = diff(EveryField, obj.pk, start)
    assert len(found) == 8
    assert len(queries) <= 3, len(queries)


def test_diff_skips_a_field_changed_and_changed_back(bob):
    with acting():
        comment = Comment.objects.create(text="a")
    start = latest_revision()
    with acting(bob):
        comment.text = "b"
        comment.is_marked_as_spam = True
        comment.save()
    with acting(bob):
        comment.text = "a"
        comment.save()
    assert as_tuples(diff(Comment, comment.pk, start)) == [
        ("is_marked_as_spam", False, True, bob, ""),
    ]


def test_diff_across_a_deletion_and_with_decoded_values():
    with acting():
        invoice = Invoice.objects.create(
            amount=decimal.Decimal("10.25"), exchange_rate=decimal.Decimal("1.5")
        )
    start = ObjectDelta.objects.for_object(invoice).last()
    pk = invoice.pk
    with acting():
        invoice.amount = decimal.Decimal("99.99")
        invoice.save()
    with acting(description="Gone"):
        invoice.delete()
    found = {c.field: (c.old, c.new) for c in diff(Invoice, pk, start)}
    assert found["amount"] == (decimal.Decimal("10.25"), None)
    assert found["exchange_rate"] == (decimal.Decimal("1.5"), None)
    assert type(found["amount"][0]) is decimal.Decimal


def test_diff_takes_a_naive_datetime_as_state_at_does():
    """diff() takes a naive datetime as state_at() does: read in the current
    time zone, without the warning Django's lookups give for naive values."""
    with Context():
        counter = Counter.objects.create(value=1)
    with Context():
        counter.value = 2
        counter.save()
    later = timezone.make_naive(timezone.now()) + datetime.timedelta(hours=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert state_at(Counter, counter.pk, later).value == 2
        found = diff(Counter, counter.pk, None, later)
    assert [(c.field, c.old, c.new) for c in found] == [("value", None, 2)]


def test_changes_lists_every_field_change_oldest_first_decoded(alice, bob):
    with acting(alice, attribute_description="Typed in"):
        invoice = Invoice.objects.create(
            amount=decimal.Decimal("10.25"), exchange_rate=decimal.Decimal("1.5")
        )
    with acting(bob, attribute_description="Fixed"):
        invoice.amount = decimal.Decimal("12.50")
        invoice.save()
    flush_history()
    ContentType.objects.get_for_model(Invoice)
    with CaptureQueriesContext(connection) as queries:
        found = changes(invoice)
        read = [(c.field, c.old, c.new, c.actor, c.description) for c in found]
    assert len(queries) <= 2, [q["sql"] for q in queries]
    interesting = [r for r in read if r[0] != "updated_at"]
    assert interesting == [
        ("amount", None, decimal.Decimal("10.25"), alice, "Typed in"),
        ("exchange_rate", None, decimal.Decimal("1.5"), alice, "Typed in"),
        ("local_amount", None, decimal.Decimal("0"), alice, "Typed in"),
        ("amount", decimal.Decimal("10.25"), decimal.Decimal("12.50"), bob, "Fixed"),
    ]
    assert type(interesting[0][2]) is decimal.Decimal
    updated_at = [r for r in read if r[0] == "updated_at"]
    assert len(updated_at) == 2
    assert isinstance(updated_at[0][2], datetime.datetime)
    assert [c.object_delta.action for c in found if c.field == "amount"] == [
        CREATE,
        UPDATE,
    ]


def test_changes_of_a_many_to_many_relation_are_lists_of_ids():
    with acting():
        article = Article.objects.create(title="a")
        t1, t2 = Tag.objects.create(name="1"), Tag.objects.create(name="2")
    with acting():
        article.tags.add(t1, t2)
    with acting():
        article.tags.remove(t2)
    found = [(c.field, c.old, c.new) for c in changes(article)]
    assert found == [
        ("title", None, "a"),
        ("tags", [], sorted([t1.pk, t2.pk])),
        ("tags", [t2.pk], []),
    ]
