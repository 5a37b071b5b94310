"""Bulk writes: issue 4, "Bulk writes on tracked models, inside a context".

``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()`` are recorded
with true old and new values (the value stored, where the database computed
it from an F() expression), in a bounded number of queries; outside a
context they are Django's, return values included. An instance given twice,
or one whose row is missing, records what the database did; an update of a
primary key is refused before anything is written; a write Django refuses
leaves the transaction as usable as it would be without revy.

``QuerySet.delete()`` is tested with the other deletes, in test_deletion.py;
decimals given as float or text, in test_values_as_stored.py.

History is read through the models in use, so the suite runs unchanged with
REVY_TEST_SWAPPED=1.
"""

import decimal
import uuid
from contextlib import nullcontext

import pytest
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Upper
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django.deltas import NotRecordable
from tests.helpers import (
    CREATE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    Undo,
    User,
    ct,
    decoded,
    delta_of,
    deltas_of,
    nothing_recorded,
    stored,
    warm_content_types,
)
from tests.testapp.models import (
    Book,
    CodeItem,
    Comment,
    Counter,
    Editor,
    Invoice,
    Restaurant,
    Shelf,
    Untracked,
    UUIDItem,
)

pytestmark = pytest.mark.django_db


# Helpers ---------------------------------------------------------------------


def counters(*values):
    return [Counter.objects.create(value=value) for value in values]


# QuerySet.update ---------------------------------------------------------------


def test_update_with_plain_values_records_old_and_new():
    comments = [
        Comment.objects.create(text=f"comment {n}", is_marked_as_spam=False)
        for n in range(3)
    ]
    actor = User.objects.create(username="moderator")
    with (
        Context.via_actor(actor),
        Context.via_object_delta_description("Spam sweep."),
        Context.via_attribute_delta_description("Marked by the filter."),
    ):
        returned = Comment.objects.filter(pk__in=[c.pk for c in comments[:2]]).update(
            is_marked_as_spam=True, text="hidden"
        )
    assert returned == 2
    revision = Revision.objects.get()
    for comment in comments[:2]:
        delta = delta_of(Comment, comment.pk)
        assert delta.action == UPDATE
        assert delta.revision == revision
        assert delta.actor == actor
        assert delta.description == "Spam sweep."
        assert stored(delta) == {
            "text": (comment.text, "hidden"),
            "is_marked_as_spam": (False, True),
        }
        for attribute in delta.attribute_deltas.all():
            assert attribute.actor == actor
            assert attribute.description == "Marked by the filter."
    assert not deltas_of(Comment, comments[2].pk)


def test_update_records_only_the_rows_and_fields_that_change():
    a, b, c = counters(5, 7, 5)
    with Context():
        returned = Counter.objects.update(value=5)
    # Django counts the rows matched, changed or not.
    assert returned == 3
    assert ObjectDelta.objects.count() == 1
    assert stored(delta_of(Counter, b.pk)) == {"value": (7, 5)}
    assert not deltas_of(Counter, a.pk)
    assert not deltas_of(Counter, c.pk)


def test_an_update_that_changes_nothing_records_nothing():
    counters(1, 1)
    with Context():
        assert Counter.objects.update(value=1) == 2
        assert Counter.objects.filter(value=99).update(value=3) == 0
    assert nothing_recorded()


def test_update_of_one_field_of_several_records_only_that_field():
    comment = Comment.objects.create(text="same", is_marked_as_spam=False)
    with Context():
        Comment.objects.filter(pk=comment.pk).update(
            text="same", is_marked_as_spam=True
        )
    assert stored(delta_of(Comment, comment.pk)) == {"is_marked_as_spam": (False, True)}


def test_update_with_f_expressions_records_the_stored_value():
    a, b = counters(1, 40)
    with Context():
        returned = Counter.objects.update(value=F("value") * 3 + 2)
    assert returned == 2
    for counter, old in ((a, 1), (b, 40)):
        counter.refresh_from_db()
        delta = delta_of(Counter, counter.pk)
        assert stored(delta) == {"value": (old, counter.value)}
        assert counter.value == old * 3 + 2


