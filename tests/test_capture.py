"""What revy records: issue 3, "What is recorded", rule by rule.

Each test reads the history back through the models in use
(``get_revision_model()`` and its twins), so the suite runs unchanged with
swapped history models (REVY_TEST_SWAPPED=1).
"""

import decimal
import gc
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from django.test import RequestFactory, override_settings

from revy import Context
from revy import Context as C
from revy.contrib.django import conf
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
    make_user,
    revisions,
    run,
)
from tests.testapp.models import (
    CodeItem,
    Comment,
    Counter,
    EveryField,
    Invoice,
    Organization,
    Place,
    Post,
    Restaurant,
    SpamComment,
    Untracked,
    UUIDItem,
)

pytestmark = pytest.mark.django_db


# Create, update, delete ------------------------------------------------------


def test_create_records_a_create_delta_with_every_field(alice):
    with Context.via_actor(alice):
        created = Comment.objects.create(text="hello")

    [revision] = revisions()
    [delta] = deltas(created)
    assert delta.revision == revision
    assert delta.action == CREATE
    assert delta.content_type == ct(Comment)
    assert delta.content_id == str(created.pk)
    assert delta.target == created
    assert delta.actor == alice
    assert decoded(delta) == {
        "text": (None, "hello"),
        "is_marked_as_spam": (None, False),
    }
    for ad in delta.attribute_deltas.all():
        assert ad.actor == alice
        assert ad.old_value is None


def test_update_records_only_changed_fields_with_true_old_values(alice, comment):
    with Context.via_actor(alice):
        comment.text = "second"
        comment.save()

    [delta] = deltas(comment)
    assert delta.action == UPDATE
    assert delta.actor == alice
    assert decoded(delta) == {"text": ("first", "second")}


def test_delete_records_every_stored_value_as_old(alice, comment):
    pk = comment.pk
    with Context.via_actor(alice):
        comment.delete()

    [delta] = ObjectDelta.objects.for_key(Comment, pk)
    assert delta.action == DELETE
    assert delta.actor == alice
    assert delta.content_id == str(pk)
    assert decoded(delta) == {
        "text": ("first", None),
        "is_marked_as_spam": (False, None),
    }


def test_delete_after_an_unsaved_change_records_the_stored_values(comment):
    pk = comment.pk
    with Context():
        comment.text = "never saved"
        comment.delete()
    [delta] = ObjectDelta.objects.for_key(Comment, pk)
    assert decoded(delta)["text"] == ("first", None)


def test_create_update_delete_in_one_context_make_one_revision(alice):
    with Context.via_actor(alice):
        c = Comment.objects.create(text="a")
        c.text = "b"
        c.save()
        c.is_marked_as_spam = True
        c.save()
        pk = c.pk
        c.delete()

    [revision] = revisions()
    found = list(ObjectDelta.objects.for_key(Comment, pk))
    assert [d.action for d in found] == [CREATE, UPDATE, UPDATE, DELETE]
    assert {d.revision_id for d in found} == {revision.pk}
    assert decoded(found[1]) == {"text": ("a", "b")}
    assert decoded(found[2]) == {"is_marked_as_spam": (False, True)}
    assert decoded(found[3]) == {"text": ("b", None), "is_marked_as_spam": (True, None)}


@pytest.mark.django_db(transaction=True)
def test_async_create_update_delete(alice):
    async def work():
        with Context.via_actor(alice):
            c = await Comment.objects.acreate(text="a")
            c.text = "b"
            await c.asave()
            pk = c.pk
            await c.adelete()
            return c, pk

    deleted, deleted_pk = run(work())
    [revision] = revisions()
    found = all_deltas()
    assert [d.action for d in found] == [CREATE, UPDATE, DELETE]
    assert {d.revision_id for d in found} == {revision.pk}
    assert {d.content_id for d in found} == {str(deleted_pk)}
    assert all(d.actor == alice for d in found)
    assert decoded(found[1]) == {"text": ("a", "b")}
    assert decoded(found[2])["text"] == ("b", None)
    assert deleted.pk is None


