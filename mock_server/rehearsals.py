"""Failures an integrator arms through the control plane to rehearse their retry logic."""

from __future__ import annotations

from dataclasses import dataclass

from .ids import IdFactory

KINDS = ("dispatch_failure",)


@dataclass
class Rehearsal:
    id: str
    kind: str
    workflow_name: str | None
    remaining: int

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "workflow_name": self.workflow_name, "remaining": self.remaining}


class Rehearsals:
    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids
        self._armed: list[Rehearsal] = []

    def arm(self, kind: str, workflow_name: str | None, count: int) -> Rehearsal:
        rehearsal = Rehearsal(self._ids.new("mockreh"), kind, workflow_name, count)
        self._armed.append(rehearsal)
        return rehearsal

    def take(self, kind: str, workflow_name: str) -> Rehearsal | None:
        """Consume one armed rehearsal matching this call, oldest first."""
        for rehearsal in self._armed:
            if rehearsal.kind == kind and rehearsal.workflow_name in (None, workflow_name):
                rehearsal.remaining -= 1
                if rehearsal.remaining <= 0:
                    self._armed.remove(rehearsal)
                return rehearsal
        return None

    def armed(self) -> list[Rehearsal]:
        return list(self._armed)

    def clear(self) -> None:
        self._armed.clear()
