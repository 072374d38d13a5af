"""Fixture files: the default one is valid against the document; bad ones fail naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import spec
from mock_server.cli import main
from mock_server.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixtures, parse_fixtures

DOC = spec.load_document()
RAW: dict[str, Any] = yaml.safe_load(DEFAULT_FIXTURES.read_text())


def test_default_fixtures_load_with_two_orgs_and_the_docs_objects() -> None:
    fixtures = load_fixtures(None, DOC)
    assert len(fixtures.orgs) == 2
    first = fixtures.orgs[0]
    assert "ak_live_xxx" in first.api_keys
    assert "cbvndr_e448ba62882143f3ba0c140bb2e30162" in first.vendors
    assert "cbctst_9f4a1c0d7b2e4e9f8c1d2b3a4e5f6071" in first.control_set_ids
    assert {"annual-reassessment-flow", "quarterly-privacy-sweep", "onboard-vendor"} <= set(first.workflows)
    assert any(not w.enabled for w in first.workflows.values())


def _broken(mutate: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    mutate(raw)
    return raw


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r["orgs"][0].pop("api_keys"), "'api_keys' is a required property"),
        (lambda r: r["orgs"][0]["vendors"][0].update(id="cbvndr_nothex"), "orgs[0].vendors[0].id"),
        (lambda r: r["orgs"][0]["workflows"][0].update(outcome="running"), "orgs[0].workflows[0].outcome"),
        (lambda r: r["orgs"][0]["workflows"][0]["steps"][0].update(duration_seconds=0), "duration_seconds"),
        (lambda r: r["orgs"][0]["assessments"][0].update(status="started"), "orgs[0].assessments[0].status"),
        (lambda r: r["orgs"][0]["runs"][0]["run"].update(completed_at="soon"), "orgs[0].runs[0].run.completed_at"),
        (lambda r: r["orgs"][1]["api_keys"].append("ak_live_xxx"), "duplicate API key"),
        (lambda r: r["orgs"][0]["vendors"][0].update(risk_owner_id="cbuser_" + "0" * 32), "risk_owner_id"),
        (
            lambda r: r["orgs"][0]["workflows"][2]["triggers"][0].update(event="vendor.created"),
            "orgs[0].workflows[2].triggers[0].event",
        ),
        (
            lambda r: r["orgs"][0]["workflows"][2]["triggers"][0].update(when={"field": "x", "op": "like"}),
            "orgs[0].workflows[2].triggers[0].when",
        ),
        (lambda r: r["orgs"][0]["import_reports"][0]["mapping"].pop("external_id"), "import_reports[0].mapping"),
        (
            lambda r: r["orgs"][0]["import_reports"][1]["mapping"].pop("vendor_external_id"),
            "import_reports[1].mapping: must map vendor_external_id",
        ),
        (
            lambda r: r["orgs"][0]["vendors"][0].update(watcher_ids=["cbuser_" + "0" * 32]),
            "orgs[0].vendors[0].watcher_ids[0]: no user",
        ),
        (
            lambda r: (
                r["orgs"][0]["vendors"][1].update(external_id=None)
                or r["orgs"][0]["vendors"][0].update(external_id="dup")
                or r["orgs"][0]["vendors"][1].update(external_id="dup")
            ),
            "orgs[0].vendors[1].external_id: duplicate external_id",
        ),
        (
            lambda r: r["orgs"][0]["control_sets"][0]["assessment_progress"]["stages"][0].update(status="started"),
            "control_sets[0].assessment_progress.stages[0].status: 'started' is not one of",
        ),
        (
            lambda r: r["orgs"][0]["control_sets"][0]["assessment_progress"]["stages"].reverse(),
            "control_sets[0].assessment_progress.stages: statuses must follow the documented order",
        ),
        (
            lambda r: r["orgs"][0]["vendors"][0].update(status_id="cbst_" + "0" * 32),
            "orgs[0].vendors[0].status_id: no statuses entry",
        ),
        (
            lambda r: r["orgs"][0]["webhooks"][0].update(events=["vendor.created"]),
            "webhooks[0].events: 'vendor.created' not in the event catalog",
        ),
        (
            lambda r: r["orgs"][0].update(
                webhooks=[
                    {
                        "id": "cbwh_" + "0" * 32,
                        "url": "https://example.com/x",
                        "events": ["Vendor.Created"],
                        "secret": "0123456789abcdef",
                    }
                ]
            ),
            "webhooks[0].url: the mock delivers only to loopback",
        ),
        (
            lambda r: r["orgs"][0].update(
                webhooks=[
                    {
                        "id": "cbwh_" + "0" * 32,
                        "url": "http://127.0.0.1:1/x",
                        "events": ["Vendor.Created"],
                        "secret": "short",
                    }
                ]
            ),
            "webhooks[0].secret",
        ),
    ],
)
def test_bad_fixtures_fail_naming_the_field(mutate: Any, needle: str) -> None:
    with pytest.raises(FixtureError) as err:
        parse_fixtures(_broken(mutate), DOC, "bad.yaml")
    assert needle in str(err.value)


def test_cli_refuses_a_bad_fixture_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "fixtures.yaml"
    bad.write_text(yaml.safe_dump(_broken(lambda r: r["orgs"][0]["workflows"][0].pop("steps"))))
    assert main(["--fixtures", str(bad), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "steps" in err and str(bad) in err
    assert main(["--fixtures", str(tmp_path / "missing.yaml"), "--port", "1"]) == 2
