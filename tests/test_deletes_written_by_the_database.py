"""Deletes by filter with their history written by the database in SQL.

What ``Collector.delete`` deletes without loading it (a ``QuerySet.delete()``
of rows nothing refers to, a cascade's rows of such a model) is deleted by
revy with its history: a delete delta per row with every field's last value,
stored as revy's Python stores it, caused by the delete of the row its
foreign key points at. The statements do not grow with the rows, and the
history goes with the data's transaction, seals included. What the
database cannot write takes the Python path, recorded the same way.
"""

import datetime
import json
import uuid

import pytest
from django.db import connection, transaction
from django.db.models.signals import pre_delete
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django.exceptions import EncodingError
from revy.contrib.django.verifying import verify
from tests.field_values import IN_PYTHON, field_cases, same
from tests.helpers import (
    DELETE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    ct,
    delta_of,
    rewriting_history,
    stored,
    warm_content_types,
)
from tests.testapp.models import (
    Album,
    CodeItem,
    CodeItemPart,
    ColumnKeyItem,
    Comment,
    Counter,
    Editor,
    EveryField,
    Note,
    Photo,
    Place,
    Shelf,
    UUIDItem,
    UUIDItemPart,
)

pytestmark = pytest.mark.django_db

# EveryField's fields that some database's SQL cannot encode, left out of
# history, so that the others can be deleted in SQL on every database.
ENCODABLE_ONLY = {"testapp.EveryField": sorted(IN_PYTHON)}


def _delete(queryset, in_sql, settings):
    """Delete the rows of ``queryset`` in a context, the history written in
    SQL or not; whether SQL wrote it."""
    settings.REVY_HISTORY_IN_SQL = in_sql
    with CaptureQueriesContext(connection) as queries, Context():
        queryset.delete()
    return _by_sql(queries)


def _by_sql(queries):
    # The rows deleted go through a CTE or a temporary table of revy's.
    return any("revy_changed" in query["sql"] for query in queries)


def _last_values(model, pk):
    """``{field name: (old value, new value)}`` of the delete of ``pk``."""
    delta = ObjectDelta.objects.get(
        content_type=ct(model), content_id=str(pk), action=DELETE
    )
    return {
        a.field_name: (a.old_value, a.new_value) for a in delta.attribute_deltas.all()
    }


# Values ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), list(field_cases()))
def test_every_field_is_stored_by_sql_as_python_stores_it(name, value, settings):
    settings.REVY_EXCLUDED_FIELDS = {} if name in IN_PYTHON else ENCODABLE_ONLY
    by_sql, by_python = (EveryField.objects.create(**{name: value}) for _ in range(2))

    assert _delete(EveryField.objects.filter(pk=by_sql.pk), True, settings)
    assert not _delete(EveryField.objects.filter(pk=by_python.pk), False, settings)

    in_sql = _last_values(EveryField, by_sql.pk)
    assert in_sql == _last_values(EveryField, by_python.pk)
    assert all(new is None for _, new in in_sql.values())
    [attribute] = AttributeDelta.objects.filter(
        content_id=str(by_sql.pk), field_name=name
    )
    assert same(attribute.old(), EveryField._meta.get_field(name).to_python(value))


@pytest.mark.parametrize("model", [Comment, Place])
def test_a_foreign_key_is_stored_as_the_key_it_holds(model, settings):
    settings.REVY_EXCLUDED_FIELDS = ENCODABLE_ONLY
    target = model.objects.create()
    name = "foreign" if model is Comment else "one"
    row = EveryField.objects.create(**{name: target})
    assert _delete(EveryField.objects.filter(pk=row.pk), True, settings)
    assert _last_values(EveryField, row.pk)[name] == (target.pk, None)


@pytest.mark.parametrize("model", [UUIDItem, CodeItem, ColumnKeyItem])
def test_rows_are_recorded_by_keys_of_every_kind(model, settings):
    keys = {"number": 7} if model is ColumnKeyItem else {}
    if model is CodeItem:
        keys = {"code": "a-code"}
    row = model.objects.create(name="gone", **keys)
    assert _delete(model.objects.all(), True, settings)
    assert _last_values(model, row.pk) == {"name": ("gone", None)}
    assert not model.objects.exists()


@pytest.mark.parametrize("in_sql", [True, False])
def test_a_row_with_no_field_recorded_is_recorded_deleted(in_sql, settings):
    settings.REVY_EXCLUDED_FIELDS = {"testapp.Counter": ["value"]}
    counter = Counter.objects.create(value=1)
    assert _delete(Counter.objects.all(), in_sql, settings) == in_sql
    assert _last_values(Counter, counter.pk) == {}


def test_a_filter_that_matches_nothing_by_itself_deletes_nothing(settings):
    with Context():
        Counter.objects.create(value=1)  # Its history waits for the commit.
        with CaptureQueriesContext(connection) as queries:
            assert Counter.objects.filter(pk__in=[]).delete() == (0, {})
    assert not queries
    assert Counter.objects.exists()
    assert not ObjectDelta.objects.filter(action=DELETE).exists()


