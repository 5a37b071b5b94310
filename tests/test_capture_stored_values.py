"""Old and new values as the row holds them: F() expressions computed from a
changed row, and decimals the column rounds."""

import decimal

import pytest
from django.db.models import F

from revy import Context
from revy.contrib.django.models import get_object_delta_model, get_revision_model
from tests.helpers import ObjectDelta, decoded
from tests.testapp.models import Counter, EveryField, Invoice

pytestmark = pytest.mark.django_db


def test_f_expression_old_value_is_what_the_row_held():
    counter = Counter.objects.create(value=41)
    counter = Counter.objects.get(pk=counter.pk)
    Counter.objects.filter(pk=counter.pk).update(value=100)
    with Context():
        counter.value = F("value") + 1
        counter.save()
    [d] = ObjectDelta.objects.all()
    assert decoded(d) == {"value": (100, 101)}


def test_decimal_that_the_column_rounds_to_the_stored_value_is_a_no_op():
    inv = Invoice.objects.create(amount=decimal.Decimal("10.50"), exchange_rate=1)
    inv = Invoice.objects.get(pk=inv.pk)
    with Context():
        inv.amount = decimal.Decimal("10.501")
        inv.save(update_fields=["amount"])
    inv.refresh_from_db()
    assert inv.amount == decimal.Decimal("10.50")
    assert list(get_revision_model().objects.all()) == []


def test_decimal_tie_recorded_as_the_column_rounds_it():
    inv = Invoice.objects.create(amount=decimal.Decimal("1"), exchange_rate=1)
    with Context():
        inv.local_amount = decimal.Decimal("5.025")
        inv.save()
    inv.refresh_from_db()
    d = ObjectDelta.objects.get()
    local = d.attribute_deltas.get(field_name="local_amount")
    assert local.new() == inv.local_amount


@pytest.mark.parametrize("value", ["-12345.0123456789", "0.00000000005"])
def test_decimal_new_value_is_what_the_database_holds(value):
    with Context():
        obj = EveryField.objects.create(decimal=decimal.Decimal(value))
    obj.refresh_from_db()
    d = get_object_delta_model().objects.get()
    assert d.attribute_deltas.get(field_name="decimal").new() == obj.decimal
