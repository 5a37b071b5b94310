"""An actor stays who it was: once its row is deleted, history shows it as
deleted, and a new row given its key (an explicit key, ``restore()``,
``restore_deleted()``) is not credited with what the old row did, by
``Revision.actors()``, ``for_actor()``, a delta's ``actor`` (read alone or
prefetched) and ``history()``."""

import pytest

from revy.contrib.django import history
from revy.contrib.django.models import DeletedActor
from revy.contrib.django.retirement import retirement_marks
from tests.helpers import AttributeDelta, ObjectDelta, Revision, User, acting, ct
from tests.testapp.models import Comment

pytestmark = pytest.mark.django_db


def write_as(actor, text):
    with acting(actor, text):
        return Comment.objects.create(text=text)


def replace_with_same_key(user):
    key = user.pk
    user.delete()
    return User.objects.create(pk=key, username="someone else")


def test_a_deleted_actor_is_shown_as_deleted_not_as_the_system(alice):
    write_as(alice, "by alice")
    key = str(alice.pk)
    alice.delete()

    revision = Revision.objects.get()
    assert revision.actors() == [DeletedActor(User, key)]
    assert ObjectDelta.objects.get().actor == DeletedActor(User, key)
    assert str(ObjectDelta.objects.get().actor) == f"deleted {User._meta.label} {key}"


def test_a_new_row_given_a_deleted_actors_key_is_not_credited(alice):
    comment = write_as(alice, "by alice")
    key = str(alice.pk)
    newcomer = replace_with_same_key(alice)
    later = write_as(newcomer, "by the newcomer")

    old_revision, new_revision = Revision.objects.order_by("pk")
    assert old_revision.actors() == [DeletedActor(User, key)]
    assert new_revision.actors() == [newcomer]
    assert list(ObjectDelta.objects.for_actor(newcomer)) == list(
        ObjectDelta.objects.for_object(later)
    )
    assert list(AttributeDelta.objects.for_actor(newcomer)) == list(
        AttributeDelta.objects.filter(object_delta__content_id=str(later.pk))
    )
    # What the deleted row did is still found, by its DeletedActor.
    assert list(ObjectDelta.objects.for_actor(DeletedActor(User, key))) == list(
        ObjectDelta.objects.for_object(comment)
    )
    old = ObjectDelta.objects.for_object(comment).get()
    assert old.actor == DeletedActor(User, key)
    new = ObjectDelta.objects.for_object(later).get()
    assert new.actor == newcomer


def test_prefetched_actors_and_history_tell_the_rows_apart(alice):
    comment = write_as(alice, "by alice")
    key = str(alice.pk)
    newcomer = replace_with_same_key(alice)
    with acting(newcomer, "edit"):
        comment.text = "edited by the newcomer"
        comment.save()

    rows = list(
        ObjectDelta.objects.for_object(comment)
        .prefetch_related("actor", "attribute_deltas__actor")
        .order_by("pk")
    )
    assert [row.actor for row in rows] == [DeletedActor(User, key), newcomer]
    assert {a.actor for a in rows[0].attribute_deltas.all()} == {
        DeletedActor(User, key)
    }
    assert {a.actor for a in rows[1].attribute_deltas.all()} == {newcomer}
    assert [row.actor for row in history.history(comment)] == [
        newcomer,
        DeletedActor(User, key),
    ]


def test_an_actor_brought_back_by_restore_deleted_is_a_new_row(alice):
    write_as(alice, "by alice")
    key = alice.pk
    with acting(None, "remove alice"):
        alice.delete()
    with acting(None, "bring her back"):
        history.restore_deleted(User, key)
    restored = User.objects.get(pk=key)

    first = Revision.objects.order_by("pk").first()
    assert first.actors() == [DeletedActor(User, str(key))]
    assert not ObjectDelta.objects.for_actor(restored).exists()


def test_an_actor_brought_back_by_restore_is_a_new_row(alice):
    write_as(alice, "by alice")
    key = alice.pk
    with acting(None, "remember alice"):
        alice.username = "alice liddell"
        alice.save()
    remembered = Revision.objects.order_by("pk").last()
    with acting(None, "remove alice"):
        alice.delete()
    with acting(None, "bring her back"):
        restored = history.restore(User, key, remembered)

    assert restored.pk == key
    assert Revision.objects.order_by("pk").first().actors() == [
        DeletedActor(User, str(key))
    ]
    assert not ObjectDelta.objects.for_actor(restored).exists()


def test_deleting_an_actor_records_where_its_history_ends(alice, bob):
    write_as(alice, "by alice")
    newest = ObjectDelta.objects.latest("pk").pk
    alice_key = str(alice.pk)
    alice.delete()

    assert retirement_marks([(ct(User).pk, alice_key), (ct(User).pk, str(bob.pk))]) == {
        (ct(User).pk, alice_key): newest
    }


def test_an_actor_still_there_is_credited_as_before(alice, bob):
    write_as(alice, "by alice")
    bob.delete()  # Another actor retired changes nothing for alice.

    assert Revision.objects.get().actors() == [alice]
    assert ObjectDelta.objects.for_actor(alice).count() == 1


def test_the_admin_history_page_shows_the_deleted_actor_not_the_newcomer(alice):
    from tests.admin_support import staff, url, written_novel
    from tests.adminapp.models import Novel

    novel = written_novel(alice)
    key = alice.pk
    alice.delete()
    User.objects.create(pk=key, username="newcomer")
    client, _user = staff("reader", "adminapp.view_novel")

    page = client.get(url(Novel, "history", novel.pk)).content.decode()
    assert f"deleted {User._meta.label} {key}" in page
    assert "newcomer" not in page
