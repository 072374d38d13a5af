"""The HTTP client of the property checks: budgeted, recorded, and checked by the oracle."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .budget import Budget
from .exchange import Exchange
from .oracle import Oracle

NO_KEY = None
Body = dict[str, Any] | list[Any] | None


@dataclass
class Reply:
    status: int
    body: Any
    headers: httpx.Headers
    exchange: Exchange


class ApiClient:
    """Speaks to the API under test as one of the configured keys (`primary`, `second`) or a literal token."""

    def __init__(self, http: httpx.Client, base_url: str, keys: dict[str, str], budget: Budget, oracle: Oracle) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.budget = budget
        self.oracle = oracle
        self.journal: list[Exchange] = []
        self._lock = threading.Lock()
        # Sent on every control-plane call: X-Mock-Namespace once the suite runs in a namespace of its own.
        self.control_headers: dict[str, str] = {}

    def relative(self, url: str) -> str:
        """The path of `url` below the base URL (the document's paths), without the query."""
        path = urlsplit(url).path
        base = urlsplit(self.base_url).path.rstrip("/")
        return path[len(base) :] if base and path.startswith(base) else path

    def mark(self) -> int:
        return len(self.journal)

    def since(self, mark: int) -> list[Exchange]:
        return self.journal[mark:]

    def record(self, exchange: Exchange) -> None:
        """Add an exchange sent by another client (schemathesis) or a note of a non-HTTP step."""
        with self._lock:
            self.journal.append(exchange)

    def note(self, text: str) -> None:
        self.record(Exchange.note(text))

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = "primary",
        token: str | None = None,
        json_body: Body = None,
        raw_body: bytes | None = None,
        headers: dict[str, str] | dict[str, str | bytes] | None = None,
        params: list[tuple[str, str]] | None = None,
        from_reserve: bool = False,
    ) -> Reply:
        sent: dict[str, str | bytes] = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        elif key is not None:
            sent["Authorization"] = f"Bearer {self.keys[key]}"
        content: bytes | None = raw_body
        if json_body is not None:
            content = json.dumps(json_body).encode()
        if content is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = httpx.URL(self.base_url + path, params=params or [])
        self.budget.spend(from_reserve=from_reserve)
        raw_headers = [
            (k.encode("latin-1"), v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in sent.items()
        ]
        response = self.http.request(method, url, headers=raw_headers, content=content)
        exchange = Exchange(
            method=method,
            url=str(url),
            headers={k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v for k, v in sent.items()},
            body=content,
            status=response.status_code,
            response_headers={k.lower(): v for k, v in response.headers.items()},
            response_text=response.text,
            key_role=key if token is None else None,
        )
        with self._lock:
            self.journal.append(exchange)
        if path.startswith("/v1/"):
            self.oracle.observe(exchange)
        try:
            body = response.json()
        except ValueError:
            body = None
        return Reply(response.status_code, body, response.headers, exchange)

    def control(self, method: str, path: str, json_body: Body = None) -> Reply:
        """A control-plane call (`/_mock/...`): budgeted and recorded like the others, no key."""
        return self.request(method, path, key=NO_KEY, json_body=json_body, headers=dict(self.control_headers) or None)
