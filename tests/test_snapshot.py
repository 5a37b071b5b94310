"""ObjectSnapshot: issue 5, "ObjectSnapshot".

Snapshots rebuild model instances from attribute deltas in the one query
that loads the deltas. Every test reads history through the models in use
(``get_object_delta_model()`` and its twins), so the suite runs unchanged
with swapped history models (REVY_TEST_SWAPPED=1).
"""

import datetime
import decimal
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django.history import state_at
from revy.contrib.django.models import ObjectSnapshot

# The seed imports ObjectDelta from revy.contrib.django.models; with swapped
# history models that one is not in use, so the seed's name is bound to the
# model that is.
from tests.helpers import (
    AttributeDelta,
    ObjectDelta,
    Revision,
    User,
    history_counts,
    run_baseline,
)
from tests.testapp.models import Comment, Counter, EveryField, Place, Restaurant

pytestmark = pytest.mark.django_db


# Helpers ---------------------------------------------------------------------

EVERY_FIELD_ATTNAMES = [
    f.attname for f in EveryField._meta.concrete_fields if not f.primary_key
]


def flush_every_field_history():
    """Write pending history and cache the content type of EveryField, so
    that query counts below measure the reads only."""
    ObjectDelta.objects.exists()
    ContentType.objects.get_for_model(EveryField)


def comparable_values(instance):
    """``{attname: value}`` of an EveryField, in types that compare by value."""
    values = {}
    for attname in EVERY_FIELD_ATTNAMES:
        value = getattr(instance, attname)
        if attname == "binary" and value is not None:
            value = bytes(value)
        elif attname == "file":
            value = value.name
        values[attname] = value
    return values


def snapshots_of(model, obj):
    """The deltas of ``obj``, oldest first, each with its snapshot."""
    return list(
        ObjectDelta.objects.for_object(obj)
        .annotate(snapshot=ObjectSnapshot(model))
        .order_by("pk")
    )


UTC = datetime.UTC
TZ_PLUS_3 = datetime.timezone(datetime.timedelta(hours=3, minutes=30))
TZ_MINUS_11 = datetime.timezone(datetime.timedelta(hours=-11, minutes=-45))

# Values every database holds exactly; decimals within 15 significant digits,
# which is what SQLite keeps of a DecimalField.
FULL_VALUES = {
    "char": "héllo wörld ☃ 🐍 “quoted” \\ back'slash\"",
    "text": "line one\nline two\ttabbed\n\n" + "long " * 200,
    "slug": "a-slug_with-digits-123",
    "email": "someone@example.com",
    "url": "https://example.com/path?q=1&r=ü",
    "small": -32768,
    "integer": 2147483647,
    "big": 9223372036854775807,
    "positive_small": 32767,
    "positive": 2147483647,
    "positive_big": 9223372036854775807,
    "floating": 0.1 + 0.2,
    "decimal": decimal.Decimal("12345.6789012345"),
    "boolean": True,
    "date": datetime.date(1999, 12, 31),
    "datetime": datetime.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=TZ_PLUS_3),
    "time": datetime.time(13, 14, 15, 999999),
    "duration": datetime.timedelta(days=3, hours=4, seconds=5, microseconds=7),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "json": {"a": [1, 2.5, None, "x", True], "b": {"c": '"nested"'}, "d": ""},
    "binary": b"\x00\xff\x10binary\x00",
    "ip": "2001:db8::1",
    "file": "uploads/report.txt",
}

NEGATIVE_VALUES = {
    "char": "",
    "text": "",
    "slug": "",
    "email": "",
    "url": "",
    "small": 0,
    "integer": -2147483648,
    "big": -9223372036854775808,
    "positive_small": 0,
    "positive": 0,
    "positive_big": 0,
    "floating": -1.5e-300,
    "decimal": decimal.Decimal("-0.0000000001"),
    "boolean": False,
    "date": datetime.date(1000, 1, 1),
    "datetime": datetime.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=TZ_MINUS_11),
    "time": datetime.time(0, 0),
    "duration": -datetime.timedelta(days=1, microseconds=1),
    "uuid": uuid.UUID(int=0),
    "json": "just a string",
    "binary": b"",
    "ip": "10.0.0.1",
    "file": "",
}