def test_a_value_python_cannot_encode_leaves_the_rows_in_place(settings):
    settings.REVY_VALUE_ENCODER = "tests.field_values.RefusingOne"
    for n in (12, 13):
        EveryField.objects.create(time=datetime.time(n))
    with transaction.atomic():
        with pytest.raises(EncodingError, match="EveryField.time"), Context():
            EveryField.objects.all().delete()
        # The rows may have been deleted before Python encoded their values:
        # this transaction cannot commit that without their history.
        assert transaction.get_rollback()
    assert sorted(EveryField.objects.values_list("time", flat=True)) == [
        datetime.time(12),
        datetime.time(13),
    ]
    assert not ObjectDelta.objects.exists()


def test_a_masked_field_is_stored_as_its_marker(settings):
    settings.REVY_MASKED_FIELDS = {"testapp.Photo": ["caption"]}
    photo = Photo.objects.create(album=Album.objects.create(), caption="secret")
    assert _delete(Photo.objects.all(), True, settings)
    old, new = _last_values(Photo, photo.pk)["caption"]
    assert new is None
    assert "secret" not in json.dumps(old)


# Cascades ---------------------------------------------------------------------


@pytest.mark.parametrize("in_sql", [True, False])
def test_a_cascades_rows_are_caused_by_the_delete_of_the_row_they_point_at(
    in_sql, settings
):
    albums = [Album.objects.create(title=f"a{n}") for n in range(2)]
    photos = [
        Photo.objects.create(album=album, caption=f"p{n}")
        for album in albums
        for n in range(2)
    ]
    settings.REVY_HISTORY_IN_SQL = in_sql
    with CaptureQueriesContext(connection) as queries, Context():
        assert Album.objects.all().delete() == (
            6,
            {"testapp.Album": 2, "testapp.Photo": 4},
        )
    assert _by_sql(queries) == in_sql
    [revision] = Revision.objects.all()
    for photo in photos:
        delta = delta_of(Photo, photo.pk, DELETE)
        assert delta.revision == revision
        assert delta.cause == delta_of(Album, photo.album_id, DELETE)
        assert stored(delta) == {
            "album": (photo.album_id, None),
            "caption": (photo.caption, None),
        }
    # Causes first: each album's delete before its photos'.
    assert ObjectDelta.objects.order_by("pk").first().content_type == ct(Album)


def _cascade_from(parent, child, keys):
    """Delete a ``parent`` row of each key of ``keys`` (None: keys of the
    database's), each with a ``child`` row, in a context; the queries."""
    parents = parent.objects.bulk_create(
        parent(**({} if key is None else {"pk": key})) for key in keys
    )
    child.objects.bulk_create(child(**{_PARENT[child]: p}) for p in parents)
    with CaptureQueriesContext(connection) as queries, Context():
        parent.objects.all().delete()
    for delta in ObjectDelta.objects.filter(content_type=ct(child)):
        assert delta.cause.content_id == str(stored(delta)[_PARENT[child]][0])
    assert ObjectDelta.objects.filter(cause=None).count() == len(keys)
    assert not child.objects.exists()
    return queries


_PARENT = {Photo: "album", UUIDItemPart: "item", CodeItemPart: "item"}


@pytest.mark.parametrize(
    ("parent", "child", "key"),
    [(Album, Photo, lambda n: None), (UUIDItem, UUIDItemPart, lambda n: uuid.uuid4())],
    ids=["integer_keys", "uuid_keys"],
)
def test_a_cascade_from_more_rows_than_a_case_holds_finds_its_causes_in_a_table(
    parent, child, key
):
    # Beyond 100 rows pointed at, their keys and deltas' keys are staged.
    queries = _cascade_from(parent, child, [key(n) for n in range(101)])
    assert _by_sql(queries)
    assert any("revy_causes_" in query["sql"] for query in queries)


def test_a_cascade_from_more_rows_than_a_case_holds_by_text_keys_takes_python():
    # A temporary table's text may compare otherwise than the key's column.
    queries = _cascade_from(CodeItem, CodeItemPart, [f"c{n}" for n in range(101)])
    assert not _by_sql(queries)


def test_a_cascade_from_few_rows_finds_its_causes_without_a_table():
    queries = _cascade_from(Album, Photo, [None] * 100)
    assert _by_sql(queries)
    assert not any("revy_causes_" in query["sql"] for query in queries)


@pytest.mark.parametrize("in_sql", [True, False])
def test_a_set_null_records_no_update_of_a_row_the_delete_removed(in_sql, settings):
    """Deleting a shelf deletes its notes by filter and sets the editor of
    its editors' notes: a note deleted is not recorded as set as well."""
    shelf = Shelf.objects.create(name="shelf")
    editor = Editor.objects.create(name="ed", shelf=shelf)
    gone = Note.objects.create(shelf=shelf, editor=editor, text="gone")
    elsewhere = Note.objects.create(
        shelf=Shelf.objects.create(name="other"), editor=editor, text="kept"
    )
    settings.REVY_HISTORY_IN_SQL = in_sql
    with CaptureQueriesContext(connection) as queries, Context():
        shelf.delete()
    assert _by_sql(queries) == in_sql
    assert stored(delta_of(Note, gone.pk, DELETE))["editor"] == (editor.pk, None)
    assert not ObjectDelta.objects.filter(
        content_type=ct(Note), content_id=str(gone.pk), action=UPDATE
    ).exists()
    set_null = delta_of(Note, elsewhere.pk, UPDATE)
    assert stored(set_null) == {"editor": (editor.pk, None)}
    assert set_null.cause == delta_of(Editor, editor.pk, DELETE)


