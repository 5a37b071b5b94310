"""What users import: the installed app, the public names of
``revy.contrib.django`` and every import path the documentation names."""

import subprocess
import sys

import pytest
from django.apps import apps
from django.db.models import deletion
from packaging.version import Version

import revy
import revy.contrib.django as integration
from revy.contrib.django import (
    actors,
    deltas,
    encoding,
    exceptions,
    history,
    middleware,
    models,
)


def test_app_config():
    config = apps.get_app_config("revy")
    assert config.name == "revy.contrib.django"
    # Django falls back to the label, titled, when no verbose name is given.
    assert config.verbose_name
    assert config.verbose_name != config.label.title()


def test_version_is_pep_440():
    # Version() raises InvalidVersion on anything PEP 440 does not allow.
    assert str(Version(revy.__version__)) == revy.__version__


@pytest.mark.parametrize("name", integration.__all__)
def test_every_public_name_is_the_object_its_module_defines(name):
    value = getattr(integration, name)
    module = sys.modules[value.__module__]
    assert getattr(module, name) is value
    assert name in dir(integration)


def test_a_name_that_is_not_public_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Recorder'"):
        integration.Recorder  # noqa: B018


def test_the_documented_import_paths_keep_working():
    assert history.state_at is integration.state_at
    assert history.revert is integration.revert
    assert history.RevertConflict is exceptions.RevertConflict
    assert callable(history.history)
    assert deltas.NotRecordable is exceptions.NotRecordable
    assert encoding.EncodingError is exceptions.EncodingError
    assert encoding.ValueEncoder is integration.ValueEncoder
    assert actors.authenticated_user is integration.authenticated_user
    assert middleware.RevyMiddleware is integration.RevyMiddleware
    assert models.ObjectSnapshot is integration.ObjectSnapshot
    assert models.DeletedActor is actors.DeletedActor
    assert (models.CASCADE, models.SET, models.SET_NULL, models.SET_DEFAULT) == (
        deletion.CASCADE,
        deletion.SET,
        deletion.SET_NULL,
        deletion.SET_DEFAULT,
    )
    assert models.get_revision_model() is integration.get_revision_model()


def test_importing_the_app_imports_no_model():
    # Django imports an installed app's package before any model may be.
    code = (
        "import sys, revy.contrib.django; "
        "print(sorted(m for m in sys.modules if m.startswith('revy.contrib.django.')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert imported.strip() == "[]"
