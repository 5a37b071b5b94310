"""Worker processes for the tests of background work: Django's db_worker and
a Celery worker, each a separate process on the committed test database.

Neither needs a server: Django's tasks are stored in the database, and
Celery's messages go through kombu's filesystem transport (and results
through Celery's filesystem backend) in a temporary folder.
"""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


def worker_environment(**extra):
    """The environment of a worker: the test database of this process."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "REVY_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def run_db_worker():
    """Run Django's tasks until none is left, in a worker process."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "db_worker",
            "--batch",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return done


def start_celery_worker(folder):
    """A Celery worker process (solo pool) reading messages from ``folder``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "tests.api.celery_app",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=worker_environment(REVY_CELERY_FOLDER=str(folder)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
