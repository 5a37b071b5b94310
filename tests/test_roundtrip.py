"""Values round-trip exactly: what an attribute delta decodes to is what the
database holds, for every built-in field type (tests/testapp EveryField).

And a value that cannot be encoded fails the write with an error naming the
model and the field, leaving nothing of that write behind.
"""

import datetime
import decimal
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.test import override_settings

from revy import Context
from revy.contrib.django.encoding import EncodingError, ValueEncoder
from tests.helpers import AttributeDelta, ObjectDelta, Revision
from tests.testapp.models import Comment, EveryField, Place

pytestmark = pytest.mark.django_db


FIELDS = [
    field.name for field in EveryField._meta.concrete_fields if not field.primary_key
]


def values_a(comment, place):
    return {
        "char": "héllo wörld ✓ 日本語 \"quoted\" 'single'",
        "text": "line one\nline two\ttab \\ backslash 🎉\x01 control",
        "slug": "a-slug_with-123",
        "email": "someone+tag@example.com",
        "url": "https://example.com/päth?q=1&r=ü#frag",
        "small": -32768,
        "integer": -2147483648,
        "big": -9223372036854775808,
        "positive_small": 32767,
        "positive": 2147483647,
        "positive_big": 9223372036854775807,
        "floating": 0.1 + 0.2,
        # 15 significant digits: all that SQLite's REAL column keeps.
        "decimal": decimal.Decimal("-12345.0123456789"),
        "boolean": True,
        "date": datetime.date(1999, 12, 31),
        "datetime": datetime.datetime(
            2024, 2, 29, 23, 59, 59, 999999, tzinfo=ZoneInfo("America/St_Johns")
        ),
        "time": datetime.time(23, 59, 59, 999999),
        "duration": datetime.timedelta(days=-3, hours=4, microseconds=7),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "json": {
            "ünï": ["⚡", None, 1, 2.5, True, {"nested": {"deep": [None, "x"]}}],
            "null": None,
            "big": 9007199254740993,
            "empty": {},
        },
        "binary": bytes(range(256)) + b"\x00\x00",
        "ip": "2001:db8::8a2e:370:7334",
        "file": "uploads/ünï file.txt",
        "foreign": comment,
        "one": place,
    }


def values_b(comment, place):
    return {
        "char": "",
        "text": "ß" * 5000,
        "slug": "x",
        "email": "other@example.org",
        "url": "http://[::1]:8000/",
        "small": 32767,
        "integer": 2147483647,
        "big": 9223372036854775807,
        "positive_small": 0,
        "positive": 0,
        "positive_big": 0,
        "floating": -2.5e-300,
        "decimal": decimal.Decimal("99999.9999999999"),
        "boolean": False,
        "date": datetime.date(2024, 2, 29),
        "datetime": datetime.datetime(
            1970, 1, 1, 5, 45, 0, 1, tzinfo=ZoneInfo("Asia/Kathmandu")
        ),
        "time": datetime.time(0, 0, 0, 1),
        "duration": -datetime.timedelta(microseconds=1),
        "uuid": uuid.UUID("ffffffff-0000-4000-8000-000000000001"),
        "json": [None, {"a": []}, "ß", -0.5, False, "null"],
        "binary": b"\x00",
        "ip": "192.0.2.255",
        "file": "other/x.bin",
        "foreign": comment,
        "one": place,
    }


def values_c():
    """Empty, zero and null values: the other end of each range."""
    return {
        "char": "0",
        "text": "",
        "slug": "",
        "email": "",
        "url": "",
        "small": 0,
        "integer": None,
        "big": 0,
        "positive_small": None,
        "positive": 1,
        "positive_big": None,
        "floating": 0.0,
        "decimal": decimal.Decimal("0E-10"),
        "boolean": None,
        "date": None,
        "datetime": None,
        "time": datetime.time(0, 0),
        "duration": datetime.timedelta(0),
        "uuid": None,
        "json": "a JSON string",
        "binary": b"",
        "ip": None,
        "file": "",
        "foreign": None,
        "one": None,
    }


