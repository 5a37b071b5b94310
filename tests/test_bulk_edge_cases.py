"""Edge cases of bulk writes and deletes: rows given twice or missing,
primary keys, decimals the database rounds, multi-table causes, and writes
Django refuses inside a transaction."""

import pytest
from django.db import transaction
from django.db.models import F

from revy import Context
from revy.contrib.django.deltas import NotRecordable
from tests.helpers import (
    CREATE,
    DELETE,
    ObjectDelta,
    deltas_of,
    stored,
)
from tests.testapp.models import (
    Counter,
    EveryField,
    Invoice,
    Restaurant,
)

pytestmark = pytest.mark.django_db


# bulk_update -------------------------------------------------------------------


def test_bulk_update_with_the_same_row_twice_records_the_value_stored():
    counter = Counter.objects.create(value=1)
    first = Counter(pk=counter.pk, value=10)
    second = Counter(pk=counter.pk, value=20)
    with Context():
        Counter.objects.bulk_update([first, second], ["value"])
    value = Counter.objects.get(pk=counter.pk).value  # Django's CASE: first wins
    (delta,) = deltas_of(Counter, counter.pk)
    assert stored(delta) == {"value": (1, value)}


def test_bulk_update_of_a_missing_row_then_save_records_the_create():
    counter = Counter(pk=12345, value=5)
    with Context():
        assert Counter.objects.bulk_update([counter], ["value"]) == 0
        counter.save()  # Django inserts the row
    assert Counter.objects.filter(pk=12345).exists()
    assert [d.action for d in deltas_of(Counter, 12345)] == [CREATE]


def test_bulk_update_of_an_instance_whose_row_is_gone_records_nothing():
    counter = Counter.objects.create(value=1)
    pk = counter.pk
    Counter.objects.filter(pk=pk).delete()
    counter.value = 2
    with Context():
        assert Counter.objects.bulk_update([counter], ["value"]) == 0
    assert deltas_of(Counter, pk) == []


# QuerySet.update -----------------------------------------------------------------


def test_update_of_the_primary_key_is_refused_before_writing():
    counter = Counter.objects.create(value=1)
    with Context(), pytest.raises(NotRecordable, match="primary key"):
        Counter.objects.filter(pk=counter.pk).update(id=F("id") + 1000)
    assert list(Counter.objects.values_list("pk", flat=True)) == [counter.pk]
    assert not ObjectDelta.objects.exists()


# Decimals given as float or text, which each database rounds its own way ----------

VALUES = pytest.mark.parametrize("value", [0.125, "0.125"], ids=["float", "text"])


@VALUES
def test_update_of_a_decimal_given_as_float_or_text_records_what_the_column_holds(
    value,
):
    invoice = Invoice.objects.create(amount=1, exchange_rate=1)
    with Context():
        Invoice.objects.filter(pk=invoice.pk).update(amount=value)
    held = Invoice.objects.get(pk=invoice.pk).amount
    (delta,) = deltas_of(Invoice, invoice.pk)
    assert stored(delta)["amount"] == ("1.00", str(held))


@VALUES
def test_bulk_create_of_a_decimal_given_as_float_or_text_records_what_the_column_holds(
    value,
):
    with Context():
        (invoice,) = Invoice.objects.bulk_create(
            [Invoice(amount=value, exchange_rate=1)]
        )
    held = Invoice.objects.get(pk=invoice.pk).amount
    (delta,) = deltas_of(Invoice, invoice.pk)
    assert stored(delta)["amount"] == (None, str(held))


@VALUES
def test_save_of_a_decimal_given_as_float_or_text_records_what_the_column_holds(
    value,
):
    with Context():
        invoice = Invoice.objects.create(amount=value, exchange_rate=1)
    held = Invoice.objects.get(pk=invoice.pk).amount
    (delta,) = deltas_of(Invoice, invoice.pk)
    assert stored(delta)["amount"] == (None, str(held))


# Deletes -------------------------------------------------------------------------


def test_set_null_caused_by_deleting_a_multi_table_child_names_its_cause():
    restaurant = Restaurant.objects.create(name="Luigi's")
    row = EveryField.objects.create(one=restaurant.place_ptr)
    pk = restaurant.pk
    with Context():
        restaurant.delete()
    (delete,) = deltas_of(Restaurant, pk)
    assert delete.action == DELETE
    (update,) = deltas_of(EveryField, row.pk)
    assert stored(update) == {"one": (pk, None)}
    assert update.cause == delete


# Writes Django refuses -------------------------------------------------------------


def _refused_writes():
    counter = Counter.objects.create(value=1)
    return {
        "bulk_create of a multi-table child": lambda: Restaurant.objects.bulk_create(
            [Restaurant(name="x")]
        ),
        "bulk_update of the primary key": lambda: Counter.objects.bulk_update(
            [counter], ["id"]
        ),
        "update of a sliced queryset": lambda: Counter.objects.all()[:1].update(
            value=2
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "bulk_create of a multi-table child",
        "bulk_update of the primary key",
        "update of a sliced queryset",
    ],
)
def test_a_write_django_refuses_leaves_the_transaction_usable_as_without_revy(name):
    for context in (Context.as_disabled, Context):
        with transaction.atomic():
            write = _refused_writes()[name]
            with context(), pytest.raises((ValueError, TypeError)):
                write()
            # Django refused before writing anything: the transaction goes on.
            assert Counter.objects.count() >= 1, context.__name__
