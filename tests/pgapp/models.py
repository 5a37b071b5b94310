"""PostgreSQL's own field types, tracked like any other (only installed when
the suite runs on PostgreSQL: REVY_TEST_DATABASE=postgresql)."""

from typing import Any

from django.contrib.postgres.fields import ArrayField, HStoreField
from django.db import models


class TagList(models.Field):
    """A field of a project's own whose value is a list, stored as text[]."""

    revy_encodable = True  # Its lists of text round-trip (tested).

    def db_type(self, connection: Any) -> str:
        return "text[]"

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else [str(tag) for tag in value]

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value

    def to_python(self, value: Any) -> Any:
        return None if value is None else list(value)


class Arrays(models.Model):
    numbers = ArrayField(models.IntegerField(), default=list)
    amounts = ArrayField(
        models.DecimalField(max_digits=8, decimal_places=2, null=True), null=True
    )
    moments = ArrayField(models.DateTimeField(), default=list)
    grid = ArrayField(ArrayField(models.IntegerField()), default=list)
    labels = HStoreField(default=dict)
    tags = TagList(default=list)