def comparable(value):
    """What is compared: bytes for binary, names for files, instants for
    datetimes (aware datetimes compare as instants already)."""
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, FieldFile):
        return value.name
    if isinstance(value, datetime.datetime):
        assert value.tzinfo is not None, "datetimes must come back aware"
        return value.astimezone(datetime.UTC)
    return value


def read_back(obj, name):
    """The value of field ``name`` as read back from the database."""
    field = EveryField._meta.get_field(name)
    return comparable(getattr(obj, field.attname))


def delta_values(object_delta):
    found = {}
    for attribute in object_delta.attribute_deltas.all():
        found[attribute.field_name] = (
            comparable(attribute.old()),
            comparable(attribute.new()),
        )
    return found


def assign(obj, values):
    for name, value in values.items():
        setattr(obj, name, value)


def test_every_field_round_trips_through_create_and_updates():
    comments = [Comment.objects.create(text=str(i)) for i in range(2)]
    places = [Place.objects.create(name=str(i)) for i in range(2)]

    obj = EveryField()
    assign(obj, values_a(comments[0], places[0]))
    with Context():
        obj.save()
    obj = EveryField.objects.get(pk=obj.pk)
    before = {name: read_back(obj, name) for name in FIELDS}

    create = ObjectDelta.objects.for_object(obj).get()
    assert create.action == ObjectDelta.ACTION_CREATE
    recorded = delta_values(create)
    assert sorted(recorded) == sorted(FIELDS)
    for name in FIELDS:
        assert recorded[name] == (None, before[name]), name

    for values in (values_b(comments[1], places[1]), values_c()):
        with Context():
            assign(obj, values)
            obj.save()
        obj = EveryField.objects.get(pk=obj.pk)
        after = {name: read_back(obj, name) for name in FIELDS}
        update = list(ObjectDelta.objects.for_object(obj))[-1]
        assert update.action == ObjectDelta.ACTION_UPDATE
        recorded = delta_values(update)
        changed = [name for name in FIELDS if before[name] != after[name]]
        assert sorted(recorded) == sorted(changed)
        for name in changed:
            assert recorded[name] == (before[name], after[name]), name
        before = after

    # And the values each delete records are those stored last.
    pk = obj.pk
    with Context():
        obj.delete()
    delete = list(ObjectDelta.objects.for_key(EveryField, pk))[-1]
    recorded = delta_values(delete)
    assert sorted(recorded) == sorted(FIELDS)
    for name in FIELDS:
        assert recorded[name] == (before[name], None), name


def test_values_are_decoded_to_the_fields_python_types():
    comment = Comment.objects.create(text="c")
    place = Place.objects.create(name="p")
    with Context():
        obj = EveryField.objects.create(**values_a(comment, place))
    create = ObjectDelta.objects.for_object(obj).get()
    new = {a.field_name: a.new() for a in create.attribute_deltas.all()}
    assert type(new["decimal"]) is decimal.Decimal
    assert str(new["decimal"]) == "-12345.0123456789"
    assert type(new["datetime"]) is datetime.datetime
    assert new["datetime"].microsecond == 999999
    assert type(new["time"]) is datetime.time
    assert type(new["date"]) is datetime.date
    assert type(new["duration"]) is datetime.timedelta
    assert new["duration"] == datetime.timedelta(days=-3, hours=4, microseconds=7)
    assert type(new["uuid"]) is uuid.UUID
    assert type(new["floating"]) is float
    assert new["floating"] == 0.30000000000000004
    assert bytes(new["binary"]) == bytes(range(256)) + b"\x00\x00"
    assert new["big"] == -9223372036854775808
    assert new["json"]["big"] == 9007199254740993
    assert new["foreign"] == comment.pk
    assert new["one"] == place.pk


