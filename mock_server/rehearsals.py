"""Failures an integrator rehearses: armed through the control plane or asked for per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .ids import IdFactory
from .records import Rehearsal


@dataclass
class RehearsalSlot:
    """Shared through the ASGI scope (copied shallowly by connexion) so the journal sees what was rehearsed."""

    current: Rehearsal | None = None

    def label(self) -> str | None:
        return self.current.label() if self.current is not None else None


def header_name(control_document: dict[str, Any]) -> str:
    """The per-request rehearsal header (`x-rehearsal-header.name` of the control document)."""
    return str(control_document["x-rehearsal-header"]["name"])


def delay_bounds(control_document: dict[str, Any]) -> tuple[int, int]:
    """The allowed `delay_ms`, from the control document's RehearsalRequest schema."""
    schema = control_document["components"]["schemas"]["RehearsalRequest"]["properties"]["delay_ms"]
    return int(schema["minimum"]), int(schema["maximum"])


class UnknownRehearsal(ValueError):
    """A rehearsal header value the mock does not know: the message names the known values."""


def parse_header(value: str, delay_ms: tuple[int, int]) -> Rehearsal:
    """`dispatch_failure`, `delay=<ms>` (within `delay_ms`) or `drop_after_commit`; else UnknownRehearsal."""
    value = value.strip()
    if value in ("dispatch_failure", "drop_after_commit"):
        return Rehearsal("header", value, None, None, None, 1)
    name, _, amount = value.partition("=")
    if name == "delay" and amount.isdigit() and delay_ms[0] <= int(amount) <= delay_ms[1]:
        return Rehearsal("header", "delay", None, None, int(amount), 1)
    known = f"'dispatch_failure', 'delay=<ms>' ({delay_ms[0]} to {delay_ms[1]} ms) or 'drop_after_commit'"
    if name == "delay":
        raise UnknownRehearsal(
            f"delay needs a whole number of milliseconds from {delay_ms[0]} to {delay_ms[1]}, as in 'delay=1500'"
        )
    raise UnknownRehearsal(f"Unknown rehearsal {value[:40]!r}: the header takes {known}")


class Rehearsals:
    """A world's armed rehearsals; they live in its store, so every worker (and replica) sees them."""

    def __init__(self, ids: IdFactory, store: RehearsalStore) -> None:
        self._ids = ids
        self._store = store

    def arm(
        self,
        kind: str,
        workflow_name: str | None,
        count: int,
        *,
        operation_id: str | None = None,
        delay_ms: int | None = None,
    ) -> Rehearsal:
        rehearsal = Rehearsal(self._ids.new("mockreh"), kind, operation_id, workflow_name, delay_ms, count)
        self._store.rehearsal_add(rehearsal)
        return rehearsal

    def take(self, kind: str, workflow_name: str | None, *, operation_id: str | None = None) -> Rehearsal | None:
        """Consume one armed rehearsal matching this call, oldest first."""
        return self._store.rehearsal_take(kind, operation_id, workflow_name)

    def armed(self) -> list[Rehearsal]:
        return self._store.rehearsals()

    def clear(self) -> None:
        self._store.rehearsals_clear()


class RehearsalStore(Protocol):
    def rehearsal_add(self, rehearsal: Rehearsal) -> None: ...

    def rehearsal_take(self, kind: str, operation_id: str | None, workflow_name: str | None) -> Rehearsal | None: ...

    def rehearsals(self) -> list[Rehearsal]: ...

    def rehearsals_clear(self) -> None: ...
