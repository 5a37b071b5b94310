"""manage.py check on REVY_PROPOSAL_MODEL (revy.E030, revy.E031)."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from revy.contrib.django import conf


def run_check():
    call_command("check", verbosity=0)


@pytest.mark.parametrize("value", ["nope.Proposal", "testapp.Comment", "no-dot"])
def test_a_proposal_model_that_is_not_one_fails_check(value):
    with (
        override_settings(REVY_PROPOSAL_MODEL=value),
        pytest.raises(SystemCheckError) as info,
    ):
        run_check()
    message = str(info.value)
    assert "revy.E030" in message
    assert repr(value) in message


def test_the_proposal_model_in_use_passes():
    with override_settings(
        REVY_PROPOSAL_MODEL=conf.proposal_model_label(),
        REVY_REVISION_MODEL=conf.revision_model_label(),
    ):
        run_check()


def test_a_swapped_proposal_model_needs_the_revision_model_setting():
    with override_settings(REVY_PROPOSAL_MODEL=conf.proposal_model_label()):
        if hasattr(settings, "REVY_REVISION_MODEL"):
            delattr(settings, "REVY_REVISION_MODEL")
        with pytest.raises(SystemCheckError) as info:
            run_check()
    assert "revy.E031" in str(info.value)
