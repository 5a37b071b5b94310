"""``revy.Context``: who is acting, why, and whether changes are recorded.

A context is entered with ``with``, used as a decorator (``@Context()``,
``@Context.via_actor(user)``) on plain and ``async def`` functions, and nests.
Each thread and each asyncio task has its own stack of *frames*. A frame is
immutable: setting a value replaces the innermost frame of the current task
only, so a child task never writes into its parent's stack, and leaving a
context drops everything it set. Every operation is O(1) in the depth of the
stack because a frame carries the merged values of all frames below it.

The class subclasses ``stackholm.Context`` and keeps its vocabulary; why the
state lives in frames rather than in stackholm's storages is explained in
``docs/decisions/0001-context-frames-on-contextvars.md``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

import stackholm
from asgiref.sync import iscoroutinefunction

from revy.deferred import resolved

# Context and NoActiveContext are for applications; Frame, Activation,
# current_frame and restore_frame for integrations such as revy.contrib.django.
__all__ = [
    "Activation",
    "Context",
    "Frame",
    "NoActiveContext",
    "current_frame",
    "restore_frame",
]

F = TypeVar("F", bound=Callable[..., Any])

ACTOR = "actor"
REVISION = "revision"
REVISION_DESCRIPTION = "revision_description"
OBJECT_DELTA_DESCRIPTION = "object_delta_description"
ATTRIBUTE_DELTA_DESCRIPTION = "attribute_delta_description"
DELETION_DESCRIPTION = "deletion_description"
ENABLED = "enabled"

# The value each key has when no context set it.
DEFAULTS: Mapping[str, Any] = {
    ACTOR: None,
    REVISION: None,
    REVISION_DESCRIPTION: "",
    OBJECT_DELTA_DESCRIPTION: "",
    ATTRIBUTE_DELTA_DESCRIPTION: "",
    DELETION_DESCRIPTION: "",
    ENABLED: True,
}


class NoActiveContext(stackholm.NoContextIsActive):
    """Raised when a value is set while no revy context is active."""


class Activation:
    """State shared by every frame of one outermost context activation.

    The revisions that the first recorded change on each database creates
    live here, keyed by database alias, so that nested contexts, and tasks
    started inside the context, add to them. A thread whose connection may
    not use one of them yet keeps its own under another key (see
    ``revy.contrib.django.recorder.revision_for``).
    """

    __slots__ = ("revisions", "__weakref__")

    def __init__(self) -> None:
        self.revisions: dict[Any, Any] = {}


class Frame:
    """One active context in one task's stack; never mutated once built."""

    __slots__ = ("context", "parent", "values", "activation", "memo")

    def __init__(
        self,
        context: Context,
        parent: Frame | None,
        values: dict[str, Any],
        activation: Activation,
    ) -> None:
        self.context = context
        self.parent = parent
        self.values = values
        self.activation = activation
        # What integrations derive from ``values``, kept while they hold.
        self.memo: dict[str, Any] = {}

    def replace(self, values: dict[str, Any]) -> Frame:
        return Frame(self.context, self.parent, values, self.activation)

    # What integrations read, by name: the values in force in this frame.

    @property
    def actor(self) -> Any:
        """The actor: a model instance, None for the system, or a Deferred."""
        return self.values.get(ACTOR)

    @property
    def revision(self) -> Any:
        """The revision set with ``via_revision``/``set_revision``, or None."""
        return self.values.get(REVISION)

    @property
    def revision_description(self) -> str:
        return self.values.get(REVISION_DESCRIPTION) or ""

    @property
    def object_delta_description(self) -> str:
        return self.values.get(OBJECT_DELTA_DESCRIPTION, "")

    @property
    def attribute_delta_description(self) -> str:
        return self.values.get(ATTRIBUTE_DELTA_DESCRIPTION, "")

    @property
    def deletion_description(self) -> str:
        return self.values.get(DELETION_DESCRIPTION, "")

    @property
    def is_enabled(self) -> bool:
        """Whether changes are recorded in this frame."""
        return self.values.get(ENABLED, True)


