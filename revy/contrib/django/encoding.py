"""How field values are stored in the JSON columns of attribute deltas.

A value is first turned into what the field writes to the database
(``field.get_prep_value``: a float given to a DecimalField becomes a
Decimal, a naive datetime an aware one, a datetime given to a DateField its
date), so that history holds what the row holds. Values JSON holds exactly
(strings, integers, booleans, finite floats, the content of JSON fields) are
then stored as they are; everything else as a string the field itself can
parse back: Decimal keeps its digits, datetimes their microseconds and
offset, binary data is base64. ``decode`` turns what was stored back into
the value the field holds, through ``field.to_python``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import functools
import json
import math
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import models
from django.utils.duration import duration_iso_string

from revy.contrib.django.exceptions import EncodingError

__all__ = [
    "JSON_NULL",
    "REDACTED",
    "EncodingError",
    "Redaction",
    "ValueEncoder",
    "clean_text",
    "decoder",
    "encode",
    "key_text",
    "mask_marker",
    "redaction_marker",
    "redaction_of",
]


class _JSONNull:
    """A value that was None, stored as JSON null: SQL NULL in a value column
    means that the delta has no such side (a create's old value)."""

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL = _JSONNull()


class _Redacted:
    """A value erased by a redaction (``redaction.redact``): what snapshots,
    ``state_at()`` and decoded deltas hold instead of it."""

    def __repr__(self) -> str:
        return "REDACTED"

    def __str__(self) -> str:
        return "[redacted]"


REDACTED = _Redacted()

# How a redacted value is stored: {"revy:redacted": amendment key, "digest":
# the keyed digest of the value it replaced, "" without tamper evidence}.
_MARKER = "revy:redacted"


class Redaction(NamedTuple):
    """What a stored redaction marker says."""

    amendment: int | None  # None: a masked field's value, never stored.
    digest: str


def redaction_marker(amendment: int, digest: str = "") -> dict[str, Any]:
    """The stored form of a value erased by the redaction ``amendment``."""
    return {_MARKER: amendment, "digest": digest}


def mask_marker() -> dict[str, Any]:
    """The stored form of a value of a masked field (``REVY_MASKED_FIELDS``):
    the redaction marker of no amendment, since the value never was stored."""
    return {_MARKER: None, "digest": ""}


def redaction_of(stored: Any) -> Redaction | None:
    """The redaction a stored value is the marker of, or None."""
    if type(stored) is dict and _MARKER in stored and len(stored) == 2:
        return Redaction(stored[_MARKER], stored.get("digest", ""))
    return None


# Django's own fields of whole numbers, and of text.
INTEGER_FIELDS = frozenset(
    (
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
        models.AutoField,
        models.BigAutoField,
        models.SmallAutoField,
    )
)
TEXT_FIELDS = frozenset(
    (
        models.CharField,
        models.TextField,
        models.SlugField,
        models.EmailField,
        models.URLField,
    )
)

# Built-in fields whose get_prep_value() returns a value of this type as it
# is (a datetime only if aware): skipping the call saves half the encoding.
_PREPARED_AS_IS: dict[type[models.Field], type] = {
    **dict.fromkeys(TEXT_FIELDS, str),
    **dict.fromkeys(INTEGER_FIELDS, int),
    models.BooleanField: bool,
    models.FloatField: float,
    models.DecimalField: decimal.Decimal,
    models.DateTimeField: datetime.datetime,
    models.DateField: datetime.date,
    models.TimeField: datetime.time,
    models.DurationField: datetime.timedelta,
    models.UUIDField: uuid.UUID,
    models.BinaryField: bytes,
}


# Built-in fields whose to_python() returns a stored value of this type as it
# is (a redaction marker, a dict, never is).
_READ_AS_IS: dict[type[models.Field], type] = {
    field_class: as_is
    for field_class, as_is in _PREPARED_AS_IS.items()
    if as_is in (str, int, bool, float)
}


# Methods a field overrides when its values are not plain: revy stores what
# get_prep_value() returns and reads it back with to_python().
_CONVERSIONS = (
    "get_prep_value",
    "get_db_prep_value",
    "get_db_prep_save",
    "to_python",
    "from_db_value",
)


# Values JSON holds as they are (a bool is an int's subclass: both listed).
_JSON_AS_IS = frozenset((str, int, bool))


class ValueEncoder:
    """The default ``REVY_VALUE_ENCODER``. Subclass it to store other types."""

    def encode(self, field: models.Field, value: Any) -> Any:
        """Return a JSON-serialisable form of ``value``, a value of ``field``."""
        if value is None:
            return None
        if isinstance(field, models.JSONField):
            # Round-trip through the field's own encoder, as the column would.
            return json.loads(json.dumps(value, cls=field.encoder))
        as_is = _PREPARED_AS_IS.get(type(field))
        if type(value) is not as_is or (
            as_is is datetime.datetime and value.tzinfo is None
        ):
            value = field.get_prep_value(value)
        if type(value) in _JSON_AS_IS:
            if value == "" and isinstance(field, models.GenericIPAddressField):
                return None  # Every backend stores a blank address as NULL.
            return value
        if value is None:
            return None
        if (
            isinstance(value, decimal.Decimal)
            and isinstance(field, models.DecimalField)
            and field.decimal_places is not None  # Unbounded (Django 6.1+).
        ):
            # What the column stores: rounded to the field's places. A value
            # with too many digits for it is kept as given: the database
            # refuses it (and Django raises its own error) or keeps it so.
            with contextlib.suppress(decimal.InvalidOperation):
                value = value.quantize(
                    decimal.Decimal(1).scaleb(-field.decimal_places),
                    context=decimal.Context(prec=field.max_digits)
                    if field.max_digits
                    else None,
                )
        if isinstance(value, list | tuple):
            base_field = getattr(field, "base_field", None)
            if base_field is not None:
                # An array: each item as its own field stores it.
                return [self.encode(base_field, item) for item in value]
        return self.plain(value)

    def plain(self, value: Any) -> Any:
        """The JSON form of a value a field has prepared for the database."""
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, decimal.Decimal | uuid.UUID):
            return str(value)
        if isinstance(value, datetime.datetime | datetime.date | datetime.time):
            return value.isoformat()
        if isinstance(value, datetime.timedelta):
            return duration_iso_string(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return base64.b64encode(bytes(value)).decode("ascii")
        if isinstance(value, list | tuple):
            return [self.plain(item) for item in value]
        if isinstance(value, dict):
            return {str(key): self.plain(item) for key, item in value.items()}
        raise TypeError(f"{type(value).__name__} values cannot be stored")

    def decode(self, field: models.Field, stored: Any) -> Any:
        """Return the value of ``field`` that ``stored`` was encoded from
        (:data:`REDACTED` for a value a redaction erased)."""
        if stored is None:
            return None
        if redaction_of(stored) is not None:
            return REDACTED
        if isinstance(field, models.JSONField):
            if field.decoder is None:
                return stored
            return json.loads(json.dumps(stored), cls=field.decoder)
        if isinstance(field, models.FloatField) and isinstance(stored, str):
            return float(stored)
        base_field = getattr(field, "base_field", None)
        if base_field is not None and isinstance(stored, list):
            return [self.decode(base_field, item) for item in stored]
        return field.to_python(stored)

    def can_encode(self, field: models.Field) -> bool:
        """Whether values of ``field`` are plain enough to round-trip: its
        class (and that of the items of an array) converts values as one of
        Django's own fields does, or says so with ``revy_encodable = True``
        (``manage.py check`` asks, revy.W002)."""
        declared = getattr(field, "revy_encodable", None)
        if declared is not None:
            return bool(declared)
        base_field = getattr(field, "base_field", None)
        if base_field is not None and not self.can_encode(base_field):
            return False
        for klass in type(field).__mro__:
            if klass.__module__.startswith("django."):
                return True
            if any(name in vars(klass) for name in _CONVERSIONS):
                return False
        return True


def clean_text(text: str) -> str:
    """``text`` as every database can store it: a NUL character, which
    PostgreSQL's text cannot hold, becomes U+FFFD (the replacement
    character). Descriptions go through this."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def key_text(model: type[models.Model], pk: Any) -> str:
    """How a primary key is written in ``content_id`` and ``actor_id``: as
    the field reads it, so that one row has one spelling (a UUID given as
    hex text and one loaded from the database)."""
    return str(model._meta.pk.to_python(pk))


@functools.cache  # Asked of every value encoded: once per field.
def prepares_for_database(field: models.Field) -> bool:
    """Whether a field (or the field a foreign key refers to) is of a class
    of a project or a library that converts values in ``get_db_prep_save``
    or ``get_db_prep_value``: what the column receives is then known only
    from those."""
    target = getattr(field, "target_field", None) if field.is_relation else None
    return _converts_for_database(type(field)) or (
        target is not None and _converts_for_database(type(target))
    )


@functools.cache
def _converts_for_database(field_class: type[models.Field]) -> bool:
    for klass in field_class.__mro__:
        if klass.__module__.startswith("django."):
            return False
        if "get_db_prep_save" in vars(klass) or "get_db_prep_value" in vars(klass):
            return True
    return False


def encode(
    encoder: ValueEncoder, field: models.Field, value: Any, connection: Any = None
) -> Any:
    """``encoder.encode``, with an error that names the model and the field,
    and ``JSON_NULL`` for None. A field that converts in ``get_db_prep_save``
    is stored as it hands its value to ``connection``'s column; a model
    instance given to a foreign key, as the key Django writes for it."""
    try:
        if isinstance(value, models.Model) and field.remote_field is not None:
            value = value.prepare_database_save(field)
        if connection is not None and prepares_for_database(field):
            encoded = encoder.plain(field.get_db_prep_save(value, connection))
        else:
            encoded = encoder.encode(field, value)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise EncodingError(
            f"revy cannot record {field.model._meta.label}.{field.name} = "
            f"{value!r}: {error}. Set REVY_VALUE_ENCODER to an encoder that can."
        ) from error
    return JSON_NULL if encoded is None else encoded


def decoder(encoder: Any, field: models.Field) -> Callable[[Any], Any]:
    """``encoder.decode`` of values of ``field``, as a function of the stored
    value: what readers call for thousands of rows. With revy's own decode,
    a stored value that a built-in field returns as it is (text, an integer,
    a boolean, a float) is returned without a call to ``to_python``."""
    as_is = _READ_AS_IS.get(type(field))
    decode = encoder.decode
    if as_is is None or type(encoder).decode is not ValueEncoder.decode:
        return functools.partial(decode, field)

    def read(stored: Any) -> Any:
        return stored if type(stored) is as_is else decode(field, stored)

    return read
