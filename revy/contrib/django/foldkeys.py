"""Old history moves below every key: pruning's folds, and what it keeps.

Pruning (``retention.prune()``) turns the last folded delta of an object
into its fold, which must sort before every kept delta of the object
(decision 0020). :func:`move_below_every_key` then gives the fold, and
whatever pruning keeps from before the cut, new keys, with their
attribute deltas: each old key minus the largest key its column holds (an
attribute delta an earlier pruning moved down keeps its key and only
follows its object delta). Their order is kept, every new key is below
every key the database gives out, and no two can meet (each comes from a
distinct key given once). Old history thus leaves the key ranges it was
written in, so that a partition of PostgreSQL history (``partitions.py``)
empties once pruned, while folds gather below zero (decision 0026).

The rows are copied by ``INSERT ... SELECT`` (the stored bytes of every
value unchanged: a JSON null stays apart from SQL NULL) and the old ones
deleted, in the pruning's transaction and under its declared operation.
Deltas caused by a moved one follow it; the causes they had are returned,
for the amendment, so that their seals still verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from django.db import connections, models

from revy.contrib.django import conf

__all__ = ["MovedHistory", "move_below_every_key", "shift_of"]


class MovedHistory(NamedTuple):
    """What :func:`move_below_every_key` did."""

    keys: dict[int, int]  # Old key of each object delta moved -> its new key.
    causes: list[tuple[int, int]]  # (delta, the old key of its moved cause).


def shift_of(model: type[models.Model], using: str) -> int:
    """The largest key ``model``'s key column holds: what a fold's key
    (and its attribute deltas') goes down by."""
    pk = model._meta.pk
    return connections[using].ops.integer_field_range(pk.get_internal_type())[1]


def move_below_every_key(object_deltas: Sequence[int], using: str) -> MovedHistory:
    """Move the object deltas ``object_deltas`` (those of them above zero) with
    their attribute deltas below every key."""
    history = conf.history_models()
    delta_shift = shift_of(history.object_delta, using)
    attribute_shift = shift_of(history.attribute_delta, using)
    connection = connections[using]
    quote = connection.ops.quote_name
    delta_table = _Table(history.object_delta, quote)
    attribute_table = _Table(history.attribute_delta, quote)
    link = quote(history.attribute_delta._meta.get_field("object_delta").column)
    cause = quote(history.object_delta._meta.get_field("cause").column)
    moved = MovedHistory({}, [])
    with connection.cursor() as cursor:
        moving = sorted(key for key in object_deltas if key > 0)
        size = conf.batch_size()
        for keys in (moving[i : i + size] for i in range(0, len(moving), size)):
            among = f"IN ({', '.join(['%s'] * len(keys))})"
            # The shifts are integers of revy's own, written into the SQL.
            cursor.execute(
                delta_table.copy(
                    f"{delta_table.pk} - {delta_shift}",
                    f"WHERE {delta_table.pk} {among}",
                ),
                keys,
            )
            # Attribute deltas an earlier pruning moved down only follow.
            cursor.execute(
                f"UPDATE {attribute_table.name} SET {link} = {link} - {delta_shift} "
                f"WHERE {link} {among} AND {attribute_table.pk} < 1",
                keys,
            )
            cursor.execute(
                attribute_table.copy(
                    f"{attribute_table.pk} - {attribute_shift}",
                    f"WHERE {link} {among}",
                    {link: f"{link} - {delta_shift}"},
                ),
                keys,
            )
            cursor.execute(
                f"SELECT {delta_table.pk}, {cause} FROM {delta_table.name} "
                f"WHERE {cause} {among}",
                keys,
            )
            moved.causes.extend(cursor.fetchall())
            cursor.execute(
                f"UPDATE {delta_table.name} SET {cause} = {cause} - {delta_shift} "
                f"WHERE {cause} {among}",
                keys,
            )
            cursor.execute(
                f"DELETE FROM {attribute_table.name} WHERE {link} {among}", keys
            )
            cursor.execute(
                f"DELETE FROM {delta_table.name} WHERE {delta_table.pk} {among}", keys
            )
            moved.keys.update((key, key - delta_shift) for key in keys)
    return moved


class _Table:
    """A history table's quoted name and columns, for copies of its rows."""

    def __init__(self, model: type[models.Model], quote) -> None:
        self.name = quote(model._meta.db_table)
        self.pk = quote(model._meta.pk.column)
        self.columns = [quote(field.column) for field in model._meta.concrete_fields]

    def copy(
        self, new_key: str, where: str, changed: dict[str, str] | None = None
    ) -> str:
        """``INSERT ... SELECT`` of the rows ``where`` selects, with the key
        ``new_key`` and the ``changed`` columns' expressions."""
        changed = {self.pk: new_key, **(changed or {})}
        selected = ", ".join(changed.get(column, column) for column in self.columns)
        return (
            f"INSERT INTO {self.name} ({', '.join(self.columns)}) "
            f"SELECT {selected} FROM {self.name} {where}"
        )