@pytest.mark.django_db(transaction=True)
def test_async_decorated_function_records_one_revision(alice):
    @Context()
    async def work():
        Context.set_actor(alice)
        first = await Comment.objects.acreate(text="a")
        second = await Comment.objects.acreate(text="b")
        return first, second

    first, second = run(work())
    [revision] = revisions()
    assert [d.revision_id for d in deltas(first) + deltas(second)] == [revision.pk] * 2
    assert revision.actors() == [alice]


# Revisions -------------------------------------------------------------------


def test_one_revision_per_outermost_context_nested_contexts_add_to_it(alice, bob):
    with Context.via_revision_description("outer"):
        a = Comment.objects.create(text="a")
        with Context.via_actor(alice):
            b = Comment.objects.create(text="b")
            with Context.via_actor(bob):
                c = Comment.objects.create(text="c")
    with Context():
        d = Comment.objects.create(text="d")

    first, second = revisions()
    assert first.description == "outer"
    assert [deltas(x)[0].revision for x in (a, b, c)] == [first] * 3
    assert deltas(d)[0].revision == second
    assert [deltas(x)[0].actor for x in (a, b, c)] == [None, alice, bob]


def test_a_revision_is_created_only_at_the_first_change(comment):
    with Context():
        assert Context.get_revision() is None
        comment.save()  # no change
        assert Context.get_revision() is None
        assert revisions() == []
        comment.text = "changed"
        comment.save()
        revision = Context.get_revision()
        assert revision is not None
        assert revisions() == [revision]
    assert len(revisions()) == 1


def test_via_revision_adds_to_an_existing_revision():
    existing = Revision.objects.create(description="existing")
    with Context.via_revision(existing):
        a = Comment.objects.create(text="a")
    with Context():
        with Context.via_revision(existing):
            b = Comment.objects.create(text="b")
        c = Comment.objects.create(text="c")

    assert deltas(a)[0].revision == existing
    assert deltas(b)[0].revision == existing
    assert deltas(c)[0].revision != existing
    assert len(revisions()) == 2
    assert existing.object_deltas.count() == 2


def test_via_revision_with_an_unsaved_revision_saves_it_at_the_first_change(comment):
    revision = Revision(description="prepared")
    with Context.via_revision(revision):
        comment.save()  # nothing changed: nothing saved
        assert revision.pk is None
        comment.text = "changed"
        comment.save()
        assert revision.pk is not None
        other = Comment.objects.create(text="x")

    assert revisions() == [revision]
    assert Revision.objects.get().description == "prepared"
    assert [deltas(comment)[0].revision, deltas(other)[0].revision] == [revision] * 2


def test_unsaved_revision_without_description_takes_the_contexts_one():
    revision = Revision()
    with (
        Context.via_revision_description("from context"),
        Context.via_revision(revision),
    ):
        Comment.objects.create(text="x")
    assert Revision.objects.get(pk=revision.pk).description == "from context"


def test_revision_description_can_be_set_before_the_first_change():
    with Context():
        Context.set_revision_description("set later")
        Comment.objects.create(text="x")
    assert revisions()[0].description == "set later"


# No-op saves -----------------------------------------------------------------


def test_no_op_saves_record_nothing(comment):
    invoice = Invoice.objects.create(amount=decimal.Decimal("10.50"), exchange_rate=1)
    invoice = Invoice.objects.get(pk=invoice.pk)
    with Context():
        comment.save()
        comment.text = "first"  # the same value again
        comment.save()
        Comment.objects.get(pk=comment.pk).save()
        invoice.amount = decimal.Decimal("10.500")  # equal Decimal
        invoice.exchange_rate = 1  # int for a stored Decimal("1.0000")
        invoice.save(update_fields=["amount", "exchange_rate"])
    assert revisions() == []
    assert all_deltas() == []
    assert list(AttributeDelta.objects.all()) == []


def test_no_op_save_in_a_context_with_changes_adds_no_delta(comment):
    with Context():
        other = Comment.objects.create(text="x")
        comment.save()
        other.save()
    assert [d.content_id for d in all_deltas()] == [str(other.pk)]


