"""Values given in another type than the field's, or finer than its column
holds, are recorded and read back from history as the database holds them,
whether written by save(), QuerySet.update(), bulk_create() or bulk_update();
a value the column rounds to what it held already is no change."""

import datetime
import decimal
import json
import uuid
import warnings

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy

from revy import Context
from revy.contrib.django.history import history, state_at
from tests.helpers import ObjectDelta, Revision, deltas_of, stored
from tests.testapp.models import EveryField, Invoice, UUIDItem

pytestmark = pytest.mark.django_db


def new_value(obj, name):
    d = ObjectDelta.objects.for_object(obj).last()
    return d.attribute_deltas.get(field_name=name).new()


# DateField given a datetime ----------------------------------------------


def test_date_field_assigned_an_aware_datetime_reads_back_as_the_stored_date():
    moment = datetime.datetime(2024, 3, 1, 22, 30, tzinfo=datetime.UTC)
    with Context():
        obj = EveryField.objects.create(date=moment)
    obj.refresh_from_db()
    # Django stores the date in the default time zone (Istanbul: March 2nd).
    assert obj.date == datetime.date(2024, 3, 2)
    assert new_value(obj, "date") == obj.date
    assert state_at(EveryField, obj.pk).date == obj.date


# DecimalField given a float or a finer string -----------------------------


@pytest.mark.parametrize("value", [0.1, "0.123456789012345"])
def test_decimal_field_assigned_a_float_or_string_reads_back_as_rounded(value):
    with Context():
        obj = EveryField.objects.create(decimal=value)
    obj.refresh_from_db()
    assert new_value(obj, "decimal") == obj.decimal
    assert state_at(EveryField, obj.pk).decimal == obj.decimal


def test_decimal_that_the_column_rounds_to_the_stored_value_is_a_no_op():
    inv = Invoice.objects.create(amount=decimal.Decimal("10.50"), exchange_rate=1)
    inv = Invoice.objects.get(pk=inv.pk)
    with Context():
        inv.amount = decimal.Decimal("10.501")
        inv.save(update_fields=["amount"])
    inv.refresh_from_db()
    assert inv.amount == decimal.Decimal("10.50")
    assert list(Revision.objects.all()) == []


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
    d = ObjectDelta.objects.get()
    assert d.attribute_deltas.get(field_name="decimal").new() == obj.decimal


# DateTimeField given a naive datetime --------------------------------------


def test_naive_datetime_reads_back_aware_as_stored():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with Context():
            obj = EveryField.objects.create(datetime=datetime.datetime(2024, 1, 1, 12))
    obj.refresh_from_db()
    assert obj.datetime.tzinfo is not None
    got = state_at(EveryField, obj.pk).datetime
    assert got.tzinfo is not None
    assert got == obj.datetime


def test_naive_datetime_of_the_same_instant_records_no_change():
    obj = EveryField.objects.create(
        datetime=datetime.datetime(2024, 1, 1, 9, tzinfo=datetime.UTC)
    )
    obj = EveryField.objects.get(pk=obj.pk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with Context():
            obj.datetime = datetime.datetime(2024, 1, 1, 12)  # Istanbul, UTC+3
            obj.save()
    assert ObjectDelta.objects.count() == 0


# UUID primary key given as text in another spelling ------------------------


def test_uuid_pk_given_as_hex_text_has_its_history_found():
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with Context():
        UUIDItem.objects.create(id=key.hex.upper(), name="x")
    obj = UUIDItem.objects.get(pk=key)
    assert len(history(obj)) == 1
    assert state_at(UUIDItem, key).name == "x"


# FileField given a File ------------------------------------------------------


def test_file_field_assigned_a_file_is_recorded(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    obj = EveryField(file=ContentFile(b"hello", name="hello.txt"))
    with Context():
        obj.save()
    obj.refresh_from_db()
    assert new_value(obj, "file") == obj.file.name


# GenericIPAddressField given "" ----------------------------------------------


def test_blank_ip_reads_back_as_the_null_stored():
    with Context():
        obj = EveryField.objects.create(ip="")
    obj.refresh_from_db()
    assert obj.ip is None
    assert new_value(obj, "ip") == obj.ip


# Decimal the field cannot hold -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_decimal_too_long_for_its_column_fails_as_it_does_without_revy():
    """PostgreSQL and MariaDB refuse it, and Django raises their error;
    SQLite keeps it as given. Inside a context the same happens, and what
    is kept is recorded as kept."""

    def create():
        try:
            with transaction.atomic():
                EveryField.objects.create(decimal=decimal.Decimal("1e30"))
        except Exception as error:
            return type(error)
        return None

    outside = create()
    with Context():
        inside = create()
    assert inside is outside
    if outside is None:
        [delta] = ObjectDelta.objects.all()
        stored = delta.attribute_deltas.get(field_name="decimal")
        assert stored.new() == decimal.Decimal("1e30")
    else:
        assert EveryField.objects.count() == 0
        assert Revision.objects.count() == 0


# Lazy text --------------------------------------------------------------------


def test_lazy_text_is_recorded_as_its_text():
    with Context():
        obj = EveryField.objects.create(char=gettext_lazy("Lazy"))
    obj.refresh_from_db()
    assert new_value(obj, "char") == obj.char == "Lazy"


# IntegerField given a Decimal ------------------------------------------------


def test_integer_field_assigned_a_decimal_reads_back_as_stored():
    with Context():
        obj = EveryField.objects.create(integer=decimal.Decimal("7.5"))
    obj.refresh_from_db()
    assert new_value(obj, "integer") == obj.integer == 7


# JSONField with a decoder of its own ------------------------------------------


class TaggingDecoder(json.JSONDecoder):
    def __init__(self, *args, **kwargs):
        kwargs["object_hook"] = lambda d: {**d, "decoded": True}
        super().__init__(*args, **kwargs)


def test_json_field_decoder_applies_to_history(monkeypatch):
    monkeypatch.setattr(EveryField._meta.get_field("json"), "decoder", TaggingDecoder)
    with Context():
        obj = EveryField.objects.create(json={"a": 1})
    obj.refresh_from_db()
    assert obj.json == {"a": 1, "decoded": True}
    assert new_value(obj, "json") == obj.json
    assert state_at(EveryField, obj.pk).json == obj.json


# The same through QuerySet.update() and bulk_update() ------------------------


def test_queryset_update_values_read_back_as_stored():
    obj = EveryField.objects.create()
    with Context():
        EveryField.objects.filter(pk=obj.pk).update(
            decimal="0.123456789012345",
            date=datetime.datetime(2024, 3, 1, 22, 30, tzinfo=datetime.UTC),
        )
    obj.refresh_from_db()
    got = state_at(EveryField, obj.pk)
    assert (got.decimal, got.date) == (obj.decimal, obj.date)


def test_bulk_update_values_read_back_as_stored():
    obj = EveryField.objects.create()
    obj.decimal = "0.123456789012345"
    with Context():
        EveryField.objects.bulk_update([obj], ["decimal"])
    obj.refresh_from_db()
    assert state_at(EveryField, obj.pk).decimal == obj.decimal


# Decimals given as float or text, which each database rounds its own way ----

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
