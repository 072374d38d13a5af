"""Slow and idle clients over a real socket: idle connections are closed, slow headers and slow bodies are the
documented 408 with Connection: close, and a handful of them never stop the mock serving anyone else.

The mock runs with short timeouts (`--header-timeout`, `--body-timeout`, `--keep-alive-timeout`); the
clients here are slow on purpose (their pauses are the behaviour under test, not synchronisation).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mock_server import spec
from tests.support.api import ORG1_KEY, auth
from tests.support.reliability import MockProcess

TIMEOUT = 0.5
LIMIT = spec.load_document()["x-error-catalog"]["plain"]["request_timeout"]
AUTH = f"Authorization: Bearer {ORG1_KEY}\r\n".encode()
RUN = b"POST /v1/workflows/onboard-vendor/run HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n" + AUTH


@pytest.fixture(scope="module")
def base() -> Iterator[tuple[str, int]]:
    server = MockProcess(
        "--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT), "--keep-alive-timeout", str(TIMEOUT)
    )
    try:
        server.wait_ready()
        yield server.base, server.port
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10 * TIMEOUT)  # a guard for a broken mock only: every case ends well before it
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the mock sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    while chunk := sock.recv(65536):
        received += chunk
    return received, time.monotonic() - started


def assert_408(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    assert lines[0] == "http/1.1 408 request timeout", answer
    assert "connection: close" in lines and "content-type: application/json" in lines
    assert json.loads(body) == {"detail": LIMIT["detail"]}


def test_a_connection_that_never_sends_a_request_is_closed(base: tuple[str, int]) -> None:
    with connect(base[1]) as sock:
        answer, took = read_until_closed(sock)
    assert answer == b"" and TIMEOUT * 0.8 <= took < 5 * TIMEOUT


def test_an_idle_keep_alive_connection_is_closed_after_its_answer(base: tuple[str, int]) -> None:
    with connect(base[1]) as sock:
        sock.sendall(b"GET /v1/utils/authtest HTTP/1.1\r\nHost: mock\r\n" + AUTH + b"\r\n")
        answer, took = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b'{"msg":"Auth successful"}\n')
    assert took < 5 * TIMEOUT


def test_headers_trickling_past_the_deadline_are_408(base: tuple[str, int]) -> None:
    """One byte at a time, each pause shorter than the deadline: the deadline is for the whole headers."""
    with connect(base[1]) as sock:
        started = time.monotonic()
        for byte in b"GET /v1/utils/authtest HTTP/1.1\r\nHost: mock\r\nX-Slow: 1":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break  # closed by the mock
            time.sleep(TIMEOUT / 5)
            if time.monotonic() - started > 3 * TIMEOUT:
                break
        answer, _ = read_until_closed(sock)
    assert_408(answer)


def test_a_body_slower_than_the_deadline_is_408_and_starts_nothing(base: tuple[str, int]) -> None:
    with httpx.Client(base_url=base[0]) as client:
        before = client.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()["total"]
    with connect(base[1]) as sock:
        sock.sendall(RUN + b"Content-Length: 40\r\n\r\n" + b'{"input": {')
        answer, took = read_until_closed(sock)
    assert_408(answer)
    assert b"cache-control: no-store" in answer.lower(), "an API answer: the security headers are on it"
    assert TIMEOUT * 0.8 <= took < 5 * TIMEOUT
    with httpx.Client(base_url=base[0]) as client:
        after = client.get("/v1/workflows/runs?workflow_name=onboard-vendor", headers=auth()).json()["total"]
    assert after == before


def test_a_chunked_body_that_stops_is_408(base: tuple[str, int]) -> None:
    with connect(base[1]) as sock:
        sock.sendall(RUN + b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"inp\r\n')
        answer, _ = read_until_closed(sock)
    assert_408(answer)


def test_slow_clients_do_not_stop_the_mock_serving_others(base: tuple[str, int]) -> None:
    hanging = [connect(base[1]) for _ in range(20)]
    for i, sock in enumerate(hanging):
        sock.sendall(RUN + b"Content-Length: 100\r\n\r\n{" if i % 2 else b"GET /v1/utils/auth")
    with httpx.Client(base_url=base[0]) as client:
        for _ in range(5):
            assert client.get("/v1/utils/authtest", headers=auth()).status_code == 200
    for sock in hanging:
        answer, _ = read_until_closed(sock)
        assert_408(answer)
        sock.close()
