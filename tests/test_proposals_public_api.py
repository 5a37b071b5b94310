"""What users import from ``revy.contrib.django.proposals``."""

import sys

import pytest

from revy.contrib.django import proposals
from revy.contrib.django.proposals import models


@pytest.mark.parametrize("name", proposals.__all__)
def test_every_public_name_is_the_object_its_module_defines(name):
    value = getattr(proposals, name)
    module = sys.modules[
        getattr(value, "__module__", None) or proposals.loading.__name__
    ]
    assert getattr(module, name) is value
    assert name in dir(proposals)


def test_a_name_that_is_not_public_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'write_changes'"):
        proposals.write_changes  # noqa: B018


def test_the_proposal_model_in_use_is_the_one_the_setting_names(settings):
    model = proposals.get_proposal_model()
    assert issubclass(model, models.AbstractProposal)
    expected = getattr(settings, "REVY_PROPOSAL_MODEL", "revy.Proposal")
    assert model._meta.label == expected
