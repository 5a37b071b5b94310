"""Reads of history take shortcuts that must change nothing (decision 0022).

History rows are loaded into their instances without Django's ``__init__``,
snapshots decode plain stored values without ``to_python``, and the k-th
delta of an object is snapshotted alone when picked in a subquery. Each
test compares with what Django's own path (or the plain decode) gives.
"""

import copy
import datetime
import decimal
import pickle
import uuid

import pytest
from django.db import connection, models
from django.db.models import Subquery
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from revy.contrib.django import conf
from revy.contrib.django.encoding import (
    REDACTED,
    ValueEncoder,
    decoder,
    redaction_marker,
)
from revy.contrib.django.ledger import _plain_attnames
from revy.contrib.django.models import ObjectSnapshot
from tests.helpers import (
    AttributeDelta,
    ObjectDelta,
    Revision,
    User,
    acting,
    flush_history,
    make_user,
)
from tests.testapp.models import Counter, EveryField

pytestmark = pytest.mark.django_db

HISTORY_MODELS = [Revision, ObjectDelta, AttributeDelta]


def django_from_db(model, db, field_names, values):
    """An instance as Django's own ``Model.from_db`` builds it."""
    return models.Model.from_db.__func__.__wrapped__(model, db, field_names, values)


def loaded(instance):
    """What a loaded instance holds: its values and its state's."""
    values = {k: v for k, v in vars(instance).items() if k != "_state"}
    state = instance._state
    return values, state.adding, state.db, instance.get_deferred_fields()


@pytest.fixture
def some_history():
    alice = make_user("alice")
    with acting(alice, description="made"):
        counter = Counter.objects.create(value=1)
    with acting(description="changed"):
        counter.value = 2
        counter.save()
    flush_history()
    return counter


@pytest.mark.parametrize("model", HISTORY_MODELS, ids=lambda m: m.__name__)
def test_history_rows_hold_what_djangos_from_db_leaves(some_history, model):
    """Every value and the state Django's ``from_db`` leaves, for whole rows
    and for rows with deferred fields."""
    assert _plain_attnames(model) is not None  # The shortcut is taken.
    rows = list(model.objects.order_by("pk"))
    assert rows
    names = [f.attname for f in model._meta.concrete_fields]
    for row in rows:
        values = [getattr(row, name) for name in names]
        assert loaded(row) == loaded(django_from_db(model, "default", names, values))
    pk = model._meta.pk.attname
    for row in model.objects.order_by("pk").only(pk):
        assert row.get_deferred_fields() == set(names) - {pk}
        same = django_from_db(model, "default", [pk], [row.pk])
        assert loaded(row) == loaded(same)
        # A deferred field is loaded when read, as on any model.
        assert getattr(row, names[-1]) == getattr(
            model.objects.get(pk=row.pk), names[-1]
        )


def test_a_post_init_receiver_still_hears_every_history_row_loaded(some_history):
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance.pk)

    post_init.connect(receiver, sender=ObjectDelta)
    try:
        pks = [delta.pk for delta in ObjectDelta.objects.order_by("pk")]
    finally:
        post_init.disconnect(receiver, sender=ObjectDelta)
    assert heard == pks
    assert len(pks) == 2
    heard.clear()
    list(ObjectDelta.objects.all())
    assert heard == []


def test_a_field_whose_descriptor_does_more_than_store_is_loaded_by_django():
    """A file field's descriptor wraps what it is given: a model with one is
    never loaded by the shortcut."""
    assert _plain_attnames(EveryField) is None


# Decoding snapshots' values ----------------------------------------------------