def test_update_with_a_decimal_expression_records_what_the_column_holds():
    invoice = Invoice.objects.create(
        amount=decimal.Decimal("10.01"), exchange_rate=decimal.Decimal("3.3333")
    )
    with Context():
        Invoice.objects.filter(pk=invoice.pk).update(
            local_amount=F("amount") * F("exchange_rate")
        )
    invoice.refresh_from_db()
    delta = delta_of(Invoice, invoice.pk)
    changes = decoded(delta)
    assert set(changes) == {"local_amount"}
    old, new = changes["local_amount"]
    assert old == decimal.Decimal("0")
    assert new == invoice.local_amount
    assert new == decimal.Decimal("33.37")


def test_update_with_a_text_expression_records_the_stored_value():
    comment = Comment.objects.create(text="hello")
    with Context():
        Comment.objects.filter(pk=comment.pk).update(
            text=Concat(Upper("text"), Value("!"))
        )
    comment.refresh_from_db()
    assert comment.text == "HELLO!"
    assert stored(delta_of(Comment, comment.pk)) == {"text": ("hello", "HELLO!")}


def test_update_with_an_expression_that_changes_nothing_records_nothing():
    counters(0, 0)
    with Context():
        Counter.objects.update(value=F("value") * 2)
    assert nothing_recorded()


def test_update_of_a_foreign_key_given_as_an_instance():
    old_shelf = Shelf.objects.create(name="old")
    new_shelf = Shelf.objects.create(name="new")
    editor = Editor.objects.create(name="Ann")
    books = [
        Book.objects.create(title=f"b{n}", shelf=old_shelf, editor=editor)
        for n in range(2)
    ]
    with Context():
        returned = Book.objects.filter(shelf=old_shelf).update(
            shelf=new_shelf, editor=None
        )
    assert returned == 2
    for book in books:
        assert stored(delta_of(Book, book.pk)) == {
            "shelf": (old_shelf.pk, new_shelf.pk),
            "editor": (editor.pk, None),
        }
        book.refresh_from_db()
        assert book.shelf_id == new_shelf.pk


def test_update_of_a_foreign_key_by_its_column_name():
    # Django takes update(shelf_id=...) as well as update(shelf=...).
    old_shelf = Shelf.objects.create(name="old")
    new_shelf = Shelf.objects.create(name="new")
    book = Book.objects.create(title="b", shelf=old_shelf)
    with Context():
        returned = Book.objects.filter(pk=book.pk).update(shelf_id=new_shelf.pk)
    assert returned == 1
    assert Book.objects.get(pk=book.pk).shelf_id == new_shelf.pk
    assert stored(delta_of(Book, book.pk)) == {"shelf": (old_shelf.pk, new_shelf.pk)}


def test_update_records_the_true_old_values_not_those_in_memory():
    (counter,) = counters(1)
    counter.value = 50  # never saved
    Counter.objects.filter(pk=counter.pk).update(value=7)  # untracked
    with Context():
        Counter.objects.filter(pk=counter.pk).update(value=8)
    assert stored(delta_of(Counter, counter.pk)) == {"value": (7, 8)}


def test_update_with_uuid_and_char_primary_keys():
    item = UUIDItem.objects.create(name="u")
    code = CodeItem.objects.create(code="A-1", name="c")
    with Context():
        UUIDItem.objects.update(name="v")
        CodeItem.objects.update(name="d")
    assert delta_of(UUIDItem, item.pk).content_id == str(item.pk)
    assert stored(delta_of(UUIDItem, item.pk)) == {"name": ("u", "v")}
    assert delta_of(CodeItem, "A-1").content_id == "A-1"
    assert stored(delta_of(CodeItem, code.pk)) == {"name": ("c", "d")}
    assert Revision.objects.count() == 1


def test_update_of_an_untracked_model_records_nothing():
    Untracked.objects.create(name="a")
    with Context():
        assert Untracked.objects.update(name="b") == 1
    assert nothing_recorded()


def test_update_of_the_primary_key_is_refused_before_writing():
    counter = Counter.objects.create(value=1)
    with Context(), pytest.raises(NotRecordable, match="primary key"):
        Counter.objects.filter(pk=counter.pk).update(id=F("id") + 1000)
    assert list(Counter.objects.values_list("pk", flat=True)) == [counter.pk]
    assert not ObjectDelta.objects.exists()


