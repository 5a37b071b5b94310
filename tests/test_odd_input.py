"""Odd input that history must store and read back as the database holds
it: names SQL and JSON must quote, numbers some databases do not keep."""

import math

import pytest
from django.db import transaction

from revy import Context
from revy.contrib.django import history
from tests.helpers import ObjectDelta
from tests.testapp.models import EveryField, OddNames

pytestmark = pytest.mark.django_db


def test_a_field_name_holding_a_quote_reads_back_at_every_point():
    with Context():
        obj = OddNames.objects.create(**{"it's": "one"})
    with Context():
        setattr(obj, "it's", "two")
        obj.save()
    first, second = ObjectDelta.objects.order_by("pk")
    assert getattr(history.state_at(OddNames, obj.pk, at=first), "it's") == "one"
    assert getattr(history.state_at(OddNames, obj.pk, at=second), "it's") == "two"
    with Context():
        history.restore(OddNames, obj.pk, at=first)
    obj.refresh_from_db()
    assert getattr(obj, "it's") == "one"


def test_a_nan_float_is_recorded_as_the_database_keeps_it():
    """SQLite keeps NaN as NULL, PostgreSQL as NaN, MariaDB refuses it."""
    try:
        with transaction.atomic(), Context():
            obj = EveryField.objects.create(floating=float("nan"))
    except Exception:
        assert not ObjectDelta.objects.exists()
        return
    held = EveryField.objects.get(pk=obj.pk).floating
    recorded = history.state_at(EveryField, obj.pk).floating
    assert (recorded is None and held is None) or (
        math.isnan(recorded) and math.isnan(held)
    )
