"""An actor deleted since it acted is told apart from the system."""

import pytest
from django.contrib.auth.models import User

from revy import Context
from revy.contrib.django.models import DeletedActor, get_revision_model
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db


def test_revision_actors_name_a_deleted_actor():
    user = User.objects.create(username="gone")
    user_pk = user.pk
    with Context.via_actor(user):
        comment = Comment.objects.create(text="hi")
        with Context.via_actor(None):
            comment.text = "by the system"
        comment.save()
    revision = get_revision_model().objects.get()
    assert revision.actors() == [user, None]
    User.objects.filter(pk=user_pk).delete()
    assert revision.actors() == [DeletedActor(User, str(user_pk)), None]
    assert str(revision.actors()[0]) == f"deleted auth.User {user_pk}"
