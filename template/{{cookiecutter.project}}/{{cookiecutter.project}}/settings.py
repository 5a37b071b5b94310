"""Settings of {{ cookiecutter.project_name }}, read from the environment.

Every value comes from an environment variable (or from the file .env, which
``make run`` copies from .env.example); see .env.example for the list. The
defaults are those of production: DEBUG is off and the security settings
are on, so ``manage.py check --deploy`` is clean once DJANGO_SECRET_KEY and
DJANGO_ALLOWED_HOSTS are set. Without DATABASE_URL the database is SQLite.
"""

{% if cookiecutter.include_example_apps -%}
import importlib.util
{% endif -%}
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def read_env_file(path: Path) -> None:
    """Load KEY=VALUE lines of ``path`` into os.environ, without overriding."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        os.environ.setdefault(key, value)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# DJANGO_ENV_FILE names another file; empty, it reads none.
ENV_FILE = os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    read_env_file(Path(ENV_FILE))

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (50+ random characters), or DJANGO_DEBUG=true "
            "for development: see .env.example."
        )
    SECRET_KEY = "development-only-key-never-use-it-in-production-0123456789"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before revy: its makemigrations (revy's, then ruff) is the one that runs.
    "{{ cookiecutter.project }}.revisions",
    "revy.contrib.django",
    "{{ cookiecutter.project }}.accounts",
{%- if cookiecutter.api %}
    "rest_framework",
    "rest_framework.authtoken",
{%- endif %}
{%- if cookiecutter.include_example_apps %}
    "django_tasks_db",
    "{{ cookiecutter.project }}.blog",
    "{{ cookiecutter.project }}.invoices",
    "{{ cookiecutter.project }}.reviews",
    "{{ cookiecutter.project }}.demo",
{%- endif %}
]
{%- if cookiecutter.include_example_apps %}
if importlib.util.find_spec("django.tasks") is None:
    INSTALLED_APPS.append("django_tasks")  # Django 5.2: the tasks framework's backport.
{%- endif %}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files without DEBUG: hashed, compressed names from collectstatic.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Each request runs in a revy context: its actor from REVY_ACTOR_RESOLVERS,
    # its revision description from the X-Commit-Message header...
    "revy.contrib.django.middleware.RevyMiddleware",
    # ...and its revision carries the request id, client IP and user agent.
    "{{ cookiecutter.project }}.middleware.RequestRevisionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Recording switched off, to measure what it costs (manage.py load_check): no
# context per request, and no model tracked (the admin's saves open contexts
# of their own).
RECORD_HISTORY = env_bool("DJANGO_RECORD_HISTORY", True)
if not RECORD_HISTORY:
    MIDDLEWARE.remove("revy.contrib.django.middleware.RevyMiddleware")

ROOT_URLCONF = "{{ cookiecutter.project }}.urls"
WSGI_APPLICATION = "{{ cookiecutter.project }}.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "{{ cookiecutter.project }}" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# asgi.py says the project is served over ASGI, where each request may run
# in a new thread: persistent connections would pile up there, so they stay
# off (CONN_MAX_AGE 0) and PostgreSQL's connections come from a pool.
SERVED_OVER_ASGI = os.environ.get("DJANGO_SERVED_OVER") == "asgi"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0 if SERVED_OVER_ASGI else env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if SERVED_OVER_ASGI and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_SIZE", 10),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: a transaction takes the write lock when it
    # begins, so concurrent writes wait their turn (up to the timeout)
    # instead of failing with "database is locked" after they have read.
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
{%- if cookiecutter.use_async %}
# Django refuses async views under ATOMIC_REQUESTS: where a view's writes must
# stand or fall together, wrap them in transaction.atomic(). revy writes the
# history of each write in that write's transaction either way.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
{%- else %}
# A request's changes and their history are committed together, or not at all.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
{%- endif %}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("charset", "utf8mb4")
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes hashed, compressed copies; WhiteNoise serves them
    # with far-future cache headers.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "admin:login"

# revy ------------------------------------------------------------------------
# The history models are this project's own (revisions/models.py), so the team
# can add fields to them; revy reaches them through these settings.
REVY_REVISION_MODEL = "revisions.Revision"
REVY_OBJECT_DELTA_MODEL = "revisions.ObjectDelta"
REVY_ATTRIBUTE_DELTA_MODEL = "revisions.AttributeDelta"
# Every model is tracked (revy's default); none with recording off (above).
REVY_TRACKED_MODELS = ["*"] if RECORD_HISTORY else []
# Who acts in a request: the first resolver that answers (not None) wins;
# when none does, the system (None) acts. See actors.py.
REVY_ACTOR_RESOLVERS = [
    "{{ cookiecutter.project }}.actors.organization",
    "{{ cookiecutter.project }}.actors.authenticated_user",
]
# History is append-only: revy refuses updates and deletes of it, and the
# migration revisions/0002_history_triggers has the database refuse them too.
# Personal data is erased from history with manage.py revy_redact (recorded).
REVY_PERSONAL_DATA = {"accounts.User": ["email", "first_name", "last_name"]}
# Tamper evidence: each commit seals its history with a keyed digest, which
# manage.py revy_verify checks. The key comes from the environment, never
# from the database; without it, tamper evidence stays off.
REVY_INTEGRITY_KEY = os.environ.get("REVY_INTEGRITY_KEY", "")
REVY_TAMPER_EVIDENCE = bool(REVY_INTEGRITY_KEY)
{%- if cookiecutter.api %}

# The REST API (api/) -----------------------------------------------------------
# RevyMiddleware credits each API write to the user REST framework
# authenticated (a token here), though that happens in the view.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}
{%- endif %}
{%- if cookiecutter.include_example_apps %}

# Reviews (reviews/): a save whose rule here says so becomes a proposal for
# review, as does any save by a user who may propose but not change a model.
REVY_PROPOSAL_MODEL = "revy.Proposal"
REVIEWED_MODELS = {
    "invoices.Invoice": "{{ cookiecutter.project }}.invoices.services.needs_review",
}
# An invoice whose amount a change takes above this needs review.
INVOICE_REVIEW_ABOVE = os.environ.get("INVOICE_REVIEW_ABOVE", "10000")
# The proposer hears of each decision by e-mail: on the console in development.
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends." + ("console" if DEBUG else "smtp") + ".EmailBackend",
)

# Background work: tasks are stored in the database and run by
# `python manage.py db_worker`; each runs as whoever enqueued it (revy.contrib.tasks).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
{%- endif %}

# Client IPs: the number of proxies in front of the site that append to
# X-Forwarded-For (0: use the address of the connection).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Security: production defaults, relaxed only by DEBUG or the environment ---------
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A load balancer asks for /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Logs go to stdout, one line per request from the middleware's logger
# ({{ cookiecutter.project }}.requests), naming the revision the request wrote.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
