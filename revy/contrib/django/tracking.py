"""What a tracked instance remembers between loading and saving.

Kept in one attribute of ``instance._state``, ``revy``, and nothing at all
per loaded row until a field is assigned:

- ``True`` while the instance's field values are what its row holds: after
  loading, saving or refreshing it, and until a rollback undoes its last
  save. Absent or ``False`` while it does not know. For an instance a bulk
  write saved in a transaction, the :class:`Learnt` of that write instead
  of True.
- Once there is more to remember, :class:`Notes`:

  - ``known``: as above.
  - ``originals``: for each field assigned since, the value the row holds.
    Saving compares against these, so old values are true even for objects
    loaded outside any context. Values that can change in place (JSON) are
    kept as copies from the start, since no assignment reveals such a
    change.
  - ``attributions``: for each field assigned inside an enabled context,
    the actor and attribute delta description current at that assignment.
    That is how one revision holds several actors.
  - ``taken``: the attributions each bulk write took, with its Learnt. If
    a rollback undoes the write, the instance no longer knows its row and
    the attributions are due again; one mark per write, not a note per
    instance, so that a bulk write keeps nothing per row in revy's own
    lists.

One attribute, put on import in the table of attribute names that Python
shares among all ``ModelState`` instances (:func:`_reserve_state_name`): a
name added to that table once many instances exist made Python give every
later state its own dictionary, every model's, 143 bytes more for each
through row of a many-to-many ``add()``.

Tracked model classes get a ``__setattr__`` that notes assignments, and
rows are loaded without going through it (see ``from_db``), so loading a
tracked model costs no more than loading any other.
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


_NAME = "revy"  # The one attribute revy sets on a ModelState.


class Notes:
    """What a tracked instance knows of its row beyond its values, once it
    has more to remember than whether it knows them (see above)."""

    __slots__ = ("attributions", "known", "originals", "owner", "taken")

    def __init__(self, owner: ModelState, known: bool | Learnt) -> None:
        # copy.copy() of an instance shares its state's attributes: a copy
        # takes notes of its own on first use (copy_for).
        self.owner = id(owner)
        self.known: bool | Learnt = known
        self.originals: dict[str, Any] | None = None
        self.attributions: dict[str, Assignment] | None = None
        self.taken: list[tuple[Learnt, dict[str, Assignment]]] | None = None

    def copy_for(self, owner: ModelState) -> Notes:
        notes = Notes(owner, self.known)
        if self.originals is not None:
            notes.originals = dict(self.originals)
        if self.attributions is not None:
            notes.attributions = dict(self.attributions)
        if self.taken is not None:
            notes.taken = list(self.taken)
        return notes

    def is_empty(self) -> bool:
        """Nothing to remember beyond whether the row is known."""
        return not (self.originals or self.attributions or self.taken)


def _reserve_state_name() -> None:
    """Add ``revy`` to the attribute names Python shares among ModelState
    instances, before Django builds any in numbers (see above)."""
    setattr(ModelState(), _NAME, None)


_reserve_state_name()


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
    """Remember ``values`` (one per concrete field) as what the row holds,
    and nothing else: a loaded row owes no attributions."""
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
    if not originals:
        _keep(state, True)
        return
    notes = Notes(state, known=True)
    notes.originals = originals
    _keep(state, notes)


def _keep(state: ModelState, value: bool | Learnt | Notes) -> None:
    setattr(state, _NAME, value)


def _found(state: ModelState) -> Any:
    """What ``state`` holds of revy's: None, a bool, a :class:`Learnt` or
    :class:`Notes`; the notes of the instance this one was copied from
    become its own."""
    found = getattr(state, _NAME, None)
    if type(found) is Notes and found.owner != id(state):
        found = found.copy_for(state)
        _keep(state, found)
    return found


def _settled(state: ModelState) -> Any:
    """:func:`_found`, once a rollback undid the bulk write that saved the
    instance (see :class:`Learnt`): what it learnt forgotten, what it took
    given back."""
    found = _found(state)
    if type(found) is Learnt and found.undone:
        _keep(state, False)
        return False
    if type(found) is not Notes:
        return found
    if type(found.known) is Learnt and found.known.undone:
        found.known = False
    if found.taken is not None:
        pending = []
        for write, attributions in found.taken:
            if write.undone:
                assigned = _attributions_of(found)
                for attname, attribution in attributions.items():
                    assigned.setdefault(attname, attribution)  # Unless assigned since.
            elif not write.committed:
                pending.append((write, attributions))
        found.taken = pending or None
    return found


def _notes(state: ModelState) -> Notes:
    """The settled notes of ``state``, made on first need."""
    found = _settled(state)
    if type(found) is Notes:
        return found
    notes = Notes(state, known=found or False)
    _keep(state, notes)
    return notes


def _attributions_of(notes: Notes) -> dict[str, Assignment]:
    if notes.attributions is None:
        notes.attributions = {}
    return notes.attributions


def originals(instance: models.Model) -> dict[str, Any]:
    """``{attname: value the row holds}`` of the fields assigned since the
    instance learnt what its row holds; see :func:`stored_value`."""
    found = _found(instance._state)
    return (found.originals if type(found) is Notes else None) or {}


def stored_value(instance: models.Model, attname: str) -> Any:
    """What the row holds for ``attname``, if the instance knows it
    (:func:`is_known`); ``DEFERRED`` if it was never loaded."""
    found = originals(instance)
    if attname in found:
        return found[attname]
    return instance.__dict__.get(attname, DEFERRED)


def is_known(instance: models.Model) -> bool:
    """Whether the instance knows what its row holds."""
    found = _found(instance._state)
    known = found.known if type(found) is Notes else found
    if type(known) is Learnt:
        return not known.undone
    return bool(known)


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
    found = _settled(state)
    notes = found if type(found) is Notes else None
    if learnt is not None and notes is not None and notes.attributions:
        assigned = notes.attributions
        if all(attname in stored for attname in assigned):
            taken, notes.attributions = assigned, None  # All of them: no copy.
        else:
            taken = {a: assigned.pop(a) for a in stored if a in assigned}
        notes.taken = [*(notes.taken or ()), (learnt, taken)]
    known = notes.known if notes is not None else found
    if not known and (not learn or len(stored) < len(attnames_of(type(instance))) - 1):
        return  # Still unknown.
    kept = (notes.originals if notes is not None else None) or {}
    data = instance.__dict__
    mutable = mutable_attnames(type(instance))
    for attname, value in stored.items():
        if attname in mutable:
            kept[attname] = copy.deepcopy(value)
        elif data.get(attname, DEFERRED) is value:
            kept.pop(attname, None)
        else:
            kept[attname] = value
    if not kept and (notes is None or notes.is_empty()):
        # Nothing more to remember than that it knows: no notes to allocate.
        _keep(state, True if learnt is None else learnt)
        return
    notes = notes or _notes(state)
    notes.known = True if learnt is None else learnt
    notes.originals = kept or None


def forget_loaded(instance: models.Model) -> None:
    """The row may no longer hold what the instance knew: read it next time."""
    found = _found(instance._state)
    if type(found) is Notes:
        found.known = False
    else:
        _keep(instance._state, False)


def attributions(instance: models.Model) -> dict[str, Assignment]:
    """``{attname: (actor, description)}`` of fields assigned in a context."""
    found = _settled(instance._state)
    return (found.attributions if type(found) is Notes else None) or {}


def forget_attributions(instance: models.Model, attnames: Any = None) -> None:
    found = _settled(instance._state)
    if type(found) is not Notes or not found.attributions:
        return
    if attnames is None:
        found.attributions = None
        return
    for attname in attnames:
        found.attributions.pop(attname, None)


def restore_attributions(
    instance: models.Model, attributions: dict[str, Assignment]
) -> None:
    """Give back attributions a save took, unless assigned again since."""
    if attributions:
        found = _attributions_of(_notes(instance._state))
        for attname, attribution in attributions.items():
            found.setdefault(attname, attribution)


def _note(instance: models.Model, attname: str, attributed: bool = True) -> None:
    # By attribute, not through __dict__: reading an instance's __dict__
    # makes Python build one (64 bytes), where it keeps attributes inline.
    state = getattr(instance, "_state", None)
    if state is None:
        return
    found = getattr(state, _NAME, None)
    if found.known if type(found) is Notes else found:
        notes = _notes(state)
        if notes.originals is None:
            notes.originals = {}
        if attname not in notes.originals:
            notes.originals[attname] = instance.__dict__.get(attname, DEFERRED)
    if not attributed:
        return
    frame = current_frame()
    assignment = None if frame is None else frame.memo.get("assignment")
    if assignment is None and frame is not None:
        # One per frame: its values never change.
        assignment = frame.memo["assignment"] = (
            Assignment(frame.actor, frame.attribute_delta_description)
            if frame.is_enabled
            else _NOT_RECORDED
        )
    if assignment is not None and assignment is not _NOT_RECORDED:
        _attributions_of(_notes(state))[attname] = assignment
    elif type(getattr(state, _NAME, None)) is Notes:
        forget_attributions(instance, (attname,))


def _forget_row(instance: models.Model) -> None:
    """The instance stands for no row any more (Django's delete sets its key
    to None, as does a copy about to be inserted): what it knew of one no
    longer holds, and nothing is kept of it."""
    state = getattr(instance, "_state", None)
    found = getattr(state, _NAME, None)
    if found is True or type(found) is Learnt:
        _keep(state, False)  # type: ignore[arg-type]
    elif type(found) is Notes and found.known:
        notes = _notes(state)  # type: ignore[arg-type]
        notes.known = False
        notes.originals = None


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
    if mutable_attnames(model):
        set_loaded(new, values)
    else:
        _keep(state, True)
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
        set_loaded(new, values)
        return new

    from_db._revy = True  # type: ignore[attr-defined]
    from_db.__wrapped__ = original  # type: ignore[attr-defined]
    models.Model.from_db = classmethod(from_db)  # type: ignore[assignment,method-assign]
