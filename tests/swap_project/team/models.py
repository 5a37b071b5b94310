"""A team's own history models, swapped in for revy's, and a model to track.

The app starts as ``startapp`` leaves it: a migrations package with no
migration in it.
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
    source = models.CharField(max_length=16, default="web")


class AttributeDelta(AbstractAttributeDelta):
    sensitive = models.BooleanField(default=False)


class Note(models.Model):
    title = models.CharField(max_length=100)
    body = models.TextField(blank=True, default="")
