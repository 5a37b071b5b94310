"""The project in production: served by gunicorn as `make serve` serves it,
with production settings (DEBUG off, HTTPS behind a proxy), it serves its
own static files, answers /healthz, and shows its 503 page when the
database is unreachable; each request logs a line naming its revision, and
a failed history write takes the data write down with it, and so does a
request killed for taking too long.
"""

import contextlib
import http.client
import http.cookiejar
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.test import Client
from django.urls import reverse

from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.revisions import load
from {{ cookiecutter.project }}.revisions.management.commands.load_check import (
    database_url,
)
from {{ cookiecutter.project }}.revisions.models import AttributeDelta, ObjectDelta

from tests.conftest import revisions

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project }}.settings",
    "DJANGO_ENV_FILE": "",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-long-random-production-key-" + "q7Z" * 10,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_BEHIND_TLS_PROXY": "true",
}
# The page of gunicorn's own, for a worker that stops in a request.
GUNICORN_500 = "<h1><p>Internal Server Error</p></h1>"
# What the TLS proxy in front of the server tells it.
THROUGH_PROXY = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_env(**extra: str) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"
    }
    return {**clean, **PRODUCTION, **extra}


def fetch(url: str, data: bytes | None = None, **headers: str) -> Any:
    """(status, headers, body) of a request, also for error statuses."""
    request = urllib.request.Request(url, data=data, headers={**THROUGH_PROXY, **headers})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: Any) -> Path:
    """What `make serve` collects first."""
    root = tmp_path_factory.mktemp("static")
    manage(production_env(DJANGO_STATIC_ROOT=str(root)), "collectstatic", "--noinput")
    return root


