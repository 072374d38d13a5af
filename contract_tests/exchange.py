"""One recorded request/response pair (or a note of a step that is not HTTP) and its rendering as curl."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

# Credentials never appear in reports: each known key is shown as the environment variable holding it.
KEY_VARIABLES = {"primary": "$API_KEY", "second": "$SECOND_API_KEY"}
NOTE = "NOTE"
ANSWER_CHARS = 300  # of an answer shown after a curl command (the diff shows what differs in full)


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
    source: str = "suite"  # "suite": the suite's own client; "schemathesis": a generated case

    @classmethod
    def note(cls, text: str) -> Exchange:
        """A step that is not an HTTP request (e.g. an in-process frozen clock moved)."""
        return cls(NOTE, "", {}, None, 0, {}, "", notes=[text])

    @property
    def is_note(self) -> bool:
        return self.method == NOTE

    @classmethod
    def from_schemathesis(cls, response: Any, keys: dict[str, str]) -> Exchange:
        """The request a schemathesis case sent and the answer it got (HTTP or ASGI transport alike)."""
        request = response.request
        headers = {str(k).lower(): _text(v) for k, v in request.headers.items()}
        role = None
        for name, key in keys.items():
            if headers.get("authorization") == f"Bearer {key}":
                role = name
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        answer_headers = {
            str(k).lower(): ", ".join(v) if isinstance(v, list) else str(v) for k, v in response.headers.items()
        }
        return cls(
            method=str(request.method).upper(),
            url=str(request.url),
            headers=headers,
            body=body if isinstance(body, bytes) else None,
            status=int(response.status_code),
            response_headers=answer_headers,
            response_text=response.content.decode("utf-8", "replace"),
            key_role=role,
            source="schemathesis",
        )

    def json(self) -> Any:
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None

    def curl(self) -> str:
        """The request as a curl command, keys as $API_KEY / $SECOND_API_KEY, and the answer as a comment."""
        if self.is_note:
            return "# " + "; ".join(self.notes)
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers.items():
            if name.lower() == "authorization" and self.key_role in KEY_VARIABLES:
                parts += ["-H", f'"Authorization: Bearer {KEY_VARIABLES[self.key_role]}"']
            elif name.lower() not in ("content-length", "user-agent", "accept-encoding", "connection", "accept"):
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            parts += ["--data-raw", shlex.quote(self.body.decode("utf-8", "replace"))]
        answer = " ".join(self.response_text.split())
        if len(answer) > ANSWER_CHARS:
            answer = answer[:ANSWER_CHARS] + f" ... ({len(answer) - ANSWER_CHARS} more characters)"
        return " ".join(parts) + f"   # -> {self.status} {answer}"


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)
