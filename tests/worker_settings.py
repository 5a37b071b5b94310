"""Settings of the worker processes that tests start (tests/workers.py): the
test settings, on the test database the starting test names, with the
Celery folder it names."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["REVY_WORKER_DATABASE_NAME"]
