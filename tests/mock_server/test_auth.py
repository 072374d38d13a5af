"""Authentication: bearer API keys map to an org; anything else is the documented 401."""

from __future__ import annotations

import pytest

from mock_server.auth import mask_key
from tests.support.api import ORG1_KEY, ORG2_KEY, Api

PROTECTED = [
    ("GET", "/v1/utils/authtest"),
    ("POST", "/v1/assessments"),
    ("GET", "/v1/assessments/cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a"),
    ("DELETE", "/v1/assessments/cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a"),
    ("POST", "/v1/workflows/quarterly-privacy-sweep/run"),
    ("GET", "/v1/workflows/runs/cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b"),
    ("GET", "/v1/workflows/runs"),
]
BAD_HEADERS = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer ak_live_wrong"},
    {"Authorization": f"Basic {ORG1_KEY}"},
    {"Authorization": ORG1_KEY},
    {"Authorization": f"Bearer {ORG1_KEY}x"},
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("headers", BAD_HEADERS, ids=range(len(BAD_HEADERS)))
def test_every_operation_rejects_bad_credentials(api: Api, method: str, path: str, headers: dict[str, str]) -> None:
    r = api.request(method, path, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"detail": "Invalid or expired API key."}
    assert r.headers["www-authenticate"] == "Bearer"


def test_authtest_for_both_orgs(api: Api) -> None:
    for key in (ORG1_KEY, ORG2_KEY):
        r = api.get("/v1/utils/authtest", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json() == {"msg": "Auth successful"}


def test_key_lookup_and_masking(runtime: object) -> None:
    from mock_server.runtime import Runtime

    assert isinstance(runtime, Runtime)
    assert runtime.keys.org_for(ORG1_KEY) == runtime.fixtures.orgs[0].id
    assert runtime.keys.org_for(ORG2_KEY) == runtime.fixtures.orgs[1].id
    assert runtime.keys.org_for(ORG1_KEY[:-1]) is None
    assert mask_key(f"Bearer {ORG2_KEY}") == "Bearer ****0Dc5Fg"[:-6] + ORG2_KEY[-4:]
    assert ORG2_KEY not in mask_key(f"Bearer {ORG2_KEY}")


def test_journal_never_holds_the_key(api: Api) -> None:
    api.get("/v1/utils/authtest", headers={"Authorization": f"Bearer {ORG2_KEY}"})
    journal = api.get("/_mock/requests").json()
    assert journal["total"] >= 1
    assert ORG2_KEY not in str(journal)
    assert journal["data"][-1]["org_id"] == "cborg_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"


def test_unknown_route_and_method(api: Api) -> None:
    r = api.get("/v1/vendorz", headers={"Authorization": f"Bearer {ORG1_KEY}"})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = api.request("PUT", "/v1/assessments", headers={"Authorization": f"Bearer {ORG1_KEY}"})
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