# Outside a context, disabled contexts ----------------------------------------


def test_nothing_is_recorded_outside_a_context(comment):
    c = Comment.objects.create(text="x")
    c.text = "y"
    c.save()
    comment.delete()
    assert revisions() == []
    assert all_deltas() == []


@override_settings(REVY_RECORD_OUTSIDE_CONTEXT=True)
def test_record_outside_context_setting_records_each_change_by_the_system(comment):
    c = Comment.objects.create(text="x")
    comment.text = "changed"
    comment.save()
    pk = comment.pk
    comment.delete()

    assert len(revisions()) == 3
    create, update, delete = (
        deltas(c)[0],
        *ObjectDelta.objects.for_key(Comment, pk),
    )
    assert [create.action, update.action, delete.action] == [CREATE, UPDATE, DELETE]
    assert len({create.revision_id, update.revision_id, delete.revision_id}) == 3
    for delta in (create, update, delete):
        assert delta.actor is None
        assert delta.actor_content_type is None
        assert delta.actor_id is None
        assert all(a.actor is None for a in delta.attribute_deltas.all())
    assert decoded(update) == {"text": ("first", "changed")}


@override_settings(REVY_RECORD_OUTSIDE_CONTEXT=True)
def test_record_outside_context_does_not_record_in_a_disabled_context():
    with Context.as_disabled():
        Comment.objects.create(text="x")
    assert revisions() == []


def test_disabled_context_records_nothing(alice, comment):
    with Context.via_actor(alice), Context.as_disabled():
        Comment.objects.create(text="x")
        comment.text = "y"
        comment.save()
        comment.delete()
    assert revisions() == []
    assert all_deltas() == []


def test_disable_and_enable_as_in_the_seed(comment):
    @Context()
    def some_task():
        Context.disable()
        Comment.objects.create(text="not recorded")
        Context.enable()
        comment.text = "recorded"
        comment.save()

    some_task()
    [delta] = all_deltas()
    assert delta.content_id == str(comment.pk)
    assert decoded(delta) == {"text": ("first", "recorded")}


def test_as_disabled_block_inside_a_context_as_in_the_seed(comment):
    @Context()
    def some_task():
        with Context.as_disabled():
            Comment.objects.create(text="not recorded")
        comment.text = "recorded"
        comment.save()

    some_task()
    assert [d.content_id for d in all_deltas()] == [str(comment.pk)]
    assert len(revisions()) == 1


def test_as_enabled_inside_a_disabled_context_records():
    with Context.as_disabled():
        Comment.objects.create(text="off")
        with Context.as_enabled():
            on = Comment.objects.create(text="on")
    assert [d.content_id for d in all_deltas()] == [str(on.pk)]


def test_change_made_while_disabled_is_recorded_by_a_later_enabled_save(comment):
    with Context():
        with Context.as_disabled():
            comment.text = "assigned while disabled"
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("first", "assigned while disabled")}


def test_change_saved_while_disabled_is_not_recorded_later(comment):
    with Context():
        with Context.as_disabled():
            comment.text = "saved while disabled"
            comment.save()
        comment.is_marked_as_spam = True
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"is_marked_as_spam": (False, True)}


# True old values -------------------------------------------------------------


def test_old_value_is_true_for_an_object_loaded_outside_the_context(comment):
    # Changed and saved outside any context: nothing recorded, but the next
    # recorded change knows what the row holds.
    comment.text = "changed outside"
    comment.save()
    with Context():
        comment.text = "changed inside"
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("changed outside", "changed inside")}


def test_old_value_is_true_for_an_instance_built_by_hand(comment):
    # Not loaded from the database at all: Django updates the row by its key.
    with Context():
        Comment(pk=comment.pk, text="by hand").save()
    [delta] = all_deltas()
    assert delta.action == UPDATE
    assert decoded(delta) == {"text": ("first", "by hand")}


