"""After any sequence of ORM operations, history's state for now equals the row.

A hypothesis state machine keeps several instances of the same rows, most of
them stale: loaded before a ``QuerySet.update()``, a ``bulk_update()``, another
instance's save or a delete changed the row. It saves them (with and without
assigning first), updates and bulk-updates rows, refreshes instances, deletes
through instances and querysets, and adds and removes many-to-many members.
After every step, for every row ever created, ``history.state_at`` equals what
the database holds (None for a row that is gone), and ``members_as_of`` equals
the members the database holds. This is what ``REVY_READ_BEFORE_SAVE`` (on by
default) guarantees.
"""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from revy import Context
from revy.contrib.django import history
from tests.testapp.models import Article, Comment, Tag

pytestmark = pytest.mark.django_db

texts = st.sampled_from(["a", "b", "c", "d"])


class StaleInstances(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.pks: list[int] = []
        self.instances: list[Comment] = []
        self.article = Article.objects.create(title="t")
        self.tags = [Tag.objects.create(name=str(n)) for n in range(3)]

    @rule(text=texts)
    def create(self, text):
        with Context():
            comment = Comment.objects.create(text=text)
        self.pks.append(comment.pk)
        self.instances.append(comment)

    @precondition(lambda self: self.pks)
    @rule(data=st.data())
    def load_another_instance(self, data):
        pk = data.draw(st.sampled_from(self.pks))
        found = Comment.objects.filter(pk=pk).first()
        if found is not None:
            self.instances.append(found)

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), text=st.none() | texts)
    def save_an_instance(self, data, text):
        instance = data.draw(st.sampled_from(self.instances))
        with Context():
            if text is not None:
                instance.text = text
            instance.save()

    @precondition(lambda self: self.pks)
    @rule(data=st.data(), text=texts)
    def queryset_update(self, data, text):
        pk = data.draw(st.sampled_from(self.pks))
        with Context():
            Comment.objects.filter(pk=pk).update(text=text)

    @precondition(lambda self: self.instances)
    @rule(data=st.data(), text=texts)
    def bulk_update_instances(self, data, text):
        chosen = data.draw(st.lists(st.sampled_from(self.instances), max_size=3))
        existing = set(
            Comment.objects.filter(pk__in=[c.pk for c in chosen]).values_list(
                "pk", flat=True
            )
        )
        chosen = [c for c in chosen if c.pk in existing]
        for comment in chosen:
            comment.text = text
        with Context():
            Comment.objects.bulk_update(chosen, ["text"])

    @precondition(lambda self: self.instances)
    @rule(data=st.data())
    def refresh_an_instance(self, data):
        instance = data.draw(st.sampled_from(self.instances))
        if Comment.objects.filter(pk=instance.pk).exists():
            instance.refresh_from_db()

    @precondition(lambda self: self.instances)
    @rule(data=st.data())
    def delete_through_an_instance(self, data):
        instance = data.draw(st.sampled_from(self.instances))
        if instance.pk is not None and Comment.objects.filter(pk=instance.pk).exists():
            pk = instance.pk
            with Context():
                instance.delete()
            instance.pk = pk  # A stale copy that a later save writes back.

    @precondition(lambda self: self.pks)
    @rule(data=st.data())
    def delete_through_a_queryset(self, data):
        pk = data.draw(st.sampled_from(self.pks))
        with Context():
            Comment.objects.filter(pk=pk).delete()

    @rule(data=st.data(), add=st.booleans())
    def change_members(self, data, add):
        tag = data.draw(st.sampled_from(self.tags))
        with Context():
            if add:
                self.article.tags.add(tag)
            else:
                self.article.tags.remove(tag)

    @invariant()
    def history_equals_the_rows(self):
        rows = dict(Comment.objects.values_list("pk", "text"))
        for pk in self.pks:
            state = history.state_at(Comment, pk)
            recorded = None if state is None else state.text
            assert recorded == rows.get(pk), f"comment {pk}"
        members = set(self.article.tags.values_list("pk", flat=True))
        assert history.members_as_of(self.article, "tags") == members


def test_history_for_now_equals_the_rows_after_any_operations():
    run_state_machine_as_test(
        StaleInstances,
        settings=settings(
            max_examples=40,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_without_read_before_save_a_stale_save_is_not_recorded(settings):
    settings.REVY_READ_BEFORE_SAVE = False  # What the default guards against.
    with Context():
        comment = Comment.objects.create(text="a")
        Comment.objects.filter(pk=comment.pk).update(text="c")
        comment.save()  # Writes "a" back over "c".
    assert Comment.objects.get(pk=comment.pk).text == "a"
    assert history.state_at(Comment, comment.pk).text == "c"
