"""What a save or a delete of a tracked instance records: issue 3, "What is
recorded", rule by rule.

A create records every field, an update the fields that changed with their
true old values (whatever the instance knew: loaded elsewhere, built by hand,
deferred, refreshed, given an F() expression, its JSON changed in place), a
delete every value the row held; a save that changes nothing records
nothing. update_fields, copies made by clearing the key, multi-table
children, proxies, keys that are not integers, async saves and deletes.

Which revision a change goes into, its actor and descriptions, and which
changes are recorded at all: test_capture_revisions.py, test_capture_actors.py
and test_capture_scope.py.

Each test reads the history back through the models in use
(``get_revision_model()`` and its twins), so the suite runs unchanged with
swapped history models (REVY_TEST_SWAPPED=1).
"""

import decimal
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import F

from revy import Context
from tests.helpers import (
    CREATE,
    DELETE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    User,
    all_deltas,
    ct,
    decoded,
    deltas,
    deltas_of,
    make_user,
    revisions,
    run,
    stored,
)
from tests.testapp.models import (
    Annotated,
    CodeItem,
    Comment,
    Counter,
    EveryField,
    Invoice,
    Place,
    Post,
    Restaurant,
    SpamComment,
    Tag,
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


# Creates under a new key: copies, instances built with one ------------------


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


def test_instance_built_with_a_new_primary_key_records_a_create():
    with Context():
        CodeItem(code="new", name="n").save()
        Comment(pk=424242, text="explicit key").save()
    assert [d.action for d in all_deltas()] == [CREATE, CREATE]
    comment_delta = ObjectDelta.objects.for_key(Comment, 424242).get()
    assert decoded(comment_delta)["text"] == (None, "explicit key")


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


def test_deleting_the_parent_row_of_a_multi_table_child_records_the_child():
    restaurant = Restaurant.objects.create(name="Luigi", serves_pizza=True)
    with Context():
        Place.objects.get(pk=restaurant.pk).delete()
    [delta] = all_deltas()
    assert delta.action == DELETE
    assert delta.content_type == ct(Restaurant)
    assert decoded(delta) == {"name": ("Luigi", None), "serves_pizza": (True, None)}


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


def test_a_base_manager_that_groups_by_does_not_stop_the_locked_read():
    with Context():
        annotated = Annotated.objects.create(name="a")
        annotated.tags.add(Tag.objects.create(name="t"))
        annotated.name = "b"
        annotated.save()
        Annotated.objects.filter(pk=annotated.pk).update(name="c")
    assert [stored(d) for d in deltas_of(Annotated, annotated.pk)][-2:] == [
        {"name": ("a", "b")},
        {"name": ("b", "c")},
    ]
