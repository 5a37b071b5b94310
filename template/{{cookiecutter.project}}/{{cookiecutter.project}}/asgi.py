"""ASGI entry point, for uvicorn or any ASGI server.

revy's middleware and this project's are async-capable: a request served
over ASGI is recorded exactly as one served over WSGI.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "{{ cookiecutter.project }}.settings",
)

application = get_asgi_application()
