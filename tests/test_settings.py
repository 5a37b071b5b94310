"""revy reads its settings when it needs them (docs/capture.md): a setting
changed while the process runs, by override_settings or the settings
fixture, applies from the next change on, and a model tracked only from then
on records true old values and the actor of each assignment as one tracked
at startup does. Values derived from settings are kept until a setting
changes.

Wrong values of the settings are tested in test_checks.py.
"""

import pytest
from django.test import override_settings

from revy import Context
from revy.contrib.django import conf
from tests.helpers import ObjectDelta, all_deltas, ct, decoded, deltas
from tests.testapp.models import Comment, Counter, Untracked

pytestmark = pytest.mark.django_db


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


def test_a_model_tracked_later_records_the_actor_of_each_assignment():
    """docs/capture.md: every setting is read when needed, so a model
    tracked only from an override_settings on records the actor current at
    each assignment, as one tracked at startup does."""
    with Context.as_disabled():
        obj = Untracked.objects.create(name="a")
    with override_settings(REVY_UNTRACKED_MODELS=[]):
        user_like = Counter.objects.create(value=7)
        with Context.via_actor(user_like):
            obj = Untracked.objects.get(pk=obj.pk)
            with Context.via_actor(None):
                obj.name = "b"  # assigned by the system
            obj.save()
        delta = ObjectDelta.objects.for_object(obj).get()
        [attribute] = delta.attribute_deltas.all()
        assert attribute.actor_id is None