NULL_VALUES = {
    "small": None,
    "integer": None,
    "big": None,
    "positive_small": None,
    "positive": None,
    "positive_big": None,
    "floating": None,
    "decimal": None,
    "boolean": None,
    "date": None,
    "datetime": None,
    "time": None,
    "duration": None,
    "uuid": None,
    "json": None,
    "binary": None,
    "ip": None,
}

JSON_SCALARS = [0, -7, 3.25, True, False, "", "null", [], {}, [[[]]]]


# The seed README's rollback example -------------------------------------------


DELETED_USER_ID = 1


def test_the_seed_readme_rollback_example_runs_as_written():
    with Context.via_revision_description("Sign up"):
        user = User.objects.create_user(
            id=DELETED_USER_ID,
            username="alice",
            email="alice@example.com",
            password="s3cret",
            first_name="Alice",
        )
    with Context.via_revision_description("Promote"):
        user.is_staff = True
        user.last_login = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
        user.save()
    stored = User.objects.values().get(pk=DELETED_USER_ID)
    with Context.via_revision_description("Close the account"):
        user.delete()
    assert not User.objects.filter(pk=DELETED_USER_ID).exists()

    with Context.via_revision_description("Roll the deletion back"):
        # The seed README, as written:
        object_delta = (
            ObjectDelta.objects.filter(
                action=ObjectDelta.ACTION_DELETE,
                content_type=ContentType.objects.get_for_model(User),
                content_id=DELETED_USER_ID,
            )
            .annotate(snapshot=ObjectSnapshot(User))
            .order_by(
                "-pk",
            )
            .first()
        )

        # object_delta.snapshot is an instance of User class.
        # And it is ready to be saved again, with the same ID if you don't change it.
        object_delta.snapshot.save()

    assert isinstance(object_delta.snapshot, User)
    assert User.objects.values().get(pk=DELETED_USER_ID) == stored
    restored = User.objects.get(pk=DELETED_USER_ID)
    assert restored.check_password("s3cret")
    # Recorded as a create, in the context that was current.
    latest = ObjectDelta.objects.for_object(restored).last()
    assert latest.action == ObjectDelta.ACTION_CREATE
    assert latest.revision.description == "Roll the deletion back"
    assert latest.revision == Revision.objects.latest("pk")
    created = {a.field_name: a.new() for a in latest.attribute_deltas.all()}
    assert created["username"] == "alice"
    assert created["is_staff"] is True
    assert created["last_login"] == stored["last_login"]


# One query ---------------------------------------------------------------------


def test_the_snapshot_of_one_delta_takes_one_query():
    with Context():
        obj = EveryField.objects.create(**FULL_VALUES)
    flush_every_field_history()
    queryset = ObjectDelta.objects.filter(
        content_type=ContentType.objects.get_for_model(EveryField),
        content_id=obj.pk,
    ).annotate(snapshot=ObjectSnapshot(EveryField))
    with CaptureQueriesContext(connection) as queries:
        delta = queryset.get()
        snapshot = delta.snapshot
        values = comparable_values(snapshot)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert values == comparable_values(EveryField.objects.get(pk=obj.pk))


