"""The independent oracle: openapi-core validates every response the property checks receive."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from .exchange import Exchange


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str


@dataclass
class _Response:
    status_code: int
    data: bytes | None
    headers: Headers
    content_type: str


class Oracle:
    """Collects every response that does not match the document, with the exchange that produced it."""

    def __init__(self, raw_document: dict[str, Any], base_url: str) -> None:
        document = dict(raw_document)
        document["servers"] = [{"url": base_url.rstrip("/") or "/"}]
        self._openapi = OpenAPI.from_dict(document)
        self.violations: list[tuple[Exchange, str]] = []
        self.validated = 0
        self._lock = threading.Lock()

    def observe(self, exchange: Exchange) -> None:
        parts = urlsplit(exchange.url)
        request = _Request(
            host_url=f"{parts.scheme}://{parts.netloc}",
            path=parts.path,
            method=exchange.method.lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
                header=Headers(exchange.headers),
            ),
            body=exchange.body,
            content_type=exchange.headers.get("content-type", "application/json"),
        )
        response = _Response(
            status_code=exchange.status,
            data=exchange.response_text.encode("utf-8"),
            headers=Headers(exchange.response_headers),
            content_type=exchange.response_headers.get("content-type", ""),
        )
        try:
            self._openapi.validate_response(request, response)
        except Exception as exc:  # openapi-core raises a family of errors; each one is a finding
            reason = f"{type(exc).__name__}: {exc}"
            cause = exc.__cause__ or exc.__context__
            if cause is not None:
                reason += f" ({cause})"
            with self._lock:
                self.violations.append((exchange, reason[:500]))
        with self._lock:
            self.validated += 1
