"""The page of a request that failed: 503 when the database is unreachable.

Django calls ``handler500`` while it handles the exception, so the exception
is at hand; the page is rendered without a request (no context processor
may touch the database). The traceback still goes to the log.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error as django_server_error

# How long a client should wait before trying again, in seconds.
RETRY_AFTER = 30


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        page = loader.get_template("503.html").render()
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return django_server_error(request)
