"""Field types beyond Django's built-in ones: PostgreSQL's arrays and hstore,
and fields of a project's own, whose values are lists, dicts or objects.
Their history round-trips like any other (capture, snapshots, state_at,
restore, revert, revy_baseline), and a field whose values revy may not
store is named by ``manage.py check`` (revy.W002) before a request finds out.
"""

import datetime
import decimal

import pytest
from django.core import checks
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revy import Context
from revy.contrib.django import history
from tests.helpers import ObjectDelta, Revision
from tests.testapp.models import Length, LengthField, Measured

pytestmark = pytest.mark.django_db

POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's own field types"
)
UTC = datetime.UTC


def row_of(obj):
    """The stored values of ``obj``'s fields, as the database holds them."""
    fresh = type(obj)._base_manager.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.fields}


def state_of(model, pk, at=None):
    state = history.state_at(model, pk, at=at)
    return (
        None
        if state is None
        else {f.attname: getattr(state, f.attname) for f in model._meta.fields}
    )


# A field of the project's own ----------------------------------------------------


def test_a_value_object_field_round_trips():
    with Context():
        measured = Measured.objects.create(length=Length("1.5"))
        measured.length = Length("2.25")
        measured.save()
    first, second = ObjectDelta.objects.order_by("pk")
    assert state_of(Measured, measured.pk) == row_of(measured)
    assert history.state_at(Measured, measured.pk, at=first).length == Length("1.5")
    with Context():
        history.restore(Measured, measured.pk, at=first)
    assert row_of(measured)["length"] == Length("1.5")


def test_check_names_a_tracked_field_that_converts_values_its_own_way(
    monkeypatch,
):
    def revy_warnings():
        return [m for m in checks.run_checks() if m.id == "revy.W002"]

    assert revy_warnings() == []
    monkeypatch.delattr(LengthField, "revy_encodable")
    [warning] = revy_warnings()
    assert warning.obj is Measured._meta.get_field("length")
    assert "testapp.Measured.length" in warning.msg
    assert "revy_encodable = True" in warning.hint
    call_command("check", verbosity=0)  # A warning: check still passes.
    with monkeypatch.context() as patched:
        patched.setattr(LengthField, "revy_encodable", False, raising=False)
        assert len(revy_warnings()) == 1


# PostgreSQL's arrays and hstore ----------------------------------------------------


def arrays(**values):
    from tests.pgapp.models import Arrays

    return Arrays(**values)


FIRST = {
    "numbers": [3, 1, -2],
    "amounts": [decimal.Decimal("1.50"), None, decimal.Decimal("-0.25")],
    "moments": [datetime.datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=UTC)],
    "grid": [[1, 2], [3, 4]],
    "labels": {"colour": "red", "size": None, "ü": "✓"},
    "tags": ["a", "b, c", "'quoted'"],
}
SECOND = {
    "numbers": [],
    "amounts": None,
    "moments": [
        datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime.datetime(2000, 1, 1, tzinfo=UTC),
    ],
    "grid": [[5]],
    "labels": {},
    "tags": [],
}


@POSTGRESQL
def test_arrays_and_hstore_round_trip_through_every_read():
    with Context():
        obj = arrays(**FIRST)
        obj.save()
    created = ObjectDelta.objects.get()
    with Context():
        for name, value in SECOND.items():
            setattr(obj, name, value)
        obj.save()
    updated = ObjectDelta.objects.latest("pk")
    first = state_of(type(obj), obj.pk, at=created)
    assert {name: first[name] for name in FIRST} == FIRST
    assert state_of(type(obj), obj.pk) == row_of(obj)
    changes = {change.field: change for change in history.changes(obj)}
    assert changes["grid"].new == [[5]] and changes["labels"].old == FIRST["labels"]
    # Undo the update as a whole, then delete and restore the row.
    Revision.objects.get(object_deltas=updated).revert()
    assert {name: row_of(obj)[name] for name in FIRST} == FIRST
    pk = obj.pk
    with Context():
        obj.delete()
    with Context():
        restored = history.restore(type(obj), pk, at=created)
    assert {name: row_of(restored)[name] for name in FIRST} == FIRST


@POSTGRESQL
def test_a_baseline_records_arrays_and_hstore():
    obj = arrays(**FIRST)
    obj.save()  # Outside any context: history has never seen it.
    call_command("revy_baseline", "pgapp", verbosity=0)
    assert state_of(type(obj), obj.pk) == row_of(obj)


integers = st.integers(-(2**31), 2**31 - 1)
texts = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=20,
)
ARRAY_VALUES = {
    "numbers": st.lists(integers, max_size=5),
    "amounts": st.none()
    | st.lists(
        st.none()
        | st.decimals(min_value=-999999, max_value=999999, places=2, allow_nan=False),
        max_size=4,
    ),
    "moments": st.lists(
        st.datetimes(
            datetime.datetime(1900, 1, 1),
            datetime.datetime(2100, 1, 1),
            timezones=st.just(UTC),
        ),
        max_size=3,
    ),
    "grid": st.integers(1, 3).flatmap(  # PostgreSQL has no empty inner arrays
        lambda width: st.lists(st.lists(integers, min_size=width, max_size=width))
    ),
    "labels": st.dictionaries(texts, st.none() | texts, max_size=4),
    "tags": st.lists(texts, max_size=4),
}


@POSTGRESQL
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.fixed_dictionaries({}, optional=ARRAY_VALUES), min_size=1, max_size=4)
)
def test_every_state_of_arrays_and_hstore_reads_back_as_it_was_stored(steps):
    with Context():
        obj = arrays()
        obj.save()
    states = [(ObjectDelta.objects.latest("pk"), row_of(obj))]
    for values in steps:
        with Context():
            for name, value in values.items():
                setattr(obj, name, value)
            obj.save()
        states.append((ObjectDelta.objects.latest("pk"), row_of(obj)))
    for delta, row in states:
        assert state_of(type(obj), obj.pk, at=delta) == row
