"""Org isolation: every read/delete with another org's IDs is answered exactly like a missing object."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.runtime import Runtime, build_runtime
from tests.support.api import (
    DOC_ASSESSMENT,
    DOC_RUN,
    ORG1_CONTROL_SET,
    ORG1_KEY,
    ORG1_VENDOR,
    ORG2_KEY,
    ORG2_VENDOR,
    auth,
)

MISSING_ASSESSMENT = "cbqsrw_" + "0" * 32
MISSING_RUN = "cbwr_" + "0" * 32
ORG1_ONLY_WORKFLOW = "onboard-vendor"  # exists in org 1 only
ORG2_ONLY_WORKFLOW = "tps-report-review"  # exists in org 2 only
MISSING_WORKFLOW = "no-such-workflow"


class Org:
    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.key = key

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
                return await client.request(method, path, headers=auth(self.key, **kwargs.pop("headers", {})), **kwargs)

        return asyncio.run(go())


@pytest.fixture
def world() -> tuple[Runtime, Org, Org, dict[str, str]]:
    """Both orgs on one app; org 1 owns seeded objects plus a freshly created assessment and run."""
    rt = build_runtime()
    app = create_app(rt)
    org1, org2 = Org(app, ORG1_KEY), Org(app, ORG2_KEY)
    created = org1.call(
        "POST",
        "/v1/assessments",
        json={"vendor_id": ORG1_VENDOR, "control_set_ids": [ORG1_CONTROL_SET], "trigger_workflow": ORG1_ONLY_WORKFLOW},
    ).json()
    run = org1.call("POST", "/v1/workflows/quarterly-privacy-sweep/run", json={"input": {}}).json()
    ids = {
        "seed_assessment": DOC_ASSESSMENT,
        "seed_run": DOC_RUN,
        "new_assessment": created["id"],
        "new_run": run["workflow_run_id"],
        "triggered_run": created["workflow_run_id"],
    }
    return rt, org1, org2, ids


# (operation, template, which id kind, the missing id of that kind)
READS = [
    ("getAssessment", "GET", "/v1/assessments/{}", "seed_assessment", MISSING_ASSESSMENT),
    ("getAssessment", "GET", "/v1/assessments/{}", "new_assessment", MISSING_ASSESSMENT),
    ("deleteAssessment", "DELETE", "/v1/assessments/{}", "seed_assessment", MISSING_ASSESSMENT),
    ("deleteAssessment", "DELETE", "/v1/assessments/{}", "new_assessment", MISSING_ASSESSMENT),
    ("getWorkflowRun", "GET", "/v1/workflows/runs/{}", "seed_run", MISSING_RUN),
    ("getWorkflowRun", "GET", "/v1/workflows/runs/{}", "new_run", MISSING_RUN),
    ("getWorkflowRun", "GET", "/v1/workflows/runs/{}", "triggered_run", MISSING_RUN),
]


@pytest.mark.parametrize(("op", "method", "template", "kind", "missing"), READS, ids=[f"{r[0]}-{r[3]}" for r in READS])
def test_other_orgs_object_is_indistinguishable_from_a_missing_one(
    world: tuple[Runtime, Org, Org, dict[str, str]], op: str, method: str, template: str, kind: str, missing: str
) -> None:
    _, org1, org2, ids = world
    owned = org1.call("GET", template.format(ids[kind]))
    assert owned.status_code == 200, "the object exists for its own org"
    foreign = org2.call(method, template.format(ids[kind]))
    absent = org2.call(method, template.format(missing))
    assert foreign.status_code == absent.status_code == 404
    assert foreign.content == absent.content
    assert {k: v for k, v in foreign.headers.items() if k != "content-length"} == {
        k: v for k, v in absent.headers.items() if k != "content-length"
    }
    # The foreign request changed nothing for the owner (a DELETE must not archive it).
    assert org1.call("GET", template.format(ids[kind])).content == owned.content


def test_other_orgs_runs_are_never_listed(world: tuple[Runtime, Org, Org, dict[str, str]]) -> None:
    _, org1, org2, ids = world
    listed = {
        r["workflow_run_id"] for r in org2.call("GET", "/v1/workflows/runs", params={"limit": 500}).json()["data"]
    }
    assert not listed & {ids["seed_run"], ids["new_run"], ids["triggered_run"]}
    assert ids["new_run"] in {
        r["workflow_run_id"] for r in org1.call("GET", "/v1/workflows/runs", params={"limit": 500}).json()["data"]
    }


def test_other_orgs_workflow_name_is_answered_like_a_missing_one(
    world: tuple[Runtime, Org, Org, dict[str, str]],
) -> None:
    rt, org1, org2, _ = world
    before = rt.store.run_count(rt.fixtures.orgs[0].id), rt.store.run_count(rt.fixtures.orgs[1].id)
    for caller, foreign_name in ((org2, ORG1_ONLY_WORKFLOW), (org1, ORG2_ONLY_WORKFLOW)):
        foreign = caller.call("POST", f"/v1/workflows/{foreign_name}/run", json={})
        absent = caller.call("POST", f"/v1/workflows/{MISSING_WORKFLOW}/run", json={})
        assert foreign.status_code == absent.status_code == 404
        assert foreign.text.replace(foreign_name, "NAME") == absent.text.replace(MISSING_WORKFLOW, "NAME")
        listed = caller.call("GET", "/v1/workflows/runs", params={"workflow_name": foreign_name})
        assert listed.status_code == 404
    assert (rt.store.run_count(rt.fixtures.orgs[0].id), rt.store.run_count(rt.fixtures.orgs[1].id)) == before


def test_other_orgs_vendor_is_answered_like_a_missing_one(world: tuple[Runtime, Org, Org, dict[str, str]]) -> None:
    _, org1, _, _ = world
    missing_vendor = "cbvndr_" + "0" * 32
    foreign = org1.call("POST", "/v1/assessments", json={"vendor_id": ORG2_VENDOR, "control_set_ids": []})
    absent = org1.call("POST", "/v1/assessments", json={"vendor_id": missing_vendor, "control_set_ids": []})
    assert foreign.status_code == absent.status_code == 400
    assert foreign.text.replace(ORG2_VENDOR, "ID") == absent.text.replace(missing_vendor, "ID")


def test_idempotency_keys_do_not_cross_orgs(world: tuple[Runtime, Org, Org, dict[str, str]]) -> None:
    _, org1, org2, _ = world
    first = org1.call("POST", "/v1/workflows/quarterly-privacy-sweep/run", json={}, headers={"Idempotency-Key": "k"})
    other = org2.call("POST", "/v1/workflows/quarterly-privacy-sweep/run", json={}, headers={"Idempotency-Key": "k"})
    assert first.status_code == other.status_code == 201
    assert first.json()["workflow_run_id"] != other.json()["workflow_run_id"]


def test_foreign_and_missing_lookups_take_the_same_time_class(world: tuple[Runtime, Org, Org, dict[str, str]]) -> None:
    """No timing side channel of the coarse kind: both answers take the same code path (within noise)."""
    _, _, org2, ids = world

    def median_ms(path: str) -> float:
        samples = []
        for _ in range(15):
            started = time.perf_counter()
            org2.call("GET", path)
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    foreign = median_ms(f"/v1/workflows/runs/{ids['new_run']}")
    absent = median_ms(f"/v1/workflows/runs/{MISSING_RUN}")
    # Generous bound: a different code path (e.g. loading the foreign object) would show as a multiple.
    assert foreign < absent * 3 + 2 and absent < foreign * 3 + 2
