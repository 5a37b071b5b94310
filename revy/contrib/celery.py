"""Celery tasks that run as whoever enqueued them: ``pip install revy[celery]``.

Make :class:`RevyTask` the base of the project's tasks::

    app = Celery("project", task_cls="revy.contrib.celery:RevyTask")

Sending a task (``delay``, ``apply_async``, ``delay_on_commit``) puts the
sender's context (:mod:`revy.contrib.django.handoff`) in the message's
``revy`` header; the worker runs the task in a context with the same actor
and descriptions, whose revision description names the task. See
docs/tasks.md.
"""

from __future__ import annotations

from typing import Any

from celery.contrib.django.task import DjangoTask
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django import handoff

__all__ = ["HEADER", "RevyTask"]

HEADER = "revy"
"""The message header that carries the handoff."""


class RevyTask(DjangoTask):
    """A task that runs in the context of whoever sent it.

    ``delay_on_commit`` and ``apply_async_on_commit`` take the context when
    they are called and send the task when the transaction commits, so the
    handoff names the revision the transaction wrote. A task sent outside
    any context runs as the system.
    """

    abstract = True

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        *positional: Any,
        headers: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        headers = dict(headers or {})
        if HEADER not in headers:
            headers[HEADER] = handoff.capture().as_json()
        return super().apply_async(
            args, kwargs, *positional, headers=headers, **options
        )

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:
        """``delay`` when the current transaction commits."""
        self.apply_async_on_commit(args, kwargs)

    def apply_async_on_commit(
        self,
        args: Any = None,
        kwargs: Any = None,
        using: str = DEFAULT_DB_ALIAS,
        **options: Any,
    ) -> None:
        """``apply_async`` when the transaction on ``using`` commits, with
        the context current now."""
        headers = dict(options.pop("headers", None) or {})

        def send(taken: handoff.Handoff) -> None:
            self.apply_async(
                args, kwargs, headers={**headers, HEADER: taken.as_json()}, **options
            )

        handoff.on_commit(send, using)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.called_directly:  # A plain call: the caller's context.
            return super().__call__(*args, **kwargs)
        data = request.get(HEADER)
        if data is None:  # Eager runs keep custom headers apart.
            data = (request.headers or {}).get(HEADER)
        taken = None if data is None else handoff.Handoff.from_json(data)
        with handoff.task_context(taken, self.name, request.id or ""):
            return super().__call__(*args, **kwargs)
