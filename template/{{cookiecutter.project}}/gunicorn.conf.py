"""gunicorn's settings for ``make serve`` (WSGI).

Workers: WEB_CONCURRENCY, else two per CPU plus one (gunicorn's advice for
sync workers, each serving one request at a time). Each worker holds at most
one database connection: keep workers (times servers) under the database's
connection limit (PostgreSQL's max_connections is 100 by default).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
# A request that takes longer is killed; its transaction rolls back with its
# connection, so it leaves no half-written revision.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Restart workers now and then, so that a slow leak cannot grow for ever.
max_requests = 2000
max_requests_jitter = 200
# The project logs one line per request itself (middleware.py), to stdout.
accesslog = None
errorlog = "-"