PLAIN_VALUES = {
    "char": ["text", "", "0"],
    "text": ["long text"],
    "slug": ["a-slug"],
    "email": ["a@example.com"],
    "url": ["https://example.com"],
    "small": [-3, 0],
    "integer": [2**31 - 1],
    "big": [-(2**63)],
    "positive_small": [1],
    "positive": [7],
    "positive_big": [2**63 - 1],
    "floating": [0.1, -2.5, 1e300],
    "boolean": [True, False],
}
OTHER_VALUES = {
    "floating": ["nan", "inf", 1],
    "decimal": ["1.5000000000"],
    "datetime": ["2024-01-01T12:00:00.000001+01:00"],
    "date": ["2024-02-29"],
    "duration": ["P1DT00H00M01.5S"],
    "uuid": [str(uuid.UUID(int=5))],
    "json": [{"a": [1, None]}, [1, 2], "text", 3],
    "integer": ["12"],
    "char": [12],
}


def same(a, b):
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    ("name", "stored"),
    [(n, v) for n, vs in PLAIN_VALUES.items() for v in vs]
    + [(n, v) for n, vs in OTHER_VALUES.items() for v in vs],
)
def test_a_fields_decoder_gives_what_decode_gives(name, stored):
    encoder = ValueEncoder()
    field = EveryField._meta.get_field(name)
    assert same(decoder(encoder, field)(stored), encoder.decode(field, stored))


def test_a_decoder_returns_plain_values_as_stored_and_markers_as_redacted():
    encoder = ValueEncoder()
    for name, values in PLAIN_VALUES.items():
        decode = decoder(encoder, EveryField._meta.get_field(name))
        for stored in values:
            assert decode(stored) is stored
        assert decode(redaction_marker(3, "digest")) is REDACTED
        assert decode(None) is None


class Shouting(ValueEncoder):
    def decode(self, field, stored):
        value = super().decode(field, stored)
        return value.upper() if isinstance(value, str) else value


class DuckEncoder:
    """An encoder that is no ValueEncoder: encode() and decode() are enough."""

    def encode(self, field, value):
        return ValueEncoder().encode(field, value)

    def decode(self, field, stored):
        return ("duck", stored)


@pytest.mark.parametrize("encoder", [Shouting(), DuckEncoder()])
def test_an_encoders_own_decode_is_used_for_every_value(encoder):
    field = EveryField._meta.get_field("char")
    assert decoder(encoder, field)("text") == encoder.decode(field, "text")


def test_snapshots_decode_with_the_encoder_in_force(some_history, settings):
    deltas = ObjectDelta.objects.for_object(some_history)
    first = deltas.annotate(snapshot=ObjectSnapshot(Counter)).first().snapshot
    assert first.value == 1
    settings.REVY_VALUE_ENCODER = f"{__name__}.Doubling"
    assert isinstance(conf.value_encoder(), Doubling)
    again = deltas.annotate(snapshot=ObjectSnapshot(Counter)).first().snapshot
    assert again.value == 2


class Doubling(ValueEncoder):
    def decode(self, field, stored):
        value = super().decode(field, stored)
        return value * 2 if type(value) is int else value


# The k-th delta's snapshot -------------------------------------------------------


def test_the_kth_delta_picked_in_a_subquery_is_snapshotted_in_one_query():
    with acting():
        counter = Counter.objects.create(value=0)
    for value in range(1, 12):
        with acting():
            counter.value = value
            counter.save()
    flush_history()
    deltas = ObjectDelta.objects.for_object(counter)
    for k in (0, 5, 11):
        picked = deltas.values("pk")[k : k + 1]
        with CaptureQueriesContext(connection) as queries:
            found = (
                ObjectDelta.objects.filter(pk=Subquery(picked))
                .annotate(snapshot=ObjectSnapshot(Counter))
                .get()
            )
        assert len(queries) == 1
        assert found.snapshot.value == k
        sliced = deltas.annotate(snapshot=ObjectSnapshot(Counter))[k]
        assert (found.pk, found.snapshot.value) == (sliced.pk, sliced.snapshot.value)


