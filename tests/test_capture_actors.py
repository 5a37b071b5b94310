"""Who made a change, and why: the actor of an object delta is the one current
at the save, the actor and description of an attribute delta those current
when the field was assigned; any saved model instance can act, or None for
the system; a revision lists its actors, an actor deleted since told apart
from the system; deletion descriptions go on deletes only. The examples of
the README (the seed's), run as written, record what it says.

Each test reads the history back through the models in use, so the suite runs
unchanged with swapped history models (REVY_TEST_SWAPPED=1).
"""

import copy
import decimal
import gc

import pytest
from django.test import RequestFactory

from revy import Context
from revy import Context as C
from revy.contrib.django.models import DeletedActor
from tests.helpers import (
    CREATE,
    DELETE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    User,
    all_deltas,
    attribute,
    ct,
    decoded,
    deltas,
    revisions,
)
from tests.testapp.models import (
    CodeItem,
    Comment,
    Invoice,
    Organization,
    Post,
    UUIDItem,
)

pytestmark = pytest.mark.django_db


# Actors -----------------------------------------------------------------------


def test_actor_can_be_any_model_instance(comment):
    organization = Organization.objects.create(name="ACME")
    code = CodeItem.objects.create(code="robot-7", name="robot")
    with Context.via_actor(organization):
        comment.text = "by an organisation"
        comment.save()
    with Context.via_actor(code):
        comment.text = "by a string-keyed actor"
        comment.save()
    first, second = deltas(comment)
    assert first.actor == organization
    assert attribute(first, "text").actor == organization
    assert second.actor == code
    assert second.actor_id == "robot-7"
    assert list(ObjectDelta.objects.for_actor(organization)) == [first]
    assert list(ObjectDelta.objects.for_actor(code)) == [second]


def test_actor_with_a_uuid_primary_key():
    robot = UUIDItem.objects.create(name="robot")
    with Context.via_actor(robot):
        created = Comment.objects.create(text="by robot")
    [delta] = deltas(created)
    assert delta.actor_id == str(robot.pk)
    assert delta.actor == robot
    assert delta.revision.actors() == [robot]
    assert list(ObjectDelta.objects.for_actor(robot)) == [delta]


def test_attribute_actor_is_the_one_current_at_assignment(alice, bob, comment):
    with Context.via_actor(alice):
        comment.text = "by alice"
        with Context.via_actor(bob):
            comment.is_marked_as_spam = True
        with Context.via_attribute_delta_description("why"):
            pass
    with Context.via_actor(bob), Context.via_object_delta_description("saved by bob"):
        comment.save()

    [delta] = all_deltas()
    assert delta.actor == bob
    assert delta.description == "saved by bob"
    assert attribute(delta, "text").actor == alice
    assert attribute(delta, "is_marked_as_spam").actor == bob
    assert delta.revision.actors() == [bob, alice]


def test_a_copy_of_an_instance_keeps_the_actors_of_its_own_assignments(alice, bob):
    """``copy.copy()`` of an instance shares its state's attributes: the
    copy's assignments and saves must not take the original's attributions,
    nor give it theirs."""
    comment = Comment.objects.get(pk=Comment.objects.create(text="x").pk)
    with Context.via_actor(alice):
        comment.text = "by alice"
    duplicate = copy.copy(comment)
    with Context.via_actor(bob):
        duplicate.text = "by bob"
        duplicate.save()
    with Context():
        comment.save()
    first, second = deltas(comment)
    assert attribute(first, "text").actor == bob
    assert (attribute(second, "text").new_value, attribute(second, "text").actor) == (
        "by alice",
        alice,
    )


def test_each_attribute_keeps_its_own_actor_when_actor_objects_come_and_go():
    """Actor references are remembered per actor object: an actor freed
    while the frame lives, whose id the next actor object reuses, must not
    lend that object its reference."""
    users = [User.objects.create(username=f"u{i}") for i in range(40)]
    comment = Comment.objects.create(text="x")
    with Context():
        for i, user in enumerate(users):
            actor = User(pk=user.pk, username=user.username)
            with Context.via_actor(actor):
                comment.text = f"v{i}"
            del actor
            comment.save()
            gc.collect()
    updates = ObjectDelta.objects.for_key(Comment, comment.pk).filter(
        action=ObjectDelta.ACTION_UPDATE
    )
    recorded = [
        (a.new_value, a.actor_id) for d in updates for a in d.attribute_deltas.all()
    ]
    expected = [(f"v{i}", str(user.pk)) for i, user in enumerate(users)]
    assert recorded == expected


