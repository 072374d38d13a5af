"""A Python handle on a coverbase-mock for integrators' tests, and `serve()`, which starts one in this process.

The handle (`CoverbaseMock`) talks HTTP to the mock's control plane, so it works the same on a mock
started here and on one already running elsewhere (`connect(url)`, the pytest plugin's `--coverbase-url`).
A mock started here serves a real loopback socket from a thread of this process (`serving.ThreadedServer`),
which is what lets freezegun reach it: its clock is `clock.FollowingClock`, which reads freezegun's active
freeze directly, so inside `freeze_time(...)` the mock's time is the frozen time whichever thread asks.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import os
import re
import ssl
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from . import clock as clocks

if TYPE_CHECKING:
    from .serving import ThreadedServer

# Long enough for the longest rehearsed delay (30 s, `x-rehearsal-header`).
CLIENT_TIMEOUT_SECONDS = 60.0
NAMESPACE_HEADER = "X-Mock-Namespace"
CONTROL_TOKEN_HEADER = "X-Mock-Control-Token"
CONTROL_TOKEN_ENV = "COVERBASE_MOCK_CONTROL_TOKEN"
JOURNAL_LIMIT = 1000
SHOWN_REQUESTS = 25

Timestamp = int | float | dt.datetime


class MockControlError(RuntimeError):
    """The mock's control plane refused a call (the message quotes its answer)."""


class NoNamespaces(MockControlError):
    """The mock offers no namespaces, and resetting it was not allowed."""


class FrozenTimeUnreachable(RuntimeError):
    """freezegun froze time in this process, but the mock runs in another one: its clock cannot follow."""


class TimeWentBackwards(AssertionError):
    """The mock's clock moved backwards within one world (freezegun moved it before earlier requests)."""


