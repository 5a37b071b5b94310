from django.apps import apps
from packaging.version import Version

import revy


def test_app_config():
    config = apps.get_app_config("revy")
    assert config.name == "revy.contrib.django"
    # Django falls back to the label, titled, when no verbose name is given.
    assert config.verbose_name
    assert config.verbose_name != config.label.title()


def test_version_is_pep_440():
    # Version() raises InvalidVersion on anything PEP 440 does not allow.
    assert str(Version(revy.__version__)) == revy.__version__