def test_snapshots_of_a_whole_queryset_of_deltas_take_one_query():
    expected = {}
    with Context():
        objects = [
            EveryField.objects.create(integer=i, char=f"row {i}", json={"i": i})
            for i in range(40)
        ]
    flush_every_field_history()
    for obj in objects:
        expected[ObjectDelta.objects.for_object(obj).get().pk] = comparable_values(
            EveryField.objects.get(pk=obj.pk)
        )
    for i, obj in enumerate(objects[:20]):
        with Context():
            obj.integer = -i
            obj.decimal = decimal.Decimal(i) / 8
            obj.save()
        flush_every_field_history()
        expected[ObjectDelta.objects.for_object(obj).last().pk] = comparable_values(
            EveryField.objects.get(pk=obj.pk)
        )
    for obj in objects[30:]:
        before = comparable_values(EveryField.objects.get(pk=obj.pk))
        with Context():
            obj.delete()
        flush_every_field_history()
        delta = ObjectDelta.objects.filter(
            action=ObjectDelta.ACTION_DELETE,
            content_type=ContentType.objects.get_for_model(EveryField),
        ).latest("pk")
        expected[delta.pk] = before
    assert len(expected) == 70

    queryset = ObjectDelta.objects.filter(
        content_type=ContentType.objects.get_for_model(EveryField)
    ).annotate(snapshot=ObjectSnapshot(EveryField))
    with CaptureQueriesContext(connection) as queries:
        found = {delta.pk: comparable_values(delta.snapshot) for delta in queryset}
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert found == expected


def test_snapshots_are_none_free_of_pending_history_and_flush_it_first():
    # Deltas recorded in an open transaction are written before the read.
    with Context():
        obj = Counter.objects.create(value=5)
        delta = (
            ObjectDelta.objects.for_object(obj)
            .annotate(snapshot=ObjectSnapshot(Counter))
            .get()
        )
    assert delta.snapshot.value == 5
    assert delta.snapshot.pk == obj.pk


# Values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [FULL_VALUES, NEGATIVE_VALUES, NULL_VALUES, {}],
    ids=["full", "negative-and-empty", "nulls", "defaults"],
)
def test_every_field_comes_back_equal_to_what_was_saved(values):
    comment = Comment.objects.create(text="linked")
    place = Place.objects.create(name="linked")
    with Context():
        obj = EveryField.objects.create(**values, foreign=comment, one=place)
    saved = EveryField.objects.get(pk=obj.pk)
    (delta,) = snapshots_of(EveryField, obj)
    snapshot = delta.snapshot
    assert type(snapshot) is EveryField
    assert snapshot.pk == obj.pk
    assert snapshot.get_deferred_fields() == set()
    assert comparable_values(snapshot) == comparable_values(saved)
    assert snapshot.foreign_id == comment.pk
    assert snapshot.one_id == place.pk
    # Python types, not their JSON encodings.
    for attname in EVERY_FIELD_ATTNAMES:
        value, stored = getattr(snapshot, attname), getattr(saved, attname)
        if stored is None:
            assert value is None, attname
        elif attname == "json":
            assert type(value) is type(stored)
        elif attname in ("binary", "file"):
            continue
        else:
            assert type(value) is type(stored), attname
    if values is FULL_VALUES:
        assert snapshot.decimal == decimal.Decimal("12345.6789012345")
        assert snapshot.datetime == FULL_VALUES["datetime"]
        assert snapshot.datetime.microsecond == saved.datetime.microsecond == 123456
        assert snapshot.time == datetime.time(13, 14, 15, 999999)
        assert snapshot.duration == FULL_VALUES["duration"]
        assert snapshot.json == FULL_VALUES["json"]
        assert bytes(snapshot.binary) == FULL_VALUES["binary"]
        assert snapshot.big == 9223372036854775807


@pytest.mark.parametrize("value", JSON_SCALARS, ids=repr)
def test_json_values_are_not_encoded_twice(value):
    with Context():
        obj = EveryField.objects.create(json=value)
    snapshot = snapshots_of(EveryField, obj)[0].snapshot
    assert snapshot.json == EveryField.objects.get(pk=obj.pk).json == value
    assert type(snapshot.json) is type(value)


