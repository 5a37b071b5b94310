"""Fill each request's revision with where the request came from.

RequestRevisionMiddleware records the request id, client IP, user agent,
method and path as the request's *origin*; ``Revision.save`` copies them
into the revision that revy creates with the request's first recorded
change (and there is none if the request changes nothing). Put it after
RevyMiddleware.

Handing revy an unsaved ``Revision(request_id=...)`` through
``Context.via_revision`` would work too; letting revy create the revision
itself keeps this middleware out of revy's contexts, and a request that
changes nothing builds no revision at all.
"""

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from {{ cookiecutter.project }}.revisions import origin

REQUEST_ID_HEADER = "X-Request-ID"
# An id from a proxy is kept only if it looks like one: no log injection.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(request: HttpRequest) -> str:
    """The id the proxy gave the request, or a new one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting only settings.TRUSTED_PROXY_COUNT proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.headers.get("X-Forwarded-For", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def origin_of(request: HttpRequest) -> dict[str, Any]:
    """The fields of ``request``'s revision."""
    return {
        "request_id": request.request_id,  # type: ignore[attr-defined]
        "client_ip": client_ip(request),
        "user_agent": request.headers.get("User-Agent", "")[:512],
        "method": request.method or "",
        "path": request.path[:2048],
    }


class RequestRevisionMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        request.request_id = request_id(request)  # type: ignore[attr-defined]
        with origin.serving(**origin_of(request)):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id(request)  # type: ignore[attr-defined]
        with origin.serving(**origin_of(request)):
            response = await self.get_response(request)  # type: ignore[misc]
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response
