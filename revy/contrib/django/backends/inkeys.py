"""A filter of rows by a column's values given at once (``by_keys``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import BooleanField, Expression, F


class InKeys(Expression):
    """``column <test>``: ``test`` SQL that compares the column with
    ``params`` (``IN (%s, ...)``, ``= ANY(%s::bigint[])``). The column is an
    expression of its own, which Django relabels where the filter becomes
    a subquery (a lookup of a list would prepare each value again)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, attname: str, test: str, params: Sequence[Any]) -> None:
        super().__init__()
        self.column: Any = F(attname)
        self.test = test
        self.params = params

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        [self.column] = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        return f"{sql} {self.test}", [*params, *self.params]
