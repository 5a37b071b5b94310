"""History SQL, one class per database backend.

:func:`of` gives the backend of a connection; it is the only place in revy
that asks which database a connection is. A new database gets a module
here with a subclass of :class:`~revy.contrib.django.backends.base.Backend`
and an entry in ``_BY_VENDOR``.
"""

from __future__ import annotations

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from revy.contrib.django.backends.base import (
    Backend,
    Linked,
    RowReader,
    mark_inserted,
)
from revy.contrib.django.backends.mysql import MySQLBackend
from revy.contrib.django.backends.postgresql import PostgreSQLBackend
from revy.contrib.django.backends.sqlite import SQLiteBackend

__all__ = ["Backend", "Linked", "RowReader", "mark_inserted", "of"]

_BY_VENDOR: dict[str, type[Backend]] = {
    "postgresql": PostgreSQLBackend,
    "sqlite": SQLiteBackend,
    "mysql": MySQLBackend,
}
# Kept on the connection: plans hold its quoting and limits.
_ATTRIBUTE = "_revy_backend"


def of(connection: BaseDatabaseWrapper | str) -> Backend:
    """The history backend of ``connection`` (or of the alias)."""
    if isinstance(connection, str):
        connection = connections[connection]
    backend = connection.__dict__.get(_ATTRIBUTE)
    if backend is None:
        backend_class = _BY_VENDOR.get(connection.vendor, Backend)
        backend = connection.__dict__[_ATTRIBUTE] = backend_class(connection)
    return backend
