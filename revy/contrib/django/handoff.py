"""Handing a context over to background work: who asked for it, and why.

A task queue runs work in another process, long after the request that
asked for it has ended. :func:`capture` takes what the current context holds
(the actor, the descriptions, the revision so far) as a :class:`Handoff`,
which travels with the task as JSON (:meth:`Handoff.as_json`).
:func:`task_context` makes the context the task runs in: the same actor and
descriptions, and a revision description that ends with trailers naming the
task and the revision that enqueued it::

    Publish the post

    Task: blog.tasks.detect_spam 3f1c0e52-...
    Enqueued-in-revision: 41

:func:`task_run` reads those trailers back. revy.contrib.celery and
revy.contrib.tasks use this module; see docs/tasks.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, models, transaction

from revy.context import Context, Frame, current_frame
from revy.contrib.django.encoding import key_text
from revy.deferred import resolved

__all__ = [
    "Handoff",
    "HandoffError",
    "TaskRun",
    "capture",
    "on_commit",
    "task_context",
    "task_run",
]

logger = logging.getLogger(__name__)

_DESCRIPTIONS = (
    "revision_description",
    "object_delta_description",
    "attribute_delta_description",
    "deletion_description",
)
TASK_TRAILER = "Task"
REVISION_TRAILER = "Enqueued-in-revision"


class HandoffError(ValueError):
    """A handed-over context that cannot be read: the task is not run, so
    that nothing is recorded under the wrong actor."""


@dataclass(frozen=True)
class Handoff:
    """What a task keeps of the context that enqueued it."""

    actor_model: str | None = None
    """The actor's model label (``"auth.user"``); None for the system."""
    actor_id: str | None = None
    """The actor's key, as history writes it."""
    revision_description: str = ""
    object_delta_description: str = ""
    attribute_delta_description: str = ""
    deletion_description: str = ""
    revision_id: str | None = None
    """The key of the revision the enqueuing context had made, if any."""

    def as_json(self) -> dict[str, str]:
        """A dict of strings, for a message header or a task argument."""
        return {
            name: value for name, value in vars(self).items() if value not in (None, "")
        }

    @classmethod
    def from_json(cls, data: Any) -> Handoff:
        """The handoff :meth:`as_json` wrote; :class:`HandoffError` otherwise."""
        if not isinstance(data, dict):
            raise HandoffError(f"A revy handoff is a JSON object, not {data!r}.")
        unknown = set(data) - set(cls.__dataclass_fields__)
        wrong = [name for name, value in data.items() if not isinstance(value, str)]
        if unknown or wrong:
            raise HandoffError(
                f"The revy handoff {data!r} has "
                + (f"unknown keys {sorted(unknown)}" if unknown else "")
                + (" and " if unknown and wrong else "")
                + (f"values that are not text: {sorted(wrong)}" if wrong else "")
                + "."
            )
        if ("actor_model" in data) != ("actor_id" in data):
            raise HandoffError(
                f"The revy handoff {data!r} names half an actor: it needs "
                "both actor_model and actor_id, or neither."
            )
        return cls(**data)

    def actor(self) -> models.Model | None:
        """The actor, loaded; a deleted one as an unsaved instance with its
        key, so that history still credits it."""
        if self.actor_model is None:
            return None
        try:
            model = apps.get_model(self.actor_model)
        except (LookupError, ValueError) as error:
            raise HandoffError(
                f"The actor model {self.actor_model!r} of a revy handoff is "
                f"not installed: {error}"
            ) from None
        found = model._base_manager.filter(pk=self.actor_id).first()
        if found is None:
            logger.warning(
                "The actor %s %s that enqueued a task no longer exists; the "
                "task's changes are credited to its key.",
                self.actor_model,
                self.actor_id,
            )
            found = model(pk=model._meta.pk.to_python(self.actor_id))
        return found


def capture(frame: Frame | None = None, using: str = DEFAULT_DB_ALIAS) -> Handoff:
    """The handoff of ``frame`` (default: the current context); an empty one
    (the system, no descriptions) outside any context."""
    if frame is None:
        frame = current_frame()
    if frame is None:
        return Handoff()
    actor = resolved(frame.actor)
    revision = frame.revision or frame.activation.revisions.get(using)
    revision_pk = None if revision is None else revision.pk
    # _meta, not type(): request.user is a lazy object standing for the user.
    return Handoff(
        actor_model=None if actor is None else actor._meta.label_lower,
        actor_id=None if actor is None else key_text(actor._meta.model, actor.pk),
        revision_id=None if revision_pk is None else str(revision_pk),
        **{name: getattr(frame, name) for name in _DESCRIPTIONS},
    )


def on_commit(send: Callable[[Handoff], Any], using: str = DEFAULT_DB_ALIAS) -> None:
    """Call ``send(handoff)`` when the current transaction on ``using``
    commits (at once outside one), with the context current now: its
    revision is known by then, and a rolled back transaction sends nothing."""
    frame = current_frame()
    transaction.on_commit(lambda: send(capture(frame, using)), using=using)


def description(handoff: Handoff, task_name: str, task_id: str) -> str:
    """The revision description of a task's context: the enqueuing one, then
    the trailers."""
    trailers = f"{TASK_TRAILER}: {task_name} {task_id}"
    if handoff.revision_id is not None:
        trailers += f"\n{REVISION_TRAILER}: {handoff.revision_id}"
    if not handoff.revision_description:
        return trailers
    return f"{handoff.revision_description}\n\n{trailers}"


def task_context(handoff: Handoff | None, task_name: str, task_id: str) -> Context:
    """The context a task runs in: the handoff's actor and descriptions (the
    system's and none without one), its revision description ending with
    trailers that name the task."""
    handoff = handoff or Handoff()
    values = {name: getattr(handoff, name) for name in _DESCRIPTIONS}
    values["revision_description"] = description(handoff, task_name, str(task_id))
    return Context.via(actor=handoff.actor(), **values)


class TaskRun(NamedTuple):
    """What a revision description says of the task it was made in."""

    task_name: str
    task_id: str
    enqueued_in_revision: str | None


_TRAILER = re.compile(
    rf"^{TASK_TRAILER}: (?P<name>\S+) (?P<id>\S+)"
    rf"(?:\n{REVISION_TRAILER}: (?P<revision>\S+))?\Z",
    re.MULTILINE,
)


def task_run(revision_description: str) -> TaskRun | None:
    """The task a revision was made in, from its description's trailers;
    None for a revision made elsewhere."""
    found = _TRAILER.search(revision_description)
    if found is None:
        return None
    return TaskRun(found["name"], found["id"], found["revision"])
