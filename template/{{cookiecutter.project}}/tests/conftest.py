from typing import Any

import pytest
from django.contrib.auth import get_user_model

from {{ cookiecutter.project }}.accounts.models import Membership, Organization
from {{ cookiecutter.project }}.revisions.models import ObjectDelta, Revision


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw")


@pytest.fixture
def bob(db: Any) -> Any:
    return get_user_model().objects.create_user("bob", "bob@example.com", "pw")


@pytest.fixture
def acme(alice: Any) -> Organization:
    """An organisation whose only member is alice. Made outside any context:
    fixtures leave no history."""
    acme = Organization.objects.create(name="Acme Ltd", slug="acme")
    Membership.objects.create(organization=acme, user=alice)
    return acme


def revisions() -> list[Revision]:
    return list(Revision.objects.order_by("pk"))


def deltas(revision: Revision) -> list[ObjectDelta]:
    return list(revision.object_deltas.select_related("content_type").order_by("pk"))


def actor_key(delta: Any) -> tuple[str, str] | None:
    """(model, id) of the actor of a delta: the actor may have been deleted."""
    if delta.actor_content_type_id is None:
        return None
    return (delta.actor_content_type.model, delta.actor_id)


def fields(delta: ObjectDelta) -> dict[str, tuple[Any, Any, Any, str]]:
    """{field: (old, new, actor, description)} of one object delta."""
    return {
        a.field_name: (a.old_value, a.new_value, a.actor, a.description)
        for a in delta.attribute_deltas.order_by("pk")
    }
