"""History read back equals history lived: issue 5, "Tests", property-based.

A hypothesis state machine drives random sequences of creates, updates and
deletes of EveryField (a field of every built-in type, a foreign key whose
target is deleted with SET_NULL, a one-to-one), of comments, articles and
tags, of many-to-many changes from either side, and of reverts of the newest
revision. Each operation runs in a context of its own: one revision.

Right after each operation the state of every row is read from the database.
Then:

- the snapshot (``ObjectSnapshot``) at every new object delta equals the state
  observed right after the operation (for a delete delta: right before it),
  and the many-to-many members at that delta (``members_as_of``) equal the
  members observed;
- every snapshot checked so far still does, whatever was recorded since;
- reverting the newest revision brings back the state observed before it.

Each example runs in a savepoint that is rolled back after it, inside the
test's transaction, so examples never see each other's rows.
"""

import datetime
import decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.fields.files import FieldFile
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from revy import Context
from revy.contrib.django.history import members_as_of
from revy.contrib.django.models import ObjectSnapshot
from tests.helpers import ObjectDelta, Revision
from tests.testapp.models import Article, Comment, EveryField, Place, Tag

pytestmark = pytest.mark.django_db


MODELS = (EveryField, Comment, Article, Tag)
# Many-to-many relations whose members are checked, by model.
RELATIONS = {Article: "tags", Tag: "articles"}
Membership = Article.tags.through


# Values every database stores exactly ---------------------------------------------

# No NUL (PostgreSQL refuses it in text) and no lone surrogates.
text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=30,
)
offsets = st.integers(-12 * 4, 14 * 4).map(
    lambda quarters: datetime.timezone(datetime.timedelta(minutes=15 * quarters))
)
# Up to 15 significant digits (what SQLite keeps), at most 10 before the point.
decimals = st.builds(
    lambda digits, places: decimal.Decimal(digits).scaleb(-places),
    st.integers(-(10**15) + 1, 10**15 - 1),
    st.integers(5, 10),
)
# IPv6 addresses whose text PostgreSQL's inet gives back unchanged: not with
# 80 leading zero bits, which it writes with a dotted IPv4 tail.
ipv6 = st.ip_addresses(v=6).filter(lambda a: int(a) >> 48 != 0)
ip_addresses = st.one_of(st.ip_addresses(v=4), ipv6).map(str)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
    | text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3)
    ),
    max_leaves=6,
)


def nullable(strategy):
    return st.none() | strategy


EVERY_FIELD_VALUES = {
    "char": text,
    "text": st.text(
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
        max_size=200,
    ),
    "slug": st.from_regex(r"[-a-zA-Z0-9_]{0,50}", fullmatch=True),
    "email": st.emails().filter(lambda e: len(e) <= 254) | st.just(""),
    "url": st.from_regex(
        r"https://[a-z]{1,20}\.example/[a-z0-9/]{0,30}", fullmatch=True
    ),
    "small": nullable(st.integers(-(2**15), 2**15 - 1)),
    "integer": nullable(st.integers(-(2**31), 2**31 - 1)),
    "big": nullable(st.integers(-(2**63), 2**63 - 1)),
    "positive_small": nullable(st.integers(0, 2**15 - 1)),
    "positive": nullable(st.integers(0, 2**31 - 1)),
    "positive_big": nullable(st.integers(0, 2**63 - 1)),
    "floating": nullable(
        st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
    ),
    "decimal": nullable(decimals),
    "boolean": nullable(st.booleans()),
    "date": nullable(st.dates(datetime.date(1000, 1, 1), datetime.date(9999, 12, 31))),
    "datetime": nullable(
        st.datetimes(
            datetime.datetime(1900, 1, 1),
            datetime.datetime(2100, 1, 1),
            timezones=offsets,
        )
    ),
    "time": nullable(st.times()),
    "duration": nullable(
        st.timedeltas(
            datetime.timedelta(days=-100_000), datetime.timedelta(days=100_000)
        )
    ),
    # MariaDB's uuid column refuses some non-RFC 4122 values.
    "uuid": nullable(st.uuids(version=4)),
    "json": json_values,
    "binary": nullable(st.binary(max_size=32)),
    "ip": nullable(ip_addresses),
    "file": st.just("")
    | st.from_regex(r"[a-z]{1,10}/[a-z0-9_]{1,20}\.txt", fullmatch=True),
    # Indexes into the comments and places that exist; out of range: None.
    "foreign": st.integers(0, 4),
    "one": st.integers(0, 4),
}
every_field_values = st.fixed_dictionaries(EVERY_FIELD_VALUES)
some_every_field_values = st.fixed_dictionaries({}, optional=EVERY_FIELD_VALUES)
indexes = st.integers(0, 100)


