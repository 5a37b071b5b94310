"""This project's history models, swapped in for revy's own.

settings.REVY_REVISION_MODEL, REVY_OBJECT_DELTA_MODEL and
REVY_ATTRIBUTE_DELTA_MODEL point here, so revy records into these tables
and the team can add what it needs. A Revision here knows the request it
came from (middleware.py fills it); add fields as you would to any model,
then ``manage.py makemigrations``.
"""

from typing import Any

from django.db import models
from revy.contrib.django.models import (
    AbstractAttributeDelta,
    AbstractObjectDelta,
    AbstractRevision,
)

from {{ cookiecutter.project }}.revisions import origin


class Revision(AbstractRevision):
    """The changes of one request, command or task."""

    request_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    method = models.CharField(max_length=16, blank=True, default="")
    path = models.CharField(max_length=2048, blank=True, default="")

    class Meta(AbstractRevision.Meta):
        pass

    def save(self, *args: Any, **kwargs: Any) -> None:
        # revy creates the revision with the first change it records; if a
        # request is being served, the revision says which.
        adding = self._state.adding
        if adding:
            for field, value in origin.current().items():
                if not getattr(self, field):
                    setattr(self, field, value)
        super().save(*args, **kwargs)
        if adding:
            origin.wrote(self.pk)


class ObjectDelta(AbstractObjectDelta):
    """One object created, updated or deleted in a revision."""

    class Meta(AbstractObjectDelta.Meta):
        pass


class AttributeDelta(AbstractAttributeDelta):
    """One field of an object that changed, with its old and new value."""

    class Meta(AbstractAttributeDelta.Meta):
        pass

    def __str__(self) -> str:
        # The admin shows it beside each row: values (a password hash) stay out.
        return self.field_name
