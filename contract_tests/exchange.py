"""One recorded request/response pair and its rendering as a curl command."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

# Credentials never appear in reports: each known key is shown as the environment variable holding it.
KEY_VARIABLES = {"primary": "$API_KEY", "second": "$SECOND_API_KEY"}


@dataclass
class Exchange:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int
    response_headers: dict[str, str]
    response_text: str
    key_role: str | None = None
    notes: list[str] = field(default_factory=list)

    def json(self) -> Any:
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None

    def curl(self) -> str:
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers.items():
            if name.lower() == "authorization" and self.key_role in KEY_VARIABLES:
                parts += ["-H", f'"Authorization: Bearer {KEY_VARIABLES[self.key_role]}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            parts += ["--data-raw", shlex.quote(self.body.decode("utf-8", "replace"))]
        answer = " ".join(self.response_text[:160].split())
        return " ".join(parts) + f"   # -> {self.status} {answer}"