# bulk_create -------------------------------------------------------------------


def test_bulk_create_records_a_create_with_every_field():
    shelf = Shelf.objects.create(name="s")
    editor = Editor.objects.create(name="Ann")
    actor = User.objects.create(username="importer")
    with Context.via_actor(actor), Context.via_object_delta_description("Import."):
        created = Book.objects.bulk_create(
            [
                Book(title="one", shelf=shelf, editor=editor),
                Book(title="two", shelf=shelf),
            ]
        )
    assert [book.pk is not None for book in created] == [True, True]
    revision = Revision.objects.get()
    for book in created:
        delta = delta_of(Book, book.pk)
        assert delta.action == CREATE
        assert delta.content_type == ct(Book)
        assert delta.content_id == str(book.pk)
        assert delta.revision == revision
        assert delta.actor == actor
        assert delta.description == "Import."
        assert stored(delta) == {
            "title": (None, book.title),
            "shelf": (None, shelf.pk),
            "editor": (None, book.editor_id),
        }
    assert ObjectDelta.objects.count() == 2


def test_bulk_create_with_uuid_keys_records_them_as_text():
    items = [UUIDItem(name=f"u{n}") for n in range(3)]
    with Context():
        created = UUIDItem.objects.bulk_create(items)
    assert created == items
    for item in items:
        assert isinstance(item.pk, uuid.UUID)
        delta = delta_of(UUIDItem, item.pk)
        assert delta.content_id == str(item.pk)
        assert stored(delta) == {"name": (None, item.name)}


def test_bulk_create_records_defaults_and_expressions_as_stored():
    with Context():
        (comment,) = Comment.objects.bulk_create(
            [Comment(text=Concat(Value("a"), Value("b")))]
        )
    comment.refresh_from_db()
    assert comment.text == "ab"
    assert stored(delta_of(Comment, comment.pk)) == {
        "text": (None, "ab"),
        "is_marked_as_spam": (None, False),
    }


def test_bulk_created_objects_then_saved_record_an_update_only():
    with Context():
        (counter,) = Counter.objects.bulk_create([Counter(value=1)])
        counter.value = 2
        counter.save()
    deltas = deltas_of(Counter, counter.pk)
    assert [d.action for d in deltas] == [CREATE, UPDATE]
    assert stored(deltas[1]) == {"value": (1, 2)}


def test_bulk_create_with_conflict_handling_works_when_disabled():
    CodeItem.objects.create(code="A", name="kept")
    with Context(), Context.as_disabled():
        CodeItem.objects.bulk_create(
            [CodeItem(code="A", name="changed"), CodeItem(code="B", name="new")],
            ignore_conflicts=True,
        )
    assert sorted(CodeItem.objects.values_list("code", "name")) == [
        ("A", "kept"),
        ("B", "new"),
    ]
    assert nothing_recorded()


# bulk_update -------------------------------------------------------------------


def test_bulk_update_records_true_old_values():
    a, b, c = counters(1, 2, 3)
    loaded = list(Counter.objects.order_by("pk"))
    Counter.objects.filter(pk=b.pk).update(value=20)  # after loading, untracked
    for counter in loaded:
        counter.value = 9
    loaded[2].value = 3  # unchanged
    with Context():
        returned = Counter.objects.bulk_update(loaded, ["value"])
    assert returned == 3
    assert stored(delta_of(Counter, a.pk)) == {"value": (1, 9)}
    # b was loaded as 2 but the database held 20 when bulk_update ran: revy
    # reads what instances remember, so a stale instance records its load.
    b_delta = delta_of(Counter, b.pk)
    assert b_delta.action == UPDATE
    assert stored(b_delta)["value"][1] == 9
    assert not deltas_of(Counter, c.pk)
    assert list(Counter.objects.order_by("pk").values_list("value", flat=True)) == [
        9,
        9,
        3,
    ]


