"""Namespaces: private worlds in one mock, selected by API key (or X-Mock-Namespace on the control plane)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mock_server.app import create_app
from mock_server.fixtures import DEFAULT_FIXTURES
from mock_server.namespaces import CHECK_EVERY_SECONDS
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from tests.support.api import DOC_RUN, ORG1_KEY, Api, auth

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
ORG2 = "cborg_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
RUN = "/v1/workflows/quarterly-privacy-sweep/run"
NS = "X-Mock-Namespace"


class RealClock:
    def __init__(self, now: int) -> None:
        self.value = now

    def now(self) -> int:
        return self.value


def _namespace(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post("/_mock/namespaces", json=body or None)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_namespace_is_a_private_copy_with_its_own_keys(api: Api) -> None:
    ns = _namespace(api)
    assert set(ns["api_keys"]) == {ORG1, ORG2}
    key = ns["api_keys"][ORG1]
    assert key.startswith("ak_test_") and key != ORG1_KEY
    assert [o["api_keys"] for o in ns["fixtures"]["orgs"]] == [[ns["api_keys"][ORG1]], [ns["api_keys"][ORG2]]]
    assert api.get("/v1/utils/authtest", headers=auth(key)).json() == {"msg": "Auth successful"}
    # The fixtures' seed data is there too, privately.
    assert api.get(f"/v1/workflows/runs/{DOC_RUN}", headers=auth(key)).status_code == 200
    mine = api.post(RUN, headers=auth(key), json={"input": {"where": "ns"}}).json()
    assert api.get(f"/v1/workflows/runs/{mine['workflow_run_id']}", headers=auth(key)).status_code == 200
    assert api.get(f"/v1/workflows/runs/{mine['workflow_run_id']}", headers=auth()).status_code == 404
    default_total = api.get("/v1/workflows/runs", headers=auth()).json()["total"]
    ns_total = api.get("/v1/workflows/runs", headers=auth(key)).json()["total"]
    assert ns_total == default_total + 1


def test_nothing_of_one_namespace_is_visible_from_another(api: Api) -> None:
    a, b = _namespace(api), _namespace(api)
    key_a, key_b = a["api_keys"][ORG1], b["api_keys"][ORG1]
    # The same idempotency key executes once per namespace.
    first_a = api.post(RUN, headers=auth(key_a, **{"Idempotency-Key": "k"}), json={}).json()
    first_b = api.post(RUN, headers=auth(key_b, **{"Idempotency-Key": "k"}), json={}).json()
    assert first_a["workflow_run_id"] != first_b["workflow_run_id"]
    # Clocks, journals and rehearsals are per namespace.
    before = api.get("/_mock/clock").json()["now"]
    api.post("/_mock/clock", headers={NS: a["namespace_id"]}, json={"advance_seconds": 86400})
    assert api.get("/_mock/clock", headers={NS: a["namespace_id"]}).json()["now"] >= before + 86400
    assert api.get("/_mock/clock").json()["offset_seconds"] == 0
    assert api.get("/_mock/clock", headers={NS: b["namespace_id"]}).json()["offset_seconds"] == 0
    journal_a = api.get("/_mock/requests", headers={NS: a["namespace_id"]}).json()["data"]
    journal_default = api.get("/_mock/requests").json()["data"]
    assert [e["path"] for e in journal_a] == [RUN]
    assert journal_default == []
    armed = api.post(
        "/_mock/rehearsals", headers={NS: b["namespace_id"]}, json={"kind": "dispatch_failure", "count": 1}
    )
    assert armed.status_code == 201
    assert api.post(RUN, headers=auth(key_a), json={}).status_code == 201
    assert api.post(RUN, headers=auth(), json={}).status_code == 201
    assert api.post(RUN, headers=auth(key_b), json={}).status_code == 502
    # A reset of one namespace leaves the others alone.
    api.post("/_mock/reset", headers={NS: a["namespace_id"]})
    assert api.get(f"/v1/workflows/runs/{first_b['workflow_run_id']}", headers=auth(key_b)).status_code == 200
    assert api.get(f"/v1/workflows/runs/{first_a['workflow_run_id']}", headers=auth(key_a)).status_code == 404


def test_inline_fixtures_and_their_errors(api: Api) -> None:
    raw = yaml.safe_load(Path(DEFAULT_FIXTURES).read_text())
    one_org = {"orgs": raw["orgs"][:1]}
    ns = _namespace(api, fixtures=one_org, ttl_seconds=120)
    assert list(ns["api_keys"]) == [ORG1] and ns["ttl_seconds"] == 120
    assert ns["expires_at"] == ns["created_at"] + 120
    broken = {"orgs": [{**raw["orgs"][0], "id": "not-an-org-id"}]}
    response = api.post("/_mock/namespaces", json={"fixtures": broken})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "fixtures"] and "orgs[0].id" in detail["msg"]
    assert api.post("/_mock/namespaces", json={"ttl_seconds": 5}).status_code == 422


def test_list_delete_and_unknown_namespaces(api: Api) -> None:
    ns = _namespace(api)
    listed = api.get("/_mock/namespaces").json()
    assert listed["total"] == 1 and listed["data"][0]["namespace_id"] == ns["namespace_id"]
    key = ns["api_keys"][ORG1]
    assert api.delete(f"/_mock/namespaces/{ns['namespace_id']}").status_code == 204
    assert api.get("/v1/utils/authtest", headers=auth(key)).status_code == 401
    gone = api.get("/_mock/clock", headers={NS: ns["namespace_id"]})
    assert gone.status_code == 404 and gone.json() == {"detail": "Namespace not found."}
    again = api.delete(f"/_mock/namespaces/{ns['namespace_id']}")
    assert again.status_code == 404 and again.json() == {"detail": "Namespace not found."}
    assert api.get("/_mock/namespaces").json() == {"data": [], "total": 0}


def test_idle_namespaces_expire_with_everything_in_them() -> None:
    app = create_app(build_runtime())
    clock = RealClock(2_000_000_000)
    app.worlds.clock = clock
    api = Api(app)
    idle = _namespace(api, ttl_seconds=600)
    busy = _namespace(api, ttl_seconds=600)
    for _ in range(4):
        clock.value += 200
        assert api.get("/v1/utils/authtest", headers=auth(busy["api_keys"][ORG1])).status_code == 200
    assert [r["namespace_id"] for r in api.get("/_mock/namespaces").json()["data"]] == [busy["namespace_id"]]
    assert api.get("/v1/utils/authtest", headers=auth(idle["api_keys"][ORG1])).status_code == 401
    assert api.get("/v1/utils/authtest", headers=auth()).status_code == 200, "the default namespace never expires"
    api.close()


def test_the_number_of_namespaces_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(build_runtime())
    app.worlds.limit = 2
    api = Api(app)
    _namespace(api)
    _namespace(api)
    refused = api.post("/_mock/namespaces")
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many live namespaces; delete some or wait for idle ones to expire."}
    api.close()


def _shared_state(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings of two processes sharing state: one SQLite file, or one PostgreSQL database (a real server)."""
    if kind == "postgres":
        return Settings(state_url=str(request.getfixturevalue("postgres_url")))
    return Settings(state_path=tmp_path / "state.db")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_namespaces_made_by_one_worker_serve_on_another(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two runtimes on one --state file (or database) act as two workers (or replicas): a namespace made on
    one is served by the other."""
    settings = _shared_state(kind, tmp_path, request)
    one, two = Api(create_app(build_runtime(settings))), Api(create_app(build_runtime(settings)))
    ns = _namespace(one)
    key = ns["api_keys"][ORG1]
    run = one.post(RUN, headers=auth(key), json={}).json()
    assert two.get(f"/v1/workflows/runs/{run['workflow_run_id']}", headers=auth(key)).status_code == 200
    assert two.get(f"/v1/workflows/runs/{run['workflow_run_id']}", headers=auth()).status_code == 404
    journal = two.get("/_mock/requests", headers={NS: ns["namespace_id"]}).json()["data"]
    assert [(e["method"], e["path"]) for e in journal] == [
        ("POST", RUN),
        ("GET", f"/v1/workflows/runs/{run['workflow_run_id']}"),
    ]
    assert two.delete(f"/_mock/namespaces/{ns['namespace_id']}").status_code == 204
    one.close()
    two.close()


def test_a_namespace_with_a_webhook_receives_only_its_own_events(api: Api) -> None:
    seen: list[bytes] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(204)

    app = create_app(build_runtime(webhook_transport=httpx.MockTransport(receiver)))
    mock = Api(app)
    ns = _namespace(mock)
    hook = {"url": "http://127.0.0.1:9/h", "events": ["WorkflowRun.Created"], "secret": "s" * 20}
    assert mock.post("/v1/webhooks", headers=auth(ns["api_keys"][ORG1]), json=hook).status_code == 201
    mock.post(RUN, headers=auth(), json={})
    assert mock.post("/_mock/webhooks/deliver", headers={NS: ns["namespace_id"]}).json() == {"attempted": 0}
    run = mock.post(RUN, headers=auth(ns["api_keys"][ORG1]), json={}).json()
    assert mock.post("/_mock/webhooks/deliver", headers={NS: ns["namespace_id"]}).json() == {"attempted": 1}
    assert run["workflow_run_id"].encode() in seen[0]
    assert mock.get("/_mock/webhooks/deliveries").json()["total"] == 0
    mock.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_namespace_deleted_by_another_process_stops_working_within_the_check_interval(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Each process keeps the worlds it loaded; one deleted elsewhere is served at most CHECK_EVERY_SECONDS
    longer, then it is gone here too - with the rows this process wrote in between."""
    settings = _shared_state(kind, tmp_path, request)
    apps = [create_app(build_runtime(settings)), create_app(build_runtime(settings))]
    clock = RealClock(2_000_000_000)
    for app in apps:
        app.worlds.clock = clock
    one, two = Api(apps[0]), Api(apps[1])
    ns = _namespace(one)
    key = ns["api_keys"][ORG1]
    assert two.get("/v1/utils/authtest", headers=auth(key)).status_code == 200, "loaded on the second process"
    assert one.delete(f"/_mock/namespaces/{ns['namespace_id']}").status_code == 204
    # Within the interval the second process still trusts the world it loaded (the documented bound) ...
    late = two.post(RUN, headers=auth(key), json={})
    assert late.status_code == 201
    clock.value += CHECK_EVERY_SECONDS
    # ... and then no longer: the key is unknown, the namespace not found, the late run gone with it.
    assert two.get("/v1/utils/authtest", headers=auth(key)).status_code == 401
    gone = two.get("/_mock/clock", headers={NS: ns["namespace_id"]})
    assert gone.status_code == 404 and gone.json() == {"detail": "Namespace not found."}
    store = apps[1].runtime.store
    assert store.get_run(ORG1, late.json()["workflow_run_id"]) is None
    assert two.get("/_mock/namespaces").json() == {"data": [], "total": 0}
    orphans = _rows_of(apps[1].runtime, ns["namespace_id"])
    assert orphans == 0, "no row of the deleted namespace is left behind"
    one.close()
    two.close()


def _rows_of(rt: Any, namespace_id: str) -> int:
    """Rows of one namespace left in any table of the shared database."""
    from mock_server.store.postgres import TABLES, PostgresDatabase

    database = rt.store.database
    if isinstance(database, PostgresDatabase):
        return sum(int(database.one(f"SELECT COUNT(*) FROM {t} WHERE ns = %s", (namespace_id,))[0]) for t in TABLES)
    return sum(
        int(database.connection.execute(f"SELECT COUNT(*) FROM {t} WHERE ns = ?", (namespace_id,)).fetchone()[0])
        for t in TABLES
    )