_innermost: ContextVar[Frame | None] = ContextVar("revy_context", default=None)


def current_frame() -> Frame | None:
    """The innermost frame of the calling thread or task, or None."""
    return _innermost.get()


def restore_frame(frame: Frame | None) -> None:
    """Make ``frame`` the innermost again, dropping any frames left above it:
    for code that must not let a context it ran leak out (a request)."""
    _innermost.set(frame)


class Context(stackholm.Context):
    """A block of code whose changes are recorded as one revision.

    An instance holds only the values it sets on entry (``Context.via_actor(u)``
    holds ``actor=u``); it keeps no state of its own while active, so one
    instance can be entered again, recursively, or from several tasks at once.
    """

    def __init__(self, **values: Any) -> None:
        super().__init__()
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise TypeError(
                f"Context() got unknown values {', '.join(unknown)}; "
                f"known are {', '.join(DEFAULTS)}."
            )
        self._checkpoint_data = dict(values)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self._checkpoint_data.items())
        return f"<revy.Context({values})>"

    # Entering and leaving -------------------------------------------------

    def __enter__(self) -> Context:
        parent = _innermost.get()
        if parent is None:
            values = dict(self._checkpoint_data)
            activation = Activation()
        else:
            values = {**parent.values, **self._checkpoint_data}
            activation = parent.activation
        _innermost.set(Frame(self, parent, values, activation))
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        frame = _innermost.get()
        if frame is None or frame.context is not self:
            raise RuntimeError(
                "revy contexts must be left in the reverse order they were entered."
            )
        _innermost.set(frame.parent)

    def activate(self) -> Context:
        """Enter this context without a ``with`` block; pair with ``deactivate``."""
        return self.__enter__()

    def deactivate(self) -> None:
        """Leave this context, which must be the innermost one."""
        self.__exit__(None, None, None)

    def _recreate_cm(self) -> Context:
        # Instances hold no activation state, so each call of a decorated
        # function can enter the same instance afresh.
        return self

    def __call__(self, func: F) -> F:  # type: ignore[override]
        """Decorate ``func`` so that every call runs inside a fresh activation."""
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(
                f"A revy Context cannot decorate the generator function "
                f"{func.__qualname__}: its body runs after the call returns. "
                "Enter the context inside it, with a `with` block."
            )
        # asgiref's test also sees functions marked as coroutine functions,
        # such as async class-based views and sync_to_async wrappers.
        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._recreate_cm():
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]
        return super().__call__(func)  # type: ignore[return-value]

    @property
    def is_active(self) -> bool:
        """Whether this instance is entered in the calling task's stack."""
        frame = _innermost.get()
        while frame is not None:
            if frame.context is self:
                return True
            frame = frame.parent
        return False

    @classmethod
    def get_current(cls) -> Context | None:
        """The innermost active context of the calling task, or None."""
        frame = _innermost.get()
        return None if frame is None else frame.context

    # Generic access, in stackholm's vocabulary ------------------------------

    @classmethod
    def get_checkpoint_value(cls, key: str, default: Any = None) -> Any:
        """The value of ``key`` in the innermost context, else ``default``."""
        frame = _innermost.get()
        if frame is None:
            return default
        return frame.values.get(key, default)

    @classmethod
    def set_checkpoint_value(cls, key: str, value: Any) -> None:
        """Set ``key`` in the innermost context until that context ends."""
        frame = cls._require_frame(f"set {key}")
        _innermost.set(frame.replace({**frame.values, key: value}))

    @classmethod
    def pop_checkpoint_value(cls, key: str, default: Any = None) -> Any:
        """Forget what the innermost context set for ``key``; return that value.

        The value of the enclosing context (or the default) applies again.
        """
        frame = cls._require_frame(f"unset {key}")
        values = dict(frame.values)
        popped = values.pop(key, default)
        if frame.parent is not None and key in frame.parent.values:
            values[key] = frame.parent.values[key]
        _innermost.set(frame.replace(values))
        return popped

    @classmethod
    def reset_checkpoint_value(cls, key: str) -> None:
        """Give ``key`` its default value in the innermost context."""
        cls.set_checkpoint_value(key, DEFAULTS[key])

    @classmethod
    def via(cls, **values: Any) -> Context:
        """A context that sets several values on entry: ``Context.via(actor=u)``."""
        return cls(**values)

    @classmethod
    def _require_frame(cls, action: str) -> Frame:
        frame = _innermost.get()
        if frame is None:
            raise NoActiveContext(
                f"Cannot {action}: no revy context is active. Wrap the code in "
                "`with Context():` or decorate it with `@Context()`."
            )
        return frame

    @classmethod
    def _get(cls, key: str) -> Any:
        frame = _innermost.get()
        if frame is None:
            return DEFAULTS[key]
        return frame.values.get(key, DEFAULTS[key])

    # Enabling and disabling -------------------------------------------------

    @classmethod
    def is_enabled(cls) -> bool:
        """Whether changes are recorded now: a context is active and enabled."""
        frame = _innermost.get()
        return frame is not None and frame.values.get(ENABLED, True)

    @classmethod
    def is_disabled(cls) -> bool:
        """The opposite of :meth:`is_enabled`."""
        return not cls.is_enabled()

    @classmethod
    def disable(cls) -> None:
        """Stop recording in the innermost context, until it ends or ``enable()``."""
        cls.set_checkpoint_value(ENABLED, False)

    @classmethod
    def enable(cls) -> None:
        """Record again in the innermost context."""
        cls.set_checkpoint_value(ENABLED, True)

    @classmethod
    def as_disabled(cls) -> Context:
        """A context in which nothing is recorded."""
        return cls(enabled=False)

    @classmethod
    def as_enabled(cls) -> Context:
        """A context in which changes are recorded, even inside a disabled one."""
        return cls(enabled=True)

    # The actor: any model instance, or None for the system ------------------

    @classmethod
    def get_actor(cls) -> Any:
        """The current actor: a model instance, or None for the system."""
        return resolved(cls._get(ACTOR))

    @classmethod
    def set_actor(cls, actor: Any) -> None:
        """Set the actor for the rest of the innermost context."""
        cls.set_checkpoint_value(ACTOR, actor)

    @classmethod
    def unset_actor(cls) -> None:
        """Drop the actor the innermost context set; the enclosing one applies."""
        cls.pop_checkpoint_value(ACTOR)

    @classmethod
    def reset_actor(cls) -> None:
        """Make the system (None) the actor in the innermost context."""
        cls.reset_checkpoint_value(ACTOR)

    @classmethod
    def via_actor(cls, actor: Any) -> Context:
        """A context whose actor is ``actor``."""
        return cls(actor=actor)

    # The revision -----------------------------------------------------------

    @classmethod
    def get_revision(cls) -> Any:
        """The revision changes are added to: set explicitly, or already created."""
        frame = _innermost.get()
        if frame is None:
            return None
        revision = frame.values.get(REVISION)
        if revision is None:
            revision = next(iter(frame.activation.revisions.values()), None)
        return revision

    @classmethod
    def set_revision(cls, revision: Any) -> None:
        """Add the changes of the innermost context to an existing revision."""
        cls.set_checkpoint_value(REVISION, revision)

    @classmethod
    def unset_revision(cls) -> None:
        """Drop the revision the innermost context set; the enclosing one applies."""
        cls.pop_checkpoint_value(REVISION)

    @classmethod
    def reset_revision(cls) -> None:
        """Stop adding to an explicitly set revision in the innermost context."""
        cls.reset_checkpoint_value(REVISION)

    @classmethod
    def via_revision(cls, revision: Any) -> Context:
        """A context whose changes are added to ``revision``."""
        return cls(revision=revision)

    # Descriptions -----------------------------------------------------------

    @classmethod
    def get_revision_description(cls) -> str:
        """The description of the revision; "" when none was set."""
        return cls._get(REVISION_DESCRIPTION)

    @classmethod
    def set_revision_description(cls, description: str) -> None:
        """Describe the revision, for the rest of the innermost context."""
        cls.set_checkpoint_value(REVISION_DESCRIPTION, description)

    @classmethod
    def unset_revision_description(cls) -> None:
        """Drop the revision description the innermost context set."""
        cls.pop_checkpoint_value(REVISION_DESCRIPTION)

    @classmethod
    def reset_revision_description(cls) -> None:
        """Make the revision description empty in the innermost context."""
        cls.reset_checkpoint_value(REVISION_DESCRIPTION)

    @classmethod
    def via_revision_description(cls, description: str) -> Context:
        """A context that describes the revision."""
        return cls(revision_description=description)

    @classmethod
    def get_object_delta_description(cls) -> str:
        """The description given to object deltas recorded now."""
        return cls._get(OBJECT_DELTA_DESCRIPTION)

    @classmethod
    def set_object_delta_description(cls, description: str) -> None:
        """Describe the object deltas recorded in the rest of the innermost context."""
        cls.set_checkpoint_value(OBJECT_DELTA_DESCRIPTION, description)

    @classmethod
    def unset_object_delta_description(cls) -> None:
        """Drop the object delta description the innermost context set."""
        cls.pop_checkpoint_value(OBJECT_DELTA_DESCRIPTION)

    @classmethod
    def reset_object_delta_description(cls) -> None:
        """Make the object delta description empty in the innermost context."""
        cls.reset_checkpoint_value(OBJECT_DELTA_DESCRIPTION)

    @classmethod
    def via_object_delta_description(cls, description: str) -> Context:
        """A context that describes the object deltas recorded in it."""
        return cls(object_delta_description=description)

    @classmethod
    def get_attribute_delta_description(cls) -> str:
        """The description given to attributes assigned now."""
        return cls._get(ATTRIBUTE_DELTA_DESCRIPTION)

    @classmethod
    def set_attribute_delta_description(cls, description: str) -> None:
        """Describe the attributes assigned in the rest of the innermost context."""
        cls.set_checkpoint_value(ATTRIBUTE_DELTA_DESCRIPTION, description)

    @classmethod
    def unset_attribute_delta_description(cls) -> None:
        """Drop the attribute delta description the innermost context set."""
        cls.pop_checkpoint_value(ATTRIBUTE_DELTA_DESCRIPTION)

    @classmethod
    def reset_attribute_delta_description(cls) -> None:
        """Make the attribute delta description empty in the innermost context."""
        cls.reset_checkpoint_value(ATTRIBUTE_DELTA_DESCRIPTION)

    @classmethod
    def via_attribute_delta_description(cls, description: str) -> Context:
        """A context that describes the attributes assigned in it."""
        return cls(attribute_delta_description=description)

    @classmethod
    def get_deletion_description(cls) -> str:
        """The description given to deletions recorded now."""
        return cls._get(DELETION_DESCRIPTION)

    @classmethod
    def set_deletion_description(cls, description: str) -> None:
        """Describe the deletions recorded in the rest of the innermost context."""
        cls.set_checkpoint_value(DELETION_DESCRIPTION, description)

    @classmethod
    def unset_deletion_description(cls) -> None:
        """Drop the deletion description the innermost context set."""
        cls.pop_checkpoint_value(DELETION_DESCRIPTION)

    @classmethod
    def reset_deletion_description(cls) -> None:
        """Make the deletion description empty in the innermost context."""
        cls.reset_checkpoint_value(DELETION_DESCRIPTION)

    @classmethod
    def via_deletion_description(cls, description: str) -> Context:
        """A context that describes the deletions recorded in it."""
        return cls(deletion_description=description)