def test_values_round_trip_through_the_shortcuts():
    """Every built-in field's value, saved and read back by a snapshot."""
    values = {
        "char": "c",
        "integer": 5,
        "floating": 0.25,
        "boolean": False,
        "decimal": decimal.Decimal("1.2500000000"),
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
    }
    with acting():
        row = EveryField.objects.create(**values)
    flush_history()
    delta = ObjectDelta.objects.for_object(row).annotate(
        snapshot=ObjectSnapshot(EveryField)
    )
    snapshot = delta.get().snapshot
    for name, value in values.items():
        assert same(getattr(snapshot, name), value), name


# Prefetched attribute deltas ---------------------------------------------------


def test_prefetched_attribute_deltas_pickle_and_copy_as_querysets(some_history):
    """Each delta's prefetched rows, whose filter is set without a copy of
    the queryset: pickled or copied, they read as before."""
    deltas = list(
        ObjectDelta.objects.order_by("pk").prefetch_related("attribute_deltas")
    )
    kind = type(AttributeDelta._default_manager.get_queryset())
    for delta in deltas:
        rows = delta.attribute_deltas.all()
        assert isinstance(rows, kind)
        again = pickle.loads(pickle.dumps(delta))
        copied = copy.deepcopy(delta)
        for other in (again, copied):
            same_rows = other.attribute_deltas.all()
            assert [a.pk for a in same_rows] == [a.pk for a in rows]
            assert list(same_rows.filter(field_name="value")) == list(
                rows.filter(field_name="value")
            )
        assert type(again.attribute_deltas.all()) is kind
        assert list(rows.values_list("object_delta", flat=True).distinct()) == [
            delta.pk
        ]


def test_prefetched_attribute_deltas_read_as_the_related_managers_rows(some_history):
    """Each delta's rows, kept without a query until one is asked for,
    answer every read as the related manager's own queryset does."""
    found = list(
        ObjectDelta.objects.order_by("pk").prefetch_related("attribute_deltas")
    )
    reads = {
        "rows": lambda rows: [a.pk for a in rows],
        "len": len,
        "bool": bool,
        "count": lambda rows: rows.count(),
        "exists": lambda rows: rows.exists(),
        "first": lambda rows: rows.first().pk,
        "item": lambda rows: rows[0].pk,
        "filter": lambda rows: [a.pk for a in rows.filter(field_name="value")],
        "exclude": lambda rows: [a.pk for a in rows.exclude(field_name="value")],
        "values": lambda rows: list(rows.values_list("field_name", "new_value")),
        "newest first": lambda rows: [a.pk for a in rows.order_by("-pk")],
    }
    for delta in found:
        own = AttributeDelta.objects.filter(object_delta=delta)
        with CaptureQueriesContext(connection) as queries:
            rows = list(delta.attribute_deltas.all())
            assert all(row.object_delta is delta for row in rows)
        assert len(queries) == 0
        for name, read in reads.items():
            assert read(delta.attribute_deltas.all()) == read(own), name


def test_prefetched_actors_are_those_each_row_reads_alone(some_history):
    """The system's rows get None without a query; an actor's rows the
    actor, or a DeletedActor once its row is gone."""
    alice = User.objects.get(username="alice")
    found = list(ObjectDelta.objects.order_by("pk").prefetch_related("actor"))
    with CaptureQueriesContext(connection) as queries:
        assert [delta.actor for delta in found] == [alice, None]
    assert len(queries) == 0
    key = alice.pk
    alice.delete()
    again = list(ObjectDelta.objects.order_by("pk").prefetch_related("actor"))
    assert [str(delta.actor) for delta in again] == [
        f"deleted {User._meta.label} {key}",
        "None",
    ]


def test_snapshots_read_as_values_are_the_deltas_snapshots(some_history):
    deltas = ObjectDelta.objects.order_by("pk").annotate(
        snapshot=ObjectSnapshot(Counter)
    )
    alone = list(deltas.values_list("snapshot", flat=True))
    assert [(s.pk, s.value) for s in alone] == [
        (d.snapshot.pk, d.snapshot.value) for d in deltas
    ]
    assert [s.value for s in alone] == [1, 2]