@override_settings(REVY_UNTRACKED_MODELS=[])
def test_old_value_is_true_for_a_model_tracked_only_after_startup():
    # testapp.Untracked was untracked when the app registry was ready.
    row = Untracked.objects.create(name="before")
    row = Untracked.objects.get(pk=row.pk)
    with Context():
        row.name = "after"
        row.save()
    [delta] = all_deltas()
    assert delta.content_type == ct(Untracked)
    assert decoded(delta) == {"name": ("before", "after")}


def test_successive_saves_chain_their_old_values(comment):
    with Context():
        for text in ("two", "three", "four"):
            comment.text = text
            comment.save()
    assert [decoded(d)["text"] for d in deltas(comment)] == [
        ("first", "two"),
        ("two", "three"),
        ("three", "four"),
    ]


# Copies, and values changed in place -------------------------------------------


def test_json_mutated_in_place_is_recorded():
    obj = EveryField.objects.create(json={"k": "old", "list": [1]})
    obj = EveryField.objects.get(pk=obj.pk)
    with Context():
        obj.json["k"] = "new"
        obj.json["list"].append(2)
        obj.save()
    obj.refresh_from_db()
    assert obj.json == {"k": "new", "list": [1, 2]}
    [d] = ObjectDelta.objects.all()
    assert decoded(d) == {
        "json": ({"k": "old", "list": [1]}, {"k": "new", "list": [1, 2]})
    }


def test_copy_by_clearing_the_pk_records_a_create():
    original = Comment.objects.create(text="original")
    original = Comment.objects.get(pk=original.pk)
    with Context():
        original.pk = None
        original._state.adding = True
        original.save()
    copy = original
    assert Comment.objects.count() == 2
    found = list(ObjectDelta.objects.for_object(copy))
    assert [d.action for d in found] == [ObjectDelta.ACTION_CREATE]
    assert decoded(found[0]) == {
        "text": (None, "original"),
        "is_marked_as_spam": (None, False),
    }


def test_copy_by_clearing_the_pk_without_adding_flag_records_a_create():
    original = Comment.objects.create(text="original")
    original = Comment.objects.get(pk=original.pk)
    with Context():
        original.pk = None
        original.save()
    found = list(ObjectDelta.objects.for_object(original))
    assert [d.action for d in found] == [ObjectDelta.ACTION_CREATE]


# update_fields ---------------------------------------------------------------


def test_update_fields_records_exactly_those_fields(comment):
    with Context():
        comment.text = "saved"
        comment.is_marked_as_spam = True
        comment.save(update_fields=["text"])
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("first", "saved")}
    stored = Comment.objects.get(pk=comment.pk)
    assert stored.is_marked_as_spam is False

    # The field left out is still unsaved; a later full save records it with
    # the value the row really held.
    with Context():
        comment.save()
    last = deltas(comment)[-1]
    assert decoded(last) == {"is_marked_as_spam": (False, True)}


def test_update_fields_by_attname_of_a_foreign_key(alice, bob):
    post = Post.objects.create(author=alice, title="t")
    with Context():
        post.author = bob
        post.title = "not saved"
        post.save(update_fields=["author_id"])
    [delta] = all_deltas()
    assert decoded(delta) == {"author": (alice.pk, bob.pk)}


def test_update_fields_empty_saves_and_records_nothing(comment):
    with Context():
        comment.text = "x"
        comment.save(update_fields=[])
    assert revisions() == []


# Multi-table inheritance and proxies -----------------------------------------


def test_multi_table_inheritance_records_child_and_parent_fields():
    with Context():
        restaurant = Restaurant.objects.create(name="Luigi", serves_pizza=True)
    [delta] = all_deltas()
    assert delta.content_type == ct(Restaurant)
    assert delta.content_id == str(restaurant.pk)
    assert decoded(delta) == {"name": (None, "Luigi"), "serves_pizza": (None, True)}

    restaurant = Restaurant.objects.get(pk=restaurant.pk)
    with Context():
        restaurant.name = "Mario"
        restaurant.serves_pizza = False
        restaurant.save()
    update = deltas(restaurant)[-1]
    assert update.action == UPDATE
    assert decoded(update) == {
        "name": ("Luigi", "Mario"),
        "serves_pizza": (True, False),
    }

    pk = restaurant.pk
    with Context():
        restaurant.delete()
    delete = list(ObjectDelta.objects.for_key(Restaurant, pk))[-1]
    assert delete.action == DELETE
    assert decoded(delete) == {"name": ("Mario", None), "serves_pizza": (False, None)}
    # The parent row is part of the same object: no separate Place delta.
    assert list(ObjectDelta.objects.filter(content_type=ct(Place))) == []