def serve(static_root: Path, database_url: str, *options: str, **extra: str) -> Iterator[str]:
    """gunicorn with gunicorn.conf.py (and ``options``) on a free port, in the
    production environment (with ``extra``); yields its base URL."""
    port = free_port()
    env = production_env(
        **{
            "DJANGO_STATIC_ROOT": str(static_root),
            "DATABASE_URL": database_url,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_TIMEOUT": "120",  # A busy test machine boots workers slowly.
            **extra,
        }
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "gunicorn.conf.py",
            *options,
            "{{ cookiecutter.project }}.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:  # Until a worker answers (200 or 503): it is then serving.
            assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
            try:
                fetch(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def server(static_root: Path, tmp_path_factory: Any) -> Iterator[str]:
    """Served with a database that answers (a new SQLite file)."""
    database = tmp_path_factory.mktemp("db") / "db.sqlite3"
    yield from serve(static_root, f"sqlite:///{database}")


@pytest.fixture(scope="module")
def server_without_database(static_root: Path, tmp_path_factory: Any) -> Iterator[str]:
    """Served with a database that cannot be reached."""
    missing = tmp_path_factory.mktemp("gone") / "no-such-folder" / "db.sqlite3"
    yield from serve(static_root, f"sqlite:///{missing}")


def test_the_admin_stylesheet_is_served_hashed_and_compressed(server: str) -> None:
    status, _, page = fetch(server + "/admin/login/")
    assert status == 200
    found = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert found, page[:2000]
    status, headers, body = fetch(server + found.group(1).decode())
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in headers["Cache-Control"]  # Hashed: cached for ever.
    assert b"body" in body
    status, headers, _ = fetch(server + found.group(1).decode(), **{"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")


def test_healthz_answers_200_when_the_database_answers(server: str) -> None:
    # Over plain HTTP, as a load balancer asks: not redirected to HTTPS.
    request = urllib.request.Request(server + "/healthz")
    with urllib.request.urlopen(request, timeout=120) as response:
        assert (response.status, response.read()) == (200, b"ok\n")


def test_healthz_answers_503_when_the_database_does_not(server_without_database: str) -> None:
    status, _, body = fetch(server_without_database + "/healthz")
    assert (status, body) == (503, b"database unavailable\n")


def test_a_request_that_needs_the_database_gets_the_503_page(
    server_without_database: str,
) -> None:
    # A signed-in user's session is read from the database.
    session = "sessionid=" + "s" * 32
    status, headers, body = fetch(server_without_database + "/admin/", Cookie=session)
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert b"Service unavailable" in body and b"Traceback" not in body


def test_production_settings_under_asgi_pool_postgresql_connections() -> None:
    """Under ASGI, connections are never kept per thread (CONN_MAX_AGE 0,
    whatever the environment says), and PostgreSQL's come from a pool."""
    # The settings module alone: the driver need not be installed to read them.
    shown = (
        "from {{ cookiecutter.project }} import settings; "
        "d = settings.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d.get('OPTIONS', {}).get('pool', {}).get('max_size'))"
    )
    for url, expected in (
        ("postgres://user@127.0.0.1:5432/name", "0 10"),
        ("sqlite:////tmp/db.sqlite3", "0 None"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", shown],
            cwd=ROOT,
            env=production_env(
                DATABASE_URL=url, DATABASE_CONN_MAX_AGE="60", DJANGO_SERVED_OVER="asgi"
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.split() == expected.split(), result.stderr


@pytest.mark.django_db(transaction=True)
def test_each_request_logs_a_line_naming_its_revision_and_actor(caplog: Any) -> None:
    alice = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    alice_pk = alice.pk
    client = Client()
    client.force_login(alice)
    with caplog.at_level(logging.INFO, logger="{{ cookiecutter.project }}.requests"):
        response = client.post(reverse("accounts:close"), headers={"X-Request-ID": "req-7"})
        client.get("/healthz")
    assert response.status_code == 200
    [revision] = revisions()
    wrote, read = (r.getMessage() for r in caplog.records)
    assert wrote.startswith("request_id=req-7 method=POST path=/account/close/ status=200 ")
    assert wrote.endswith(f" revision={revision.pk} actor=accounts.user:{alice_pk}")
    assert read.endswith(" revision=- actor=-")


@pytest.mark.django_db(transaction=True)
def test_a_failed_history_write_rolls_the_data_back() -> None:
    alice = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    def refuse_history(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith(("INSERT", "WITH")) and "objectdelta" in sql:
            raise DatabaseError("history refused by the test")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_history):
        response = client.post(reverse("accounts:close"))
    assert response.status_code == 500
    assert get_user_model().objects.filter(pk=alice.pk).exists()
    assert revisions() == []


def session_cookie(key: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        **{"version": 0, "name": settings.SESSION_COOKIE_NAME, "value": key, "port": None},
        **{"port_specified": False, "domain": "127.0.0.1", "domain_specified": False},
        **{"domain_initial_dot": False, "path": "/", "path_specified": True, "secure": False},
        **{"expires": None, "discard": True, "comment": None, "comment_url": None, "rest": {}},
    )


@contextlib.contextmanager
def attribute_deltas_held(sqlite_file: Path | None) -> Iterator[None]:
    """Another connection holds the project's writes back until the block
    ends. On PostgreSQL and MariaDB it locks the attribute deltas' table: a
    save waits with its row, its revision and its object delta written. On
    SQLite it keeps a read open: a save writes everything, then waits to
    commit."""
    table = AttributeDelta._meta.db_table
    if sqlite_file is not None:
        reader = sqlite3.connect(sqlite_file, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute(f'SELECT count(*) FROM "{table}"').fetchall()
        try:
            yield
        finally:
            reader.execute("ROLLBACK")
            reader.close()
        return
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            name = other.ops.quote_name(table)
            if other.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {name} IN EXCLUSIVE MODE")
            else:
                cursor.execute(f"LOCK TABLES {name} READ")
            yield
            if other.vendor == "mysql":
                cursor.execute("UNLOCK TABLES")
        other.rollback()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_request_that_times_out_leaves_no_half_revision(
    static_root: Path, tmp_path: Path
) -> None:
    cast = load.prepare(1, 0, "timeout")
    [org] = cast.own
    # Signed in as the login page would, without its password hashing, whose
    # time on a busy machine is near the short timeout below.
    browser = Client()
    browser.force_login(cast.users[0])
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    sqlite_file = None
    if connection.vendor == "sqlite":  # The test database is in memory: serve a copy.
        sqlite_file = tmp_path / "db.sqlite3"
        connection.ensure_connection()
        with contextlib.closing(sqlite3.connect(sqlite_file)) as copy:
            connection.connection.backup(copy)
    url = f"sqlite:///{sqlite_file}" if sqlite_file else database_url(connection.settings_dict)
    plain_http = {
        "DJANGO_BEHIND_TLS_PROXY": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
    }
    # Loaded before the worker forks, so that a short timeout spares its boot.
    serving = contextlib.contextmanager(serve)(
        static_root,
        url,
        "--preload",
        GUNICORN_TIMEOUT="5",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,  # Which signed the session.
        **plain_http,
    )
    with serving as base:
        client = load.FormClient(base, load.Outcome())
        client.cookies.set_cookie(session_cookie(session))
        path = f"/admin/accounts/organization/{org}/change/"
        form = client.form_of(path)
        assert "csrfmiddlewaretoken" in form and "slug" in form, form  # The change form.
        with attribute_deltas_held(sqlite_file):
            try:
                status, page = client.request(path, {**form, "name": "half-written"})
            except http.client.RemoteDisconnected:  # Killed before it could answer.
                status, page = 500, GUNICORN_500
        # Only gunicorn's timeout ends the wait: it aborts the worker, which
        # answers with gunicorn's own page, or kills it if it cannot.
        assert status == 500 and GUNICORN_500 in page, page
    if sqlite_file is not None:
        with contextlib.closing(sqlite3.connect(sqlite_file)) as copy:
            copy.backup(connection.connection)
    assert Organization.objects.get(pk=org).name == "timeout-own-0"
    problems = load.verify(cast, load.Outcome())
    assert not any(problems.values()), problems
    assert (
        ObjectDelta.objects.filter(content_type__model="organization", content_id=str(org)).count()
        == 1
    )  # Its creation.