@pytest.mark.parametrize("in_sql", [True, False])
def test_the_rows_are_recorded_as_the_delete_signals_receivers_left_them(
    in_sql, settings
):
    """Django deletes a cascade's rows after the receivers of its delete
    signals ran: what they changed is what is deleted, and recorded."""
    album = Album.objects.create(title="trip")
    photo = Photo.objects.create(album=album, caption="before")

    def rename(instance, **kwargs):
        instance.photos.update(caption="renamed by a receiver")

    pre_delete.connect(rename, sender=Album)
    try:
        settings.REVY_HISTORY_IN_SQL = in_sql
        with CaptureQueriesContext(connection) as queries, Context():
            album.delete()
    finally:
        pre_delete.disconnect(rename, sender=Album)
    assert _by_sql(queries) == in_sql
    assert stored(delta_of(Photo, photo.pk, DELETE))["caption"] == (
        "renamed by a receiver",
        None,
    )
    update = delta_of(Photo, photo.pk, UPDATE)
    assert update.pk < delta_of(Photo, photo.pk, DELETE).pk


# One revision, written only with a change; the data's transaction ------------


def test_the_statements_do_not_grow_with_the_rows():
    warm_content_types(Counter)
    counts = []
    for rows in (10, 1000):
        Counter.objects.bulk_create(Counter(value=n) for n in range(rows))
        with CaptureQueriesContext(connection) as queries, Context():
            assert Counter.objects.all().delete() == (rows, {"testapp.Counter": rows})
        assert _by_sql(queries)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    revision = Revision.objects.last()
    assert sorted(
        AttributeDelta.objects.filter(object_delta__revision=revision).values_list(
            "old_value", "new_value"
        )
    ) == [(n, None) for n in range(1000)]


@pytest.mark.parametrize("in_your_transaction", [False, True])
def test_a_delete_that_matches_no_row_writes_no_revision(in_your_transaction):
    Counter.objects.create(value=1)
    with Context(), transaction.atomic(durable=not in_your_transaction):
        assert Counter.objects.filter(value=2).delete() == (0, {})
    assert not Revision.objects.exists()


def test_history_recorded_before_the_delete_comes_first_and_after_it_last():
    counters = Counter.objects.bulk_create(Counter(value=n) for n in range(3))
    with Context(), transaction.atomic():
        Counter.objects.create(value=10)
        Counter.objects.filter(value__lt=3).delete()
        Counter.objects.create(value=20)
    deltas = list(ObjectDelta.objects.order_by("pk"))
    assert [d.action for d in deltas] == ["create", *["delete"] * 3, "create"]
    assert [int(d.content_id) for d in deltas[1:4]] == [c.pk for c in counters]
    assert ObjectDelta.objects.values("revision").distinct().count() == 1


def test_a_rolled_back_savepoint_takes_the_delete_and_its_history():
    counter = Counter.objects.create(value=1)
    with Context(), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            Counter.objects.all().delete()
            raise RuntimeError
        assert Counter.objects.filter(pk=counter.pk).exists()
        Counter.objects.all().delete()
    assert not Counter.objects.exists()
    assert list(AttributeDelta.objects.values_list("old_value", "new_value")) == [
        (1, None)
    ]
    assert Revision.objects.count() == 1


def test_attribution_is_the_contexts():
    actor = Comment.objects.create(text="the actor")
    counter = Counter.objects.create(value=1)
    with Context.via(
        actor=actor,
        object_delta_description="object",
        attribute_delta_description="attribute",
        deletion_description="gone",
    ):
        Counter.objects.all().delete()
    delta = ObjectDelta.objects.get()
    attribute = AttributeDelta.objects.get()
    assert (delta.actor, delta.description, delta.deletion_description) == (
        actor,
        "object",
        "gone",
    )
    assert delta.content_id == str(counter.pk)
    assert (attribute.actor, attribute.description) == (actor, "attribute")
    assert (attribute.content_type, attribute.content_id) == (
        delta.content_type,
        delta.content_id,
    )


@pytest.mark.django_db(transaction=True)
def test_history_written_by_the_database_is_sealed(settings):
    settings.REVY_TAMPER_EVIDENCE = True
    settings.REVY_INTEGRITY_KEY = "k" * 40
    Counter.objects.bulk_create(Counter(value=n) for n in range(5))
    with Context(), transaction.atomic():
        Counter.objects.create(value=100)  # Written by revy's Python.
        Counter.objects.filter(value__lt=5).delete()
    report = verify()
    assert report.seals == 1
    assert not report.problems
    with rewriting_history():
        AttributeDelta.objects.filter(old_value=3).update(old_value=4)
    assert verify().problems
