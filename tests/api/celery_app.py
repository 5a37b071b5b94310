"""A Celery app whose tasks are revy.contrib.celery.RevyTask, with kombu's
filesystem transport and Celery's filesystem result backend in the folder
REVY_CELERY_FOLDER names: no broker server. tests/test_tasks_celery.py
sends its tasks; a worker process (tests/workers.py) runs them."""

import os
from pathlib import Path

import django
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from tests.api import spam  # noqa: E402


def configure(app, folder):
    """Send and read messages, and results, through ``folder``."""
    folder = Path(folder)
    for name in ("messages", "results", "control"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "store_processed": False,
            # Broadcasts (pidbox) too, not in a control/ of the working folder.
            "control_folder": str(folder / "control"),
        },
        result_backend=f"file://{folder / 'results'}",
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )


app = Celery("revy_tests", task_cls="revy.contrib.celery:RevyTask")
if "REVY_CELERY_FOLDER" in os.environ:
    configure(app, os.environ["REVY_CELERY_FOLDER"])


@app.task
def detect_spam(comment_id, word="spam"):
    """Whoever sent it tidies the text; the system marks the spam."""
    return spam.check(comment_id, word)
