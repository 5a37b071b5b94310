"""The named types of history the database writes (``sqlwrite.py``): the
columns of history inserts, what capture hands over, what comes back, and
SQL with its parameters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

# The columns history inserts give the object and attribute deltas (the
# others take their defaults): pending.py's rows and writer.py's inserts.
OBJECT_DELTA_COLUMNS = (
    "revision_id",
    "action",
    "content_type_id",
    "content_id",
    "actor_content_type_id",
    "actor_id",
    "description",
    "deletion_description",
    "cause_id",
)
ATTRIBUTE_DELTA_COLUMNS = (
    "object_delta_id",
    "content_type_id",
    "content_id",
    "field_name",
    "old_value",
    "new_value",
    "actor_content_type_id",
    "actor_id",
    "description",
)


class HistoryModels(NamedTuple):
    object_delta: type[Model]
    attribute_delta: type[Model]


class Attribution(NamedTuple):
    """What every history row of one write holds besides its values."""

    content_type_id: int
    actor_content_type_id: int | None
    actor_id: str | None
    object_description: str
    attribute_description: str
    deletion_description: str


class Written(NamedTuple):
    """What the database did: rows updated, and the object deltas written."""

    count: int
    revision_key: Any  # Of a revision the statement inserted; None: none.
    # The first and last keys of the object deltas written (None: none);
    # other transactions' rows may have keys between them.
    first_delta: Any
    last_delta: Any


class SQL(NamedTuple):
    """SQL with its parameters."""

    sql: str
    params: Sequence[Any]


class Parameter(NamedTuple):
    """A value given as a parameter, not as SQL."""

    value: Any


class Compiled(NamedTuple):
    """The SQL of a write by filter, compiled by Django."""

    # The rows it matches, read locked; None where the write returns them
    # itself (PostgreSQL's DELETE ... RETURNING).
    locked: SQL | None
    write: SQL  # The write of the rows of the locked read, by key.


class DeltaKeys(Protocol):
    """``(key of a deleted row, key of its written delete delta)`` pairs, at
    most ``len()`` of them (a key twice: the first pair counts)."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]: ...

    def __len__(self) -> int: ...


# A cause is looked up in a CASE of a branch per row pointed at up to this
# many rows; beyond, in a temporary table of them (``staging.CauseTables``).
MOST_IN_CASE = 100


class Cause(NamedTuple):
    """The delete deltas, already written, of the rows a foreign key of
    deleted rows may point at: the cause of their deletes. ``table``: the
    temporary table they are staged in, if they are."""

    field: Field
    deltas: DeltaKeys
    table: str | None = None

    def fits_in_case(self) -> bool:
        return len(self.deltas) <= MOST_IN_CASE

    def in_sql(self) -> bool:
        """Whether the database can look these deltas up: in their table,
        or in a ``CASE``."""
        return self.table is not None or self.fits_in_case()


def prepared_causes(
    cause: Cause, connection: BaseDatabaseWrapper
) -> Iterator[tuple[Any, Any]]:
    """The pairs of ``cause``, their keys as ``connection`` takes them."""
    prepare = cause.field.target_field.get_db_prep_value
    for value, delta in cause.deltas:
        yield prepare(value, connection), delta


class ValuesInPython(Protocol):
    """What encodes the values of fields without SQL on the database, a row
    at a time (``recording.Recorder``)."""

    def encode(self, field: Field, value: Any) -> Any:
        """``value`` of ``field`` as history stores it (``JSON_NULL`` for
        None)."""

    def check_fits(self, model: type[Model], name: str, old: Any, new: Any) -> None:
        """Refuse a change whose values, as stored, would not fit in one
        statement."""
