"""revy in the Django admin (docs/admin.md).

``RevyAdminMixin`` (or ``RevyModelAdmin``, the mixin on ``ModelAdmin``)
gives a model's admin revy's History page, at Django's own ``<pk>/history/``
URL, with As of, Compare, Restore and Revert, and a Recover page of deleted
objects at ``<changelist>/recover/``. ``RevisionAdmin``, ``ObjectDeltaAdmin``
and ``AttributeDeltaAdmin`` are admins of the history models themselves.
This module registers nothing: a project registers what it wants.

The pages read history through ``history`` (reading.py) and undo through
it (undoing.py), as every entry point does (docs/architecture.md).
"""

from revy.contrib.django.admin.display import DEFAULT_MASKED_FIELDS, is_masked
from revy.contrib.django.admin.mixin import RevyAdminMixin, RevyModelAdmin
from revy.contrib.django.admin.revisions import (
    AttributeDeltaAdmin,
    ObjectDeltaAdmin,
    ReadOnlyHistoryAdmin,
    RevisionAdmin,
)

__all__ = [
    "DEFAULT_MASKED_FIELDS",
    "AttributeDeltaAdmin",
    "ObjectDeltaAdmin",
    "ReadOnlyHistoryAdmin",
    "RevisionAdmin",
    "RevyAdminMixin",
    "RevyModelAdmin",
    "is_masked",
]