def test_each_delta_gives_the_state_right_after_it():
    observed = []
    with Context():
        obj = EveryField.objects.create(**FULL_VALUES)
    observed.append(comparable_values(EveryField.objects.get(pk=obj.pk)))
    for field, value in NEGATIVE_VALUES.items():
        with Context():
            setattr(obj, field, value)
            obj.save()
        observed.append(comparable_values(EveryField.objects.get(pk=obj.pk)))
    with Context():
        obj.char = "partly"
        obj.save(update_fields=["char"])
    observed.append(comparable_values(EveryField.objects.get(pk=obj.pk)))
    deltas = snapshots_of(EveryField, obj)
    assert len(deltas) == len(observed)
    assert [comparable_values(d.snapshot) for d in deltas] == observed


def test_a_snapshot_of_a_delete_delta_is_the_state_right_before_the_delete():
    with Context():
        obj = EveryField.objects.create(**FULL_VALUES)
    with Context():
        obj.integer = 7
        obj.json = ["changed"]
        obj.save()
    before = comparable_values(EveryField.objects.get(pk=obj.pk))
    pk = obj.pk
    with Context():
        obj.delete()
    deltas = list(
        ObjectDelta.objects.for_key(EveryField, pk).annotate(
            snapshot=ObjectSnapshot(EveryField)
        )
    )
    assert [d.action for d in deltas] == ["create", "update", "delete"]
    assert comparable_values(deltas[-1].snapshot) == before
    assert deltas[-1].snapshot.pk == pk
    assert deltas[-1].snapshot.integer == 7


def test_none_is_stored_as_json_null_and_a_missing_side_as_sql_null():
    with Context():
        obj = EveryField.objects.create(integer=None, small=3)
    with Context():
        obj.small = None
        obj.save()
    pk = obj.pk
    with Context():
        obj.delete()
    rows = AttributeDelta.objects.filter(
        content_type=ContentType.objects.get_for_model(EveryField), content_id=str(pk)
    )

    def sql_nulls(action, field_name):
        """(old is SQL NULL, new is SQL NULL): isnull tells them from JSON null."""
        row = rows.filter(object_delta__action=action, field_name=field_name)
        assert row.count() == 1
        return (
            row.filter(old_value__isnull=True).exists(),
            row.filter(new_value__isnull=True).exists(),
        )

    assert sql_nulls("create", "integer") == (True, False)
    assert sql_nulls("update", "small") == (False, False)
    assert sql_nulls("delete", "small") == (False, True)
    assert (
        rows.get(object_delta__action="create", field_name="integer").new_value is None
    )
    assert rows.get(object_delta__action="update").new_value is None


def test_attribute_deltas_repeat_the_target_of_their_object_delta():
    with Context():
        obj = EveryField.objects.create(**FULL_VALUES)
        Counter.objects.create(value=1)
    rows = AttributeDelta.objects.select_related("object_delta")
    assert rows.count() > len(FULL_VALUES)
    for row in rows:
        assert row.content_type_id == row.object_delta.content_type_id
        assert row.content_id == row.object_delta.content_id
    assert rows.filter(content_id=str(obj.pk)).exists()


def test_snapshots_tell_a_value_set_to_none_from_a_value_never_recorded():
    with Context():
        obj = EveryField.objects.create(**FULL_VALUES)
    with Context():
        obj.integer = None
        obj.save()
    pk = obj.pk
    with Context():
        obj.delete()
    created, updated, deleted = ObjectDelta.objects.for_key(EveryField, pk).annotate(
        snapshot=ObjectSnapshot(EveryField)
    )
    assert created.snapshot.integer == FULL_VALUES["integer"]
    for delta in (updated, deleted):
        assert "integer" in delta.snapshot.__dict__  # loaded, not deferred
        assert delta.snapshot.integer is None


def test_a_snapshot_is_unsaved_and_saving_it_restores_the_row_with_its_pk():
    with Context():
        obj = EveryField.objects.create(**FULL_VALUES)
    saved = comparable_values(EveryField.objects.get(pk=obj.pk))
    pk = obj.pk
    with Context():
        obj.delete()
    delta = (
        ObjectDelta.objects.for_key(EveryField, pk)
        .annotate(snapshot=ObjectSnapshot(EveryField))
        .last()
    )
    assert delta.action == ObjectDelta.ACTION_DELETE
    assert delta.snapshot._state.adding is True
    with Context.via_revision_description("Undelete"):
        delta.snapshot.save()
    assert comparable_values(EveryField.objects.get(pk=pk)) == saved
    latest = ObjectDelta.objects.for_key(EveryField, pk).last()
    assert latest.action == ObjectDelta.ACTION_CREATE
    assert latest.revision.description == "Undelete"


