"""What a tracked instance remembers between loading and saving.

Kept on ``instance._state``, and nothing at all per loaded row until a field
is assigned:

- ``revy_known``: True while the instance's field values, with the originals
  below laid over them, are what its row holds: after loading, saving or
  refreshing it, and until a rollback undoes its last save.
- ``revy_originals``: for each field assigned since, the value the row holds.
  Saving compares against these, so old values are true even for objects
  loaded outside any context. Values that can change in place (JSON) are
  kept as copies from the start, since no assignment reveals such a change.
- ``revy_attributions``: for each field assigned inside an enabled context,
  the actor and attribute delta description current at that assignment.
  That is how one revision holds several actors.
- For an instance a bulk write saved in a transaction, ``revy_known`` holds
  the :class:`Learnt` of that write instead of True, and ``revy_taken`` the
  attributions each such write took, with its Learnt. If a rollback undoes
  the write, the instance no longer knows its row and the attributions are
  due again; one mark per write, not a note per instance, so that a bulk
  write keeps nothing per row in revy's own lists.

Tracked model classes get a ``__setattr__`` that notes both, and rows are
loaded without going through it (see ``from_db``), so loading a tracked
model costs no more than loading any other.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, NamedTuple

from django.db import models
from django.db.models.base import DEFERRED, ModelState
from django.db.models.signals import ModelSignal, post_init, pre_init
from django.dispatch.dispatcher import NO_RECEIVERS

from revy.context import current_frame


class Assignment(NamedTuple):
    """Who assigned a field, and the attribute delta description then."""

    actor: Any
    description: str


class Learnt:
    """What the instances one bulk write saved learnt, in an open
    transaction: ``undone`` once a rollback undid that write, ``committed``
    once nothing can."""

    __slots__ = ("committed", "undone")

    def __init__(self) -> None:
        self.undone = False
        self.committed = False


_installed: set[type[models.Model]] = set()
# A frame's memo holds this where nothing is recorded (a disabled context).
_NOT_RECORDED = object()


@functools.cache
def attnames_of(model: type[models.Model]) -> tuple[str, ...]:
    """The attnames of the concrete fields, in the order rows are loaded."""
    return tuple(field.attname for field in model._meta.concrete_fields)


# Values of these fields can be changed in place (``obj.data["k"] = v``).
_MUTABLE_TYPES = {"JSONField", "ArrayField", "HStoreField"}


@functools.cache
def mutable_attnames(model: type[models.Model]) -> tuple[str, ...]:
    """Attnames of the fields whose values can change in place."""
    return tuple(
        field.attname
        for field in model._meta.concrete_fields
        if field.get_internal_type() in _MUTABLE_TYPES
    )


def set_loaded(instance: models.Model, values: Any) -> None:
    """Remember ``values`` (one per concrete field) as what the row holds."""
    data = instance.__dict__
    originals = {
        attname: value
        for attname, value in zip(attnames_of(type(instance)), values, strict=True)
        if data.get(attname, DEFERRED) is not value
    }
    for attname in mutable_attnames(type(instance)):
        if attname not in originals and attname in data:
            originals[attname] = copy.deepcopy(data[attname])
    state = instance._state
    state.revy_known = True
    state.revy_originals = originals


def originals(instance: models.Model) -> dict[str, Any]:
    """``{attname: value the row holds}`` of the fields assigned since the
    instance learnt what its row holds; see :func:`stored_value`."""
    return instance._state.__dict__.get("revy_originals") or {}


def stored_value(instance: models.Model, attname: str) -> Any:
    """What the row holds for ``attname``, if the instance knows it
    (:func:`is_known`); ``DEFERRED`` if it was never loaded."""
    originals = instance._state.__dict__.get("revy_originals")
    if originals and attname in originals:
        return originals[attname]
    return instance.__dict__.get(attname, DEFERRED)


def is_known(instance: models.Model) -> bool:
    """Whether the instance knows what its row holds."""
    known = instance._state.__dict__.get("revy_known")
    if type(known) is Learnt:
        return not known.undone
    return bool(known)


def _settle(state: ModelState) -> None:
    """Once a rollback undid the bulk write that saved the instance (see
    :class:`Learnt`): forget what it learnt, give back what it took."""
    known = state.__dict__
    learnt = known.get("revy_known")
    if type(learnt) is Learnt and learnt.undone:
        known["revy_known"] = False
    taken = known.get("revy_taken")
    if taken is None:
        return
    pending = []
    for write, attributions in taken:
        if write.undone:
            found = known.setdefault("revy_attributions", {})
            for attname, attribution in attributions.items():
                found.setdefault(attname, attribution)  # Unless assigned since.
        elif not write.committed:
            pending.append((write, attributions))
    if pending:
        known["revy_taken"] = pending
    else:
        del known["revy_taken"]


def remember_stored(
    instance: models.Model,
    stored: dict[str, Any],
    learnt: Learnt | None = None,
    learn: bool = True,
) -> None:
    """The row now holds ``stored`` (by attname); its other fields are as the
    instance knew them, or unknown if it knew nothing and ``stored`` is not
    every field but the key, or ``learn`` is False. ``learnt``: a bulk write
    saved it (in a transaction still open), and takes the attributions of
    ``stored``."""
    state = instance._state
    known = state.__dict__
    _settle(state)
    if learnt is not None and (found := known.get("revy_attributions")):
        if all(attname in stored for attname in found):
            taken = known.pop("revy_attributions")  # All of them: no copy.
        else:
            taken = {a: found.pop(a) for a in stored if a in found}
        known.setdefault("revy_taken", []).append((learnt, taken))
    if not known.get("revy_known") and (
        not learn or len(stored) < len(attnames_of(type(instance))) - 1
    ):
        if "revy_known" in known:  # Absent already means unknown: no new key.
            state.revy_known = False
        return
    originals = known.get("revy_originals") or {}
    data = instance.__dict__
    mutable = mutable_attnames(type(instance))
    for attname, value in stored.items():
        if attname in mutable:
            originals[attname] = copy.deepcopy(value)
        elif data.get(attname, DEFERRED) is value:
            originals.pop(attname, None)
        else:
            originals[attname] = value
    state.revy_known = True if learnt is None else learnt
    if originals or "revy_originals" in known:
        state.revy_originals = originals or None


def forget_loaded(instance: models.Model) -> None:
    """The row may no longer hold what the instance knew: read it next time."""
    instance._state.revy_known = False


def attributions(instance: models.Model) -> dict[str, Assignment]:
    """``{attname: (actor, description)}`` of fields assigned in a context."""
    state = instance._state
    _settle(state)
    return getattr(state, "revy_attributions", None) or {}


def forget_attributions(instance: models.Model, attnames: Any = None) -> None:
    state = instance._state
    _settle(state)
    if attnames is None:
        state.__dict__.pop("revy_attributions", None)
        return
    found = getattr(state, "revy_attributions", None)
    if found:
        for attname in attnames:
            found.pop(attname, None)


def restore_attributions(
    instance: models.Model, attributions: dict[str, Assignment]
) -> None:
    """Give back attributions a save took, unless assigned again since."""
    if attributions:
        _settle(instance._state)
        found = instance._state.__dict__.setdefault("revy_attributions", {})
        for attname, attribution in attributions.items():
            found.setdefault(attname, attribution)


def _note(instance: models.Model, attname: str, attributed: bool = True) -> None:
    data = instance.__dict__
    state = data.get("_state")
    if state is None:
        return
    known = state.__dict__
    if known.get("revy_known"):
        originals = known.get("revy_originals")
        if originals is None:
            originals = state.revy_originals = {}
        if attname not in originals:
            originals[attname] = data.get(attname, DEFERRED)
    if not attributed:
        return
    frame = current_frame()
    found = known.get("revy_attributions")
    assignment = None if frame is None else frame.memo.get("assignment")
    if assignment is None and frame is not None:
        # One per frame: its values never change.
        assignment = frame.memo["assignment"] = (
            Assignment(frame.actor, frame.attribute_delta_description)
            if frame.is_enabled
            else _NOT_RECORDED
        )
    if assignment is not None and assignment is not _NOT_RECORDED:
        if found is None:
            found = state.revy_attributions = {}
        found[attname] = assignment
    elif found:
        found.pop(attname, None)


def _forget_row(instance: models.Model) -> None:
    """The instance stands for no row any more (Django's delete sets its key
    to None, as does a copy about to be inserted): what it knew of one no
    longer holds, and nothing is kept of it."""
    # By attribute: reading an instance's __dict__ makes Python build one
    # (64 bytes), where it keeps the attributes inline until then.
    state = getattr(instance, "_state", None)
    if getattr(state, "revy_known", False):
        state.revy_known = False
        if getattr(state, "revy_originals", None) is not None:
            del state.revy_originals


def _original_setattr(model: type[models.Model]) -> Any:
    for klass in model.__mro__:
        setter = klass.__dict__.get("__setattr__")
        if setter is not None and not getattr(setter, "_revy", False):
            return setter
    return object.__setattr__


def install(model: type[models.Model]) -> None:
    """Make ``model`` note attributions and remember loaded values."""
    if model in _installed:
        return
    attnames = frozenset(attnames_of(model))
    # The key is recorded as the row's identity, never as a change: an
    # assignment of it (bulk_create() sets it on every object) is credited
    # to no one, so that no attribution is kept for it.
    pk_attname = model._meta.pk.attname
    original = _original_setattr(model)

    def __setattr__(self: models.Model, name: str, value: Any) -> None:
        if name == pk_attname and value is None:
            _forget_row(self)
        elif name in attnames:
            _note(self, name, name != pk_attname)
        original(self, name, value)

    __setattr__._revy = True  # type: ignore[attr-defined]
    model.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
    _installed.add(model)


def is_installed(model: type[models.Model]) -> bool:
    return model in _installed


def can_build_directly(model: type[models.Model]) -> bool:
    # Django's __init__ does nothing more for a plain load than what
    # build_loaded() does, unless the model or a signal receiver adds to it.
    if model.__init__ is not models.Model.__init__:
        return False
    return _unheard(pre_init, model) and _unheard(post_init, model)


def _unheard(signal: ModelSignal, model: type[models.Model]) -> bool:
    """Whether no receiver listens to ``signal`` from ``model``: first by the
    cache Django's ``send()`` looks at, which ``has_listeners`` fills."""
    return (
        not signal.receivers
        or signal.sender_receivers_cache.get(model) is NO_RECEIVERS
        or not signal.has_listeners(model)
    )


