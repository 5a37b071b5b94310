"""``QuerySet.update()`` with its history written by the database in SQL.

Every value stored by the database's SQL is what revy's Python stores for
the same change: equal as JSON and decoded to the same value, for every
field type on every database, and the fields that have no equal SQL there
take the Python path (``REVY_HISTORY_IN_SQL = False`` forces it). The
statements do not grow with the rows, a revision is written only if a
value changes, and the history goes with the data's transaction, seals
included. Concurrent writers are tested in test_concurrent_bulk_writes.py.
"""

import datetime
import decimal
import json

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django.capture.sqlhistory import fields_recorded_in_python
from revy.contrib.django.encoding import ValueEncoder
from revy.contrib.django.exceptions import EncodingError
from revy.contrib.django.verifying import verify
from tests.field_values import IN_PYTHON, INITIAL, field_cases, same
from tests.helpers import (
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    ct,
    rewriting_history,
    warm_content_types,
)
from tests.testapp.models import (
    Comment,
    Counter,
    EveryField,
    Invoice,
    Musician,
    Place,
    Restaurant,
)

pytestmark = pytest.mark.django_db

VENDOR = connection.vendor
UTC = datetime.UTC


def _update(rows, pk, values, in_sql, settings):
    """Update row ``pk`` (None: every row) of ``rows`` (a model or a
    queryset) in a context, the history written in SQL or not; whether SQL
    wrote it."""
    settings.REVY_HISTORY_IN_SQL = in_sql
    queryset = rows if isinstance(rows, models.QuerySet) else rows.objects.all()
    if pk is not None:
        queryset = queryset.filter(pk=pk)
    with CaptureQueriesContext(connection) as queries, Context():
        queryset.update(**values)
    # The rows written go through a CTE or a temporary table of revy's.
    return any(
        "revy_locked" in query["sql"] or "revy_rows" in query["sql"]
        for query in queries
    )


def _attribute(model, pk, name):
    return AttributeDelta.objects.filter(
        content_type=ct(model), content_id=str(pk), field_name=name
    ).get()


@pytest.mark.parametrize(("name", "value"), list(field_cases()))
def test_every_field_is_stored_by_sql_as_python_stores_it(name, value, settings):
    initial = INITIAL[name] if value != INITIAL[name] else None
    by_sql, by_python = (EveryField.objects.create(**{name: initial}) for _ in range(2))
    field = EveryField._meta.get_field(name)

    assert _update(EveryField, by_sql.pk, {name: value}, True, settings)
    assert not _update(EveryField, by_python.pk, {name: value}, False, settings)

    in_sql = _attribute(EveryField, by_sql.pk, name)
    in_python = _attribute(EveryField, by_python.pk, name)
    for side in ("old", "new"):
        assert same(getattr(in_sql, side)(), getattr(in_python, side)()), side
    # Equal as JSON, as the value columns read them back; but Python stores
    # a datetime given in another zone as given, SQL as the row holds it.
    assert in_sql.old_value == in_python.old_value
    if isinstance(value, datetime.datetime) and value.utcoffset():
        assert in_sql.new_value == value.astimezone(UTC).isoformat()
    else:
        assert in_sql.new_value == in_python.new_value
    settings.REVY_HISTORY_IN_SQL = True
    assert fields_recorded_in_python(EveryField, [field], "default") == (
        [name] if name in IN_PYTHON else []
    )


@pytest.mark.parametrize("name", ["foreign", "one"])
def test_keys_of_related_rows_are_stored_by_sql_as_python_stores_them(name, settings):
    model = Comment if name == "foreign" else Place
    for given in ("row", "key"):
        rows = [EveryField.objects.create() for _ in range(2)]
        for row, in_sql in zip(rows, (True, False), strict=True):
            target = model.objects.create()
            value = target if given == "row" else target.pk
            assert (
                _update(EveryField, row.pk, {name: value}, in_sql, settings) == in_sql
            )
            attribute = _attribute(EveryField, row.pk, name)
            assert (attribute.old_value, attribute.new_value) == (None, target.pk)
            assert attribute.new() == target.pk


@pytest.mark.parametrize(
    "amount", ["0.10", "-12.34", "0", "9999999999.99", "0.005", "0.015"]
)
def test_decimals_of_few_places_are_stored_by_sql_as_python_stores_them(
    amount, settings
):
    by_sql, by_python = (
        Invoice.objects.create(amount=decimal.Decimal("1.5"), exchange_rate=1)
        for _ in range(2)
    )
    value = decimal.Decimal(amount)
    # SQLite may hold more places than the field: Python encodes it there.
    assert _update(Invoice, by_sql.pk, {"amount": value}, True, settings)
    _update(Invoice, by_python.pk, {"amount": value}, False, settings)
    in_sql, in_python = (
        _attribute(Invoice, row.pk, "amount") for row in (by_sql, by_python)
    )
    assert (in_sql.old_value, in_sql.new_value) == (
        in_python.old_value,
        in_python.new_value,
    )
    assert in_sql.new() == Invoice.objects.get(pk=by_sql.pk).amount


