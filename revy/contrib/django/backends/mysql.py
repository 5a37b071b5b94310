"""MySQL and MariaDB: multi-row ``VALUES`` in batches, and ``CONCAT``; the
SQL of history the database writes (``MySQLDialect``).

Sending a request's rows in one round trip was measured and not kept: the
server runs the statements one after another anyway (decision 0006).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import models

from revy.contrib.django.backends.base import Backend
from revy.contrib.django.backends.dialect import Dialect, decimal_places
from revy.contrib.django.encoding import TEXT_FIELDS

# What the client escapes with a backslash in a string literal.
_ESCAPED = (b"\\", b"'", b'"', b"\x00", b"\n", b"\r", b"\x1a")
# Room left in a packet for the SQL around the parameters.
_HEAD_ROOM = 64 * 1024


class MySQLDialect(Dialect):
    stages_rows = True
    insert_skipping_conflicts = "INSERT IGNORE"
    select_in_order = "SELECT STRAIGHT_JOIN"
    json_text_type = "LONGTEXT"

    def keys_known_before_insert(self, model: type[models.Model]) -> bool:
        # An INSERT ... SELECT holds the table's counter to its end unless
        # innodb_autoinc_lock_mode is 2; asked once per connection.
        if self._keys_follow_each_other is None:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT @@auto_increment_increment, @@innodb_autoinc_lock_mode"
                )
                [(increment, mode)] = cursor.fetchall()
            self._keys_follow_each_other = int(increment) == 1 and int(mode) < 2
        return model._meta.pk is model._meta.auto_field and self._keys_follow_each_other

    _keys_follow_each_other: bool | None = None

    def first_inserted_key(self, cursor: Any) -> Any:
        return cursor.lastrowid  # A multi-row insert's first key.

    def stage(
        self, cursor: Any, table: str, key: str, select: str, params: Sequence[Any]
    ) -> None:
        # The index in the CREATE: a CREATE INDEX or an ALTER would commit.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} (PRIMARY KEY ({key})) {select}", params
        )

    def stage_ranked(
        self, cursor: Any, table: str, select: str, params: Sequence[Any]
    ) -> str:
        # Counted in the order the rows go in, the order selected.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {table} "
            f"(revy_rank BIGINT AUTO_INCREMENT PRIMARY KEY) {select}",
            params,
        )
        return "revy_rank"

    def unstage(self, cursor: Any, tables: Sequence[str], before: bool) -> None:
        # Temporary tables outlive a rollback here: a failed write's remain.
        cursor.execute(f"DROP TEMPORARY TABLE IF EXISTS {', '.join(tables)}", ())

    def delete_staged(self, table: str, key: str, staged: str) -> str:
        # Joined: a single-table DELETE reads an IN (SELECT ...) again for
        # each row, and the staged keys have no index.
        return (
            f"DELETE {table} FROM {table} JOIN {staged} "
            f"ON {table}.{key} = {staged}.revy_pk"
        )

    def json_array(self, value: str, order: str) -> str:
        return (
            f"CONCAT('[', GROUP_CONCAT({value} ORDER BY {order} SEPARATOR ', '), ']')"
        )

    @contextlib.contextmanager
    def long_aggregates(self, cursor: Any) -> Iterator[None]:
        # GROUP_CONCAT cuts its text at group_concat_max_len (1 MB by default),
        # with a warning only; no statement takes a text over the packet size.
        cursor.execute("SELECT @@SESSION.group_concat_max_len", ())
        [(length,)] = cursor.fetchall()
        cursor.execute(
            "SET SESSION group_concat_max_len = @@SESSION.max_allowed_packet", ()
        )
        try:
            yield
        finally:
            cursor.execute("SET SESSION group_concat_max_len = %s", (length,))

    def integer_text(self, column: str) -> str:
        return f"CAST({column} AS CHAR)"

    def text(self, column: str) -> str:
        return self.quote(column)

    def quote(self, text_sql: str) -> str:
        return f"JSON_QUOTE({text_sql})"

    def datetime(self, column: str, aware: bool) -> str:
        # Django stores naive datetimes, in UTC when aware.
        text = (
            f"CONCAT(DATE_FORMAT({column}, '%%Y-%%m-%%dT%%H:%%i:%%s'), "
            f"IF(MICROSECOND({column}) = 0, '', DATE_FORMAT({column}, '.%%f'))"
            + (", '+00:00')" if aware else ")")
        )
        return self.quote(text)

    def date(self, column: str) -> str:
        return self.quote(f"DATE_FORMAT({column}, '%%Y-%%m-%%d')")

    def decimal(self, field: models.DecimalField, column: str) -> str | None:
        if decimal_places(field) is None:
            return None
        return self.quote(f"CAST({column} AS CHAR)")

    def uuid_text(self, column: str) -> str:
        if self.connection.data_types.get("UUIDField") == "uuid":
            return f"CAST({column} AS CHAR)"  # MariaDB's own type.
        return self.hex_uuid(column)

    def by_code_point(self, text: str) -> str:
        # Its UTF-8 bytes, compared as such: a collation may fold case or
        # accents, or pad with spaces.
        return f"CAST(CONVERT({text} USING utf8mb4) AS BINARY)"

    def concat(self, *parts: str) -> str:
        return "CONCAT(" + ", '-', ".join(parts) + ")"

    def differs(self, old: str, new: str, field: models.Field) -> str:
        if type(field) in TEXT_FIELDS:
            # Byte for byte: a collation may find 'a' and 'A ' equal.
            return f"NOT (CAST({old} AS BINARY) <=> CAST({new} AS BINARY))"
        return f"NOT ({old} <=> {new})"


class MySQLBackend(Backend):
    dialect_class = MySQLDialect
    # UTF-8, then a backslash before every byte the client escapes.
    bytes_per_character = 8
    # INSERT IGNORE and ON DUPLICATE KEY UPDATE do not say which rows they wrote.
    returns_rows_inserted_despite_conflicts = False
    # Smaller statements are sent without asking the server for its limit
    # (one query per connection): max_allowed_packet is 16 MiB by default
    # and revy takes it to be at least 1 MiB.
    fits_without_asking = 2**20 - _HEAD_ROOM

    def max_statement_bytes(self) -> int:
        """What the server accepts in one packet (``max_allowed_packet``),
        less room for the SQL around the parameters."""
        if self._max_allowed_packet is None:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT @@max_allowed_packet")
                [(packet,)] = cursor.fetchall()
            self._max_allowed_packet = int(packet)
        return self._max_allowed_packet - _HEAD_ROOM

    _max_allowed_packet: int | None = None

    def limit(self) -> str:
        packet = self.max_statement_bytes() + _HEAD_ROOM
        return (
            f"the server accepts in one statement (max_allowed_packet = "
            f"{packet:,}, a server setting)"
        )

    def text_bytes(self, text: str) -> int:
        data = text.encode()
        return len(data) + sum(data.count(byte) for byte in _ESCAPED)

    def json_quote(self, sql: str) -> str:
        return f"JSON_QUOTE({sql})"

    def concat(self, pieces: list[str]) -> str:
        return f"CONCAT({', '.join(pieces)})"