def test_bulk_update_of_instances_never_loaded_reads_the_old_values():
    a, b = counters(1, 2)
    unloaded = [Counter(pk=a.pk, value=10), Counter(pk=b.pk, value=2)]
    with Context():
        returned = Counter.objects.bulk_update(unloaded, ["value"])
    assert returned == 2
    assert stored(delta_of(Counter, a.pk)) == {"value": (1, 10)}
    assert not deltas_of(Counter, b.pk)


def test_bulk_update_of_several_fields_records_those_that_changed():
    comments = [Comment.objects.create(text=f"t{n}") for n in range(2)]
    comments = list(Comment.objects.order_by("pk"))
    comments[0].text = "changed"
    comments[1].is_marked_as_spam = True
    with Context():
        Comment.objects.bulk_update(comments, ["text", "is_marked_as_spam"])
    assert stored(delta_of(Comment, comments[0].pk)) == {"text": ("t0", "changed")}
    assert stored(delta_of(Comment, comments[1].pk)) == {
        "is_marked_as_spam": (False, True)
    }


def test_bulk_update_with_expressions_records_the_stored_value():
    a, b = counters(4, 5)
    objs = list(Counter.objects.order_by("pk"))
    for obj in objs:
        obj.value = F("value") + 100
    with Context():
        Counter.objects.bulk_update(objs, ["value"], batch_size=1)
    for counter, old in ((a, 4), (b, 5)):
        counter.refresh_from_db()
        assert counter.value == old + 100
        assert stored(delta_of(Counter, counter.pk)) == {"value": (old, old + 100)}


def test_bulk_update_of_a_foreign_key():
    old_shelf = Shelf.objects.create(name="old")
    new_shelf = Shelf.objects.create(name="new")
    book = Book.objects.create(title="b", shelf=old_shelf)
    book = Book.objects.get(pk=book.pk)
    book.shelf = new_shelf
    with Context():
        Book.objects.bulk_update([book], ["shelf"])
    assert stored(delta_of(Book, book.pk)) == {"shelf": (old_shelf.pk, new_shelf.pk)}


def test_bulk_update_then_save_compares_with_what_bulk_update_stored():
    (counter,) = counters(1)
    counter = Counter.objects.get(pk=counter.pk)
    with Context():
        counter.value = 2
        Counter.objects.bulk_update([counter], ["value"])
        counter.value = 3
        counter.save()
    deltas = deltas_of(Counter, counter.pk)
    assert [stored(d) for d in deltas] == [{"value": (1, 2)}, {"value": (2, 3)}]


def test_bulk_update_records_who_assigned_each_value():
    system_fix = User.objects.create(username="system")
    editor = User.objects.create(username="editor")
    comments = [Comment.objects.create(text=f"t{n}") for n in range(2)]
    comments = list(Comment.objects.order_by("pk"))
    with Context.via_actor(editor):
        comments[0].text = "by the editor"
        with Context.via_actor(system_fix):
            comments[1].text = "by the system"
        Comment.objects.bulk_update(comments, ["text"])
    first = delta_of(Comment, comments[0].pk).attribute_deltas.get()
    second = delta_of(Comment, comments[1].pk).attribute_deltas.get()
    assert first.actor == editor
    assert second.actor == system_fix
    assert delta_of(Comment, comments[1].pk).actor == editor


def test_bulk_update_with_the_same_row_twice_records_the_value_stored():
    counter = Counter.objects.create(value=1)
    first = Counter(pk=counter.pk, value=10)
    second = Counter(pk=counter.pk, value=20)
    with Context():
        Counter.objects.bulk_update([first, second], ["value"])
    value = Counter.objects.get(pk=counter.pk).value  # Django's CASE: first wins
    (delta,) = deltas_of(Counter, counter.pk)
    assert stored(delta) == {"value": (1, value)}


def test_bulk_update_of_a_missing_row_then_save_records_the_create():
    counter = Counter(pk=12345, value=5)
    with Context():
        assert Counter.objects.bulk_update([counter], ["value"]) == 0
        counter.save()  # Django inserts the row
    assert Counter.objects.filter(pk=12345).exists()
    assert [d.action for d in deltas_of(Counter, 12345)] == [CREATE]