def test_snapshots_follow_the_deltas_of_their_own_object_only():
    with Context():
        first = Counter.objects.create(value=1)
        second = Counter.objects.create(value=2)
    with Context():
        first.value = 10
        first.save()
    with Context():
        second.value = 20
        second.save()
    values = [
        (d.content_id, d.snapshot.value)
        for d in ObjectDelta.objects.filter(
            content_type=ContentType.objects.get_for_model(Counter)
        )
        .order_by("pk")
        .annotate(snapshot=ObjectSnapshot(Counter))
    ]
    assert values == [
        (str(first.pk), 1),
        (str(second.pk), 2),
        (str(first.pk), 10),
        (str(second.pk), 20),
    ]


def test_snapshots_in_a_subquery_and_beside_a_join_follow_their_delta():
    """Inside a subquery Django renames the tables of the deltas' query (U0,
    U1...), and a join brings the attribute deltas' table into it: each
    snapshot still reads the values of its own delta."""
    with Context():
        counter = Counter.objects.create(value=1)
    with Context():
        counter.value = 2
        counter.save()
    latest = (
        ObjectDelta.objects.filter(revision=OuterRef("pk"))
        .annotate(snapshot=ObjectSnapshot(Counter))
        .values("snapshot")[:1]
    )
    revisions = Revision.objects.order_by("pk").annotate(
        state=Subquery(latest, output_field=latest.query.output_field)
    )
    assert [r.state.value for r in revisions] == [1, 2]
    joined = (
        ObjectDelta.objects.filter(attribute_deltas__field_name="value")
        .order_by("pk")
        .annotate(snapshot=ObjectSnapshot(Counter))
    )
    assert [d.snapshot.value for d in joined] == [1, 2]


# Fields history never saw ----------------------------------------------------------


def untracked_row():
    """A row written before tracking: no history at all."""
    with Context.as_disabled():
        return EveryField.objects.create(**FULL_VALUES)


def test_fields_history_never_saw_are_deferred_and_read_live():
    obj = untracked_row()
    assert not ObjectDelta.objects.for_object(obj).exists()
    with Context():
        obj.integer = 42
        obj.save()
    (delta,) = snapshots_of(EveryField, obj)
    snapshot = delta.snapshot
    assert delta.action == ObjectDelta.ACTION_UPDATE
    assert snapshot.get_deferred_fields() == set(EVERY_FIELD_ATTNAMES) - {"integer"}
    assert snapshot.__dict__["integer"] == 42
    assert "char" not in snapshot.__dict__

    # While the row exists, reading a deferred field loads its live value.
    with Context.as_disabled():
        EveryField.objects.filter(pk=obj.pk).update(char="changed since")
    with CaptureQueriesContext(connection) as queries:
        assert snapshot.char == "changed since"
    assert len(queries) == 1
    assert snapshot.integer == 42  # What history knows is not reloaded.
    assert snapshot.decimal == FULL_VALUES["decimal"]

    # Once the row is gone there is nothing live to read.
    gone = snapshots_of(EveryField, obj)[0].snapshot
    with Context.as_disabled():
        EveryField.objects.filter(pk=obj.pk).delete()
    with pytest.raises(EveryField.DoesNotExist):
        gone.text  # noqa: B018


def test_a_delete_records_every_field_even_of_rows_history_never_saw():
    obj = untracked_row()
    saved = comparable_values(EveryField.objects.get(pk=obj.pk))
    pk = obj.pk
    with Context():
        obj.delete()
    (delta,) = ObjectDelta.objects.for_key(EveryField, pk).annotate(
        snapshot=ObjectSnapshot(EveryField)
    )
    assert delta.action == ObjectDelta.ACTION_DELETE
    assert delta.snapshot.get_deferred_fields() == set()
    assert comparable_values(delta.snapshot) == saved


