"""A revy setting with a wrong value fails ``manage.py check`` with a message
that names the setting, and so does a value of the right type that cannot
work (a tracking pattern naming only a proxy, an encoder class that cannot be
made); right values pass."""

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from revy.contrib.django import conf
from tests.testapp.models import Comment

# Since Django 6.1, ``check`` asks every database whether it supports the
# model fields in use (JSONField), as ``check --database`` did before.
pytestmark = pytest.mark.django_db

WRONG = [
    ("REVY_TRACKED_MODELS", "testapp.*"),
    ("REVY_TRACKED_MODELS", ["testapp.*", 3]),
    ("REVY_TRACKED_MODELS", None),
    ("REVY_TRACKED_MODELS", {"testapp.*"}),
    ("REVY_TRACKED_MODELS", ["testapp.*", "testapp.Psot"]),
    ("REVY_TRACKED_MODELS", ["tsetapp.*"]),
    ("REVY_UNTRACKED_MODELS", "testapp.Untracked"),
    ("REVY_UNTRACKED_MODELS", [None]),
    ("REVY_UNTRACKED_MODELS", 1),
    ("REVY_UNTRACKED_MODELS", ["testapp.Untracked", "testapp.Untraked"]),
    ("REVY_RECORD_OUTSIDE_CONTEXT", "yes"),
    ("REVY_RECORD_OUTSIDE_CONTEXT", 1),
    ("REVY_RECORD_OUTSIDE_CONTEXT", None),
    ("REVY_READ_BEFORE_SAVE", "no"),
    ("REVY_READ_BEFORE_SAVE", 0),
    ("REVY_HISTORY_IN_SQL", "off"),
    ("REVY_BATCH_SIZE", 0),
    ("REVY_BATCH_SIZE", -5),
    ("REVY_BATCH_SIZE", "100"),
    ("REVY_BATCH_SIZE", True),
    ("REVY_BATCH_SIZE", 1.5),
    ("REVY_BATCH_SIZE", None),
    ("REVY_REVISION_DESCRIPTION_MAX_LENGTH", 0),
    ("REVY_REVISION_DESCRIPTION_MAX_LENGTH", "10"),
    ("REVY_REVISION_DESCRIPTION_MAX_LENGTH", False),
    ("REVY_PARTITION_SIZE", 0),
    ("REVY_PARTITION_SIZE", "10000000"),
    ("REVY_PARTITIONS_AHEAD", -1),
    ("REVY_PARTITIONS_AHEAD", 2.0),
    ("REVY_REVISION_DESCRIPTION_HEADER", None),
    ("REVY_REVISION_DESCRIPTION_HEADER", 5),
    ("REVY_REVISION_DESCRIPTION_HEADER", b"X-Commit-Message"),
    ("REVY_VALUE_ENCODER", "nope.Encoder"),
    ("REVY_VALUE_ENCODER", "revy.contrib.django.encoding.NoSuchEncoder"),
    ("REVY_VALUE_ENCODER", "tests.testapp.models.Comment"),
    ("REVY_VALUE_ENCODER", ""),
    ("REVY_VALUE_ENCODER", 42),
    ("REVY_ACTOR_RESOLVERS", "revy.contrib.django.actors.authenticated_user"),
    ("REVY_ACTOR_RESOLVERS", ["nope.resolver"]),
    ("REVY_ACTOR_RESOLVERS", ["revy.contrib.django.actors.authenticated_user", 42]),
    ("REVY_ACTOR_RESOLVERS", ["revy.contrib.django.actors"]),
    ("REVY_ACTOR_RESOLVERS", None),
    ("REVY_REVISION_MODEL", "nope.Revision"),
    ("REVY_REVISION_MODEL", "testapp.Comment"),
    ("REVY_REVISION_MODEL", "no-dot"),
    ("REVY_OBJECT_DELTA_MODEL", "revy.Nope"),
    ("REVY_OBJECT_DELTA_MODEL", "testapp.Comment"),
    ("REVY_ATTRIBUTE_DELTA_MODEL", "testapp.Nope"),
    ("REVY_ATTRIBUTE_DELTA_MODEL", "revy.ObjectDelta"),
]

RIGHT = [
    ("REVY_TRACKED_MODELS", ["testapp.*", "auth.User"]),
    ("REVY_TRACKED_MODELS", ("*",)),
    ("REVY_TRACKED_MODELS", []),
    ("REVY_UNTRACKED_MODELS", ["testapp.Untracked", "auth.*"]),
    ("REVY_UNTRACKED_MODELS", ["TESTAPP.untracked", "*.comment", "testapp.[CT]*"]),
    ("REVY_UNTRACKED_MODELS", ()),
    ("REVY_RECORD_OUTSIDE_CONTEXT", True),
    ("REVY_RECORD_OUTSIDE_CONTEXT", False),
    ("REVY_READ_BEFORE_SAVE", True),
    ("REVY_READ_BEFORE_SAVE", False),
    ("REVY_HISTORY_IN_SQL", False),
    ("REVY_BATCH_SIZE", 1),
    ("REVY_BATCH_SIZE", 10_000),
    ("REVY_PARTITION_SIZE", 1_000_000),
    ("REVY_PARTITIONS_AHEAD", 1),
    ("REVY_REVISION_DESCRIPTION_MAX_LENGTH", 1),
    ("REVY_REVISION_DESCRIPTION_MAX_LENGTH", 5000),
    ("REVY_REVISION_DESCRIPTION_HEADER", "X-Reason"),
    ("REVY_REVISION_DESCRIPTION_HEADER", ""),
    ("REVY_VALUE_ENCODER", "revy.contrib.django.encoding.ValueEncoder"),
    ("REVY_VALUE_ENCODER", "tests.test_roundtrip.PoisonEncoder"),
    ("REVY_ACTOR_RESOLVERS", []),
    (
        "REVY_ACTOR_RESOLVERS",
        [
            "tests.urls_middleware.organization",
            "revy.contrib.django.actors.authenticated_user",
        ],
    ),
]