def test_bulk_update_of_an_instance_whose_row_is_gone_records_nothing():
    counter = Counter.objects.create(value=1)
    pk = counter.pk
    Counter.objects.filter(pk=pk).delete()
    counter.value = 2
    with Context():
        assert Counter.objects.bulk_update([counter], ["value"]) == 0
    assert deltas_of(Counter, pk) == []


# Outside a context, and rollbacks ----------------------------------------------


def _run_bulk_operations():
    """Every bulk write once; what each returned, and what the rows hold."""
    shelf = Shelf.objects.create(name="s")
    created = Book.objects.bulk_create(
        [Book(title=f"b{n}", shelf=shelf) for n in range(3)]
    )
    updated = Book.objects.filter(title__in=["b0", "b1"]).update(title=Upper("title"))
    books = list(Book.objects.order_by("title"))
    for book in books:
        book.title = book.title + "!"
    bulk_updated = Book.objects.bulk_update(books, ["title"])
    counter_updates = Counter.objects.update(value=F("value") + 1)
    return (
        len(created),
        all(book.pk is not None for book in created),
        updated,
        bulk_updated,
        counter_updates,
        sorted(Book.objects.values_list("title", flat=True)),
        sorted(Counter.objects.values_list("value", flat=True)),
    )


def _outcome(mode):
    result = None
    try:
        with transaction.atomic():
            counters(1, 2)
            with mode:
                result = _run_bulk_operations()
            result = (result, nothing_recorded())
            raise Undo
    except Undo:
        pass
    return result


def test_outside_a_context_nothing_is_recorded_and_django_returns_the_same():
    untracked, empty = _outcome(Context.as_disabled())
    assert empty
    assert untracked == (
        3,
        True,
        2,
        3,
        2,
        ["B0!", "B1!", "b2!"],
        [2, 3],
    )
    assert _outcome(nullcontext()) == (untracked, True)
    tracked, tracked_empty = _outcome(Context())
    assert tracked == untracked
    assert not tracked_empty


def test_a_rolled_back_bulk_write_leaves_no_history():
    a, b = counters(1, 2)
    with Context(), pytest.raises(Undo), transaction.atomic():
        Counter.objects.update(value=F("value") + 10)
        Counter.objects.bulk_create([Counter(value=7)])
        raise Undo
    assert nothing_recorded()
    assert sorted(Counter.objects.values_list("value", flat=True)) == [1, 2]


def test_a_rolled_back_savepoint_drops_only_its_bulk_writes():
    a, b = counters(1, 2)
    with Context():
        Counter.objects.filter(pk=a.pk).update(value=100)
        with pytest.raises(Undo), transaction.atomic():
            Counter.objects.filter(pk=b.pk).update(value=200)
            Counter.objects.bulk_update([Counter(pk=a.pk, value=300)], ["value"])
            raise Undo
        Counter.objects.bulk_create([Counter(value=7)])
    assert Revision.objects.count() == 1
    assert stored(delta_of(Counter, a.pk)) == {"value": (1, 100)}
    assert not deltas_of(Counter, b.pk)
    (created,) = ObjectDelta.objects.filter(action=CREATE)
    assert stored(created) == {"value": (None, 7)}


# Writes Django refuses -----------------------------------------------------------


def _refused_writes():
    counter = Counter.objects.create(value=1)
    return {
        "bulk_create of a multi-table child": lambda: Restaurant.objects.bulk_create(
            [Restaurant(name="x")]
        ),
        "bulk_update of the primary key": lambda: Counter.objects.bulk_update(
            [counter], ["id"]
        ),
        "update of a sliced queryset": lambda: Counter.objects.all()[:1].update(
            value=2
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "bulk_create of a multi-table child",
        "bulk_update of the primary key",
        "update of a sliced queryset",
    ],
)
def test_a_write_django_refuses_leaves_the_transaction_usable_as_without_revy(name):
    for context in (Context.as_disabled, Context):
        with transaction.atomic():
            write = _refused_writes()[name]
            with context(), pytest.raises((ValueError, TypeError)):
                write()
            # Django refused before writing anything: the transaction goes on.
            assert Counter.objects.count() >= 1, context.__name__


