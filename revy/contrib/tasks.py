"""Django's tasks that run as whoever enqueued them: ``pip install revy[tasks]``.

Django 6 has the tasks framework (``django.tasks``); on Django 5.2 its
backport, the ``django-tasks`` package, is used. Declare tasks with revy's
:func:`task` decorator instead of Django's (it takes the same arguments)::

    from revy.contrib.tasks import task

    @task()
    def detect_spam(comment_id): ...

    detect_spam.enqueue(comment.pk)            # the context of now
    detect_spam.enqueue_on_commit(comment.pk)  # when the transaction commits

The enqueuing context travels as the keyword argument ``revy_context`` (a
JSON object, :mod:`revy.contrib.django.handoff`); the task runs in a
context with the same actor and descriptions, whose revision description
names the task and its result id. See docs/tasks.md.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.db import DEFAULT_DB_ALIAS

from revy.contrib.django import handoff

if importlib.util.find_spec("django.tasks") is not None:
    from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskContext
else:  # Django 5.2: the backport
    from django_tasks import (  # type: ignore[no-redef]
        DEFAULT_TASK_BACKEND_ALIAS,
        TaskContext,
    )
    from django_tasks.base import Task  # type: ignore[no-redef,assignment]

__all__ = ["KWARG", "RevyTask", "task"]

KWARG = "revy_context"
"""The keyword argument that carries the handoff."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RevyTask(Task):  # type: ignore[misc,type-arg]
    """A task whose ``enqueue`` hands the current context over; made by
    :func:`task`."""

    def enqueue(self, *args: Any, **kwargs: Any) -> Any:
        return super().enqueue(*args, **_with_context(kwargs))

    async def aenqueue(self, *args: Any, **kwargs: Any) -> Any:
        return await super().aenqueue(*args, **_with_context(kwargs))

    def enqueue_on_commit(
        self, *args: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any
    ) -> None:
        """``enqueue`` when the transaction on ``using`` commits (at once
        outside one), with the context current now; nothing if it rolls
        back."""

        def send(taken: handoff.Handoff) -> None:
            Task.enqueue(self, *args, **{**kwargs, KWARG: taken.as_json()})

        handoff.on_commit(send, using)


def _with_context(kwargs: dict[str, Any]) -> dict[str, Any]:
    if KWARG in kwargs:
        return kwargs
    return {**kwargs, KWARG: handoff.capture().as_json()}


def _runner(function: Callable[..., Any], takes_context: bool) -> Callable[..., Any]:
    """What the backend calls: ``function`` inside the handed-over context.
    It takes Django's task context, for the result id, and passes it on
    only if ``function`` asked for it."""

    def context_of(task_context: Any, data: Any) -> Any:
        taken = None if data is None else handoff.Handoff.from_json(data)
        result = task_context.task_result
        return handoff.task_context(taken, result.task.module_path, result.id)

    if iscoroutinefunction(function):

        async def run_async(context: TaskContext, *args: Any, **kwargs: Any) -> Any:
            with context_of(context, kwargs.pop(KWARG, None)):
                if takes_context:
                    return await function(context, *args, **kwargs)
                return await function(*args, **kwargs)

        return _named_as(run_async, function)

    def run(context: TaskContext, *args: Any, **kwargs: Any) -> Any:
        with context_of(context, kwargs.pop(KWARG, None)):
            if takes_context:
                return function(context, *args, **kwargs)
            return function(*args, **kwargs)

    return _named_as(run, function)


def _named_as(runner: Callable[..., Any], function: Callable[..., Any]) -> Any:
    """``runner`` under ``function``'s names, so that the worker finds the
    task where ``function`` was declared. Not ``functools.wraps``: the
    backend reads the runner's own signature, which takes the context."""
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(runner, name, getattr(function, name))
    return runner


def task(
    function: Callable[..., Any] | None = None,
    *,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    takes_context: bool = False,
    **options: Any,
) -> Any:
    """Django's ``@task`` (same arguments), making a :class:`RevyTask`."""

    def wrapper(f: Callable[..., Any]) -> RevyTask:
        return RevyTask(
            func=_runner(f, takes_context),
            backend=backend,
            takes_context=True,
            **options,
        )

    if function is not None:
        return wrapper(function)
    return wrapper
