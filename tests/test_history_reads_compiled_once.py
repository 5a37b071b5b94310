"""``state_at()`` compiles its query once per shape and fills in the row and
the point at each call (``compiled.py``, decision 0027): it answers as the
ORM's own query, sees the history its transaction has not written yet, and
follows settings and content types that change."""

from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from revy.contrib.django import compiled, history
from tests.helpers import (
    ObjectDelta,
    acting,
    article_of_three_hours,
    at_hour,
    deltas,
    flush_history,
)
from tests.testapp.models import Article, Counter, Player

pytestmark = pytest.mark.django_db


def orm_state_at(model, pk, at):
    """``state_at()`` read through the ORM: what the compiled read must give."""

    def through_the_orm(_shape, alias, build, arguments):
        return list(build(*(argument.value for argument in arguments)).using(alias))

    with mock.patch.object(compiled, "rows", through_the_orm):
        return history.state_at(model, pk, at)


def fields(instance):
    if instance is None:
        return None
    return {
        f.attname: getattr(instance, f.attname) for f in type(instance)._meta.fields
    }


@pytest.fixture
def article(clock):
    """An article made at hour 0, retitled at hours 1 and 2, deleted at 3."""
    article = article_of_three_hours(clock)
    key = article.pk
    with clock.step():
        article.delete()
    flush_history()
    return Article(pk=key)


def points(article):
    found = list(deltas(article))
    assert len(found) == 4
    return [
        None,
        *found,
        *(delta.revision for delta in found),
        *(at_hour(hours) for hours in range(-1, 5)),
    ]


def test_each_point_reads_as_the_orms_own_query(article):
    for at in points(article):
        assert fields(history.state_at(Article, article.pk, at)) == fields(
            orm_state_at(Article, article.pk, at)
        ), at
    titles = [
        getattr(history.state_at(Article, article.pk, at_hour(h)), "title", None)
        for h in range(-1, 5)
    ]
    assert titles == [None, "v0", "v1", "v2", None, None]


@pytest.fixture
def new_settings(settings):
    """Settings just changed: what revy compiled and kept is forgotten."""
    settings.REVY_BATCH_SIZE = 1000
    return settings


def test_a_shape_is_compiled_once_and_each_read_is_one_query(article, new_settings):
    found = list(deltas(article))
    with mock.patch.object(compiled, "_compile", wraps=compiled._compile) as compile:
        for delta in found:
            with CaptureQueriesContext(connection) as queries:
                history.state_at(Article, article.pk, delta)
            assert len(queries) == 1
        for revision in (delta.revision for delta in found):
            history.state_at(Article, article.pk, revision)
    # One shape a kind of point: object deltas, then revisions.
    assert compile.call_count == 2


def test_keys_of_other_types_are_filled_in_as_their_column_takes_them():
    with acting():
        player = Player.objects.create(name="one")
    with acting():
        player.name = "two"
        player.save()
    first, second = deltas(player)
    assert history.state_at(Player, player.pk, first).name == "one"
    assert history.state_at(Player, player.pk, second).name == "two"
    assert history.state_at(Player, player.pk).pk == player.pk


def test_a_read_sees_history_its_transaction_has_not_written_yet():
    with transaction.atomic(), acting():
        counter = Counter.objects.create(value=1)
        counter.value = 2
        counter.save()
        # Still queued: the read writes it first.
        assert history.state_at(Counter, counter.pk).value == 2


def test_settings_in_force_are_those_of_the_read(settings):
    with acting():
        counter = Counter.objects.create(value=3)
    flush_history()
    assert history.state_at(Counter, counter.pk).value == 3
    settings.REVY_VALUE_ENCODER = (
        "tests.test_history_reads_load_as_django_loads.Doubling"
    )
    assert history.state_at(Counter, counter.pk).value == 6


def test_a_shape_whose_values_cannot_be_found_is_read_through_the_orm(new_settings):
    with acting():
        counter = Counter.objects.create(value=3)
    flush_history()
    content_id = ObjectDelta._meta.get_field("content_id")

    def build(_ignored):
        # The stand-in never reaches the query: it cannot be filled in.
        return ObjectDelta.objects.filter(content_id=str(counter.pk)).values_list(
            "action"
        )

    assert compiled._compile("default", build, [content_id]) is None
    arguments = [compiled.Argument(content_id, "anything")]
    with mock.patch.object(compiled, "_compile", wraps=compiled._compile) as compile:
        for _ in range(2):
            assert compiled.rows("test", "default", build, arguments) == [("create",)]
    assert compile.call_count == 1  # Found wanting once, not at every read.


def test_a_position_reads_the_state_after_that_delta_as_a_list_counts(article):
    found = list(deltas(article))  # Made, retitled twice, deleted.
    for position in range(-4, 4):
        state = history.state_at(Article, article.pk, position)
        assert fields(state) == fields(orm_state_at(Article, article.pk, position))
        assert fields(state) == fields(
            history.state_at(Article, article.pk, found[position])
        )
    assert history.state_at(Article, article.pk, 2).title == "v2"
    assert history.state_at(Article, article.pk, -4).title == "v0"
    assert history.state_at(Article, article.pk, -1) is None  # Its delete.


@pytest.mark.parametrize("position", [4, -5])
def test_a_position_past_the_rows_deltas_raises_index_error(article, position):
    with pytest.raises(IndexError, match=f"no object delta at position {position}"):
        history.state_at(Article, article.pk, position)


def test_a_position_is_no_bool():
    with pytest.raises(TypeError, match="A point in history"):
        history.state_at(Article, 1, True)


def test_positions_are_compiled_once_a_direction_the_offset_a_parameter(
    article, new_settings
):
    with mock.patch.object(compiled, "_compile", wraps=compiled._compile) as compile:
        for position in (0, 1, 2, -2, -3, -4):
            with CaptureQueriesContext(connection) as queries:
                history.state_at(Article, article.pk, position)
            assert len(queries) == 1
    assert compile.call_count == 2  # From the oldest, and from the newest.


def test_an_offset_goes_among_the_parameters_where_the_sql_places_it(new_settings):
    """A literal "%" in the SQL before the offset is not a parameter's."""
    with acting():
        counters = [Counter.objects.create(value=value) for value in (5, 6, 7)]
    flush_history()
    content_type = ObjectDelta._meta.get_field("content_type")

    def build(type_id, offset):
        rows = ObjectDelta.objects.annotate(sign=RawSQL("'%%s'", ()))
        rows = rows.filter(content_type=type_id).order_by("pk")
        return rows.values_list("sign", "content_id")[offset : offset + 1]

    type_id = ObjectDelta.objects.get(content_id=str(counters[0].pk)).content_type_id
    for offset, counter in enumerate(counters):
        arguments = [
            compiled.Argument(content_type, type_id),
            compiled.Argument(compiled.OFFSET, offset),
        ]
        rows = compiled.rows("offset after a literal", "default", build, arguments)
        assert rows == [("%s", str(counter.pk))]
    made = compiled._compile("default", build, [content_type, compiled.OFFSET])
    assert made is not None
    assert "OFFSET %s" in made.sql