# Query counts --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_update_of_2000_rows_takes_at_most_10_queries():
    Counter.objects.bulk_create(Counter(value=n) for n in range(2000))
    warm_content_types(Counter, Book, Shelf)
    with CaptureQueriesContext(connection) as queries, Context():
        returned = Counter.objects.update(value=F("value") + 1)
    assert returned == 2000
    assert len(queries) <= 10, [q["sql"][:100] for q in queries]
    assert Revision.objects.count() == 1
    assert ObjectDelta.objects.filter(action=UPDATE).count() == 2000
    assert AttributeDelta.objects.count() == 2000
    assert sorted((a.old_value, a.new_value) for a in AttributeDelta.objects.all()) == [
        (n, n + 1) for n in range(2000)
    ]


@pytest.mark.django_db(transaction=True)
def test_update_with_plain_values_of_2000_rows_takes_at_most_10_queries():
    shelf = Shelf.objects.create(name="s")
    Book.objects.bulk_create(Book(title=f"b{n}", shelf=shelf) for n in range(2000))
    warm_content_types(Counter, Book, Shelf)
    with CaptureQueriesContext(connection) as queries, Context():
        returned = Book.objects.update(title="same")
    assert returned == 2000
    assert len(queries) <= 10, [q["sql"][:100] for q in queries]
    assert ObjectDelta.objects.filter(action=UPDATE).count() == 2000


@pytest.mark.django_db(transaction=True)
def test_bulk_create_of_2000_rows_takes_few_queries_more_than_django():
    warm_content_types(Counter, Book, Shelf)
    with CaptureQueriesContext(connection) as untracked:
        Counter.objects.bulk_create(Counter(value=n) for n in range(2000))
    with CaptureQueriesContext(connection) as queries, Context():
        created = Counter.objects.bulk_create(Counter(value=n) for n in range(2000))
    assert len(created) == 2000
    # The revision, the object deltas and the attribute deltas, in batches.
    assert len(queries) <= len(untracked) + 6, [q["sql"][:100] for q in queries]
    assert len(queries) <= 12
    assert ObjectDelta.objects.filter(action=CREATE).count() == 2000
    assert AttributeDelta.objects.count() == 2000


@pytest.mark.django_db(transaction=True)
@override_settings(REVY_READ_BEFORE_SAVE=False)
def test_bulk_update_of_2000_rows_takes_few_queries_more_than_django():
    Counter.objects.bulk_create(Counter(value=n) for n in range(4000))
    warm_content_types(Counter, Book, Shelf)
    first, second = (
        list(Counter.objects.order_by("pk")[:2000]),
        list(Counter.objects.order_by("pk")[2000:]),
    )
    for obj in first + second:
        obj.value += 1
    with CaptureQueriesContext(connection) as untracked:
        Counter.objects.bulk_update(first, ["value"], batch_size=1000)
    with CaptureQueriesContext(connection) as queries, Context():
        returned = Counter.objects.bulk_update(second, ["value"], batch_size=1000)
    assert returned == 2000
    assert len(queries) <= len(untracked) + 6, [q["sql"][:100] for q in queries]
    assert len(queries) <= 12
    assert ObjectDelta.objects.filter(action=UPDATE).count() == 2000


@pytest.mark.django_db(transaction=True)
def test_bulk_update_of_2000_unloaded_instances_reads_old_values_in_batches():
    created = Counter.objects.bulk_create(Counter(value=0) for _ in range(4000))
    pks = [counter.pk for counter in created]
    warm_content_types(Counter, Book, Shelf)
    with CaptureQueriesContext(connection) as untracked:
        Counter.objects.bulk_update(
            [Counter(pk=pk, value=1) for pk in pks[:2000]], ["value"], batch_size=1000
        )
    with CaptureQueriesContext(connection) as queries, Context():
        Counter.objects.bulk_update(
            [Counter(pk=pk, value=1) for pk in pks[2000:]], ["value"], batch_size=1000
        )
    # One read of the old values, the revision, the object and attribute
    # deltas: a handful of queries, whatever the number of rows.
    assert len(queries) <= len(untracked) + 6, [q["sql"][:100] for q in queries]
    assert AttributeDelta.objects.filter(old_value=0, new_value=1).count() == 2000
