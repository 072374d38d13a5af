"""The catalog of namespaces: what is recorded about each (keys, TTL, last use, inline fixtures), and where."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Protocol


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class NamespaceRecord:
    """One namespace as the catalog keeps it (real time, not the namespace's virtual clock)."""

    id: str
    created_at: int
    ttl_seconds: int
    last_used_at: int
    keys: dict[str, str]  # org id -> the key minted for it
    fixtures_json: str | None  # inline fixtures, or None for the mock's own fixtures

    @property
    def expires_at(self) -> int:
        return self.last_used_at + self.ttl_seconds


class NamespaceCatalog(Protocol):
    """Where namespaces are recorded: in memory, or in the state database shared by worker processes."""

    def add(self, record: NamespaceRecord) -> None: ...

    def get(self, namespace_id: str) -> NamespaceRecord | None: ...

    def by_key_digest(self, digest: str) -> NamespaceRecord | None: ...

    def remove(self, namespace_id: str) -> bool: ...

    def all(self) -> list[NamespaceRecord]: ...

    def count(self) -> int: ...

    def touch(self, namespace_id: str, at: int) -> None: ...


class MemoryCatalog:
    def __init__(self) -> None:
        self._records: dict[str, NamespaceRecord] = {}
        self._by_digest: dict[str, str] = {}

    def add(self, record: NamespaceRecord) -> None:
        self._records[record.id] = record
        for key in record.keys.values():
            self._by_digest[key_digest(key)] = record.id

    def get(self, namespace_id: str) -> NamespaceRecord | None:
        return self._records.get(namespace_id)

    def by_key_digest(self, digest: str) -> NamespaceRecord | None:
        found = self._by_digest.get(digest)
        return self._records.get(found) if found else None

    def remove(self, namespace_id: str) -> bool:
        record = self._records.pop(namespace_id, None)
        if record is None:
            return False
        for key in record.keys.values():
            self._by_digest.pop(key_digest(key), None)
        return True

    def all(self) -> list[NamespaceRecord]:
        return list(self._records.values())

    def count(self) -> int:
        return len(self._records)

    def touch(self, namespace_id: str, at: int) -> None:
        record = self._records.get(namespace_id)
        if record is not None:
            self._records[namespace_id] = dataclasses.replace(record, last_used_at=max(at, record.last_used_at))
