"""ASGI entry point, for uvicorn or any ASGI server.

revy's middleware and this project's are async-capable: a request served
over ASGI is recorded exactly as one served over WSGI. ``make serve-asgi``
serves it with uvicorn.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "{{ cookiecutter.project }}.settings",
)
# Read by settings.py: no persistent connections, PostgreSQL's from a pool.
os.environ["DJANGO_SERVED_OVER"] = "asgi"

application = get_asgi_application()