def test_unsaved_actor_is_refused(comment):
    with (
        Context.via_actor(User(username="ghost")),
        pytest.raises(ValueError, match="no primary key"),
    ):
        comment.text = "x"
        comment.save()


def test_actor_that_is_not_a_model_is_refused(comment):
    with Context.via_actor("alice"), pytest.raises(TypeError, match="actor"):
        comment.text = "x"
        comment.save()


# Descriptions -----------------------------------------------------------------


def test_attribute_description_is_the_one_current_at_assignment(comment):
    with Context():
        with Context.via_attribute_delta_description("typo"):
            comment.text = "fixed"
        comment.is_marked_as_spam = True
        comment.save()
    [delta] = all_deltas()
    assert attribute(delta, "text").description == "typo"
    assert attribute(delta, "is_marked_as_spam").description == ""


def test_object_delta_description_is_the_one_current_at_save(comment):
    with Context():
        with Context.via_object_delta_description("at assignment"):
            comment.text = "x"
        with Context.via_object_delta_description("at save"):
            comment.save()
    [delta] = all_deltas()
    assert delta.description == "at save"


def test_deletion_description_only_on_deletes(comment):
    with Context.via_deletion_description("gone"):
        comment.text = "changed"
        comment.save()
        created = Comment.objects.create(text="new")
        created.delete()
    [update] = deltas(comment)
    create = ObjectDelta.objects.get(action=CREATE)
    delete = ObjectDelta.objects.get(action=DELETE)
    assert update.deletion_description == ""
    assert create.deletion_description == ""
    assert delete.deletion_description == "gone"


# A revision's actors, and what an actor did -----------------------------------


def test_revision_actors_are_distinct_in_order_of_first_action(alice, bob):
    organization = Organization.objects.create(name="ACME")
    with Context.via_actor(bob):
        Comment.objects.create(text="1")
        with Context.via_actor(None):
            Comment.objects.create(text="2")
        with Context.via_actor(alice):
            Comment.objects.create(text="3")
        Comment.objects.create(text="4")
        with Context.via_actor(organization):
            Comment.objects.create(text="5")
        with Context.via_actor(alice):
            Comment.objects.create(text="6")
    [revision] = revisions()
    assert revision.actors() == [bob, None, alice, organization]


def test_revision_actors_of_an_empty_revision():
    revision = Revision.objects.create()
    assert revision.actors() == []


def test_revision_actors_name_a_deleted_actor():
    user = User.objects.create(username="gone")
    user_pk = user.pk
    with Context.via_actor(user):
        comment = Comment.objects.create(text="hi")
        with Context.via_actor(None):
            comment.text = "by the system"
        comment.save()
    revision = Revision.objects.get()
    assert revision.actors() == [user, None]
    User.objects.filter(pk=user_pk).delete()
    assert revision.actors() == [DeletedActor(User, str(user_pk)), None]
    assert str(revision.actors()[0]) == f"deleted auth.User {user_pk}"


def test_for_actor_filters_object_and_attribute_deltas(alice, bob):
    with Context.via_actor(alice):
        a = Comment.objects.create(text="a")
    with Context.via_actor(bob):
        b = Comment.objects.create(text="b")
    with Context():
        n = Comment.objects.create(text="n")
    assert [d.content_id for d in ObjectDelta.objects.for_actor(alice)] == [str(a.pk)]
    assert [d.content_id for d in ObjectDelta.objects.for_actor(bob)] == [str(b.pk)]
    assert [d.content_id for d in ObjectDelta.objects.for_actor(None)] == [str(n.pk)]
    assert AttributeDelta.objects.for_actor(alice).count() == 2
    assert {
        ad.object_delta.content_id for ad in AttributeDelta.objects.for_actor(None)
    } == {str(n.pk)}


# The README's examples (the seed's), as written -------------------------------


def test_seed_comment_spam_example(comment):
    with (
        Context.via_actor(None),
        Context.via_revision_description("Detected by the system."),
    ):
        comment.is_marked_as_spam = True
        comment.save()

    [revision] = revisions()
    assert revision.description == "Detected by the system."
    [delta] = revision.object_deltas.all()
    assert delta.action == UPDATE
    assert delta.actor is None
    assert decoded(delta) == {"is_marked_as_spam": (False, True)}
    assert attribute(delta, "is_marked_as_spam").actor is None
    assert revision.actors() == [None]


