"""``manage.py check`` names a wrong value of the integrity settings:
REVY_TAMPER_EVIDENCE without a key (or with a short one), REVY_ACTOR_MODELS
and REVY_PERSONAL_DATA naming what is not installed; right values pass."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

pytestmark = pytest.mark.django_db

LONG_KEY = "k" * 40


@pytest.mark.parametrize(
    ("values", "check_id", "shown"),
    [
        ({"REVY_TAMPER_EVIDENCE": "yes"}, "revy.E020", "'yes'"),
        ({"REVY_TAMPER_EVIDENCE": True}, "revy.E021", "REVY_INTEGRITY_KEY"),
        (
            {"REVY_TAMPER_EVIDENCE": True, "REVY_INTEGRITY_KEY": ""},
            "revy.E021",
            "REVY_INTEGRITY_KEY",
        ),
        ({"REVY_ACTOR_MODELS": "auth.User"}, "revy.E022", "'auth.User'"),
        ({"REVY_ACTOR_MODELS": ["auth.Usr"]}, "revy.E022", "'auth.Usr'"),
        ({"REVY_PERSONAL_DATA": ["auth.User"]}, "revy.E023", "['auth.User']"),
        ({"REVY_PERSONAL_DATA": {"auth.User": "email"}}, "revy.E023", "'email'"),
        ({"REVY_PERSONAL_DATA": {"auth.Usr": ["email"]}}, "revy.E024", "'auth.Usr'"),
        ({"REVY_PERSONAL_DATA": {"auth.User": ["emial"]}}, "revy.E024", "emial"),
    ],
)
def test_a_wrong_value_fails_check_naming_it(values, check_id, shown):
    with override_settings(**values), pytest.raises(SystemCheckError) as info:
        call_command("check", verbosity=0)
    lines = [line for line in str(info.value).splitlines() if check_id in line]
    assert lines and any(shown in line for line in lines), str(info.value)


def test_a_short_key_is_warned_of():
    from django.core import checks

    from revy.contrib.django.checks import check_tamper_evidence

    with override_settings(REVY_TAMPER_EVIDENCE=True, REVY_INTEGRITY_KEY="short"):
        found = check_tamper_evidence()
    assert [(m.id, m.level) for m in found] == [("revy.W010", checks.WARNING)]


@pytest.mark.parametrize(
    "values",
    [
        {"REVY_TAMPER_EVIDENCE": False},
        {"REVY_TAMPER_EVIDENCE": True, "REVY_INTEGRITY_KEY": LONG_KEY},
        {"REVY_TAMPER_EVIDENCE": True, "REVY_INTEGRITY_KEY": LONG_KEY.encode()},
        {"REVY_ACTOR_MODELS": ["auth.User", "testapp.Organization"]},
        {"REVY_ACTOR_MODELS": []},
        {"REVY_PERSONAL_DATA": {"auth.User": ["email", "first_name"]}},
        {"REVY_PERSONAL_DATA": {}},
    ],
)
def test_a_right_value_passes(values):
    with override_settings(**values):
        call_command("check", verbosity=0)
