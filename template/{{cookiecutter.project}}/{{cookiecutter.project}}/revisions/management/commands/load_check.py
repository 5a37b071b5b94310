import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from {{ cookiecutter.project }}.revisions import load

ROOT = Path(settings.BASE_DIR)
SERVERS = ["wsgi"{% if cookiecutter.use_async %}, "asgi"{% endif %}]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(database: dict[str, Any]) -> str:
    """The URL of the scratch database, for the server's DATABASE_URL."""
    engine = database["ENGINE"].rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"sqlite:///{database['NAME']}"
    scheme = {"postgresql": "postgres", "mysql": "mysql"}[engine]
    credentials = quote(database["USER"], safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    return f"{scheme}://{credentials}@{host}:{database['PORT']}/{database['NAME']}"


class Command(BaseCommand):
    help = (
        "Serve the project on 127.0.0.1 from a scratch database, have users write "
        "through the admin's forms concurrently, then check their history; twice, "
        "with recording on and off, and print requests per second."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--writes", type=int, default=200, help="per user")
        parser.add_argument("--shared", type=int, default=3, help="rows all users write")
        parser.add_argument("--share", type=float, default=0.5, help="of writes on them")
        parser.add_argument("--server", choices=SERVERS, default="wsgi")
        parser.add_argument("--workers", type=int, default=0, help="default: as make serve")
        parser.add_argument(
            "--recording-only",
            action="store_true",
            help="skip the run with recording off (no throughput comparison)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(tempfile.mkdtemp(prefix="load-check-"))
        database = connection.settings_dict
        if database["ENGINE"].endswith("sqlite3"):
            database["TEST"] = {**database.get("TEST", {}), "NAME": str(folder / "db.sqlite3")}
        else:
            database["TEST"] = {**database.get("TEST", {}), "NAME": f"load_check_{os.getpid()}"}
        original = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        failures = 0
        try:
            self.collect_static(folder)
            for recording in (True,) if options["recording_only"] else (True, False):
                failures += self.run_once(folder, options, recording)
        finally:
            connection.creation.destroy_test_db(original, verbosity=0)
            shutil.rmtree(folder, ignore_errors=True)
        if failures:
            raise CommandError(f"{failures} problems in the history written under load.")

    def collect_static(self, folder: Path) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_STATIC_ROOT": str(folder / "static")},
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise CommandError(result.stderr)

    def run_once(self, folder: Path, options: dict[str, Any], recording: bool) -> int:
        prefix = "on" if recording else "off"
        cast = load.prepare(options["users"], options["shared"], prefix)
        port = free_port()
        server = self.serve(folder, port, options, recording)
        try:
            outcome = load.drive(
                f"http://127.0.0.1:{port}", cast, options["writes"], options["share"]
            )
        finally:
            server.terminate()
            server.wait(timeout=60)
        label = "recording on" if recording else "recording off"
        self.stdout.write(
            f"{label}: {outcome.requests} requests in {outcome.seconds:.1f} s, "
            f"{outcome.requests / outcome.seconds:.1f} requests/s, "
            f"{len(outcome.writes)} writes, statuses {dict(sorted(outcome.statuses.items()))}"
        )
        if any(status >= 500 for status in outcome.statuses):
            # The server's log (requests and tracebacks): what went wrong.
            log = (folder / "server.log").read_text(errors="replace").splitlines()
            self.stdout.write("\n".join(line for line in log if "status=" not in line)[-20000:])
        if not recording:
            written = load.revisions_written_off(cast)
            self.stdout.write(f"  {written} revisions written with recording off")
            return written
        counts = load.verify(cast, outcome)
        for what, count in counts.items():
            self.stdout.write(f"  {count} {what}")
        if len(outcome.writes) == 0:
            self.stdout.write("  no write succeeded")
            return 1
        return sum(counts.values())

    def serve(
        self, folder: Path, port: int, options: dict[str, Any], recording: bool
    ) -> subprocess.Popen:
        workers = options["workers"] or 2 * (os.cpu_count() or 1) + 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project }}.settings",
            "DJANGO_ENV_FILE": "",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "load-check-" + "k" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_RECORD_HISTORY": "true" if recording else "false",
            "DATABASE_URL": database_url(connection.settings_dict),
            "DJANGO_STATIC_ROOT": str(folder / "static"),
            "GUNICORN_TIMEOUT": "120",
        }
        bin_dir = Path(sys.executable).parent
        command = [
            str(bin_dir / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "{{ cookiecutter.project }}.wsgi",
        ]
{%- if cookiecutter.use_async %}
        if options["server"] == "asgi":
            command = [
                str(bin_dir / "uvicorn"),
                "{{ cookiecutter.project }}.asgi:application",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
            ]
{%- endif %}
        log = folder / "server.log"
        with log.open("ab") as errors:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=errors, stderr=errors)
        deadline = time.monotonic() + 180
        while True:  # Until a worker answers: it is then serving.
            if server.poll() is not None:
                raise CommandError(log.read_text())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=120):
                    return server
            except OSError:
                if time.monotonic() > deadline:
                    server.terminate()
                    raise CommandError("The server did not answer within 3 minutes.") from None
                time.sleep(0.2)
