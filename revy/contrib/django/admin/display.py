"""Recorded values shown as the admin shows a field: choices by their label,
foreign keys as links to the related object, many-to-many members added and
removed, long text folded with a diff of the change, secrets masked.

A :class:`Values` serves one page: it is told first which related keys the
page holds (:meth:`Values.want`), then loads them with one query per related
model (:meth:`Values.load`), whatever the number of values on the page.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.sites import AdminSite
from django.contrib.admin.utils import display_for_field, quote
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from revy.contrib.django import conf
from revy.contrib.django.admin.permissions import may
from revy.contrib.django.encoding import key_text
from revy.contrib.django.schema import RawValue, decode_for_display

__all__ = [
    "DEFAULT_MASKED_FIELDS",
    "MASK",
    "Change",
    "Values",
    "actor_label",
    "is_masked",
    "text_diff",
]

# The masking rule (docs/admin.md): a field whose name matches one of these
# fnmatch patterns, case-insensitively, is never shown; a ModelAdmin replaces
# them with ``history_masked_fields``.
DEFAULT_MASKED_FIELDS: tuple[str, ...] = (
    "*password*",
    "*secret*",
    "*token*",
    "*api_key*",
    "*private_key*",
)
MASK = "••••••••"
# Text longer than this, or of more lines, is folded with a diff.
LONG_TEXT = 120
LONG_LINES = 3


def actor_label(actor: Any) -> str:
    """Who acted, for people: "system" for None, else the actor (a deleted
    one says so)."""
    return _("system") if actor is None else str(actor)


def is_masked(field_name: str, patterns: Sequence[str]) -> bool:
    """Whether ``field_name`` matches one of the masking ``patterns``."""
    return _is_masked(field_name, tuple(patterns))


@functools.lru_cache(maxsize=4096)
def _is_masked(field_name: str, patterns: tuple[str, ...]) -> bool:
    name = field_name.lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns)


@dataclass
class Change:
    """One field of one delta, ready for a template."""

    name: str
    label: str
    old: SafeString | None
    new: SafeString | None
    added: list[SafeString] = field(default_factory=list)
    removed: list[SafeString] = field(default_factory=list)
    diff: SafeString | None = None
    masked: bool = False
    unknown: bool = False
    actor: Any = None
    actor_text: str = ""
    description: str = ""


def _relation(model: type[models.Model], name: str) -> Any:
    """The field ``name`` of ``model``: a concrete field, a many-to-many field,
    or the reverse accessor of one (as revy records members on both sides);
    None for a field the model no longer has."""
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        pass
    for other in model._meta.get_fields():
        accessor = getattr(other, "get_accessor_name", None)
        if other.many_to_many and accessor is not None and accessor() == name:
            return other
    return None


def _label(model: type[models.Model], name: str, field_: Any) -> str:
    if field_ is None:
        return name
    verbose = getattr(field_, "verbose_name", None)
    if verbose is None:  # A reverse relation.
        verbose = field_.related_model._meta.verbose_name_plural
    return str(verbose)[:1].upper() + str(verbose)[1:]


def text_diff(old: str, new: str) -> SafeString:
    """``old`` and ``new`` as one text, words removed in ``<del>`` and words
    added in ``<ins>``."""
    before, after = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    parts: list[SafeString] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            parts.append(format_html("<del>{}</del>", "".join(before[a0:a1])))
        if tag in ("insert", "replace"):
            parts.append(format_html("<ins>{}</ins>", "".join(after[b0:b1])))
        if tag == "equal":
            parts.append(format_html("{}", "".join(before[a0:a1])))
    return mark_safe("".join(parts))


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and (
        len(value) > LONG_TEXT or value.count("\n") >= LONG_LINES
    )


class Values:
    """Shows recorded values on one page of ``admin_site``.

    ``masked(model, field_name)`` says which fields are never shown.
    """

    def __init__(
        self,
        admin_site: AdminSite,
        masked: Callable[[type[models.Model], str], bool],
        empty: str = "-",
        request: HttpRequest | None = None,
    ) -> None:
        self.admin_site = admin_site
        self.request = request
        self._viewable: dict[type[models.Model], bool] = {}
        self.masked = masked
        self.empty = empty
        self.encoder = conf.value_encoder()
        self._wanted: dict[type[models.Model], set[Any]] = {}
        self._loaded: dict[tuple[type[models.Model], str], models.Model] = {}

    # Related objects, loaded once per page ------------------------------------

    def want(self, model: type[models.Model], name: str, stored: Any) -> None:
        """Note the related keys the stored value of ``model.name`` holds."""
        field_ = _relation(model, name)
        if field_ is None or stored is None or self.masked(model, name):
            return
        if field_.many_to_many:
            keys = stored if isinstance(stored, list) else []
        elif field_.is_relation and field_.concrete:
            keys = [stored]
        else:
            return
        if self.viewable(field_.related_model):
            self._wanted.setdefault(field_.related_model, set()).update(
                key for key in keys if key is not None
            )

    def want_instance(self, instance: models.Model) -> None:
        """Note the related keys held by ``instance``'s foreign keys."""
        for field_ in instance._meta.concrete_fields:
            if field_.is_relation and field_.attname not in (
                instance.get_deferred_fields()
            ):
                value = getattr(instance, field_.attname)
                if value is not None:
                    self._wanted.setdefault(field_.related_model, set()).add(value)

    def know(self, obj: models.Model) -> None:
        """Take ``obj`` as loaded (the page's own object, which its inlines
        point at): no query for it."""
        self._loaded[obj._meta.model, key_text(obj._meta.model, obj.pk)] = obj

    def want_keys(self, model: type[models.Model], keys: Iterable[Any]) -> None:
        self._wanted.setdefault(model, set()).update(keys)

    def load(self) -> None:
        """Load the related objects wanted: a query per related model."""
        for model, keys in self._wanted.items():
            cleaned = set()
            for key in keys:
                try:
                    if (model, key_text(model, key)) not in self._loaded:
                        cleaned.add(model._meta.pk.to_python(key))
                except ValidationError:
                    continue
            found = model._base_manager.filter(pk__in=cleaned) if cleaned else []
            for obj in found:
                self._loaded[model, key_text(model, obj.pk)] = obj
        self._wanted = {}

    def viewable(self, model: type[models.Model]) -> bool:
        """Whether the user may see ``model``'s rows (any, without a request)."""
        if self.request is None:
            return True
        if model not in self._viewable:
            self._viewable[model] = may(self.request, self.admin_site, model, "view")
        return self._viewable[model]

    def link(self, model: type[models.Model], key: Any) -> SafeString:
        """The related object ``key`` of ``model``, linked to its admin page;
        named by its model and key alone for a user who may not view it."""
        text = key_text(model, key) if key is not None else ""
        if not self.viewable(model):
            return format_html("{} {}", model._meta.verbose_name, text)
        obj = self._loaded.get((model, text))
        if obj is None:
            return format_html(
                '<span class="revy-gone">{}</span>',
                _("%(model)s %(key)s (no longer exists)")
                % {"model": model._meta.verbose_name, "key": text},
            )
        if self.admin_site.is_registered(model):
            try:
                url = reverse(
                    f"{self.admin_site.name}:{model._meta.app_label}_"
                    f"{model._meta.model_name}_change",
                    args=[quote(obj.pk)],
                )
            except NoReverseMatch:
                url = None
            if url:
                return format_html('<a href="{}">{}</a>', url, obj)
        return format_html("{}", obj)

    # Values ------------------------------------------------------------------

    def show(self, field_: Any, value: Any) -> SafeString:
        """A Python value of ``field_``, as the admin shows it."""
        if isinstance(value, RawValue):
            return self.show_raw(value)
        if field_.many_to_many:
            members = list(value or [])
            if not members:
                return format_html("{}", self.empty)
            return format_html_join(
                ", ", "{}", ((self.link(field_.related_model, m),) for m in members)
            )
        if field_.is_relation and field_.concrete:
            if value is None:
                return format_html("{}", self.empty)
            return self.link(field_.related_model, value)
        if _is_long(value):
            return format_html(
                '<details class="revy-long"><summary>{}</summary>'
                '<div class="revy-text">{}</div></details>',
                Truncator(value).chars(60),
                value,
            )
        shown = display_for_field(value, field_, self.empty)
        return format_html("{}", shown)

    def show_raw(self, value: RawValue | None) -> SafeString:
        """A value as history stores it (JSON), marked: the field is gone, or
        cannot read it since its type changed."""
        if value is None:
            return format_html("{}", self.empty)
        return format_html(
            '<code class="revy-raw" title="{}">{}</code>',
            _("as recorded"),
            json.dumps(value.stored, ensure_ascii=False),
        )

    def show_instance_field(self, instance: models.Model, field_: Any) -> SafeString:
        """The value of ``field_`` on ``instance``, masked if it is a secret."""
        if self.masked(type(instance), field_.name):
            return format_html("{}", MASK)
        if field_.attname in instance.get_deferred_fields():
            return format_html('<span class="revy-gone">{}</span>', _("(not recorded)"))
        return self.show(field_, getattr(instance, field_.attname))

    def decode(self, field_: Any, stored: Any) -> Any:
        if field_.many_to_many:
            return stored
        if field_.is_relation and field_.concrete:
            return stored
        return decode_for_display(self.encoder, field_, stored)

    def change(
        self,
        model: type[models.Model],
        name: str,
        old: Any,
        new: Any,
        action: str,
    ) -> Change:
        """The recorded change of ``model.name`` from ``old`` to ``new``
        (stored values) in a delta of ``action``: a create or a baseline has
        no old side, a delete no new side."""
        if action in ("create", "baseline"):
            old = None
        if action == "delete":
            new = None
        has_old, has_new = action not in ("create", "baseline"), action != "delete"
        field_ = _relation(model, name)
        label = _label(model, name, field_)
        if self.masked(model, name):
            return Change(
                name,
                label,
                mark_safe(MASK) if has_old else None,
                mark_safe(MASK) if has_new else None,
                masked=True,
            )
        if field_ is None:
            # A field the model no longer has: shown as stored, never hidden.
            return Change(
                name,
                label,
                format_html("<code>{}</code>", old) if has_old else None,
                format_html("<code>{}</code>", new) if has_new else None,
                unknown=True,
            )
        if field_.many_to_many:
            related = field_.related_model
            return Change(
                name,
                label,
                None,
                None,
                added=[self.link(related, key) for key in new or []],
                removed=[self.link(related, key) for key in old or []],
            )
        before = None if old is None else self.decode(field_, old)
        after = None if new is None else self.decode(field_, new)
        diff = None
        if (
            has_old
            and has_new
            and (_is_long(before) or _is_long(after))
            and isinstance(before, str)
            and isinstance(after, str)
        ):
            diff = text_diff(before, after)
        return Change(
            name,
            label,
            self.show(field_, before) if has_old else None,
            self.show(field_, after) if has_new else None,
            diff=diff,
        )