def test_parent_model_saved_alone_records_as_the_parent():
    with Context():
        place = Place.objects.create(name="Square")
    [delta] = all_deltas()
    assert delta.content_type == ct(Place)
    assert decoded(delta) == {"name": (None, "Square")}
    assert deltas(place) == [delta]


def test_proxy_model_records_as_its_concrete_model():
    with Context():
        spam = SpamComment.objects.create(text="buy now")
        spam.is_marked_as_spam = True
        spam.save()
    create, update = deltas(spam)
    assert create.content_type == ct(Comment)
    assert create.content_type == ContentType.objects.get_for_model(
        SpamComment, for_concrete_model=True
    )
    assert update.content_type == ct(Comment)
    assert deltas(Comment.objects.get(pk=spam.pk)) == [create, update]
    assert decoded(update) == {"is_marked_as_spam": (False, True)}

    with Context():
        spam.delete()
    assert deltas(Comment(pk=create.content_id))[-1].content_type == ct(Comment)


# Deferred fields and refresh_from_db -----------------------------------------


def test_only_then_assign_the_deferred_field(comment):
    Comment.objects.filter(pk=comment.pk).update(is_marked_as_spam=True)
    partial = Comment.objects.only("text").get(pk=comment.pk)
    with Context():
        partial.is_marked_as_spam = False
        partial.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"is_marked_as_spam": (True, False)}


def test_defer_then_assign_the_deferred_field(comment):
    partial = Comment.objects.defer("text").get(pk=comment.pk)
    with Context():
        partial.text = "second"
        partial.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("first", "second")}


def test_deferred_field_loaded_on_access_then_changed(comment):
    partial = Comment.objects.defer("text").get(pk=comment.pk)
    Comment.objects.filter(pk=comment.pk).update(text="changed behind")
    with Context():
        assert partial.text == "changed behind"  # loads the field now
        partial.text = "third"
        partial.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("changed behind", "third")}


def test_deferred_save_without_touching_deferred_fields_records_loaded_only(comment):
    Comment.objects.filter(pk=comment.pk).update(is_marked_as_spam=True)
    partial = Comment.objects.only("text").get(pk=comment.pk)
    with Context():
        partial.text = "new"
        partial.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("first", "new")}


def test_refresh_from_db_then_save_records_nothing(comment):
    Comment.objects.filter(pk=comment.pk).update(text="changed behind")
    with Context():
        comment.is_marked_as_spam = True
        comment.refresh_from_db()
        comment.save()
    assert revisions() == []
    assert Comment.objects.get(pk=comment.pk).text == "changed behind"


def test_partial_refresh_from_db_keeps_other_pending_changes(alice, comment):
    Comment.objects.filter(pk=comment.pk).update(text="changed behind")
    with Context.via_actor(alice):
        comment.is_marked_as_spam = True
        comment.refresh_from_db(fields=["text"])
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"is_marked_as_spam": (False, True)}


def test_refresh_after_change_then_new_change_has_true_old_value(comment):
    with Context():
        comment.text = "discarded"
        comment.refresh_from_db()
        comment.text = "kept"
        comment.save()
    [delta] = all_deltas()
    assert decoded(delta) == {"text": ("first", "kept")}


# F() expressions -------------------------------------------------------------


