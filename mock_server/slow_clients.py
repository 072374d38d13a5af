"""Slow and idle clients: the timeouts of `x-limits` and the uvicorn options that enforce them.

uvicorn (0.55) times out a keep-alive connection only between requests: a connection that never sends a
request, or sends its headers a byte at a time, is held forever, and it has no header timeout to set. The
HTTP/1.1 protocol here is uvicorn's httptools protocol with two additions: an idle connection is closed
after the keep-alive timeout from the moment it is opened too, and a request whose headers are not complete
within the header timeout of its first byte is answered `408 request_timeout` and closed. The body deadline
is an edge layer (`http/deadline.py`), since the app holds the request by then.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import spec
from .errors import ApiError
from .http.responses import raw_http
from .logs import REQUESTS

log = logging.getLogger(REQUESTS)


@dataclass(frozen=True)
class Timeouts:
    """Seconds: headers after their first byte, a body after its headers, an idle connection."""

    header: float
    body: float
    keep_alive: float

    @classmethod
    def of(
        cls,
        document: dict[str, Any],
        header: float | None = None,
        body: float | None = None,
        keep_alive: float | None = None,
    ) -> Timeouts:
        """The document's `x-limits`, each replaced by the value given (command-line options)."""
        limits = document["x-limits"]
        return cls(
            header=float(header if header is not None else limits["header_timeout_seconds"]),
            body=float(body if body is not None else limits["body_timeout_seconds"]),
            keep_alive=float(keep_alive if keep_alive is not None else limits["keep_alive_timeout_seconds"]),
        )


def request_timeout(document: dict[str, Any]) -> ApiError:
    """The documented 408 (`x-error-catalog.plain.request_timeout`), closing the connection."""
    status, detail = spec.plain_errors(document)["request_timeout"]
    return ApiError(status, {"detail": detail}, {"Connection": "close"})


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with an idle timeout from the start and a deadline on request headers."""

    def __init__(self, *args: Any, header_timeout: float, timeout_response: bytes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.timeout_response = timeout_response  # the whole 408 (responses.raw_http)
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn arms its keep-alive timer only after a response: a connection that never sends a request
        # is idle too. The first byte received cancels it (HttpToolsProtocol.data_received).
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._cancel_header_deadline()
        self.header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _cancel_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_too_slow(self) -> None:
        self.header_deadline = None
        if self.transport.is_closing():
            return
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        log.warning(
            '%s - "(headers incomplete)" 408 request_timeout: no complete headers within %g s',
            peer,
            self.header_timeout,
        )
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(self.timeout_response)
        # else: a pipelined request trickles in while the previous answer is sent; closing ends both.
        self.transport.close()


def uvicorn_options(document: dict[str, Any], timeouts: Timeouts) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` (also pickled to `--workers` processes: a partial of a module class)."""
    return {
        "http": functools.partial(
            SlowClientProtocol,
            header_timeout=timeouts.header,
            timeout_response=raw_http(request_timeout(document)),
        ),
        "timeout_keep_alive": timeouts.keep_alive,
        "access_log": False,  # the mock logs each request itself, keys masked (http/request_log.py)
    }
