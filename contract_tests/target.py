"""What the suite knows about the deployment: its objects, a second org's key, and which controls it offers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from .client import ApiClient
from .clocks import ClockControl, ControlPlaneClock, TargetTime, TrackedClock
from .outcome import Violation


class ConfigError(Exception):
    """Usage or configuration problem: exit status 2 with this one-line reason."""


@dataclass
class TargetObjects:
    vendor_id: str
    control_set_ids: list[str]
    service_ids: list[str]
    enabled_workflow: str
    other_enabled_workflow: str | None = None
    disabled_workflow: str | None = None
    run_duration_seconds: int | None = None  # how long a run of enabled_workflow takes, when known
    import_report: str | None = None  # an import report (base object vendor) the suite may write through
    # Writes that stay on the deployment (vendors and services cannot be deleted through the API): opt-in.
    vendor_writes: bool = False
    # A URL the deployment accepts for a webhook subscription (the suite deletes every subscription it makes).
    webhook_url: str | None = None


@dataclass
class Environment:
    objects: TargetObjects
    second_key: str | None
    clock: ClockControl | None
    control_plane: bool
    namespace: str | None = None  # the target's namespace the suite made for itself (deleted at the end)

    @property
    def rehearsals(self) -> bool:
        return self.control_plane


TARGET_FIELDS = ("vendor_id", "enabled_workflow")
MOCK_WEBHOOK_URL = "http://127.0.0.1:9/coverbase-contract"


def load_target_file(path: Path) -> TargetObjects:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read target file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"target file {path} is not a mapping")
    missing = [name for name in TARGET_FIELDS if not isinstance(data.get(name), str)]
    if missing:
        raise ConfigError(f"target file {path} lacks {', '.join(missing)}")
    return TargetObjects(
        vendor_id=data["vendor_id"],
        control_set_ids=[str(x) for x in data.get("control_set_ids", [])],
        service_ids=[str(x) for x in data.get("service_ids", [])],
        enabled_workflow=data["enabled_workflow"],
        other_enabled_workflow=data.get("other_enabled_workflow"),
        disabled_workflow=data.get("disabled_workflow"),
        run_duration_seconds=data.get("run_duration_seconds"),
        import_report=data.get("import_report"),
        vendor_writes=data.get("vendor_writes") is True,
        webhook_url=str(data["webhook_url"]) if isinstance(data.get("webhook_url"), str) else None,
    )


def has_control_plane(client: ApiClient) -> bool:
    try:
        reply = client.control("GET", "/_mock/health")
    except httpx.HTTPError:
        return False
    return reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("status") == "ok"


def objects_from_fixtures(fixtures: Any, api_key: str) -> tuple[TargetObjects, str | None]:
    """The primary key's org objects and a key of another org, from /_mock/fixtures."""
    try:
        return _objects_from_fixtures(fixtures, api_key)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ConfigError(
            f"/_mock/fixtures does not describe the fixtures as expected ({type(exc).__name__}: {exc})"
        ) from None


def _objects_from_fixtures(fixtures: Any, api_key: str) -> tuple[TargetObjects, str | None]:
    orgs = fixtures.get("orgs", [])
    mine = next((o for o in orgs if api_key in o.get("api_keys", [])), None)
    if mine is None:
        raise ConfigError("the API key belongs to no fixture organization of this mock")
    vendor = next((v for v in mine["vendors"] if v["service_ids"]), None) or (mine["vendors"] or [None])[0]
    if vendor is None:
        raise ConfigError("the fixture organization has no vendor")
    enabled = [w for w in mine["workflows"] if w["enabled"]]
    completed = [w for w in enabled if w["outcome"] == "completed"] or enabled
    if not completed:
        raise ConfigError("the fixture organization has no enabled workflow")
    first = completed[0]
    other = next((w["name"] for w in enabled if w["name"] != first["name"]), None)
    disabled = next((w["name"] for w in mine["workflows"] if not w["enabled"]), None)
    second = next((o["api_keys"][0] for o in orgs if o is not mine and o["api_keys"]), None)
    objects = TargetObjects(
        vendor_id=vendor["id"],
        control_set_ids=list(mine["control_set_ids"][:1]),
        service_ids=list(vendor["service_ids"][:1]),
        enabled_workflow=first["name"],
        other_enabled_workflow=other,
        disabled_workflow=disabled,
        run_duration_seconds=int(first["duration_seconds"]),
        import_report=next((r["name"] for r in mine.get("import_reports", []) if r["base_object"] == "vendor"), None),
        vendor_writes=True,
        # The mock accepts loopback receivers only (its Decision webhook-url-loopback); nothing listens here.
        webhook_url=MOCK_WEBHOOK_URL,
    )
    return objects, second