def test_a_masked_field_is_stored_as_its_marker(settings):
    settings.REVY_MASKED_FIELDS = {"testapp.EveryField": ["char"]}
    row = EveryField.objects.create(char="secret")
    assert _update(EveryField, row.pk, {"char": "other secret"}, True, settings)
    attribute = _attribute(EveryField, row.pk, "char")
    assert attribute.old_value == attribute.new_value
    assert "secret" not in json.dumps(attribute.old_value)


# One revision, written only with a change; the data's transaction --------------


def test_the_statements_do_not_grow_with_the_rows():
    warm_content_types(Counter)
    counts = []
    for rows in (10, 1000):
        Counter.objects.all().delete()
        Counter.objects.bulk_create(Counter(value=n) for n in range(rows))
        with CaptureQueriesContext(connection) as queries, Context():
            assert Counter.objects.update(value=F("value") + 1) == rows
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert sorted(
        AttributeDelta.objects.filter(
            object_delta__revision=Revision.objects.last()
        ).values_list("old_value", "new_value")
    ) == [(n, n + 1) for n in range(1000)]


@pytest.mark.parametrize("in_your_transaction", [False, True])
def test_an_update_that_changes_no_value_writes_no_revision(in_your_transaction):
    Counter.objects.bulk_create(Counter(value=1) for _ in range(3))
    with Context():
        if in_your_transaction:
            with transaction.atomic():
                assert Counter.objects.update(value=1) == 3
        else:
            assert Counter.objects.update(value=1) == 3
    assert not Revision.objects.exists()
    assert not ObjectDelta.objects.exists()


@pytest.mark.parametrize("in_your_transaction", [False, True])
def test_only_the_rows_whose_values_change_are_recorded(in_your_transaction):
    Counter.objects.bulk_create(Counter(value=n % 2) for n in range(4))
    with Context(), transaction.atomic(durable=not in_your_transaction):
        assert Counter.objects.update(value=1) == 4
    revision = Revision.objects.get()
    deltas = ObjectDelta.objects.filter(revision=revision).order_by("pk")
    assert [d.action for d in deltas] == [UPDATE, UPDATE]
    assert [int(d.content_id) for d in deltas] == sorted(
        Counter.objects.values_list("pk", flat=True)
    )[0::2]
    assert [
        (a.field_name, a.old_value, a.new_value)
        for a in AttributeDelta.objects.order_by("pk")
    ] == [("value", 0, 1), ("value", 0, 1)]


def test_history_recorded_before_the_update_comes_first_and_after_it_last():
    counter = Counter.objects.create(value=1)
    with Context():
        counter.value = 2
        with transaction.atomic():
            counter.save()
            Counter.objects.update(value=F("value") * 10)
            counter.refresh_from_db()
            counter.value = 21
            counter.save()
    assert list(
        AttributeDelta.objects.order_by("object_delta_id", "pk").values_list(
            "old_value", "new_value"
        )
    ) == [(1, 2), (2, 20), (20, 21)]
    assert ObjectDelta.objects.values("revision").distinct().count() == 1


def test_a_rolled_back_savepoint_takes_the_update_and_its_history():
    counter = Counter.objects.create(value=1)
    with Context(), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            Counter.objects.update(value=2)
            raise RuntimeError
        Counter.objects.update(value=3)
    counter.refresh_from_db()
    assert counter.value == 3
    assert list(AttributeDelta.objects.values_list("old_value", "new_value")) == [
        (1, 3)
    ]
    assert Revision.objects.count() == 1


def test_attribution_is_the_contexts(settings):
    actor = Comment.objects.create(text="the actor")
    counter = Counter.objects.create(value=1)
    with (
        Context.via_actor(actor),
        Context.via_object_delta_description("object"),
        Context.via_attribute_delta_description("attribute"),
    ):
        Counter.objects.update(value=2)
    delta = ObjectDelta.objects.get()
    attribute = AttributeDelta.objects.get()
    assert (delta.actor, delta.description, delta.content_id) == (
        actor,
        "object",
        str(counter.pk),
    )
    assert (attribute.actor, attribute.description) == (actor, "attribute")
    assert (attribute.content_type, attribute.content_id) == (
        delta.content_type,
        delta.content_id,
    )


@pytest.mark.django_db(transaction=True)
def test_history_written_by_the_database_is_sealed(settings):
    settings.REVY_TAMPER_EVIDENCE = True
    settings.REVY_INTEGRITY_KEY = "k" * 40
    Counter.objects.bulk_create(Counter(value=n) for n in range(5))
    with Context(), transaction.atomic():
        Counter.objects.create(value=100)  # Written by revy's Python.
        Counter.objects.update(value=F("value") + 1)
    report = verify()
    assert report.seals == 1
    assert not report.problems
    with rewriting_history():
        AttributeDelta.objects.filter(old_value=3).update(new_value=5)
    assert verify().problems


# What takes the Python path --------------------------------------------------