def unix_seconds(value: Timestamp) -> int:
    """Integer Unix seconds from seconds or a datetime (a naive datetime is taken as UTC, as freezegun does)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return calendar.timegm(value.timetuple())
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"the mock's clock counts whole seconds, not {value}")
    return int(value)


# --- fixture IDs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgIds:
    """One organization of the fixtures, by the names `GET /_mock/fixtures` uses."""

    org_id: str
    name: str
    api_keys: tuple[str, ...]
    vendors: Mapping[str, str]  # vendor name -> vendor ID
    services: Mapping[str, tuple[str, ...]]  # vendor name -> that vendor's service IDs
    workflows: Mapping[str, str]  # workflow name -> workflow definition ID
    control_set_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    document_ids: tuple[str, ...]
    assessment_ids: tuple[str, ...]
    run_ids: tuple[str, ...]
    import_reports: tuple[str, ...]

    @property
    def vendor_id(self) -> str:
        """The first vendor's ID (the one the public docs' examples name, with the bundled fixtures)."""
        return next(iter(self.vendors.values()))

    @property
    def service_ids(self) -> tuple[str, ...]:
        return next(iter(self.services.values()), ())

    @property
    def control_set_id(self) -> str:
        return self.control_set_ids[0]

    @classmethod
    def from_json(cls, org: Mapping[str, Any]) -> OrgIds:
        return cls(
            org_id=org["id"],
            name=org["name"],
            api_keys=tuple(org["api_keys"]),
            vendors={v["name"]: v["id"] for v in org["vendors"]},
            services={v["name"]: tuple(v["service_ids"]) for v in org["vendors"]},
            workflows={w["name"]: w["id"] for w in org["workflows"]},
            control_set_ids=tuple(org["control_set_ids"]),
            user_ids=tuple(org["user_ids"]),
            document_ids=tuple(org["document_ids"]),
            assessment_ids=tuple(org["assessment_ids"]),
            run_ids=tuple(org["run_ids"]),
            import_reports=tuple(r["name"] for r in org["import_reports"]),
        )


@dataclass(frozen=True)
class FixtureIds(OrgIds):
    """The first organization's IDs (the one `api_key` belongs to), with `second` (the org of
    `second_api_key`, or None), every org in `orgs`, and `raw`, the answer of `GET /_mock/fixtures`."""

    second: OrgIds | None = None
    orgs: tuple[OrgIds, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> FixtureIds:
        orgs = tuple(OrgIds.from_json(org) for org in summary["orgs"])
        first = orgs[0]
        return cls(
            **{name: getattr(first, name) for name in OrgIds.__dataclass_fields__},
            second=orgs[1] if len(orgs) > 1 else None,
            orgs=orgs,
            raw=summary,
        )


# --- the handle ----------------------------------------------------------------------------------


class MockClock:
    """The mock's virtual clock (`/_mock/clock`): it moves forward only; `reset(now=...)` starts a world anywhere."""

    def __init__(self, mock: CoverbaseMock) -> None:
        self._mock = mock

    def now(self) -> int:
        """The mock's current virtual time, in Unix seconds."""
        now: int = self._mock._control("GET", "/_mock/clock").json()["now"]
        return now

    def advance(self, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> int:
        """Let that much virtual time pass; returns the new time."""
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        body = {"advance_seconds": unix_seconds(float(total))}
        now: int = self._mock._control("POST", "/_mock/clock", json=body).json()["now"]
        return now

    def set(self, timestamp: Timestamp) -> int:
        """Jump to `timestamp` (not before the current virtual time); returns the new time."""
        now: int = self._mock._control("POST", "/_mock/clock", json={"set": unix_seconds(timestamp)}).json()["now"]
        return now


class CoverbaseMock:
    """One test's view of a coverbase-mock: where it is, its keys and fixture IDs, clients, and its control plane.

    `remote` is True when the mock runs in another process (freezegun cannot reach it); `namespace` names
    the mock's namespace this handle works in, if any (its keys are then the namespace's keys).
    """

    def __init__(
        self,
        url: str,
        fixtures: Mapping[str, Any],
        *,
        remote: bool,
        control: httpx.Client,
        namespace: str | None = None,
        api_keys: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.remote = remote
        self.namespace = namespace
        self.ids = FixtureIds.from_summary(fixtures)
        if api_keys is not None:
            self.api_key = api_keys[self.ids.org_id]
            self.second_api_key = api_keys[self.ids.second.org_id] if self.ids.second is not None else None
        else:
            self.api_key = self.ids.api_keys[0]
            self.second_api_key = self.ids.second.api_keys[0] if self.ids.second is not None else None
        self.clock = MockClock(self)
        # The control client is the session's (one connection for every test); the namespace goes on each call.
        self._control_client = control
        self._control_headers = {NAMESPACE_HEADER: namespace} if namespace is not None else {}
        # One SSL context for every client: building one per httpx client costs ~35 ms (it loads the CA bundle).
        self._ssl_context = ssl_context or httpx.create_ssl_context()
        self._clients: list[httpx.Client] = []

    def __repr__(self) -> str:
        where = f" namespace={self.namespace}" if self.namespace else ""
        return f"<CoverbaseMock {self.url}{where}{' (remote)' if self.remote else ''}>"

    # --- clients ---------------------------------------------------------------------------------

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx.Client:
        """An `httpx.Client` with the mock's base URL and `Authorization: Bearer <api_key>` (default `api_key`)."""
        hooks = kwargs.pop("event_hooks", {})
        hooks = {**hooks, "request": [self._check_reachable_request, *hooks.get("request", [])]}
        client = httpx.Client(**self._client_options(api_key, kwargs), event_hooks=hooks)
        self._clients.append(client)
        return client

    def async_client(self, api_key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` like `client()` (close it yourself: `async with mock.async_client() as c`)."""

        async def check(request: httpx.Request) -> None:
            self._check_reachable_request(request)

        hooks = kwargs.pop("event_hooks", {})
        hooks = {**hooks, "request": [check, *hooks.get("request", [])]}
        return httpx.AsyncClient(**self._client_options(api_key, kwargs), event_hooks=hooks)

    def _client_options(self, api_key: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {api_key or self.api_key}", **dict(kwargs.pop("headers", {}) or {})}
        options = {"base_url": self.url, "headers": headers, "timeout": CLIENT_TIMEOUT_SECONDS, **kwargs}
        options.setdefault("verify", self._ssl_context)
        return options

    # --- control plane ---------------------------------------------------------------------------

    def rehearse(
        self,
        kind: str,
        operation_id: str | None = None,
        workflow_name: str | None = None,
        times: int = 1,
        delay_ms: int | None = None,
    ) -> dict[str, Any]:
        """Arm a failure for the next `times` matching API calls (`dispatch_failure`, `delay`, `drop_after_commit`)."""
        body: dict[str, Any] = {"kind": kind, "count": times}
        if operation_id is not None:
            body["operation_id"] = operation_id
        if workflow_name is not None:
            body["workflow_name"] = workflow_name
        if delay_ms is not None:
            body["delay_ms"] = delay_ms
        armed: dict[str, Any] = self._control("POST", "/_mock/rehearsals", json=body, expect=201).json()
        return armed

    def requests(self) -> list[dict[str, Any]]:
        """The journal: every API request since the last reset (up to 1000), oldest first, credentials masked."""
        entries: list[dict[str, Any]] = self._control("GET", f"/_mock/requests?limit={JOURNAL_LIMIT}").json()["data"]
        return entries

    def assert_requested(
        self, method: str, path: str, times: int | None = None, status: int | None = None
    ) -> list[dict[str, Any]]:
        """Assert the mock received `method path` (`{name}` matches one path segment), `times` times exactly
        (default: at least once), answered with `status` if given; returns the matching journal entries."""
        journal = self.requests()
        pattern = _path_pattern(path)
        found = [
            entry
            for entry in journal
            if entry["method"] == method.upper()
            and pattern.fullmatch(entry["path"])
            and (status is None or entry["status"] == status)
        ]
        if (times is None and found) or len(found) == times:
            return found
        wanted = f"{method.upper()} {path}" + (f" answered {status}" if status is not None else "")
        how_often = "at least once" if times is None else f"{times} time{'s' if times != 1 else ''}"
        raise AssertionError(f"expected {wanted} {how_often}, found {len(found)}; {_describe(journal)}")

    def deliveries(self) -> list[dict[str, Any]]:
        """The webhook delivery log, after delivering every attempt due now (so it is complete up to now)."""
        self._control("POST", "/_mock/webhooks/deliver")
        log: list[dict[str, Any]] = self._control("GET", "/_mock/webhooks/deliveries").json()["data"]
        return log

    def reset(self, now: Timestamp | None = None) -> int:
        """Back to the fixtures (state, clock, journal, rehearsals, webhook subscriptions and deliveries).

        With `now`, the new world starts at that virtual time, earlier than the current one too. Returns
        the mock's time."""
        body = None if now is None else {"now": unix_seconds(now)}
        started: int = self._control("POST", "/_mock/reset", json=body).json()["now"]
        return started

    def check_time_order(self) -> None:
        """Raise `TimeWentBackwards` if, since the last reset, a request was answered at an earlier virtual time
        than one before it: freezegun moved the mock's clock back behind what it had already recorded.
        Without freezegun in this process the clock cannot go back, and nothing is asked."""
        if not clocks.freezegun_imported():
            return
        latest: dict[str, Any] | None = None
        for entry in self.requests():
            if latest is not None and entry["at"] < latest["at"]:
                raise TimeWentBackwards(
                    f"the mock's clock went back from {_iso(latest['at'])} ({latest['method']} {latest['path']})"
                    f" to {_iso(entry['at'])} ({entry['method']} {entry['path']}): freezegun moved it behind"
                    " requests it had already answered; enter freeze_time(...) before the first request, or call"
                    " coverbase_mock.reset() inside it to start a new world there"
                )
            latest = entry

    def close(self) -> None:
        """Close the clients this handle made (the async ones are closed by their `async with`)."""
        for client in self._clients:
            client.close()
        self._clients.clear()

    # --- plumbing --------------------------------------------------------------------------------

    def _check_reachable(self) -> None:
        if self.remote and clocks.freezegun_active():
            raise FrozenTimeUnreachable(
                f"time is frozen by freezegun in this process, but the mock at {self.url} runs in another process"
                " and cannot follow it: instead of freeze_time, move the mock's clock with"
                " coverbase_mock.clock.advance()/set() or reset(now=...), or use the in-process mock (run pytest"
                " without --coverbase-url)"
            )

    def _check_reachable_request(self, request: httpx.Request) -> None:
        self._check_reachable()

    def _control(self, method: str, path: str, *, expect: int | None = None, json: Any = None) -> httpx.Response:
        self._check_reachable()
        response = self._control_client.request(method, path, json=json, headers=self._control_headers)
        ok = response.status_code == expect if expect is not None else response.is_success
        if not ok:
            raise MockControlError(f"{method} {self.url}{path} answered {response.status_code}: {response.text}")
        return response


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/{}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts))


def _describe(journal: Sequence[Mapping[str, Any]]) -> str:
    if not journal:
        return "the mock received no API request since the last reset"
    shown = [f"{e['method']} {e['path']}{'?' + e['query'] if e['query'] else ''} -> {e['status']}" for e in journal]
    more = len(shown) - SHOWN_REQUESTS
    lines = shown[-SHOWN_REQUESTS:]
    if more > 0:
        lines.insert(0, f"... {more} earlier")
    return f"requested instead ({len(journal)}):\n  " + "\n  ".join(lines)


def _iso(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- where handles come from ----------------------------------------------------------------------


def _serve_in_this_process(fixtures: Path | None) -> ThreadedServer:
    """The mock built with a clock that follows freezegun, served from a thread of this process on a free port."""
    with warnings.catch_warnings():
        # The mock's dependencies warn about their own dependencies on import (connexion about jsonschema's
        # RefResolver, starlette about httpx): nothing an integrator's test can act on.
        warnings.simplefilter("ignore")
        from .app import create_app
        from .runtime import build_runtime
        from .serving import ThreadedServer
        from .settings import Settings

    server = ThreadedServer(create_app(build_runtime(Settings(fixtures_path=fixtures), clock=clocks.FollowingClock())))
    server.start()
    return server


class MockSession:
    """The mock of one test process and the handles it gives out: each `handle()` is a clean world.

    Started here (`MockSession.start`), handles are reset between tests. Connected to a running mock
    (`MockSession.connect`), each handle gets a namespace of its own when the mock offers
    `/_mock/namespaces`, and otherwise resets the shared mock (`namespaces` says which).
    """

    def __init__(self, url: str, *, remote: bool, server: ThreadedServer | None = None) -> None:
        self.url = url
        self.remote = remote
        self._server = server
        # A shared mock off loopback needs its control token; a mock started here has none.
        self._token = (os.environ.get(CONTROL_TOKEN_ENV) or None) if remote else None
        headers = {CONTROL_TOKEN_HEADER: self._token} if self._token else {}
        self._ssl_context = httpx.create_ssl_context()
        self._http = httpx.Client(
            base_url=url, headers=headers, timeout=CLIENT_TIMEOUT_SECONDS, verify=self._ssl_context
        )
        self.namespaces: bool | None = None if remote else False
        self._fixtures: Mapping[str, Any] | None = None

    @classmethod
    def start(cls, fixtures: str | Path | None = None) -> MockSession:
        """Serve a mock from a thread of this process (its clock follows freezegun)."""
        server = _serve_in_this_process(Path(fixtures) if fixtures is not None else None)
        return cls(server.url, remote=False, server=server)

    @classmethod
    def connect(cls, url: str) -> MockSession:
        """Use a mock that is already running (raises if it does not answer `/_mock/health`)."""
        session = cls(url.rstrip("/"), remote=True)
        try:
            health = session._http.get("/_mock/health")
        except httpx.TransportError as exc:
            session.close()
            raise MockControlError(f"no coverbase-mock answers at {url}: {exc}") from exc
        if health.status_code != 200:
            session.close()
            raise MockControlError(
                f"{url}/_mock/health answered {health.status_code}: is it a coverbase-mock with its control plane on"
                f" (and ${CONTROL_TOKEN_ENV} set to its --control-token)?"
            )
        return session

    def handle(self, *, may_reset: bool = True) -> CoverbaseMock:
        """A handle on a clean world: a new namespace when the mock offers them, else the mock reset (unless
        `may_reset` is False: then `NoNamespaces` is raised before anything is reset)."""
        if self.namespaces is not False:
            created = self._http.post("/_mock/namespaces")
            if created.status_code == 201:
                self.namespaces = True
                ns = created.json()
                return CoverbaseMock(
                    self.url,
                    ns["fixtures"],
                    remote=self.remote,
                    control=self._http,
                    namespace=ns["namespace_id"],
                    api_keys=ns["api_keys"],
                    ssl_context=self._ssl_context,
                )
            if created.status_code not in (404, 405):
                raise MockControlError(
                    f"POST {self.url}/_mock/namespaces answered {created.status_code}: {created.text}"
                )
            self.namespaces = False
        if not may_reset:
            raise NoNamespaces(f"the mock at {self.url} offers no /_mock/namespaces")
        if self._fixtures is None:
            self._fixtures = self._checked(self._http.get("/_mock/fixtures")).json()
        mock = CoverbaseMock(
            self.url, self._fixtures, remote=self.remote, control=self._http, ssl_context=self._ssl_context
        )
        try:
            mock.reset()
        except BaseException:
            mock.close()
            raise
        return mock

    def release(self, mock: CoverbaseMock) -> None:
        """The test is over: close its clients and drop its namespace."""
        try:
            if mock.namespace is not None:
                self._http.delete(f"/_mock/namespaces/{mock.namespace}")
        finally:
            mock.close()

    def close(self) -> None:
        self._http.close()
        if self._server is not None:
            self._server.stop()

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if not response.is_success:
            raise MockControlError(f"{response.request.url} answered {response.status_code}: {response.text}")
        return response


@contextlib.contextmanager
def serve(fixtures: str | Path | None = None) -> Iterator[CoverbaseMock]:
    """Start a mock in this process (fixtures: a fixture file, default the bundled ones), yield a handle, stop it.

    with serve() as mock:
        mock.client().get("/v1/utils/authtest")
    """
    yield from _one_handle(MockSession.start(fixtures))


@contextlib.contextmanager
def connect(url: str) -> Iterator[CoverbaseMock]:
    """A handle on a mock already running at `url` (in its own namespace when it offers them, else reset)."""
    yield from _one_handle(MockSession.connect(url))


def _one_handle(session: MockSession) -> Iterator[CoverbaseMock]:
    """The one handle of a session made for it; released, and the session closed, however the block ends."""
    try:
        mock = session.handle()
        try:
            yield mock
        finally:
            session.release(mock)
    finally:
        session.close()
