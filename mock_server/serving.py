"""Serve the app on a socket bound before anything is announced: by `coverbase-mock`, or in a thread of a test process.

Binding first is what makes the announcements true: the banner, `--ready-file` and the test harness only
ever name a port this process holds, and a taken port is reported before anything claims to be serving.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from . import clock

# uvicorn's own default listen backlog.
BACKLOG = 2048
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one chosen by the OS); raises the OS's OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, as uvicorn does: asyncio sets TCP_NODELAY on accepted connections only when the
    # socket says TCP, and without it every answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # Lets a restarted mock reuse a port whose old connections are in TIME_WAIT; a port another
        # process listens on still fails with EADDRINUSE.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now means a request sent as soon as the port is announced waits in the backlog
        # until the app answers, instead of being refused.
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bound_port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Server(uvicorn.Server):
    """uvicorn's server that calls `on_ready` once it answers requests (the app's start-up done) and
    `on_stop` once it has stopped answering (before uvicorn re-raises a SIGTERM or SIGINT it caught).

    `ready` is also set when serving ends or fails, so nobody waits for a server that will never start;
    `started` tells the two apart.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        on_ready: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._on_ready = on_ready
        self._on_stop = on_stop

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.mark_ready()

    def mark_ready(self) -> None:
        """The server answers requests: run `on_ready`, then wake whoever waits on `ready`."""
        try:
            if self._on_ready is not None:
                self._on_ready()
        finally:
            self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().shutdown(sockets)
        finally:
            if self._on_stop is not None:
                self._on_stop()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().serve(sockets)
        finally:
            self.ready.set()


class RealTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose timers run on the OS's monotonic clock even while freezegun has frozen
    `time.monotonic` in this process (freezegun's own `real_asyncio` does that only when asked, per freeze):
    frozen, the loop would never end a request's rehearsed delay, a keep-alive timeout or a webhook wait."""

    def time(self) -> float:
        return clock.real_monotonic()


class ThreadedServer:
    """An ASGI app served from a daemon thread of this process on a free loopback port, on a `RealTimeLoop`."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        self._sock = listen(host, 0)
        self.url = base_url(host, bound_port(self._sock))
        # log_config=None: uvicorn's loggers propagate to this process's logging (pytest captures them) instead
        # of uvicorn reconfiguring it.
        self._server = Server(uvicorn.Config(app, log_config=None, log_level="warning", access_log=False))
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"coverbase-mock {self.url}", daemon=True)

    def _run(self) -> None:
        loop = RealTimeLoop()
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # a failed start-up is raised by start(), in the caller's thread
            self._failure = exc
        finally:
            loop.close()

    def start(self) -> None:
        """Serve, and return once the app answers (its lifespan start-up done)."""
        self._thread.start()
        if not self._server.ready.wait(STARTUP_SECONDS):
            self.stop()
            raise RuntimeError(f"the server did not start on {self.url} within {STARTUP_SECONDS:g} s")
        if not self._server.started:
            self._thread.join(STOP_SECONDS)
            self._sock.close()
            raise RuntimeError(f"the server on {self.url} failed to start: {self._failure!r}")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_SECONDS)
        self._sock.close()
