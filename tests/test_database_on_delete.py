"""Django 6.1's database-level on_delete: DB_CASCADE and DB_SET_NULL.

The database deletes or updates the referring rows itself, without Django
reading them; revy records those rows as a cascade of the delete, as it
records Django's own CASCADE and SET_NULL, so history still equals the rows.
"""

import django
import pytest

from revy import Context
from revy.contrib.django import history
from tests.helpers import DELETE, UPDATE, deltas_of, stored

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        django.VERSION < (6, 1), reason="database-level on_delete is new in 6.1"
    ),
]


@pytest.fixture
def models():
    from tests.django61app import models

    return models


def test_rows_the_database_cascades_to_are_recorded_as_deleted(models):
    parent = models.Parent.objects.create()
    children = [
        models.DatabaseCascaded.objects.create(parent=parent, name=str(n))
        for n in range(3)
    ]
    with Context():
        parent.delete()
    assert not models.DatabaseCascaded.objects.exists()
    for child in children:
        *_, deleted = deltas_of(models.DatabaseCascaded, child.pk)
        assert deleted.action == DELETE
        assert history.state_at(models.DatabaseCascaded, child.pk) is None


def test_cascades_of_cascades_are_recorded_each_caused_by_the_row_above(models):
    parent = models.Parent.objects.create()
    child = models.DatabaseCascaded.objects.create(parent=parent)
    grandchild = models.DatabaseCascadedTwice.objects.create(parent=child)
    with Context():
        parent.delete()
    *_, child_deleted = deltas_of(models.DatabaseCascaded, child.pk)
    *_, grandchild_deleted = deltas_of(models.DatabaseCascadedTwice, grandchild.pk)
    assert grandchild_deleted.action == DELETE
    assert grandchild_deleted.cause == child_deleted
    assert child_deleted.cause is not None


def test_rows_the_database_sets_to_null_are_recorded_as_updated(models):
    parent = models.Parent.objects.create()
    child = models.DatabaseSetNull.objects.create(parent=parent)
    parent_pk = parent.pk
    with Context():
        parent.delete()
    child.refresh_from_db()
    assert child.parent_id is None
    [updated] = deltas_of(models.DatabaseSetNull, child.pk)
    assert updated.action == UPDATE
    assert stored(updated) == {"parent": (parent_pk, None)}


def test_rows_the_database_sets_to_their_default_are_recorded_as_updated(models):
    parent = models.Parent.objects.create()
    child = models.DatabaseSetDefault.objects.create(parent=parent)
    parent_pk = parent.pk
    with Context():
        parent.delete()
    [updated] = deltas_of(models.DatabaseSetDefault, child.pk)
    assert stored(updated) == {"parent": (parent_pk, None)}