def test_seed_local_amount_example(alice):
    invoice = Invoice.objects.create(
        amount=decimal.Decimal("10.00"),
        exchange_rate=decimal.Decimal("1.0000"),
        local_amount=decimal.Decimal("10.00"),
    )

    def deserialize(data):
        instance = Invoice.objects.get(pk=data["id"])
        instance.amount = decimal.Decimal(data["amount"])
        instance.exchange_rate = decimal.Decimal(data["exchange_rate"])
        return instance

    def view(request):
        with C.via_actor(request.user):
            # <-- The actor is `request.user` in this block.
            C.set_revision_description(
                request.META.get("HTTP_X_COMMIT_MESSAGE"),
            )
            instance = deserialize(request.data)
            local_amount = instance.amount * instance.exchange_rate
            if instance.local_amount != local_amount:
                with (
                    C.via_actor(None),
                    C.via_attribute_delta_description(
                        "Corrected by the system.",
                    ),
                ):
                    # <-- The actor is `None` in this block.
                    instance.local_amount = local_amount
                # <-- The actor here is `request.user` again.
            instance.save()

    request = RequestFactory().put("/invoice", HTTP_X_COMMIT_MESSAGE="Fix the rate.")
    request.user = alice
    request.data = {"id": invoice.pk, "amount": "20.00", "exchange_rate": "1.5000"}
    view(request)

    [revision] = revisions()
    assert revision.description == "Fix the rate."
    assert revision.actors() == [alice, None]
    [delta] = revision.object_deltas.all()
    assert delta.action == UPDATE
    assert delta.actor == alice
    assert delta.description == ""

    amount = attribute(delta, "amount")
    assert (amount.old(), amount.new()) == (decimal.Decimal("10.00"), 20)
    assert amount.actor == alice
    assert amount.description == ""

    rate = attribute(delta, "exchange_rate")
    assert rate.actor == alice
    assert rate.new() == decimal.Decimal("1.5")

    local = attribute(delta, "local_amount")
    assert local.actor is None
    assert local.actor_content_type is None
    assert local.description == "Corrected by the system."
    assert local.old() == decimal.Decimal("10.00")
    assert local.new() == decimal.Decimal("30.00")
    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.local_amount == local.new()

    # auto_now fields are assigned during the save, by the actor of the save.
    assert attribute(delta, "updated_at").actor == alice
    assert AttributeDelta.objects.for_actor(None).get() == local
    assert set(
        AttributeDelta.objects.for_actor(alice).values_list("field_name", flat=True)
    ) == {"amount", "exchange_rate", "updated_at"}


def test_seed_generic_actor_decorator_example(alice):
    organization = Organization.objects.create(name="ACME")
    organization.members.add(alice)

    @Context()
    def view(request):
        if request.META.get("HTTP_X_PERFORM_AS_ORGANIZATION"):
            Context.set_actor(request.organization)
        else:
            Context.set_actor(request.user)
        Comment.objects.create(text=request.path)

    factory = RequestFactory()
    as_organization = factory.post("/", HTTP_X_PERFORM_AS_ORGANIZATION="1")
    as_organization.user = alice
    as_organization.organization = organization
    as_user = factory.post("/")
    as_user.user = alice

    view(as_organization)
    view(as_user)

    first, second = revisions()
    assert first.actors() == [organization]
    assert second.actors() == [alice]
    [delta] = first.object_deltas.all()
    assert delta.actor == organization
    assert delta.actor_content_type == ct(Organization)
    assert delta.actor_id == str(organization.pk)


def test_seed_user_delete_example(alice):
    user = alice
    post = Post.objects.create(author=user, title="hello")
    user_pk, post_pk = user.pk, post.pk

    with (
        Context.via_object_delta_description(
            "The account has been closed at the owner's request.",
        ),
        Context.via_deletion_description(
            "Deleted because the owner's account has been closed.",
        ),
    ):
        user.delete()

    [revision] = revisions()
    [user_delta] = ObjectDelta.objects.for_key(User, user_pk)
    [post_delta] = ObjectDelta.objects.for_key(Post, post_pk)
    assert user_delta.action == DELETE
    assert post_delta.action == DELETE
    assert user_delta.revision == revision
    assert post_delta.revision == revision
    assert (
        user_delta.description == "The account has been closed at the owner's request."
    )
    assert (
        post_delta.deletion_description
        == "Deleted because the owner's account has been closed."
    )
    assert post_delta.cause == user_delta
    assert user_delta.cause is None
    assert list(user_delta.effects.all()) == [post_delta]
    assert decoded(post_delta) == {"author": (user_pk, None), "title": ("hello", None)}
    assert decoded(user_delta)["username"] == ("alice", None)