def discover(
    client: ApiClient,
    target_file: Path | None,
    second_key: str | None,
    clock: ClockControl | None,
    target_time: TargetTime | None = None,
) -> Environment:
    """Preflight: reachable, key accepted, objects known; then which controls the target offers."""
    try:
        auth = client.request("GET", "/v1/utils/authtest")
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot reach {client.base_url}: {exc}") from exc
    if auth.status == 401:
        raise ConfigError("the API key was rejected (401 on /v1/utils/authtest)")
    if auth.status != 200:
        raise ConfigError(f"/v1/utils/authtest answered {auth.status}, not 200: is this a Coverbase API base URL?")
    control = has_control_plane(client)
    target_time = target_time or TargetTime(0)
    namespace = own_namespace(client, second_key) if control else None
    if namespace is not None:
        second_key = namespace[1]
    if control and namespace is None:
        reset = client.control("POST", "/_mock/reset")
        if reset.status != 200:
            raise ConfigError(f"/_mock/reset answered {reset.status}")
        if isinstance(reset.body, dict) and isinstance(reset.body.get("now"), int):
            target_time.observe(reset.body["now"])
    if target_file is not None:
        objects = load_target_file(target_file)
    elif control:
        fixtures = client.control("GET", "/_mock/fixtures")
        if fixtures.status != 200:
            raise ConfigError(f"/_mock/fixtures answered {fixtures.status}")
        objects, fixture_second = objects_from_fixtures(fixtures.body, client.keys["primary"])
        second_key = second_key or fixture_second
    else:
        raise ConfigError("this target serves no /_mock/ control plane: name its objects with --target FILE")
    if second_key is not None:
        client.keys["second"] = second_key
        if client.request("GET", "/v1/utils/authtest", key="second").status != 200:
            raise ConfigError("the second API key was rejected by /v1/utils/authtest")
    for name in (objects.enabled_workflow, objects.other_enabled_workflow, objects.disabled_workflow):
        if name is None:
            continue
        reply = client.request("GET", "/v1/workflows/runs", params=[("workflow_name", name), ("limit", "1")])
        if reply.status != 200:
            raise ConfigError(f"workflow {name!r} named by the target does not exist ({reply.status})")
    if clock is None and control:
        clock = ControlPlaneClock(client)
    if clock is not None:
        clock = TrackedClock(clock, target_time, client)
        try:
            clock.now()
        except Violation as exc:
            raise ConfigError(str(exc)) from None
    return Environment(
        objects=objects,
        second_key=second_key,
        clock=clock,
        control_plane=control,
        namespace=namespace[0] if namespace else None,
    )


NAMESPACE_HEADER = "X-Mock-Namespace"


def own_namespace(client: ApiClient, second_key: str | None) -> tuple[str, str | None] | None:
    """On a mock that offers namespaces, a fresh one for this run, so a shared mock is never reset: the keys
    given (of the default namespace) are swapped for the namespace's keys of the same organizations.
    Returns (namespace id, second key) or None when the target has no namespaces."""
    fixtures = client.control("GET", "/_mock/fixtures")
    made = client.control("POST", "/_mock/namespaces")
    if made.status != 201 or fixtures.status != 200:
        return None
    try:
        orgs = {key: org["id"] for org in fixtures.body["orgs"] for key in org["api_keys"]}
        minted: dict[str, str] = made.body["api_keys"]
        namespace_id = str(made.body["namespace_id"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"/_mock/namespaces answered an unexpected body ({type(exc).__name__}: {exc})") from None
    primary_org = orgs.get(client.keys["primary"])
    if primary_org is None or primary_org not in minted:
        client.control("DELETE", f"/_mock/namespaces/{namespace_id}")
        return None  # a key of another namespace: run where it points, as on a mock without namespaces
    client.keys["primary"] = minted[primary_org]
    client.control_headers[NAMESPACE_HEADER] = namespace_id
    if second_key is not None:
        second_org = orgs.get(second_key)
        if second_org is None or second_org not in minted:
            raise ConfigError("the second API key belongs to no fixture organization of this mock")
        return namespace_id, minted[second_org]
    return namespace_id, None
