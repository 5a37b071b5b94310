"""Values of fields without SQL on the database, encoded by Python for the
history the database writes (``sqlwrite.py``; decision 0028, "values
Python encodes").

The changed rows of a write are staged with such a field's values as the
column holds them. Python reads them a batch at a time, by rank, makes of
them what Django makes as it reads the column, encodes them as the Python
path would, and puts their JSON text by rank into ``ENCODED``, which the
attribute deltas' ``INSERT ... SELECT`` joins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from django.db.models import Field, Model
from django.db.models.sql import Query

from revy.contrib.django import conf
from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.sqltypes import ValuesInPython

# The temporary table of the encoded values.
ENCODED = "revy_encoded_values"
# Bytes of JSON text (ASCII) that fit in a statement on every database:
# values up to that are not checked one by one (``check_fits``).
FITS_EVERYWHERE = 4096


class StagedColumn(NamedTuple):
    """A column of staged rows whose values Python encodes, and its field."""

    name: str
    field: Field


class Staged(NamedTuple):
    """The staged rows whose values Python encodes."""

    table: str
    rank: str  # The SQL of a row's rank (``d``: the row), their order.
    model: type[Model]
    columns: Sequence[StagedColumn]  # A field's values side by side.
    sides: int  # The values of each field: old, or old and new.


def encode_staged(
    cursor: Any,
    backend: Backend,
    staged: Staged,
    values: ValuesInPython,
    text: Callable[[Any], str],
) -> None:
    """Create ``ENCODED`` and put in it, by rank, the values of the columns
    of ``staged``, encoded by ``values`` and written as JSON by ``text``."""
    dialect, rank = backend.dialect, staged.rank
    names = [column.name for column in staged.columns]
    dialect.stage_encoded(cursor, ENCODED, names)
    fields = [column.field for column in staged.columns]
    # Django's own conversion of the values it reads from these columns; the
    # rank first, as it is.
    compiler = Query(staged.model).get_compiler(connection=backend.connection)
    converters = compiler.get_converters(
        [None, *(field.get_col(field.model._meta.db_table) for field in fields)]
    )
    select = (
        f"SELECT {rank}, {', '.join(f'd.{name}' for name in names)} "
        f"FROM {staged.table} d WHERE {rank} > %s ORDER BY {rank} LIMIT %s"
    )
    encode, check_fits = values.encode, values.check_fits
    last, size = 0, conf.batch_size()
    while fetched := _fetched(cursor, select, (last, size)):
        last = fetched[-1][0]
        rows = compiler.apply_converters(fetched, converters) if converters else fetched
        encoded = []
        for row_rank, *raw in rows:
            stored = [
                encode(field, value) for field, value in zip(fields, raw, strict=True)
            ]
            texts = [text(value) for value in stored]
            if sum(map(len, texts)) > FITS_EVERYWHERE:
                _check_fits(staged, stored, check_fits)
            encoded.append([row_rank, *texts])
        dialect.insert_encoded(cursor, ENCODED, names, encoded)


def _check_fits(
    staged: Staged, stored: list[Any], check_fits: Callable[..., None]
) -> None:
    """Refuse a field's values (``stored``: a row's, side by side) that
    would not fit in one statement."""
    for n in range(0, len(stored), staged.sides):
        old, *new = stored[n : n + staged.sides]
        check_fits(staged.model, staged.columns[n].field.name, old, *new or [None])


def _fetched(cursor: Any, sql: str, params: Sequence[Any]) -> list[Any]:
    cursor.execute(sql, params)
    return cursor.fetchall()