# Observed state -------------------------------------------------------------------


def row_state(model, obj):
    """``{attname: value}`` of a row, in types that compare by value."""
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(obj, field.attname)
        if isinstance(value, FieldFile):
            value = value.name
        elif isinstance(value, memoryview | bytearray):
            value = bytes(value)
        values[field.attname] = value
    return values


def read_world():
    """Every row of the models under test, and every article-tag membership."""
    rows = {
        (model, obj.pk): row_state(model, obj)
        for model in MODELS
        for obj in model.objects.all()
    }
    members = frozenset(Membership.objects.values_list("article_id", "tag_id"))
    return rows, members


def members_of(world, model, pk):
    _rows, members = world
    if model is Article:
        return {tag for article, tag in members if article == pk}
    return {article for article, tag in members if tag == pk}


def newest_revision_pk():
    return Revision.objects.order_by("-pk").values_list("pk", flat=True).first()


# The machine ----------------------------------------------------------------------


class History(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.world = read_world()
        self.last_delta_pk = (
            ObjectDelta.objects.order_by("-pk").values_list("pk", flat=True).first()
            or 0
        )
        # {object delta pk: the state its snapshot must give}
        self.expected = {model: {} for model in MODELS}
        # (revision pk, world before it), newest last.
        self.revisions = []
        self.failed = False

    def teardown(self):
        try:
            if not self.failed:
                self.check_every_snapshot_again()
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    def check_every_snapshot_again(self):
        """What was recorded later changed no snapshot checked before."""
        for model, expected in self.expected.items():
            if not expected:
                continue
            found = {
                delta.pk: row_state(model, delta.snapshot)
                for delta in ObjectDelta.objects.filter(pk__in=expected).annotate(
                    snapshot=ObjectSnapshot(model)
                )
            }
            assert found == expected, model

    # Helpers

    def pks(self, model):
        return sorted(pk for (m, pk) in self.world[0] if m is model)

    def pick(self, model, index):
        pks = self.pks(model)
        return pks[index % len(pks)]

    def links(self, values, pk):
        """Turn the indexes of ``foreign`` and ``one`` into keys or None."""
        values = dict(values)
        if "foreign" in values:
            comments = self.pks(Comment)
            index = values.pop("foreign")
            values["foreign_id"] = comments[index] if index < len(comments) else None
        if "one" in values:
            taken = {
                state["one_id"]
                for (model, other), state in self.world[0].items()
                if model is EveryField and other != pk
            }
            index = values.pop("one")
            place = self.places[index] if index < len(self.places) else None
            values["one_id"] = None if place in taken else place
        return values

    def run(self, description, operation):
        """Run ``operation`` in a revision of its own, then check its history."""
        before = self.world
        revision = newest_revision_pk()
        try:
            with Context.via_revision_description(description):
                operation()
        except BaseException:
            self.failed = True
            raise
        self.observe(before)
        newest = newest_revision_pk()
        if newest != revision:
            self.revisions.append((newest, before))

    def observe(self, before):
        """Read the state now; check the snapshots of the deltas just recorded."""
        try:
            self._observe(before)
        except BaseException:
            self.failed = True
            raise

    def _observe(self, before):
        after = self.world = read_world()
        recorded = set(
            ObjectDelta.objects.filter(pk__gt=self.last_delta_pk)
            .values_list("content_type", flat=True)
            .distinct()
        )
        for model in MODELS:
            content_type = ContentType.objects.get_for_model(model)
            if content_type.pk not in recorded:
                continue
            deltas = list(
                ObjectDelta.objects.filter(
                    pk__gt=self.last_delta_pk, content_type=content_type
                )
                .annotate(snapshot=ObjectSnapshot(model))
                .order_by("pk")
            )
            by_object = {}
            for delta in deltas:
                pk = model._meta.pk.to_python(delta.content_id)
                by_object.setdefault(pk, []).append(delta)
            for pk, object_deltas in by_object.items():
                last = object_deltas[-1]
                if last.action == ObjectDelta.ACTION_DELETE:
                    if len(object_deltas) > 1:
                        continue  # Changed in this operation before the delete.
                    state = before[0][model, pk]
                else:
                    state = after[0][model, pk]
                snapshot = last.snapshot
                assert snapshot.pk == pk
                assert snapshot.get_deferred_fields() == set()
                assert row_state(model, snapshot) == state, (model, pk, last.action)
                self.expected[model][last.pk] = state
                if model in RELATIONS:
                    found = members_as_of(model(pk=pk), RELATIONS[model], last)
                    assert found == members_of(after, model, pk), (model, pk)
        self.last_delta_pk = (
            ObjectDelta.objects.order_by("-pk").values_list("pk", flat=True).first()
            or 0
        )

    # Rules

    @initialize()
    def start(self):
        with Context.as_disabled():
            self.places = [Place.objects.create(name=f"p{i}").pk for i in range(3)]

        def create():
            for i in range(2):
                Comment.objects.create(text=f"c{i}")
                Tag.objects.create(name=f"t{i}")
            Article.objects.create(title="a")

        self.run("start", create)
        self.revisions.clear()  # Not reverted: everything else builds on it.

    @rule(values=every_field_values)
    def create_every_field(self, values):
        self.run(
            "create EveryField",
            lambda: EveryField.objects.create(**self.links(values, None)),
        )

    @precondition(lambda self: self.pks(EveryField))
    @rule(index=indexes, values=some_every_field_values)
    def update_every_field(self, index, values):
        pk = self.pick(EveryField, index)
        values = self.links(values, pk)

        def update():
            obj = EveryField.objects.get(pk=pk)
            for name, value in values.items():
                setattr(obj, name, value)
            obj.save()

        self.run("update EveryField", update)

    @precondition(lambda self: self.pks(EveryField))
    @rule(index=indexes)
    def delete_every_field(self, index):
        pk = self.pick(EveryField, index)
        self.run("delete EveryField", EveryField.objects.get(pk=pk).delete)

    @rule(
        action=st.sampled_from(["create", "update", "delete"]),
        index=indexes,
        value=text,
        spam=st.booleans(),
    )
    def change_comment(self, action, index, value, spam):
        """Comments: what EveryField.foreign points to, SET_NULL on delete."""
        if action == "create" or not self.pks(Comment):
            self.run(
                "create Comment",
                lambda: Comment.objects.create(text=value, is_marked_as_spam=spam),
            )
            return
        comment = Comment.objects.get(pk=self.pick(Comment, index))
        if action == "update":
            comment.text = value
            comment.is_marked_as_spam = spam
            self.run("update Comment", comment.save)
        else:
            self.run("delete Comment", comment.delete)

    @rule(
        model=st.sampled_from([Article, Tag]),
        create=st.booleans(),
        index=indexes,
        name=text,
    )
    def create_or_delete_article_or_tag(self, model, create, index, name):
        """Deleting either side ends its many-to-many memberships."""
        label = model.__name__
        if create or not self.pks(model):
            field = "title" if model is Article else "name"
            self.run(f"create {label}", lambda: model.objects.create(**{field: name}))
        else:
            obj = model.objects.get(pk=self.pick(model, index))
            self.run(f"delete {label}", obj.delete)

    @precondition(lambda self: self.pks(Article) and self.pks(Tag))
    @rule(
        index=indexes,
        others=st.lists(indexes, max_size=3),
        how=st.sampled_from(["add", "remove", "set", "clear", "+reverse", "-reverse"]),
    )
    def change_members(self, index, others, how):
        if how.endswith("reverse"):
            owner = Tag.objects.get(pk=self.pick(Tag, index))
            manager = owner.articles
            members = {self.pick(Article, other) for other in others}
            how = "add" if how == "+reverse" else "remove"
        else:
            owner = Article.objects.get(pk=self.pick(Article, index))
            manager = owner.tags
            members = {self.pick(Tag, other) for other in others}

        def change():
            if how == "set":
                manager.set(members)
            elif how == "clear":
                manager.clear()
            else:
                getattr(manager, how)(*members)

        self.run(f"{how} members", change)

    @precondition(lambda self: self.revisions)
    @rule()
    def revert_newest(self):
        revision_pk, before_it = self.revisions[-1]
        newest = Revision.objects.latest("pk")
        assert newest.pk == revision_pk
        before = self.world
        try:
            reverted = newest.revert()
        except BaseException:
            self.failed = True
            raise
        self.observe(before)
        self.failed = self.world != before_it
        assert self.world == before_it
        if reverted is not None:
            assert newest_revision_pk() == reverted.pk
            assert str(revision_pk) in reverted.description
            self.revisions.append((reverted.pk, before))
        else:
            assert newest_revision_pk() == revision_pk


def test_history_read_back_equals_history_lived():
    run_state_machine_as_test(
        History,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
