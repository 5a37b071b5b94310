"""What many test modules share: the history models in use (revy's own, or
the swapped ones of tests/swapped when REVY_TEST_SWAPPED=1), the actions,
and small helpers."""

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connections

from revy.contrib.django.models import (
    get_attribute_delta_model,
    get_object_delta_model,
    get_revision_model,
)

User = get_user_model()
Revision = get_revision_model()
ObjectDelta = get_object_delta_model()
AttributeDelta = get_attribute_delta_model()

CREATE = ObjectDelta.ACTION_CREATE
UPDATE = ObjectDelta.ACTION_UPDATE
DELETE = ObjectDelta.ACTION_DELETE


def ct(model):
    return ContentType.objects.get_for_model(model)


def deltas_of(model, pk):
    """The object deltas of one row, oldest first."""
    return list(ObjectDelta.objects.for_key(model, pk))


def run(coroutine):
    """Run ``coroutine`` from a sync test, then close the connection that
    Django's async ORM opened in its worker thread."""

    async def main():
        try:
            return await coroutine
        finally:
            await sync_to_async(connections.close_all)()

    return asyncio.run(main())
