"""Values of every field type of ``EveryField``, for the tests of history
the database writes in SQL: each must be stored as revy's Python stores
it, and the fields with no equal SQL on the database have their values
encoded by Python. Encoders (``REVY_VALUE_ENCODER``) for those tests.
"""

import datetime
import decimal
import math
import uuid

import pytest
from django.db import connection

from revy.contrib.django.encoding import ValueEncoder

VENDOR = connection.vendor
UTC = datetime.UTC
AN_HOUR_EAST = datetime.timezone(datetime.timedelta(hours=1))
TEXTS = [
    "",
    "plain",
    "é ü 中文 😀",
    'quote " back \\ slash / solidus',
    "tab\tnew\nline\rcontrol\x01\x1f end",
    "  trailing  ",
]
FLOATS = [0.1 + 0.2, 100.0, -0.0, 1e300, 5e-324, -2.5, None]
if VENDOR == "postgresql":  # The others store no infinity.
    FLOATS += [float("inf"), float("-inf"), float("nan")]

# Values each field is updated to, from the value the row is created with.
VALUES = {
    **{name: TEXTS for name in ("char", "text")},
    "slug": ["", "a-slug_1"],
    "email": ["", "someone@example.com"],
    "url": ["", "https://example.com/a?b=c&d=é"],
    "small": [0, -32768, 32767, None],
    "integer": [0, -(2**31), 2**31 - 1, None],
    "big": [0, -(2**63), 2**63 - 1, None],
    "positive_small": [0, 32767, None],
    "positive": [0, 2**31 - 1, None],
    "positive_big": [0, 2**63 - 1, None],
    "floating": FLOATS,
    "decimal": [decimal.Decimal("0.0000001"), decimal.Decimal("-12.5"), None],
    "boolean": [True, False, None],
    "date": [datetime.date(2026, 12, 6), datetime.date(1000, 1, 1), None],
    "datetime": [
        datetime.datetime(2026, 12, 6, 11, 0, tzinfo=UTC),
        datetime.datetime(2026, 12, 6, 11, 0, 0, 1, tzinfo=UTC),
        datetime.datetime(1999, 1, 2, 3, 4, 5, 999999, tzinfo=AN_HOUR_EAST),
        None,
    ],
    "time": [datetime.time(1, 2, 3, 4), None],
    "duration": [datetime.timedelta(days=2, microseconds=5), None],
    "uuid": [uuid.UUID("12345678-9abc-4def-8123-56789abcdef0"), None],
    "json": [{"a": [1, 2.5, None, True, "é"]}, [], "text", 1, None],
    "binary": [b"\x00\xff", None],
    "ip": ["192.0.2.1", None],
    "file": ["a/file.txt", ""],
}
INITIAL = {
    "char": "before",
    "text": "before",
    "slug": "before",
    "email": "before@example.com",
    "url": "https://before.example.com",
    "small": 7,
    "integer": 7,
    "big": 7,
    "positive_small": 7,
    "positive": 7,
    "positive_big": 7,
    "floating": 7.5,
    "decimal": decimal.Decimal("7.5"),
    "boolean": True,
    "date": datetime.date(2000, 1, 1),
    "datetime": datetime.datetime(2000, 1, 1, tzinfo=UTC),
    "time": datetime.time(7),
    "duration": datetime.timedelta(7),
    "uuid": uuid.UUID(int=7),
    "json": {"before": 7},
    "binary": b"7",
    "ip": "192.0.2.7",
    "file": "before.txt",
}
# Fields whose values no SQL of the database encodes as revy's Python does.
IN_PYTHON = {
    "time",
    "duration",
    "binary",
    "ip",
    "file",
    "decimal",  # 10 places: Python writes an exponent.
    *(() if VENDOR == "postgresql" else ("floating",)),
}


def field_cases():
    """``(name, value)`` of every value of every field, as test parameters."""
    for name, values in VALUES.items():
        for value in values:
            yield pytest.param(name, value, id=f"{name}={value!r}"[:60])


def same(a, b):
    """Equal, NaN to NaN as well."""
    nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a)
    return a == b or (nan and math.isnan(b))


class EncodedInPython(ValueEncoder):
    """revy's own encoding, under another class: every value goes through
    Python, as a field's without SQL on the database does."""


class RefusingOne(ValueEncoder):
    """Cannot encode 13:00."""

    def encode(self, field, value):
        if value == datetime.time(13):
            raise ValueError("not 13:00")
        return super().encode(field, value)
