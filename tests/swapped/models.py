"""revy's history models swapped for a team's own, with the fields it adds.

tests/settings.py points REVY_REVISION_MODEL, REVY_OBJECT_DELTA_MODEL and
REVY_ATTRIBUTE_DELTA_MODEL here when REVY_TEST_SWAPPED=1. The migration in
migrations/ is exactly what ``makemigrations swapped --noinput`` wrote, then
``ruff format``. When revy's abstract models change, write it again::

    rm tests/swapped/migrations/0001_initial.py
    REVY_TEST_SWAPPED=1 DJANGO_SETTINGS_MODULE=tests.settings \
        .venv/bin/python -m django makemigrations swapped --noinput
    .venv/bin/ruff format tests/swapped/migrations

test_swapping.py fails while it is out of date.
"""

from django.db import models

from revy.contrib.django.models import (
    AbstractAttributeDelta,
    AbstractObjectDelta,
    AbstractRevision,
)
from revy.contrib.django.proposals.models import AbstractProposal


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


class Proposal(AbstractProposal):
    """A team's own proposal model, with a field it adds (REVY_PROPOSAL_MODEL)."""

    ticket = models.CharField(max_length=32, blank=True, default="")
