"""Settings of the tiny project that tests/test_swapping.py copies and runs.

The test describes each run in the SWAP_PROJECT environment variable, as
JSON: the apps to add, the database, and revy's settings.
"""

import json
import os

_RUN = json.loads(os.environ["SWAP_PROJECT"])

SECRET_KEY = "revy-swap-project"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "revy.contrib.django",
    *_RUN["apps"],
]

DATABASES = {"default": _RUN["database"]}

globals().update(_RUN["settings"])
