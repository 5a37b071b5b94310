"""The limit of ``make bench-scale``: what the database itself needs to
write a bulk path's data and the same history.

The data statement runs untracked, and one ``INSERT ... SELECT`` per
history table writes revy's own tables (their indexes and foreign keys
included) from the rows: a revision, an object delta per row, and an
attribute delta per recorded field, each value its column's JSON in the
database's SQL (``backends/dialect.py``), the attribute deltas linked to
their object deltas by key. Nothing passes through Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone

import revy
from revy.contrib.django import backends, conf

# The benchmark's keys are integers: content_id read back as one.
_INTEGER = {"postgresql": "bigint", "mysql": "signed", "sqlite": "integer"}


def write_history(
    model: type[models.Model],
    fields: Sequence[models.Field],
    action: str,
    old: bool,
    new: bool,
) -> None:
    """Insert a revision, then an object delta of ``action`` per row of
    ``model`` and an attribute delta per field, its ``old`` and ``new``
    sides the column's value (NULL where a side is False)."""
    history = conf.history_models()
    quote = connection.ops.quote_name
    dialect = backends.of(connection).dialect
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    content_type = ContentType.objects.get_for_model(model).pk
    revision = history.revision.objects.create(created_at=timezone.now())
    od = quote(history.object_delta._meta.db_table)
    ad = quote(history.attribute_delta._meta.db_table)
    key_text = dialect.key_text(model._meta.pk, f"{table}.{pk}")
    names = " UNION ALL ".join(
        f"SELECT {i} AS n, '{field.name}' AS name" for i, field in enumerate(fields)
    )

    def case(template: Callable[[models.Field], str]) -> str:
        whens = " ".join(f"WHEN {i} THEN {template(f)}" for i, f in enumerate(fields))
        return f"CASE f.n {whens} END"

    def json_of(field: models.Field) -> str:
        sql = dialect.json(field, f"{table}.{quote(field.column)}")
        return sql or dialect.null

    old_sql = case(json_of) if old else "NULL"
    new_sql = case(json_of) if new else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {od} (revision_id, action, content_type_id, content_id, "
            "description, deletion_description) "
            f"SELECT %s, %s, %s, {key_text}, '', '' FROM {table} ORDER BY {pk}",
            [revision.pk, action, content_type],
        )
        cursor.execute(
            f"INSERT INTO {ad} (object_delta_id, content_type_id, content_id, "
            "field_name, old_value, new_value, description) "
            f"SELECT od.id, od.content_type_id, od.content_id, f.name, {old_sql}, "
            f"{new_sql}, '' FROM {od} od JOIN {table} "
            f"ON {table}.{pk} = CAST(od.content_id AS {_INTEGER[connection.vendor]}) "
            f"CROSS JOIN ({names}) f WHERE od.revision_id = %s "
            "ORDER BY od.id, f.n",
            [revision.pk],
        )


def limit_of(
    path: str,
    item: type[models.Model],
    parent: Any,
    child: type[models.Model],
    write: Callable[[], Any],
) -> Callable[[], Any]:
    """The limit's work for ``path``: ``write`` untracked with the history
    its rows need, in one transaction."""
    recorded = [f for f in item._meta.concrete_fields if not f.primary_key]

    def limit() -> None:
        with revy.Context.as_disabled(), transaction.atomic():
            if path.startswith("update"):
                write()
                changed = [item._meta.get_field(n) for n in ("number", "text")]
                write_history(item, changed, "update", True, True)
            elif path.startswith("delete"):
                write_history(item, recorded, "delete", True, False)
                write()
            elif path.startswith("cascade"):
                fields = [f for f in child._meta.concrete_fields if not f.primary_key]
                write_history(child, fields, "delete", True, False)
                write()
            else:
                raise ValueError(f"no limit for {path}")

    return limit
