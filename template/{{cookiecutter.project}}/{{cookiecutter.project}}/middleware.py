"""Fill each request's revision with where the request came from.

RequestRevisionMiddleware records the request id, client IP, user agent,
method and path as the request's *origin*; ``Revision.save`` copies them
into the revision that revy creates with the request's first recorded
change (and there is none if the request changes nothing). Put it after
RevyMiddleware.

It also logs one line per request (logger ``{{ cookiecutter.project }}.requests``):
request id, method, path, status, time taken, and the revisions the request
wrote with their actor, so that an operator can go from a log line to the
history (``manage.py history``, the admin).

Handing revy an unsaved ``Revision(request_id=...)`` through
``Context.via_revision`` would work too; letting revy create the revision
itself keeps this middleware out of revy's contexts, and a request that
changes nothing builds no revision at all.
"""

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse

from {{ cookiecutter.project }}.revisions import origin
from {{ cookiecutter.project }}.revisions.models import ObjectDelta

logger = logging.getLogger("{{ cookiecutter.project }}.requests")

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


def actors_of(revision_ids: list[Any]) -> str:
    """The actors credited in these revisions, as a log line names them:
    ``accounts.user:3``, ``system``; ``-`` for none."""
    if not revision_ids:
        return "-"
    found = (
        ObjectDelta.objects.filter(revision_id__in=revision_ids)
        .values_list("actor_content_type_id", "actor_id")
        .distinct()
        .order_by()
    )
    labels = sorted(
        "system"
        if content_type is None
        else f"{ContentType.objects.get_for_id(content_type).app_label}."
        f"{ContentType.objects.get_for_id(content_type).model}:{actor_id}"
        for content_type, actor_id in found
    )
    return ",".join(labels) or "-"


def log_request(
    request: HttpRequest,
    response: HttpResponse,
    served: origin.Serving,
    started: float,
    actors: str,
) -> None:
    revisions = ",".join(str(pk) for pk in served.revisions) or "-"
    logger.info(
        "request_id=%s method=%s path=%s status=%s ms=%d revision=%s actor=%s",
        request.request_id,  # type: ignore[attr-defined]
        request.method,
        request.path,
        response.status_code,
        (time.monotonic() - started) * 1000,
        revisions,
        actors,
    )


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
        started = time.monotonic()
        request.request_id = request_id(request)  # type: ignore[attr-defined]
        with origin.serving(**origin_of(request)) as served:
            response = self.get_response(request)
            log_request(request, response, served, started, actors_of(served.revisions))
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        request.request_id = request_id(request)  # type: ignore[attr-defined]
        with origin.serving(**origin_of(request)) as served:
            response = await self.get_response(request)  # type: ignore[misc]
            actors = await sync_to_async(actors_of)(served.revisions)
            log_request(request, response, served, started, actors)
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response