def test_f_expression_records_the_value_stored():
    counter = Counter.objects.create(value=41)
    counter = Counter.objects.get(pk=counter.pk)
    with Context():
        counter.value = F("value") + 1
        counter.save()
    counter.refresh_from_db()
    assert counter.value == 42
    [delta] = all_deltas()
    [ad] = delta.attribute_deltas.all()
    assert ad.field_name == "value"
    assert ad.new() == 42
    assert ad.old() == 41


def test_f_expression_old_value_is_what_the_row_held():
    counter = Counter.objects.create(value=41)
    counter = Counter.objects.get(pk=counter.pk)
    Counter.objects.filter(pk=counter.pk).update(value=100)
    with Context():
        counter.value = F("value") + 1
        counter.save()
    [d] = ObjectDelta.objects.all()
    assert decoded(d) == {"value": (100, 101)}


def test_f_expression_with_update_fields():
    counter = Counter.objects.create(value=1)
    with Context():
        counter.value = F("value") * 10
        counter.save(update_fields=["value"])
    [delta] = all_deltas()
    assert decoded(delta) == {"value": (1, 10)}


# The seed's examples, as written ---------------------------------------------


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


def test_object_delta_description_is_the_one_current_at_save(comment):
    with Context():
        with Context.via_object_delta_description("at assignment"):
            comment.text = "x"
        with Context.via_object_delta_description("at save"):
            comment.save()
    [delta] = all_deltas()
    assert delta.description == "at save"


# Actors ----------------------------------------------------------------------


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


def test_attribute_description_is_the_one_current_at_assignment(comment):
    with Context():
        with Context.via_attribute_delta_description("typo"):
            comment.text = "fixed"
        comment.is_marked_as_spam = True
        comment.save()
    [delta] = all_deltas()
    assert attribute(delta, "text").description == "typo"
    assert attribute(delta, "is_marked_as_spam").description == ""


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


# Tracked and untracked models ------------------------------------------------


def test_untracked_model_is_never_recorded():
    with Context():
        row = Untracked.objects.create(name="x")
        row.name = "y"
        row.save()
        row.delete()
    assert revisions() == []


@override_settings(REVY_TRACKED_MODELS=["testapp.Comment"])
def test_tracked_models_setting_limits_recording(alice):
    with Context():
        c = Comment.objects.create(text="tracked")
        p = Post.objects.create(author=alice, title="not tracked")
        make_user("carol")
    assert [d.content_id for d in all_deltas()] == [str(c.pk)]
    assert deltas(p) == []


def test_a_setting_changed_mid_test_applies_to_the_next_change(settings):
    with Context():
        first = Comment.objects.create(text="tracked")
    settings.REVY_UNTRACKED_MODELS = ["testapp.Comment"]
    with Context():
        second = Comment.objects.create(text="not tracked")
    del settings.REVY_UNTRACKED_MODELS
    with Context():
        third = Comment.objects.create(text="tracked again")
    assert [len(deltas(c)) for c in (first, second, third)] == [1, 0, 1]


def test_values_derived_from_settings_are_kept_until_a_setting_changes(settings):
    made = []

    def make():
        made.append(conf.batch_size())
        return made[-1]

    assert conf.kept("test", make) == conf.kept("test", make) == conf.batch_size()
    settings.REVY_BATCH_SIZE = 7
    assert conf.kept("test", make) == 7
    assert len(made) == 2


@override_settings(REVY_TRACKED_MODELS=["TESTAPP.*"])
def test_tracked_models_pattern_is_case_insensitive_and_matches_the_app(alice):
    with Context():
        c = Comment.objects.create(text="a")
        p = Post.objects.create(author=alice, title="b")
        make_user("carol")  # auth.User: not matched
        Untracked.objects.create(name="still untracked")
    assert {d.content_type for d in all_deltas()} == {ct(Comment), ct(Post)}
    assert len(deltas(c)) == len(deltas(p)) == 1


@override_settings(REVY_UNTRACKED_MODELS=["testapp.comment", "auth.*"])
def test_untracked_models_setting_excludes(alice):
    with Context():
        Comment.objects.create(text="a")
        p = Post.objects.create(author=alice, title="b")
        make_user("carol")
        u = Untracked.objects.create(name="tracked now")
    assert {d.content_type for d in all_deltas()} == {ct(Post), ct(Untracked)}
    assert len(deltas(u)) == 1
    assert len(deltas(p)) == 1


