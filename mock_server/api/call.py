"""What a handler knows about its request: the world it acts on, the caller's organization, the request line."""

from __future__ import annotations

from dataclasses import dataclass

from ..fixtures import OrgFixture
from ..rehearsals import RehearsalSlot
from ..runtime import Runtime


@dataclass(frozen=True, slots=True)
class Call:
    rt: Runtime
    org_id: str  # empty on the control plane, which has no API key
    method: str
    path: str
    rehearsal: RehearsalSlot | None = None

    @property
    def org(self) -> OrgFixture:
        return self.rt.fixtures.org(self.org_id)
