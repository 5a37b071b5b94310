"""Reads of history compiled once per shape of query.

A read such as ``state_at()`` builds the same query for every row and point,
but for two values. Building and compiling it through the ORM took twice the
time the database takes to answer it (decision 0027). Here the ORM builds and
compiles each shape once, with a stand-in for each value that changes from
call to call; later calls put their values where the stand-ins are among the
compiled parameters and run the SQL, converted as the ORM converts it.

Django writes a slice's ``OFFSET`` into the SQL itself: an argument of the
field ``OFFSET`` is found there, as ``OFFSET <stand-in>``, and becomes a
parameter. A shape whose compiled parameters (or SQL, for an offset) do not
hold each stand-in exactly once, or whose values have no stand-in, is built
and run through the ORM each time.
What is compiled is kept while the same settings are in force, as revy's
other derived values (``conf.kept``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connections, models
from django.db.models import QuerySet
from django.utils import timezone

from revy.contrib.django import backends, conf
from revy.contrib.django.querysets import flush_pending

__all__ = ["OFFSET", "Argument", "rows"]

# The field of an argument that is a slice's start (``queryset[offset:]``).
OFFSET = models.PositiveBigIntegerField(name="offset")

# A parameter's placeholder in Django's SQL, beside a literal "%" written "%%".
_PLACEHOLDER = re.compile("%%|%s")


class Argument(NamedTuple):
    """A value of a read, and the field whose column it is compared with."""

    field: models.Field
    value: Any


class _Compiled(NamedTuple):
    sql: str
    driver_sql: str
    params: tuple[Any, ...]
    slots: tuple[int, ...]  # Where each argument goes among the parameters.
    compiler: Any


def rows(
    key: Hashable,
    alias: str,
    build: Callable[..., QuerySet],
    arguments: Sequence[Argument],
) -> list[tuple[Any, ...]]:
    """The rows of ``build(*values).using(alias)``, a ``values_list()``
    queryset, for the values of ``arguments``. ``key`` names the shape: the
    same key must build the same query for any values."""
    compiled = conf.kept(
        ("compiled read", key, alias),
        lambda: _compile(alias, build, [argument.field for argument in arguments]),
    )
    if compiled is None:
        return list(build(*(argument.value for argument in arguments)).using(alias))
    connection = connections[alias]
    params = list(compiled.params)
    for slot, argument in zip(compiled.slots, arguments, strict=True):
        params[slot] = argument.field.get_db_prep_value(
            argument.value, connection, prepared=False
        )
    flush_pending(alias)
    found = backends.of(connection).fetch(compiled.sql, compiled.driver_sql, params)
    compiler = compiled.compiler
    # Asked at each call: a converter may read settings or signals in force.
    converters = compiler.get_converters([column for column, _, _ in compiler.select])
    if converters:
        found = compiler.apply_converters(found, converters)
    return [tuple(row) for row in found]


def _compile(
    alias: str, build: Callable[..., QuerySet], fields: list[models.Field]
) -> _Compiled | None:
    stand_ins = [_stand_in(field, index) for index, field in enumerate(fields)]
    if None in stand_ins:
        return None
    connection = connections[alias]
    compiler = build(*stand_ins).using(alias).query.get_compiler(alias)
    sql, params = compiler.as_sql()
    params = list(params)
    for field, stand_in in zip(fields, stand_ins, strict=True):
        if field is OFFSET:
            sql = _offset_as_parameter(sql, params, stand_in)
            if sql is None:
                return None
    slots = []
    for field, stand_in in zip(fields, stand_ins, strict=True):
        prepared = field.get_db_prep_value(stand_in, connection, prepared=False)
        found = [index for index, param in enumerate(params) if param == prepared]
        if len(found) != 1:
            return None
        slots.append(found[0])
    return _Compiled(
        sql,
        backends.of(connection).driver_sql(sql),
        tuple(params),
        tuple(slots),
        compiler,
    )


def _offset_as_parameter(sql: str, params: list[Any], stand_in: int) -> str | None:
    """``sql`` with its ``OFFSET <stand_in>`` made a parameter, inserted in
    ``params`` in its place; None unless the SQL holds it exactly once."""
    literal = f"OFFSET {stand_in}"
    if sql.count(literal) != 1 or stand_in in params:
        return None
    at = sql.index(literal)
    before = sum(mark == "%s" for mark in _PLACEHOLDER.findall(sql, 0, at))
    params.insert(before, stand_in)
    return f"{sql[:at]}OFFSET %s{sql[at + len(literal) :]}"


def _stand_in(field: models.Field, index: int) -> Any:
    """A value of ``field``'s type that no read's fixed parameters hold."""
    if field is OFFSET:
        return 1_987_654_321 + index  # A slice's start is never negative.
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.IntegerField | models.AutoField):
        return -1_987_654_321 - index  # Within any integer column's range.
    if isinstance(field, models.DateTimeField):
        moment = datetime.datetime(1901, 2, 3, 4, 5, 6, 7 + index)
        return timezone.make_aware(moment, datetime.UTC) if settings.USE_TZ else moment
    if isinstance(field, models.CharField | models.TextField):
        return f"revy stand-in {index}"
    return None
