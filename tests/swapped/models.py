"""revy's history models swapped for a team's own, with the fields it adds.

tests/settings.py points REVY_REVISION_MODEL, REVY_OBJECT_DELTA_MODEL and
REVY_ATTRIBUTE_DELTA_MODEL here when REVY_TEST_SWAPPED=1. The migration in
migrations/ is exactly what ``makemigrations swapped --noinput`` wrote.
"""

from django.db import models

from revy.contrib.django.models import (
    AbstractAttributeDelta,
    AbstractObjectDelta,
    AbstractRevision,
)


class Revision(AbstractRevision):
    request_id = models.CharField(max_length=64, blank=True, default="")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, default="")


class ObjectDelta(AbstractObjectDelta):
    SOURCE_WEB = "web"
    SOURCE_API = "api"
    SOURCE_JOB = "job"
    SOURCE_CHOICES = [
        (SOURCE_WEB, "web"),
        (SOURCE_API, "API"),
        (SOURCE_JOB, "background job"),
    ]

    source = models.CharField(max_length=16, choices=SOURCE_CHOICES, default="web")


class AttributeDelta(AbstractAttributeDelta):
    sensitive = models.BooleanField(default=False)