def run_check():
    call_command("check", verbosity=0)


def test_the_test_settings_pass():
    run_check()


@pytest.mark.parametrize(("name", "value"), WRONG, ids=[f"{n}={v!r}" for n, v in WRONG])
def test_a_wrong_value_fails_check_naming_the_setting(name, value):
    with override_settings(**{name: value}), pytest.raises(SystemCheckError) as info:
        run_check()
    message = str(info.value)
    revy_lines = [line for line in message.splitlines() if "revy.E" in line]
    assert any(name in line for line in revy_lines), message
    # The message shows the wrong value (for a list: the wrong entry, last
    # in each list above), so that it can be found.
    shown = repr(value[-1]) if isinstance(value, list) else repr(value)
    assert shown in message, message


@pytest.mark.parametrize(("name", "value"), RIGHT, ids=[f"{n}={v!r}" for n, v in RIGHT])
def test_a_right_value_passes(name, value):
    with override_settings(**{name: value}):
        run_check()


def test_every_setting_right_at_once_passes():
    everything = {
        "REVY_TRACKED_MODELS": ["testapp.*"],
        "REVY_UNTRACKED_MODELS": ["testapp.Untracked"],
        "REVY_RECORD_OUTSIDE_CONTEXT": True,
        "REVY_BATCH_SIZE": 100,
        "REVY_REVISION_DESCRIPTION_MAX_LENGTH": 200,
        "REVY_REVISION_DESCRIPTION_HEADER": "X-Commit-Message",
        "REVY_VALUE_ENCODER": "revy.contrib.django.encoding.ValueEncoder",
        "REVY_ACTOR_RESOLVERS": ["revy.contrib.django.actors.authenticated_user"],
        # The models in use, named explicitly (swapped or not).
        "REVY_REVISION_MODEL": conf.revision_model_label(),
        "REVY_OBJECT_DELTA_MODEL": conf.object_delta_model_label(),
        "REVY_ATTRIBUTE_DELTA_MODEL": conf.attribute_delta_model_label(),
    }
    with override_settings(**everything):
        run_check()


def test_several_wrong_values_are_all_reported():
    with (
        override_settings(
            REVY_BATCH_SIZE=0,
            REVY_RECORD_OUTSIDE_CONTEXT="no",
            REVY_TRACKED_MODELS="x",
        ),
        pytest.raises(SystemCheckError) as info,
    ):
        run_check()
    message = str(info.value)
    for name in (
        "REVY_BATCH_SIZE",
        "REVY_RECORD_OUTSIDE_CONTEXT",
        "REVY_TRACKED_MODELS",
    ):
        assert name in message


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("REVY_OBJECT_DELTA_MODEL", "REVY_REVISION_MODEL"),
        ("REVY_ATTRIBUTE_DELTA_MODEL", "REVY_OBJECT_DELTA_MODEL"),
    ],
)
def test_a_swapped_delta_model_needs_the_setting_it_points_to(name, needs):
    labels = {
        "REVY_REVISION_MODEL": conf.revision_model_label(),
        "REVY_OBJECT_DELTA_MODEL": conf.object_delta_model_label(),
        "REVY_ATTRIBUTE_DELTA_MODEL": conf.attribute_delta_model_label(),
    }
    with override_settings(**labels):
        delattr(settings, needs)
        with pytest.raises(SystemCheckError) as info:
            run_check()
    message = str(info.value)
    assert name in message
    assert needs in message


def test_a_misspelt_setting_name_is_a_warning_naming_the_right_one():
    with override_settings(REVY_TRACKED_MODEL=["testapp.*"], REVY_OWN_THING=1):
        messages = [m for m in checks.run_checks() if m.id == "revy.W001"]
        run_check()  # A warning: check still passes.
    by_name = {m.msg.split()[0]: m for m in messages}
    assert set(by_name) == {"REVY_TRACKED_MODEL", "REVY_OWN_THING"}
    assert by_name["REVY_TRACKED_MODEL"].hint == "Did you mean REVY_TRACKED_MODELS?"
    assert by_name["REVY_OWN_THING"].hint is None
    assert "revy ignores it" in by_name["REVY_OWN_THING"].msg


# Values of the right type that cannot work -----------------------------------


def revy_errors():
    """The errors revy's checks report now."""
    return [m for m in checks.run_checks(tags=["revy"]) if m.level >= checks.ERROR]


@override_settings(REVY_TRACKED_MODELS=["testapp.SpamComment"])
def test_a_tracking_pattern_naming_only_a_proxy_is_reported():
    """is_tracked matches patterns against concrete models' labels: a
    pattern naming only a proxy tracks nothing, and check says so."""
    assert conf.is_tracked(Comment) or revy_errors()


class NeedsArgument:
    """A value encoder that cannot be made without an argument."""

    def __init__(self, strictness):
        self.strictness = strictness

    def encode(self, field, value):
        return value

    def decode(self, field, stored):
        return stored


@override_settings(REVY_VALUE_ENCODER=f"{__name__}.NeedsArgument")
def test_a_value_encoder_that_cannot_be_made_fails_check():
    """revy makes the encoder with no arguments: check reports a class it
    cannot make, before the first recorded change would fail."""
    assert revy_errors()
