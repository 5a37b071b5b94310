"""Settings of the test project; REVY_TEST_DATABASE picks the database.

sqlite (default), postgresql or mariadb; REVY_TEST_SWAPPED=1 swaps revy's
history models for those of tests/swapped. Connections default to the standard
local ports and can be moved with REVY_PG_* and REVY_MARIADB_* variables.
"""

import importlib.util
import os
import tempfile

import django

SECRET_KEY = "revy-tests"
USE_TZ = True
TIME_ZONE = "Europe/Istanbul"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "revy.contrib.django",
    "tests.testapp",
    "tests.adminapp",
    "tests.proposalapp",
    "tests.schemaapp",
    # revy.contrib.rest_framework, revy.contrib.tasks and revy.contrib.celery
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_tasks_db",
]
if importlib.util.find_spec("django.tasks") is None:
    INSTALLED_APPS.append("django_tasks")  # The backport, on Django 5.2.

# REVY_TEST_SWAPPED=1 runs the suite against the history models of
# tests/swapped instead of revy's own, as a project that swaps them would.
SWAPPED_HISTORY_MODELS = os.environ.get("REVY_TEST_SWAPPED", "0") == "1"
if SWAPPED_HISTORY_MODELS:
    INSTALLED_APPS.append("tests.swapped")
    REVY_REVISION_MODEL = "swapped.Revision"
    REVY_OBJECT_DELTA_MODEL = "swapped.ObjectDelta"
    REVY_ATTRIBUTE_DELTA_MODEL = "swapped.AttributeDelta"
    REVY_PROPOSAL_MODEL = "swapped.Proposal"

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"
STATIC_URL = "/static/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]

DATABASE_NAME = os.environ.get("REVY_TEST_DATABASE", "sqlite")
# One test database per run, so that runs side by side never share one.
TEST_DATABASE_NAME = f"test_revy_{os.getpid()}"

_DATABASES = {
    "sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        # A file, not memory: tests that start a worker process share it.
        "TEST": {
            "NAME": os.path.join(tempfile.gettempdir(), f"{TEST_DATABASE_NAME}.sqlite3")
        },
    },
    "postgresql": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("REVY_PG_NAME", "revy"),
        "USER": os.environ.get("REVY_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("REVY_PG_PASSWORD", ""),
        "HOST": os.environ.get("REVY_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("REVY_PG_PORT", "5432"),
        "TEST": {"NAME": TEST_DATABASE_NAME},
    },
    "mariadb": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": os.environ.get("REVY_MARIADB_NAME", "revy"),
        "USER": os.environ.get("REVY_MARIADB_USER", "root"),
        "PASSWORD": os.environ.get("REVY_MARIADB_PASSWORD", ""),
        "HOST": os.environ.get("REVY_MARIADB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("REVY_MARIADB_PORT", "3306"),
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {
            "NAME": TEST_DATABASE_NAME,
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
        },
    },
}

if DATABASE_NAME not in _DATABASES:
    raise RuntimeError(
        f"REVY_TEST_DATABASE={DATABASE_NAME!r} is not one of {', '.join(_DATABASES)}."
    )

DATABASES = {"default": _DATABASES[DATABASE_NAME]}
# A replica for the routing tests: the same database under another alias,
# so each query shows which alias it was sent to.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}


class _NoMigrationsOnTheReplica:
    """A mirror gets no tables of its own, so Django's checks of the models
    (Django 6 runs those that ask a database by default) leave it alone."""

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool | None:
        return False if db == "replica" else None


DATABASE_ROUTERS = [_NoMigrationsOnTheReplica()]

# PostgreSQL's own field types (ArrayField, HStoreField) are tracked too.
if DATABASE_NAME == "postgresql":
    INSTALLED_APPS += ["django.contrib.postgres", "tests.pgapp"]

# Models of features new in Django 6.1: database-level on_delete.
if django.VERSION >= (6, 1):
    INSTALLED_APPS += ["tests.django61app"]

REVY_UNTRACKED_MODELS = ["testapp.Untracked"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SIMPLE_JWT = {"SIGNING_KEY": "revy-tests-" * 4}

# Django's tasks framework (revy.contrib.tasks): stored in the database and
# run by the db_worker command.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
