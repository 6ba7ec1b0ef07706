"""Free-text clinical fields encrypted in the application (``cryptography``'s MultiFernet), so a
database dump or a raw SELECT shows no note text: assessment notes, progress and contact notes,
safety plans, advance statements, discharge summaries and crisis notes.

Keys come from ``CASEHUB_ENCRYPTION_KEYS`` (Fernet keys separated by commas; the first encrypts,
every one decrypts). Without it the public development key is used, which only the embedded
default on loopback may do (``Settings.encryption_key_problem``), as with the JWT secret.
``casehub keys rotate`` re-encrypts stored values with the first key while the services run."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Dialect, MetaData, Text, TypeDecorator, select, type_coerce, update
from sqlalchemy.engine import Connection

KEYS_VARIABLE = "CASEHUB_ENCRYPTION_KEYS"
#: Public (it is in the source): encrypts the embedded default's notes, nothing else.
DEVELOPMENT_KEY = "Y2FzZWh1Yi1kZXZlbG9wbWVudC1rZXktY2hhbmdlLW0="
#: Stored values start with this, so a value written before encryption is told apart.
PREFIX = "enc1:"


def parse_keys(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def key_problem(keys: Sequence[str]) -> str | None:
    """Why these keys cannot be used, or None."""
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return (
                f"{KEYS_VARIABLE}: key {number} is not a Fernet key (32 url-safe base64-encoded "
                "bytes; `casehub keys generate` makes one)."
            )
    return None


def generate_key() -> str:
    return Fernet.generate_key().decode()


class Keyring:
    """The keys of one process: encrypt with the first, decrypt with any."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys) or (DEVELOPMENT_KEY,)
        self._fernet = MultiFernet([Fernet(key) for key in self.keys])
        self._primary = Fernet(self.keys[0])

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before the field was encrypted; rotation encrypts it
        return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()

    def is_current(self, stored: str) -> bool:
        """Encrypted with the first key already (rotation leaves it)."""
        if not stored.startswith(PREFIX):
            return False
        try:
            self._primary.decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: str) -> str:
        """The value encrypted with the first key (a legacy plain value encrypted at last)."""
        if not stored.startswith(PREFIX):
            return self.encrypt(stored)
        return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode()).decode()


_lock = threading.Lock()
_keyring = Keyring(())


def use_keys(keys: Sequence[str]) -> Keyring:
    """Set the process's keys (each service runtime does, from its settings)."""
    global _keyring
    with _lock:
        if tuple(keys or (DEVELOPMENT_KEY,)) != _keyring.keys:
            _keyring = Keyring(keys)
        return _keyring


def keyring() -> Keyring:
    return _keyring


class EncryptedText(TypeDecorator[str]):
    """Text encrypted on the way in, decrypted on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _keyring.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _keyring.decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document (e.g. an assessment's domains with their notes) stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _keyring.encrypt(json.dumps(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(_keyring.decrypt(value))


def encrypted_columns(metadata: MetaData) -> list[Column[Any]]:
    """Every encrypted column of a service's models: what rotation goes through."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText | EncryptedJSON)
    ]


@dataclass
class Rotation:
    column: str
    rotated: int = 0
    current: int = 0


def rotate_column(
    connection: Connection, column: Column[Any], ring: Keyring, *, batch: int = 200
) -> Rotation:
    """Re-encrypt one column with the first key, a batch per transaction (short row locks, so
    the services keep working). A value changed meanwhile is left: its writer used the keys."""
    table = column.table
    [key] = table.primary_key.columns
    stored_text = type_coerce(column, Text)  # the stored token, neither decrypted nor encrypted
    result = Rotation(f"{table.name}.{column.name}")
    after: Any = None
    while True:
        statement = select(key, stored_text.label("stored")).where(column.is_not(None))
        if after is not None:
            statement = statement.where(key > after)
        with connection.begin():
            rows = connection.execute(statement.order_by(key).limit(batch)).all()
            for row in rows:
                stored = row.stored
                if ring.is_current(stored):
                    result.current += 1
                    continue
                connection.execute(
                    update(table)
                    .where(key == row[0], stored_text == stored)
                    .values({column.name: type_coerce(ring.rotate(stored), Text)})
                )
                result.rotated += 1
        if len(rows) < batch:
            return result
        after = rows[-1][0]


def rotate_all(connection: Connection, metadata: MetaData, ring: Keyring) -> list[Rotation]:
    return [rotate_column(connection, column, ring) for column in encrypted_columns(metadata)]