@override_settings(REVY_TRACKED_MODELS=["*"], REVY_UNTRACKED_MODELS=[])
def test_revys_own_and_djangos_bookkeeping_models_are_never_tracked():
    with Context():
        Revision.objects.create(description="by hand")
        ContentType.objects.get_for_model(Comment)
        c = Comment.objects.create(text="tracked")
    assert [d.content_type for d in all_deltas()] == [ct(Comment)]
    assert deltas(c)


# Primary keys that are not integers ------------------------------------------


def test_uuid_primary_key():
    with Context():
        item = UUIDItem.objects.create(name="a")
        item.name = "b"
        item.save()
    assert isinstance(item.pk, uuid.UUID)
    create, update = deltas(item)
    assert create.content_id == update.content_id == str(item.pk)
    assert create.target == item
    assert decoded(update) == {"name": ("a", "b")}
    pk = item.pk
    with Context():
        item.delete()
    assert [d.action for d in ObjectDelta.objects.for_key(UUIDItem, pk)] == [
        CREATE,
        UPDATE,
        DELETE,
    ]
    assert list(ObjectDelta.objects.for_key(UUIDItem, str(pk))) == list(
        ObjectDelta.objects.for_key(UUIDItem, pk)
    )


def test_string_primary_key():
    with Context():
        item = CodeItem.objects.create(code="ABC-1 ü", name="a")
    item = CodeItem.objects.get(pk="ABC-1 ü")
    with Context():
        item.name = "b"
        item.save()
    create, update = deltas(item)
    assert create.content_id == "ABC-1 ü"
    assert create.target == item
    assert decoded(update) == {"name": ("a", "b")}
    with Context():
        CodeItem.objects.filter(pk="ABC-1 ü").delete()
    assert [d.action for d in ObjectDelta.objects.for_key(CodeItem, "ABC-1 ü")] == [
        CREATE,
        UPDATE,
        DELETE,
    ]


# Reading: for_object ordering ------------------------------------------------


def test_for_object_is_oldest_first_across_revisions(alice):
    with Context():
        c = Comment.objects.create(text="1")
    other = Comment.objects.create(text="other")
    for text in ("2", "3"):
        with Context.via_actor(alice):
            c.text = text
            c.save()
            other.text = text
            other.save()
    found = deltas(c)
    assert [d.action for d in found] == [CREATE, UPDATE, UPDATE]
    assert [decoded(d)["text"][1] for d in found] == ["1", "2", "3"]
    assert [d.pk for d in found] == sorted(d.pk for d in found)
    assert len({d.revision_id for d in found}) == 3
    assert all(d.content_id == str(c.pk) for d in found)


# Deletes ---------------------------------------------------------------------


def test_cascaded_delete_names_its_cause(alice, bob):
    posts = [Post.objects.create(author=alice, title=f"p{i}") for i in range(3)]
    kept = Post.objects.create(author=bob, title="kept")
    alice_pk = alice.pk
    with Context.via_actor(bob):
        alice.delete()
    [user_delta] = ObjectDelta.objects.for_key(User, alice_pk)
    post_deltas = [ObjectDelta.objects.for_key(Post, p.pk).get() for p in posts]
    assert all(d.cause == user_delta for d in post_deltas)
    assert all(d.actor == bob for d in post_deltas)
    assert {d.revision_id for d in post_deltas} == {user_delta.revision_id}
    assert set(user_delta.effects.all()) == set(post_deltas)
    assert deltas(kept) == []


