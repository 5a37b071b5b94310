"""make compat: Django's own test suite, run without revy and with revy recording.

The sdist of the installed Django (it holds ``tests/``) is downloaded once into
``build/compat/``. The apps of ``APPS`` run twice with Django's ``runtests.py``:
as Django ships them, then with ``revy.contrib.django`` installed and
``REVY_RECORD_OUTSIDE_CONTEXT = True``, so that every write is recorded. A test
that fails only with revy must be listed in ``scripts/compat_expected.txt``
(each entry with its reason); anything else fails the run, and so does any
test kept from running (a class or module set-up that errors).

    python -m scripts.compat [--database sqlite|postgresql|mariadb] [APP ...]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "compat"
EXPECTED = Path(__file__).with_name("compat_expected.txt")

# Every app whose models revy's capture touches: saves, deletes, bulk writes,
# relations, inheritance, transactions, signals, serialization.
APPS = (
    "basic",
    "model_fields",
    "update",
    "delete",
    "delete_regress",
    "bulk_create",
    "many_to_many",
    "m2m_through",
    "m2m_regress",
    "model_inheritance",
    "model_inheritance_regress",
    "proxy_models",
    "custom_pk",
    "generic_relations",
    "save_delete_hooks",
    "update_only_fields",
    "defer",
    "defer_regress",
    "expressions",
    "get_or_create",
    "transactions",
    "transaction_hooks",
    "select_for_update",
    "queries",
    "model_formsets",
    "one_to_one",
    "foreign_object",
    "signals",
    "fixtures",
    "serializers",
    "async",
    "m2m_through_regress",
    "m2m_signals",
    "m2m_recursive",
    "m2m_multiple",
    "many_to_one",
    "many_to_one_null",
    "custom_managers",
    "force_insert_update",
    "generic_relations_regress",
    "model_forms",
    "admin_changelist",
)

DATABASES = {
    "sqlite": {"ENGINE": "django.db.backends.sqlite3"},
    "postgresql": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("REVY_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("REVY_PG_PORT", "5432"),
        "USER": os.environ.get("REVY_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("REVY_PG_PASSWORD", ""),
    },
    "mariadb": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": os.environ.get("REVY_MARIADB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("REVY_MARIADB_PORT", "3306"),
        "USER": os.environ.get("REVY_MARIADB_USER", "root"),
        "PASSWORD": os.environ.get("REVY_MARIADB_PASSWORD", ""),
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    },
}

SETTINGS = """\
# Written by scripts/compat.py.
DATABASES = {databases!r}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
REVY_RECORD_OUTSIDE_CONTEXT = True
"""

# "ERROR: test_x (app.tests.Class.test_x)", "FAIL: ... [subtest]",
# "ERROR: setUpClass (app.tests.Class)".
PROBLEM = re.compile(r"^(?:ERROR|FAIL): (\S+) \((\S+?)\)", re.MULTILINE)
# The lines of runtests.py after which revy is added.
STATICFILES = '    "django.contrib.staticfiles",\n'
SESSIONS = '        "sessions": None,\n'
KEPT_FROM_RUNNING = {"setUpClass", "setUpModule", "tearDownClass", "tearDownModule"}


@dataclass(frozen=True)
class RunResult:
    """The problems of one run of runtests.py, by test id."""

    failed: frozenset[str]
    kept_from_running: frozenset[str]
    ran: bool


def django_tests() -> Path:
    """The ``tests/`` of the installed Django's sdist, downloaded once."""
    version = django.get_version()
    tests = CACHE / f"django-{version}" / "tests"
    if tests.is_dir():
        return tests
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        + ["--no-binary", ":all:", f"django=={version}", "--dest", str(CACHE)],
        check=True,
    )
    with tarfile.open(CACHE / f"django-{version}.tar.gz") as sdist:
        sdist.extractall(CACHE, filter="data")
    return tests


def write_runners(tests: Path, database: str) -> None:
    """The settings module, and a runtests.py that always installs revy."""
    engine = DATABASES[database]
    databases = {
        alias: {**engine, "NAME": f"revy_compat_{alias}"}
        for alias in ("default", "other")
    }
    (tests / "revy_compat_settings.py").write_text(SETTINGS.format(databases=databases))
    patched = (tests / "runtests.py").read_text()
    # revy joins the apps always installed and, like the contrib apps whose
    # migrations runtests.py skips, gets its tables from its models.
    for anchor, replacement in (
        (STATICFILES, STATICFILES + '    "revy.contrib.django",\n'),
        (SESSIONS, SESSIONS + '        "revy": None,\n'),
    ):
        if patched.count(anchor) != 1:
            raise SystemExit(f"runtests.py no longer holds {anchor!r}.")
        patched = patched.replace(anchor, replacement)
    (tests / "runtests_with_revy.py").write_text(patched)


def run(tests: Path, script: str, apps: list[str], log: Path) -> RunResult:
    """Run ``apps`` with ``script``; the output is kept in ``log``."""
    print(f"== {script} {' '.join(apps)}  (log: {log})", flush=True)
    command = [sys.executable, script, "--settings=revy_compat_settings"]
    command += ["--noinput", f"--parallel={os.cpu_count() or 1}", *apps]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        command, cwd=tests, env=environment, capture_output=True, text=True
    )
    output = completed.stdout + completed.stderr
    log.write_text(output)
    failed, kept = set(), set()
    for name, where in PROBLEM.findall(output):
        if name in KEPT_FROM_RUNNING:
            kept.add(f"{where}.{name}")
        else:
            failed.add(where)
    ran = bool(re.search(r"^Ran \d+ tests?", output, re.MULTILINE))
    return RunResult(frozenset(failed), frozenset(kept), ran)


def expected_differences() -> set[str]:
    """The reviewed test ids of compat_expected.txt (``#`` starts a comment)."""
    lines = EXPECTED.read_text().splitlines()
    return {line.split("#")[0].strip() for line in lines} - {""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("apps", nargs="*", default=APPS)
    arguments = parser.parse_args()
    tests = django_tests()
    write_runners(tests, arguments.database)
    label = f"django-{django.get_version()}-{arguments.database}"
    without = run(tests, "runtests.py", arguments.apps, CACHE / f"{label}-plain.log")
    with_revy = run(
        tests, "runtests_with_revy.py", arguments.apps, CACHE / f"{label}-revy.log"
    )
    if not (without.ran and with_revy.ran):
        print("A run did not get as far as running tests: see its log.")
        return 1
    new = with_revy.failed - without.failed
    kept = with_revy.kept_from_running - without.kept_from_running
    expected = expected_differences()
    unexpected = sorted(new - expected)
    print(
        f"Django {django.get_version()} on {arguments.database}: "
        f"{len(without.failed)} failures without revy, {len(new)} new with revy "
        f"({len(new & expected)} expected, {len(unexpected)} unexpected), "
        f"{len(kept)} set-ups failed (tests kept from running)."
    )
    for test in unexpected:
        print(f"  unexpected: {test}")
    for test in sorted(kept):
        print(f"  kept from running: {test}")
    return 1 if unexpected or kept else 0


if __name__ == "__main__":
    sys.exit(main())
