"""A short run of the load check (manage.py load_check; `make load` runs it
longer): users write through the admin's forms on a server with production
settings, a share of them on the same rows, and their history holds; then
the same with recording off writes no history. Under each server the
project has: gunicorn (WSGI){% if cookiecutter.use_async %} and uvicorn (ASGI){% endif %}."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("server", ["wsgi"{% if cookiecutter.use_async %}, "asgi"{% endif %}])
def test_history_holds_under_concurrent_writes(server: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "load_check",
            "--users",
            "4",
            "--writes",
            "15",
            "--shared",
            "2",
            "--workers",
            "2",
            "--server",
            server,
        ],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project }}.settings",
            "DJANGO_ENV_FILE": "",
            "DJANGO_SECRET_KEY": "load-check-" + "k" * 50,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in (
        "0 server errors",
        "0 writes without history",
        "0 orphans",
        "0 wrong actors",
        "0 states unlike their rows",
        "0 breaks in the chain of deltas",
    ):
        assert f"  {line}\n" in result.stdout, result.stdout
    assert "recording on: 128 requests" in result.stdout, result.stdout
    # Then the same with recording off (the run to compare with): it
    # records nothing, the admin's own saves included.
    assert "recording off: 128 requests" in result.stdout, result.stdout
    assert "  0 revisions written with recording off\n" in result.stdout, result.stdout
