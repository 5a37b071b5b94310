"""Fixtures many test modules share: two users, ``alice`` and ``bob``, a
stored ``comment``, a ``clock`` that dates revisions an hour apart; the
live server, after the test database; and a clear stop when the database
server is missing.

Plain helpers are in tests/helpers.py.
"""

import socket

import pytest
from django.conf import settings


def pytest_sessionstart(session):
    """Stop at once, and clearly, when the database server named is not there."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return
    host, port = db["HOST"], int(db["PORT"])
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as error:
        raise SystemExit(
            f"{settings.DATABASE_NAME} was asked for, but nothing answers at "
            f"{host}:{port} ({error}). Start the server or set the "
            "REVY_PG_*/REVY_MARIADB_* variables (see README.md)."
        ) from None


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """pytest-django's live server, started once the test database exists.

    Started before, it would see SQLite's ``:memory:`` name and hand the main
    thread's connection to every request thread, which crashes SQLite.
    """
    return live_server


@pytest.fixture
def clock():
    from tests.helpers import Clock

    return Clock()


@pytest.fixture(params=["in one batch", "a delta a batch"])
def undo_batches(request, settings):
    """Reverts and restores read what they undo a batch at a time: all of
    it in one, or each delta in a batch of its own, so that a row's deltas
    fall in several batches."""
    if request.param == "a delta a batch":
        settings.REVY_BATCH_SIZE = 1


@pytest.fixture(params=["in one batch", "a row a batch"])
def delete_batches(request, settings):
    """Deletes read the rows Django collects a batch at a time once they
    fill more than one: all in one, or each row in a batch of its own, so
    that a cascade's causes and their effects fall in different batches."""
    if request.param == "a row a batch":
        settings.REVY_BATCH_SIZE = 1


@pytest.fixture
def alice():
    from tests.helpers import User

    return User.objects.create(username="alice")


@pytest.fixture
def bob():
    from tests.helpers import User

    return User.objects.create(username="bob")


@pytest.fixture
def comment():
    """A comment stored before any context: loaded outside tracking."""
    from tests.testapp.models import Comment

    created = Comment.objects.create(text="first")
    return Comment.objects.get(pk=created.pk)


# The cookiecutter tests (tests/baking.py has their helpers) ------------------------


@pytest.fixture(scope="session")
def template_copy(tmp_path_factory):
    """The template as ``make bake`` exports it from this working copy: the
    files git lists under cookiecutter.json, hooks/ and template/, with this
    checkout named as the baked projects' revy."""
    from scripts.bake import export

    return export(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def config_file(tmp_path_factory):
    """A cookiecutter config that keeps clones and replays out of $HOME."""
    from tests.baking import write_config

    return write_config(tmp_path_factory.mktemp("cookiecutter-home"))