def row_values(model: type[models.Model], field_names: Any, values: Any) -> Any:
    """``values`` of the loaded ``field_names``, one per concrete field with
    DEFERRED for those not loaded, as ``Model.from_db`` spreads them."""
    fields = model._meta.concrete_fields
    if len(values) == len(fields):
        return values
    loaded = iter(values)
    return [
        next(loaded) if field.attname in field_names else DEFERRED for field in fields
    ]


def build_loaded(
    model: type[models.Model], db: str, values: Any, fetch_mode: Any
) -> models.Model:
    """An instance of ``model`` holding ``values``, as ``Model.from_db`` makes.

    ``values`` has one entry per concrete field, DEFERRED for those not loaded.
    """
    new = build(model, values, adding=False)
    state = new._state
    state.db = db
    if fetch_mode is not None:
        state.fetch_mode = fetch_mode
    state.revy_known = True
    if mutable_attnames(model):
        set_loaded(new, values)
    return new


def build(model: type[models.Model], values: Any, adding: bool) -> models.Model:
    """An instance of ``model`` holding ``values`` (one per concrete field,
    DEFERRED for none), as Django's ``__init__`` builds it from a row, for
    models where :func:`can_build_directly` is true."""
    new = model.__new__(model)
    state = ModelState()
    state.adding = adding
    # object.__setattr__, as Django's __init__ sets attributes, keeps Python's
    # compact instance storage; filling __dict__ would create a dict per row.
    assign = object.__setattr__
    assign(new, "_state", state)
    for attname, value in zip(attnames_of(model), values, strict=True):
        if value is not DEFERRED:
            assign(new, attname, value)
    return new


def install_from_db() -> None:
    """Wrap ``Model.from_db`` so tracked rows remember their loaded values."""
    original = models.Model.__dict__["from_db"].__func__
    if getattr(original, "_revy", False):
        return

    def from_db(
        cls: type[models.Model], db: str, field_names: Any, values: Any, **kwargs: Any
    ) -> models.Model:
        if cls not in _installed:
            return original(cls, db, field_names, values, **kwargs)
        values = row_values(cls, field_names, values)
        if can_build_directly(cls):
            return build_loaded(cls, db, values, kwargs.get("fetch_mode"))
        new = original(cls, db, field_names, values, **kwargs)
        forget_attributions(new)
        set_loaded(new, values)
        return new

    from_db._revy = True  # type: ignore[attr-defined]
    from_db.__wrapped__ = original  # type: ignore[attr-defined]
    models.Model.from_db = classmethod(from_db)  # type: ignore[assignment,method-assign]
