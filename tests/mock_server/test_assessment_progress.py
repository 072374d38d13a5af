"""Assessments progress over virtual time (fixtures' assessment_progress), and their status changes are events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from mock_server.app import create_app
from mock_server.engine import publish_status_changes
from mock_server.runtime import build_runtime
from mock_server.settings import Settings
from tests.support.api import (
    DOC_ASSESSMENT,
    ORG1_CONTROL_SET,
    ORG1_VENDOR,
    ORG2_CONTROL_SET,
    ORG2_KEY,
    ORG2_VENDOR,
    Api,
    auth,
)

T0 = "2026-05-07 00:00:00"
CREATED = 1778112000
PRIVACY = "cbctst_2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b"
# SOC 2 Security Baseline in the default fixtures: start after 60 s, then 600, 300, 1800, 900 s.
SOC2 = [
    (0, "created"),
    (60, "collecting_documents"),
    (660, "indexing_supporting_documents"),
    (960, "analyzing_questionnaire"),
    (2760, "review_evals"),
    (3660, "complete"),
]


def create(api: Api, **body: Any) -> dict[str, Any]:
    r = api.post("/v1/assessments", headers=auth(), json={"vendor_id": ORG1_VENDOR, "control_set_ids": [], **body})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def at(api: Api, assessment_id: str, seconds: int, key: str = "ak_live_xxx") -> dict[str, Any]:
    """The assessment `seconds` after CREATED (the clock only moves forward)."""
    now = api.get("/_mock/clock").json()["now"]
    api.post("/_mock/clock", json={"advance_seconds": CREATED + seconds - now})
    body: dict[str, Any] = api.get(f"/v1/assessments/{assessment_id}", headers=auth(key)).json()
    return body


def test_an_assessment_works_through_the_documented_statuses(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        created = create(api, control_set_ids=[ORG1_CONTROL_SET])
        assert (created["status"], created["initiated_at"]) == ("created", None)
        for offset, status in SOC2:
            for probe in (offset, offset + 59) if offset else (59,):
                got = at(api, created["id"], probe)
                assert got["status"] == status, (probe, got)
                assert got["initiated_at"] == (None if status == "created" else CREATED + 60)
                assert got["updated_at"] == CREATED + offset
                if status == "complete":
                    assert (got["score_percent"], got["findings_count"]) == (0.82, 3)
                else:
                    assert (got["score_percent"], got["findings_count"]) == (None, 0)
        later = at(api, created["id"], 10**6)
        assert later["status"] == "complete" and later["updated_at"] == CREATED + 3660, "a finished one never changes"


def test_the_trigger_workflows_plan_wins_and_may_fail(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        created = create(api, control_set_ids=[ORG1_CONTROL_SET], trigger_workflow="contract-guardian-check")
        assert at(api, created["id"], 179)["status"] == "collecting_documents"
        failed = at(api, created["id"], 180)
        assert (failed["status"], failed["score_percent"], failed["findings_count"]) == ("failed", None, 0)


def test_the_first_control_set_with_a_plan_decides(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        created = create(api, control_set_ids=[PRIVACY, ORG1_CONTROL_SET])
        done = at(api, created["id"], 60 + 300 + 1200 + 600)
        assert (done["status"], done["score_percent"], done["findings_count"]) == ("complete", 0.91, 1)


def test_without_a_plan_an_assessment_stays_created(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        created = create(api)
        assert at(api, created["id"], 86400 * 30)["status"] == "created"


def test_the_seed_assessment_keeps_its_literal_state(api: Api) -> None:
    before = api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth()).json()
    api.post("/_mock/clock", json={"advance_seconds": 86400})
    assert api.get(f"/v1/assessments/{DOC_ASSESSMENT}", headers=auth()).json() == before


def test_other_orgs_progress_too(api: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        r = api.post(
            "/v1/assessments",
            headers=auth(ORG2_KEY),
            json={"vendor_id": ORG2_VENDOR, "control_set_ids": [ORG2_CONTROL_SET]},
        )
        got = at(api, r.json()["id"], 60 + 1200, key=ORG2_KEY)
        assert (got["status"], got["score_percent"]) == ("complete", 0.7)


def deliveries(api: Api) -> list[tuple[str, str]]:
    return [
        (e["payload"]["old_status"], e["payload"]["new_status"])
        for e in api.get("/_mock/webhooks/deliveries").json()["data"]
        if e["event_type"] == "Assessment.StatusChanged"
    ]


@pytest.fixture
def watched(api: Api) -> Api:
    r = api.post(
        "/v1/webhooks",
        headers=auth(),
        json={"url": "http://127.0.0.1:8765/h", "events": ["Assessment.StatusChanged"], "secret": "s" * 16},
    )
    assert r.status_code == 201
    return api


def test_archiving_cancels_and_publishes_what_happened_first(watched: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        created = create(watched, control_set_ids=[ORG1_CONTROL_SET])
        at(watched, created["id"], 700)
        # The clock moved: two changes are published; archiving then cancels the third status.
        archived = watched.delete(f"/v1/assessments/{created['id']}", headers=auth()).json()
        assert archived["status"] == "canceled" and archived["archived_at"] == CREATED + 700
        assert deliveries(watched) == [
            ("created", "collecting_documents"),
            ("collecting_documents", "indexing_supporting_documents"),
            ("indexing_supporting_documents", "canceled"),
        ]
        after = at(watched, created["id"], 10**6)
        assert (after["status"], after["updated_at"], after["initiated_at"]) == (
            "canceled",
            CREATED + 700,
            CREATED + 60,
        )
        assert len(deliveries(watched)) == 3, "a canceled assessment changes no more"


def test_archiving_a_finished_one_keeps_its_status(watched: Api) -> None:
    with freeze_time(T0, real_asyncio=True):
        created = create(watched, control_set_ids=[ORG1_CONTROL_SET])
        at(watched, created["id"], 5000)
        archived = watched.delete(f"/v1/assessments/{created['id']}", headers=auth()).json()
        assert archived["status"] == "complete"
        assert deliveries(watched)[-1] == ("review_evals", "complete") and len(deliveries(watched)) == 5


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_changes_passed_without_a_clock_move_are_published_by_the_worker_round(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The delivery worker's round (and /_mock/webhooks/deliver) publishes what real time passed; two mock
    processes (or replicas) sharing one database publish each change once."""
    if kind == "sqlite":
        settings = Settings(state_path=tmp_path / "state.db")
    else:
        settings = Settings(state_url=request.getfixturevalue("postgres_url"))
    first, second = build_runtime(settings), build_runtime(settings)
    api = Api(create_app(first))
    with freeze_time(T0, real_asyncio=True) as frozen:
        created = create(api, control_set_ids=[ORG1_CONTROL_SET])
        frozen.tick(700)
        assert publish_status_changes(second) == 2
        assert publish_status_changes(first) == 0, "already published by the other process"
        record = first.store.get_assessment(first.fixtures.orgs[0].id, created["id"])
        assert record is not None and record.next_event_at == CREATED + 960
    api.close()
    first.close()
    second.close()
