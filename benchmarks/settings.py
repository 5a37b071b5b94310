"""Settings of the benchmark project; the DB environment variable picks the database.

DB=sqlite (default: a file in the temporary directory, in WAL mode with
synchronous=NORMAL as Django's docs advise for production, so a commit is
not an fsync), DB=postgresql (127.0.0.1:5432, user postgres) or
DB=mariadb (127.0.0.1:3306, user root). The runner creates a database
named revy_bench_<process id> and drops it at the end: runs side by side
(``make bench-compare``, or on a shared machine) never clobber each other's.
"""

import os
import tempfile

DB = os.environ.get("DB", "sqlite")
SECRET_KEY = "revy-benchmarks"
DEBUG = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# pghistory works by PostgreSQL triggers: on other databases it is left out.
PGHISTORY = DB == "postgresql"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "revy.contrib.django",
    "reversion",
    "simple_history",
    "auditlog",
    *(["pgtrigger", "pghistory"] if PGHISTORY else []),
    "benchmarks",
]

# The benchmark app has no migrations: its tables come from migrate's
# run_syncdb, while every library's own migrations run as shipped.
MIGRATION_MODULES = {"benchmarks": None}
PGTRIGGER_INSTALL_ON_MIGRATE = True

# The admin history pages of the "admin_history" scenario (benchmarks/admin.py).
ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["testserver"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
SILENCED_SYSTEM_CHECKS = ["admin.E403", "admin.E408", "admin.E409", "admin.E410"]

# Only the revy twins are tracked by revy.
REVY_TRACKED_MODELS = ["benchmarks.revy*"]

# A database of this process; the runner drops it (SQLite: removes the file).
# make bench-scale names one of its own, kept across its processes.
NAME = os.environ.get("REVY_BENCH_NAME") or f"revy_bench_{os.getpid()}"
SQLITE_FILE = os.environ.get("REVY_BENCH_SQLITE") or os.path.join(
    tempfile.gettempdir(), f"revy-bench-{os.getpid()}.sqlite3"
)
_DATABASES = {
    "sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": SQLITE_FILE,
        "TEST": {"NAME": SQLITE_FILE},
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
        },
    },
    "postgresql": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": NAME,
        "USER": os.environ.get("REVY_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("REVY_PG_PASSWORD", ""),
        "HOST": os.environ.get("REVY_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("REVY_PG_PORT", "5432"),
        "TEST": {"NAME": NAME},
    },
    "mariadb": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": NAME,
        "USER": os.environ.get("REVY_MARIADB_USER", "root"),
        "PASSWORD": os.environ.get("REVY_MARIADB_PASSWORD", ""),
        "HOST": os.environ.get("REVY_MARIADB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("REVY_MARIADB_PORT", "3306"),
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {
            "NAME": NAME,
            "CHARSET": "utf8mb4",
            "COLLATION": "utf8mb4_unicode_ci",
        },
    },
}
if DB not in _DATABASES:
    raise RuntimeError(f"DB={DB!r} is not one of {', '.join(_DATABASES)}.")
DATABASES = {"default": _DATABASES[DB]}