# Snapshots after revy_baseline --------------------------------------------------


def test_after_revy_baseline_every_field_is_known():
    obj = untracked_row()
    saved = comparable_values(EveryField.objects.get(pk=obj.pk))
    output = run_baseline()
    assert "testapp.EveryField: 1 rows recorded" in output

    baseline = ObjectDelta.objects.for_object(obj).get()
    assert baseline.action == ObjectDelta.ACTION_BASELINE
    assert baseline.revision.description != ""
    snapshot = state_at(EveryField, obj.pk)
    assert snapshot.get_deferred_fields() == set()
    assert comparable_values(snapshot) == saved

    with Context():
        obj.integer = 42
        obj.save()
    (_, update) = snapshots_of(EveryField, obj)
    assert update.snapshot.get_deferred_fields() == set()
    assert comparable_values(update.snapshot) == {**saved, "integer": 42}


def test_revy_baseline_leaves_rows_with_history_alone():
    with Context():
        tracked = Counter.objects.create(value=1)
    with Context.as_disabled():
        untracked = Counter.objects.create(value=2)
    run_baseline("testapp.Counter")
    assert [d.action for d in ObjectDelta.objects.for_object(tracked)] == ["create"]
    assert [d.action for d in ObjectDelta.objects.for_object(untracked)] == ["baseline"]
    assert state_at(Counter, untracked.pk).value == 2


def test_running_revy_baseline_twice_adds_nothing():
    untracked_row()
    untracked_row()
    with Context.as_disabled():
        Counter.objects.create(value=3)
    run_baseline()
    after_first = history_counts()
    assert after_first[1] >= 3
    output = run_baseline()
    assert history_counts() == after_first
    assert "testapp.EveryField: 0 rows recorded" in output


def test_a_snapshot_for_few_rows_is_the_snapshot_for_many():
    """``few_rows`` writes the lookups as one subquery over the field names
    where the database plans that faster (PostgreSQL): the same values, the
    same fields deferred, for every kind of delta."""
    older = untracked_row()  # A field history never saw, one seen later.
    with Context():
        older.integer = 42
        older.save()
    with Context():
        recorded = EveryField.objects.create(**FULL_VALUES)
    with Context():
        recorded.char = "changed"
        recorded.text = None if EveryField._meta.get_field("text").null else ""
        recorded.save()
    deleted = EveryField(pk=recorded.pk)
    with Context():
        recorded.delete()
    with Context():
        place = Place.objects.create(name="p")
    # A multi-table child: its fields recorded under two content types.
    with Context():
        restaurant = Restaurant.objects.create(name="r", serves_pizza=True)
    with Context():
        Place.objects.filter(pk=restaurant.pk).first().save()

    def compared(model, obj, **options):
        return [
            (
                delta.pk,
                delta.snapshot.get_deferred_fields(),
                {
                    attname: value
                    for attname, value in delta.snapshot.__dict__.items()
                    if not attname.startswith("_")
                },
            )
            for delta in ObjectDelta.objects.for_object(obj)
            .annotate(snapshot=ObjectSnapshot(model, **options))
            .order_by("pk")
        ]

    for model, obj in [
        (EveryField, older),
        (EveryField, deleted),
        (Place, place),
        (Restaurant, restaurant),
        (Place, restaurant),
    ]:
        many = compared(model, obj)
        assert many, (model, obj)
        assert compared(model, obj, few_rows=True) == many
        assert compared(model, obj, few_rows=True, raw_values=True) == compared(
            model, obj, raw_values=True
        )
    few = ObjectDelta.objects.annotate(
        snapshot=ObjectSnapshot(EveryField, few_rows=True)
    )
    assert ("string_agg" in str(few.query)) is (connection.vendor == "postgresql")