class Upper(ValueEncoder):
    """Stores text in capitals: no SQL knows that."""

    def encode(self, field, value):
        encoded = super().encode(field, value)
        return encoded.upper() if isinstance(encoded, str) else encoded


def test_another_value_encoder_has_python_encode_every_value(settings):
    settings.REVY_VALUE_ENCODER = f"{__name__}.Upper"
    row = EveryField.objects.create(char="before")
    assert _update(EveryField, row.pk, {"char": "after"}, True, settings)
    attribute = _attribute(EveryField, row.pk, "char")
    assert (attribute.old_value, attribute.new_value) == ("BEFORE", "AFTER")
    assert fields_recorded_in_python(
        EveryField, [EveryField._meta.get_field("char")], "default"
    ) == ["char"]


def test_a_field_without_sql_has_python_encode_its_values_in_field_order(settings):
    rows = [
        EveryField.objects.create(char=f"before {n}", time=datetime.time(n))
        for n in range(3)
    ]
    for values in (
        {"time": F("time"), "char": "after"},  # A time written as it stands.
        {"char": "again", "time": datetime.time(23)},
    ):
        assert _update(EveryField, None, values, True, settings)
    deltas = list(
        AttributeDelta.objects.filter(object_delta__action=UPDATE)
        .order_by("pk")
        .values_list("content_id", "field_name", "old_value", "new_value")
    )
    assert deltas == [
        *((str(row.pk), "char", f"before {n}", "after") for n, row in enumerate(rows)),
        *(
            (str(row.pk), name, old, new)
            for n, row in enumerate(rows)
            for name, old, new in (
                ("char", "after", "again"),
                ("time", f"0{n}:00:00", "23:00:00"),
            )
        ),
    ]
    times = AttributeDelta.objects.filter(field_name="time").order_by("pk")
    assert [(a.old(), a.new()) for a in times] == [
        (datetime.time(n), datetime.time(23)) for n in range(3)
    ]


def test_a_value_python_cannot_encode_leaves_the_rows_as_they_were(settings):
    settings.REVY_VALUE_ENCODER = "tests.field_values.RefusingOne"
    rows = [EveryField.objects.create(time=datetime.time(n)) for n in range(2)]
    with transaction.atomic():
        with pytest.raises(EncodingError, match="EveryField.time"), Context():
            EveryField.objects.update(time=datetime.time(13))
        # The rows were written before Python encoded their values: this
        # transaction cannot commit them without their history.
        assert transaction.get_rollback()
    for n, row in enumerate(rows):
        row.refresh_from_db()
        assert row.time == datetime.time(n)
    assert not ObjectDelta.objects.exists()


@pytest.mark.parametrize("encoded_by", ["sql", "python"])
def test_an_update_the_database_refuses_raises_the_databases_error(
    encoded_by, settings
):
    if encoded_by == "python":
        settings.REVY_VALUE_ENCODER = "tests.field_values.EncodedInPython"
    first, _second = (Musician.objects.create(name=name) for name in ("a", "b"))
    with pytest.raises(IntegrityError), transaction.atomic(), Context():
        Musician.objects.update(name="same")
    # Nothing written, and the connection goes on.
    assert sorted(Musician.objects.values_list("name", flat=True)) == ["a", "b"]
    assert not ObjectDelta.objects.filter(action=UPDATE).exists()
    assert _update(Musician, first.pk, {"name": "c"}, True, settings)


def test_a_parents_field_takes_the_python_path(settings):
    restaurant = Restaurant.objects.create(name="before")
    assert not _update(Restaurant, restaurant.pk, {"name": "after"}, True, settings)
    # The child's own field: the database writes its history.
    assert _update(Restaurant, restaurant.pk, {"serves_pizza": True}, True, settings)
    names = AttributeDelta.objects.filter(field_name="name").get()
    assert (names.old_value, names.new_value) == ("before", "after")
    pizza = AttributeDelta.objects.filter(field_name="serves_pizza").get()
    assert (pizza.old_value, pizza.new_value) == (False, True)


def test_an_update_may_refer_to_the_querysets_annotations(settings):
    counter = Counter.objects.create(value=3)
    settings.REVY_HISTORY_IN_SQL = True
    doubled = Counter.objects.annotate(double=F("value") * 2)
    assert _update(doubled, counter.pk, {"value": F("double")}, True, settings)
    counter.refresh_from_db()
    assert counter.value == 6
    attribute = _attribute(Counter, counter.pk, "value")
    assert (attribute.old_value, attribute.new_value) == (3, 6)


def test_an_ordered_update_takes_the_python_path(settings):
    counters = Counter.objects.bulk_create(Counter(value=n) for n in range(3))
    Counter.objects.filter(pk=counters[0].pk).update(value=10)
    ordered = Counter.objects.order_by("-value")
    assert not _update(ordered, None, {"value": F("value") + 1}, True, settings)
    assert sorted(
        AttributeDelta.objects.filter(
            object_delta__revision=Revision.objects.last()
        ).values_list("old_value", "new_value")
    ) == [(1, 2), (2, 3), (10, 11)]