def test_values_loaded_from_the_database_round_trip_as_old_values():
    comment = Comment.objects.create(text="c")
    place = Place.objects.create(name="p")
    obj = EveryField.objects.create(**values_a(comment, place))
    obj = EveryField.objects.get(pk=obj.pk)  # database types: memoryview, UTC...
    before = {name: read_back(obj, name) for name in FIELDS}
    with Context():
        assign(obj, values_c())
        obj.save()
    update = ObjectDelta.objects.for_object(obj).get()
    recorded = delta_values(update)
    for name, (old, _new) in recorded.items():
        assert old == before[name], name


# Values that cannot be encoded -----------------------------------------------


class Unserialisable:
    def __repr__(self):
        return "<Unserialisable>"


class PoisonEncoder(ValueEncoder):
    """Refuses the text "poison", which the database would store happily."""

    def encode(self, field, value):
        if value == "poison":
            raise ValueError("poison is not allowed")
        return super().encode(field, value)


POISON = "tests.test_roundtrip.PoisonEncoder"


@pytest.mark.django_db(transaction=True)
def test_a_json_value_django_refuses_gets_djangos_own_error_and_writes_nothing():
    with Context(), pytest.raises(TypeError, match="not JSON serializable"):
        EveryField.objects.create(json={"x": Unserialisable()})
    assert EveryField.objects.count() == 0
    assert Revision.objects.count() == 0
    assert ObjectDelta.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_json_value_django_refuses_on_update_leaves_the_row_unchanged():
    obj = EveryField.objects.create(json={"ok": 1}, char="kept")
    with Context(), pytest.raises(TypeError, match="not JSON serializable"):
        obj.char = "changed"
        obj.json = {"x": Unserialisable()}
        obj.save()
    obj.refresh_from_db()
    assert (obj.char, obj.json) == ("kept", {"ok": 1})
    assert Revision.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_VALUE_ENCODER=POISON)
def test_encoder_refusing_the_new_value_fails_the_write():
    obj = EveryField.objects.create(char="kept")
    with Context(), pytest.raises(EncodingError, match=r"testapp\.EveryField\.text"):
        obj.char = "changed"
        obj.text = "poison"
        obj.save()
    obj.refresh_from_db()
    assert (obj.char, obj.text) == ("kept", "")
    assert Revision.objects.count() == 0
    assert AttributeDelta.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_VALUE_ENCODER=POISON)
def test_encoder_refusing_the_old_value_rolls_the_written_row_back():
    # The old value is only encoded after the row was written: the write
    # must be undone, not committed without its history.
    obj = EveryField.objects.create(text="poison", char="kept")
    with Context(), pytest.raises(EncodingError, match=r"testapp\.EveryField\.text"):
        obj.text = "fine"
        obj.char = "changed"
        obj.save()
    obj.refresh_from_db()
    assert (obj.text, obj.char) == ("poison", "kept")
    assert Revision.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_VALUE_ENCODER=POISON)
def test_encoding_error_inside_a_callers_transaction_rolls_it_back():
    obj = EveryField.objects.create(text="poison", char="kept")
    earlier = Comment.objects.create(text="before")
    with transaction.atomic(), Context():
        earlier.text = "changed in the same transaction"
        earlier.save()
        obj.text = "fine"
        with pytest.raises(EncodingError):
            obj.save()
        # The caller swallowed the error: the transaction cannot commit.
        assert transaction.get_connection().needs_rollback
    obj.refresh_from_db()
    earlier.refresh_from_db()
    assert obj.text == "poison"
    assert earlier.text == "before"
    assert Revision.objects.count() == 0
    assert ObjectDelta.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_VALUE_ENCODER=POISON)
def test_encoder_refusing_a_deleted_value_keeps_the_row():
    obj = EveryField.objects.create(text="poison")
    with Context(), pytest.raises(EncodingError, match=r"testapp\.EveryField\.text"):
        obj.delete()
    assert EveryField.objects.filter(pk=obj.pk).exists()
    assert Revision.objects.count() == 0


@override_settings(REVY_VALUE_ENCODER=POISON)
def test_unencodable_value_outside_a_context_is_not_revys_business():
    obj = EveryField.objects.create(text="poison")
    obj.text = "fine"
    obj.save()
    obj.delete()
    assert Revision.objects.count() == 0
