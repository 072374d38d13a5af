"""The mock's configuration as one value: built by the CLI (or a test), passed straight to the app factory."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Worker processes started by uvicorn get no arguments: the settings travel in this one variable.
ENV_SETTINGS = "COVERBASE_MOCK_SETTINGS"


@dataclass(frozen=True)
class Settings:
    fixtures_path: Path | None = None
    state_path: Path | None = None
    # A PostgreSQL URL (`--state postgresql://...`): state shared by replicas; takes the place of state_path.
    state_url: str | None = None
    control_plane: bool = True
    control_token: str | None = None
    faults: frozenset[str] = field(default_factory=frozenset)
    # The fast lane (http/fast_lane.py) for valid API requests; off only to compare the two lanes.
    fast_lane: bool = True
    # Days of virtual time runs and assessments are kept (None: x-retention.default_days; 0: forever).
    retention_days: int | None = None
    # Seconds a request's body may take after its headers (None: x-limits.body_timeout_seconds).
    body_timeout: float | None = None
    # Undocumented body fields and query parameters: a 422 extra_forbidden instead of ignored and reported.
    strict_input: bool = False

    def to_env(self) -> dict[str, str]:
        data: dict[str, Any] = asdict(self)
        data["fixtures_path"] = str(self.fixtures_path.resolve()) if self.fixtures_path else None
        data["state_path"] = str(self.state_path.resolve()) if self.state_path else None
        data["faults"] = sorted(self.faults)
        return {ENV_SETTINGS: json.dumps(data)}

    @classmethod
    def from_env(cls) -> Settings:
        data = json.loads(os.environ[ENV_SETTINGS])
        return cls(
            fixtures_path=Path(data["fixtures_path"]) if data["fixtures_path"] else None,
            state_path=Path(data["state_path"]) if data["state_path"] else None,
            state_url=data.get("state_url"),
            control_plane=bool(data["control_plane"]),
            control_token=data["control_token"],
            faults=frozenset(data["faults"]),
            fast_lane=bool(data["fast_lane"]),
            retention_days=data["retention_days"],
            body_timeout=data["body_timeout"],
            strict_input=bool(data.get("strict_input", False)),
        )