def test_queryset_delete_records_every_row(alice):
    for i in range(3):
        Comment.objects.create(text=str(i))
    for i in range(2):
        CodeItem.objects.create(code=f"c{i}", name=str(i))
    with Context.via_actor(alice):
        Comment.objects.filter(text__in=["0", "2"]).delete()
        CodeItem.objects.all().delete()  # fast delete: no instances loaded
    deletes = all_deltas()
    assert [d.action for d in deletes] == [DELETE] * 4
    comment_texts = sorted(
        decoded(d)["text"][0] for d in deletes if d.content_type == ct(Comment)
    )
    assert comment_texts == ["0", "2"]
    assert sorted(d.content_id for d in deletes if d.content_type == ct(CodeItem)) == [
        "c0",
        "c1",
    ]
    assert all(d.actor == alice for d in deletes)
    assert len(revisions()) == 1


def _dataset(tag):
    user = make_user(f"user-{tag}")
    for i in range(2):
        Post.objects.create(author=user, title=f"{tag}{i}")
    comments = [Comment.objects.create(text=f"{tag}{i}") for i in range(3)]
    return user, comments


def test_delete_returns_what_django_returns():
    user_a, comments_a = _dataset("a")
    user_b, comments_b = _dataset("b")

    with Context():
        tracked = (
            user_a.delete(),
            comments_a[0].delete(),
            Comment.objects.filter(pk__in=[c.pk for c in comments_a[1:]]).delete(),
            Comment.objects.filter(pk=-1).delete(),
        )
    with Context.as_disabled():
        untracked = (
            user_b.delete(),
            comments_b[0].delete(),
            Comment.objects.filter(pk__in=[c.pk for c in comments_b[1:]]).delete(),
            Comment.objects.filter(pk=-1).delete(),
        )
    assert tracked == untracked
    assert tracked[0] == (3, {"testapp.Post": 2, "auth.User": 1})
    assert tracked[1] == (1, {"testapp.Comment": 1})
    assert tracked[2] == (2, {"testapp.Comment": 2})
    assert tracked[3] == (0, {})


@pytest.mark.django_db(transaction=True)
def test_async_adelete_returns_what_django_returns(comment):
    async def work():
        with Context():
            return await comment.adelete()

    assert run(work()) == (1, {"testapp.Comment": 1})
    assert [d.action for d in all_deltas()] == [DELETE]


def test_actor_with_a_uuid_primary_key():
    robot = UUIDItem.objects.create(name="robot")
    with Context.via_actor(robot):
        created = Comment.objects.create(text="by robot")
    [delta] = deltas(created)
    assert delta.actor_id == str(robot.pk)
    assert delta.actor == robot
    assert delta.revision.actors() == [robot]
    assert list(ObjectDelta.objects.for_actor(robot)) == [delta]


def test_instance_built_with_a_new_primary_key_records_a_create():
    with Context():
        CodeItem(code="new", name="n").save()
        Comment(pk=424242, text="explicit key").save()
    assert [d.action for d in all_deltas()] == [CREATE, CREATE]
    comment_delta = ObjectDelta.objects.for_key(Comment, 424242).get()
    assert decoded(comment_delta)["text"] == (None, "explicit key")


def test_deleting_the_parent_row_of_a_multi_table_child_records_the_child():
    restaurant = Restaurant.objects.create(name="Luigi", serves_pizza=True)
    with Context():
        Place.objects.get(pk=restaurant.pk).delete()
    [delta] = all_deltas()
    assert delta.action == DELETE
    assert delta.content_type == ct(Restaurant)
    assert decoded(delta) == {"name": ("Luigi", None), "serves_pizza": (True, None)}


def test_a_revision_is_saved_through_save_when_a_signal_listens_to_its_model():
    from django.db.models.signals import post_save

    seen = []

    def listen(sender, instance, created, **kwargs):
        seen.append((instance.pk, created, instance.description))

    post_save.connect(listen, sender=Revision)
    try:
        with Context(revision_description="heard"):
            Comment.objects.create(text="x")
    finally:
        post_save.disconnect(listen, sender=Revision)
    with Context(revision_description="unheard"):
        Comment.objects.create(text="y")
    heard, unheard = Revision.objects.order_by("pk")
    assert seen == [(heard.pk, True, "heard")]
    assert unheard.description == "unheard"
    assert unheard.created_at is not None
    assert unheard.created_at >= heard.created_at
