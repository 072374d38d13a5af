"""One store behaviour suite, run against every Store implementation (in-memory and SQLite)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server import spec
from mock_server.fixtures import load_fixtures
from mock_server.records import (
    AssessmentRecord,
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyScope,
    RunRecord,
    ServiceRecord,
    VendorRecord,
    WebhookRecord,
)
from mock_server.store import JOURNAL_LIMIT, Store
from mock_server.store.memory import MemoryStore
from mock_server.store.sqlite import SqliteStore

ORG1 = "cborg_5f0c3a7e9b1d4f6a8c2e0b4d6f8a1c3e"
ORG2 = "cborg_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
SCOPE = IdempotencyScope(ORG1, "POST", "/v1/workflows/x/run", "k1")
KINDS = ["memory", "sqlite"]


def make_store(kind: str, path: Path) -> Store:
    fixtures = load_fixtures(None, spec.load_document())
    return MemoryStore(fixtures) if kind == "memory" else SqliteStore(path, fixtures)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made = make_store(request.param, tmp_path / "state.db")
    yield made
    made.close()


def _run(run_id: str, started_at: int, sequence: int, target: str | None = None, org: str = ORG1) -> RunRecord:
    return RunRecord(
        workflow_run_id=run_id,
        org_id=org,
        workflow_name="quarterly-privacy-sweep",
        workflow_definition_id="cbwd_" + "3" * 32,
        started_at=started_at,
        input_json='{"nested":{"a":[1,2,{"b":null}]},"text":"ünïcode"}',
        sequence=sequence,
        packed_ids="1" * 32 + "2" * 32,
        target_assessment_id=target,
    )


def _seeded_run_ids(store: Store, org: str) -> list[str]:
    return [r.workflow_run_id for r in store.runs_newest_first(org)]


class Boom(Exception):
    pass


def test_fixture_seed_is_loaded(store: Store) -> None:
    assert store.get_assessment(ORG1, "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a") is not None
    assert store.get_run(ORG1, "cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b") is not None
    assert store.run_count(ORG1) == len(store.fixtures.org(ORG1).runs)


def test_runs_round_trip_and_order(store: Store) -> None:
    before = store.run_count(ORG1)
    a = _run("cbwr_" + "a" * 32, 2_000_000_000, store.next_sequence(), target="cbqsrw_" + "9" * 32)
    b = _run("cbwr_" + "b" * 32, 2_000_000_000, store.next_sequence())
    store.put_run(a)
    store.put_run(b)
    assert store.get_run(ORG1, a.workflow_run_id) == a
    assert store.run_count(ORG1) == before + 2
    # Same started_at: the later sequence is newer.
    assert _seeded_run_ids(store, ORG1)[:2] == [b.workflow_run_id, a.workflow_run_id]
    assert [r.workflow_run_id for r in store.runs_for_assessment(ORG1, "cbqsrw_" + "9" * 32)] == [a.workflow_run_id]
    store.put_run(dataclasses.replace(a, canceled_at=2_000_000_003))
    saved = store.get_run(ORG1, a.workflow_run_id)
    assert saved is not None and saved.canceled_at == 2_000_000_003
    assert store.run_count(ORG1) == before + 2, "replacing a run adds nothing"
    assert _seeded_run_ids(store, ORG1).count(a.workflow_run_id) == 1


def test_records_are_copies_a_read_never_exposes_state(store: Store) -> None:
    """Copy semantics: what a read hands out cannot change the store; only put_* does."""
    record = AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "e" * 32, "status": "created"})
    store.put_assessment(record)
    got = store.get_assessment(ORG1, record.id)
    assert got is not None
    fields = got.fields
    fields["status"] = "canceled"
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.archived_at = 5  # type: ignore[misc]
    again = store.get_assessment(ORG1, record.id)
    assert again is not None and again.fields["status"] == "created"
    store.put_assessment(dataclasses.replace(got.with_fields(fields), archived_at=5))
    saved = store.get_assessment(ORG1, record.id)
    assert saved is not None and saved.fields["status"] == "canceled" and saved.archived_at == 5


def test_org_scoping(store: Store) -> None:
    store.put_run(_run("cbwr_" + "c" * 32, 2_000_000_000, store.next_sequence()))
    assert store.get_run(ORG2, "cbwr_" + "c" * 32) is None
    assert store.get_assessment(ORG2, "cbqsrw_2d5e8f1a4b7c0d3e6f9a2b5c8d1e4f7a") is None
    assert "cbwr_" + "c" * 32 not in _seeded_run_ids(store, ORG2)


def test_vendors_by_id_and_external_id(store: Store) -> None:
    vendor = VendorRecord(ORG1, "cbvndr_" + "1" * 32, "ext-1", '{"name":"V"}', 10, 10)
    store.put_vendor(vendor)
    assert store.get_vendor(ORG1, vendor.id) == vendor
    assert store.vendor_by_external_id(ORG1, "ext-1") == vendor
    assert store.vendor_by_external_id(ORG2, "ext-1") is None
    store.put_vendor(dataclasses.replace(vendor, attributes_json='{"name":"W"}', updated_at=11))
    updated = store.vendor_by_external_id(ORG1, "ext-1")
    assert updated is not None and updated.name == "W" and updated.updated_at == 11


def test_sequence_is_monotonic(store: Store) -> None:
    values = [store.next_sequence() for _ in range(5)]
    assert values == sorted(values) and len(set(values)) == 5


def test_idempotency_claim_put_release(store: Store) -> None:
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=100, stale_before=90) == "claimed"
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=101, stale_before=91) == "busy"
    assert store.idempotency_get(SCOPE) is None, "a pending claim is not a replayable record"
    record = IdempotencyRecord(1000, 201, '{"a":1}')
    store.idempotency_put(SCOPE, record)
    assert store.idempotency_get(SCOPE) == record
    assert store.idempotency_claim(SCOPE, live_from=1000, claimed_at=102, stale_before=92) == record
    # Outside the window the record no longer replays: the key can be claimed again.
    assert store.idempotency_claim(SCOPE, live_from=1001, claimed_at=103, stale_before=93) == "claimed"
    store.idempotency_release(SCOPE)
    assert store.idempotency_claim(SCOPE, live_from=1001, claimed_at=104, stale_before=94) == "claimed"


def test_pending_claims_are_not_counted_as_records(store: Store) -> None:
    assert store.idempotency_count() == 0
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=100, stale_before=90) == "claimed"
    assert store.idempotency_count() == 0, "a pending claim is not a stored outcome"
    store.idempotency_put(SCOPE, IdempotencyRecord(100, 201, "{}"))
    assert store.idempotency_count() == 1


def test_stale_claim_is_taken_over(store: Store) -> None:
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=100, stale_before=0) == "claimed"
    # The claimant died: once its claim is older than the lease, another worker may take the key.
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=200, stale_before=101) == "claimed"
    assert store.idempotency_claim(SCOPE, live_from=0, claimed_at=201, stale_before=150) == "busy"


def test_idempotency_purge_and_count(store: Store) -> None:
    for i in range(10):
        scope = IdempotencyScope(ORG1, "POST", "/v1/assessments", f"k{i}")
        store.idempotency_put(scope, IdempotencyRecord(100 + i, 201, "{}"))
    assert store.idempotency_count() == 10
    assert store.idempotency_purge(105) == 5
    assert store.idempotency_count() == 5
    assert store.idempotency_get(IdempotencyScope(ORG1, "POST", "/v1/assessments", "k4")) is None
    assert store.idempotency_get(IdempotencyScope(ORG1, "POST", "/v1/assessments", "k5")) is not None


def test_a_transaction_commits_everything_or_nothing(store: Store) -> None:
    before = store.run_count(ORG1)
    with pytest.raises(Boom), store.transaction():
        store.put_run(_run("cbwr_" + "d" * 32, 2_000_000_000, store.next_sequence(), target="cbqsrw_" + "8" * 32))
        store.put_assessment(AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "8" * 32}))
        store.put_vendor(VendorRecord(ORG1, "cbvndr_" + "2" * 32, "ext-2", "{}", 1, 1))
        store.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
        store.set_clock_offset(99)
        raise Boom
    assert store.run_count(ORG1) == before
    assert store.get_run(ORG1, "cbwr_" + "d" * 32) is None
    assert store.runs_for_assessment(ORG1, "cbqsrw_" + "8" * 32) == []
    assert "cbwr_" + "d" * 32 not in _seeded_run_ids(store, ORG1)
    assert store.get_assessment(ORG1, "cbqsrw_" + "8" * 32) is None
    assert store.vendor_by_external_id(ORG1, "ext-2") is None
    assert store.idempotency_get(SCOPE) is None
    assert store.clock_offset() == 0
    with store.transaction():
        store.put_run(_run("cbwr_" + "d" * 32, 2_000_000_000, store.next_sequence()))
        with store.transaction():  # nested: part of the outer one
            store.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
    assert store.get_run(ORG1, "cbwr_" + "d" * 32) is not None
    assert store.idempotency_get(SCOPE) is not None


def test_a_rolled_back_replacement_restores_the_old_record(store: Store) -> None:
    run = _run("cbwr_" + "f" * 32, 2_000_000_000, store.next_sequence())
    store.put_run(run)
    with pytest.raises(Boom), store.transaction():
        store.put_run(dataclasses.replace(run, canceled_at=5))
        raise Boom
    assert store.get_run(ORG1, run.workflow_run_id) == run


def test_journal_is_bounded(store: Store) -> None:
    for i in range(JOURNAL_LIMIT + 5):
        store.journal_append({"i": i})
    entries = store.journal()
    assert len(entries) == JOURNAL_LIMIT
    assert entries[0] == {"i": 5} and entries[-1] == {"i": JOURNAL_LIMIT + 4}
    store.journal_clear()
    assert store.journal() == []


def test_clock_offset(store: Store) -> None:
    assert store.clock_offset() == 0
    store.set_clock_offset(3600)
    assert store.clock_offset() == 3600


def test_reset_restores_fixtures(store: Store) -> None:
    seeded = _seeded_run_ids(store, ORG1)
    store.put_run(_run("cbwr_" + "d" * 32, 2_000_000_000, store.next_sequence()))
    store.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
    store.journal_append({"x": 1})
    store.set_clock_offset(60)
    store.reset()
    assert _seeded_run_ids(store, ORG1) == seeded
    assert store.idempotency_count() == 0
    assert store.journal() == []
    assert store.clock_offset() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_close_releases_the_store(kind: str, tmp_path: Path) -> None:
    made = make_store(kind, tmp_path / "s.db")
    made.close()
    with pytest.raises(Exception):  # noqa: B017 - each store fails in its own way once closed
        made.put_run(_run("cbwr_" + "e" * 32, 2_000_000_000, 1))


def test_sqlite_state_survives_reopen(tmp_path: Path) -> None:
    fixtures = load_fixtures(None, spec.load_document())
    first = SqliteStore(tmp_path / "s.db", fixtures)
    run = _run("cbwr_" + "f" * 32, 2_000_000_000, first.next_sequence())
    first.put_run(run)
    first.idempotency_put(SCOPE, IdempotencyRecord(7, 201, '{"k":"v"}'))
    first.journal_append({"j": 1})
    first.set_clock_offset(42)
    first.close()
    second = SqliteStore(tmp_path / "s.db", fixtures)
    assert second.get_run(ORG1, run.workflow_run_id) == run
    assert second.idempotency_get(SCOPE) == IdempotencyRecord(7, 201, '{"k":"v"}')
    assert second.journal() == [{"j": 1}]
    assert second.clock_offset() == 42
    assert second.next_sequence() > run.sequence
    second.close()


def test_sqlite_two_connections_share_state(tmp_path: Path) -> None:
    fixtures = load_fixtures(None, spec.load_document())
    a = SqliteStore(tmp_path / "s.db", fixtures)
    b = SqliteStore(tmp_path / "s.db", fixtures)
    a.put_run(_run("cbwr_" + "0" * 31 + "1", 2_000_000_000, a.next_sequence()))
    assert b.get_run(ORG1, "cbwr_" + "0" * 31 + "1") is not None
    assert a.idempotency_claim(SCOPE, 0, 100, 90) == "claimed"
    assert b.idempotency_claim(SCOPE, 0, 100, 90) == "busy"
    b.set_clock_offset(5)
    assert a.clock_offset() == 5
    a.close()
    b.close()


def test_sqlite_namespaces_share_a_file_and_nothing_else(tmp_path: Path) -> None:
    from mock_server.store.sqlite import SqliteDatabase

    fixtures = load_fixtures(None, spec.load_document())
    database = SqliteDatabase(tmp_path / "s.db")
    a, b = SqliteStore(database, fixtures, "ns-a"), SqliteStore(database, fixtures, "ns-b")
    a.put_run(_run("cbwr_" + "a" * 32, 2_000_000_000, a.next_sequence()))
    a.idempotency_put(SCOPE, IdempotencyRecord(1, 201, "{}"))
    a.journal_append({"a": 1})
    a.set_clock_offset(7)
    assert b.get_run(ORG1, "cbwr_" + "a" * 32) is None
    assert b.idempotency_get(SCOPE) is None and b.journal() == [] and b.clock_offset() == 0
    assert b.run_count(ORG1) == a.run_count(ORG1) - 1
    a.reset()
    b.put_run(_run("cbwr_" + "b" * 32, 2_000_000_000, b.next_sequence()))
    a.drop()
    assert b.get_run(ORG1, "cbwr_" + "b" * 32) is not None
    assert a.get_run(ORG1, "cbwr_a8f2c19e3d4b5e6f7a8b9c0d1e2f3a4b") is None, "a dropped namespace has no rows"
    database.close()


def _delivery(store: Store, delivery_id: str, due_at: int, hook: str = "cbwh_" + "1" * 32) -> DeliveryRecord:
    return DeliveryRecord(
        id=delivery_id,
        org_id=ORG1,
        webhook_id=hook,
        event_id="cbevt_" + "2" * 32,
        event_type="Vendor.Created",
        attempt=1,
        max_attempts=6,
        due_at=due_at,
        payload_json='{"vendor_id":"x"}',
        created_at=due_at,
        sequence=store.next_sequence(),
    )


def test_fixture_vendors_services_and_webhooks_are_seeded(store: Store) -> None:
    vendors = store.vendors_newest_first(ORG1)
    assert {v.id for v in vendors} == set(store.fixtures.org(ORG1).vendors)
    acme = store.get_vendor(ORG1, "cbvndr_e448ba62882143f3ba0c140bb2e30162")
    assert acme is not None and acme.name == "Acme Corporation" and acme.external_id is None
    assert [s.id for s in store.services_of(ORG1, acme.id)] == ["cbsvc_3c2b1a098f7e6d5c4b3a2918374655ab"]
    assert [w.id for w in store.webhooks(ORG1)] == [w.id for w in store.fixtures.org(ORG1).webhooks]
    assert store.webhooks(ORG2) == [] and len(store.webhooks()) == len(store.webhooks(ORG1))


def test_vendors_newest_first_and_without_external_id(store: Store) -> None:
    older = VendorRecord(ORG1, "cbvndr_" + "3" * 32, None, '{"name":"A"}', 2_000_000_000, 2_000_000_000, 1000)
    newer = VendorRecord(ORG1, "cbvndr_" + "4" * 32, None, '{"name":"B"}', 2_000_000_000, 2_000_000_000, 1001)
    store.put_vendor(newer)
    store.put_vendor(older)
    assert [v.id for v in store.vendors_newest_first(ORG1)][:2] == [newer.id, older.id]
    assert store.get_vendor(ORG1, older.id) == older
    assert store.vendor_by_external_id(ORG1, "") is None, "a vendor without external_id is found by none"


def test_services_by_vendor_and_external_id(store: Store) -> None:
    vendor = "cbvndr_e448ba62882143f3ba0c140bb2e30162"
    first = ServiceRecord(ORG1, vendor, "cbsvc_" + "5" * 32, "svc-1", '{"name":"S"}', 10, 10, store.next_sequence())
    second = ServiceRecord(ORG1, vendor, "cbsvc_" + "6" * 32, "svc-1", '{"name":"T"}', 10, 10, store.next_sequence())
    store.put_service(first)
    store.put_service(second)
    assert [s.id for s in store.services_of(ORG1, vendor)][-2:] == [first.id, second.id]
    assert store.get_service(ORG1, first.id) == first and store.get_service(ORG2, first.id) is None
    found = store.service_by_external_id(ORG1, "svc-1")
    assert found is not None and found.id == second.id, "the latest service of a repeated external_id"
    store.put_service(dataclasses.replace(first, attributes_json='{"name":"S2"}', updated_at=11))
    again = store.get_service(ORG1, first.id)
    assert again is not None and again.name == "S2" and len(store.services_of(ORG1, vendor)) == 3


def test_webhooks_round_trip_and_archive(store: Store) -> None:
    hook = WebhookRecord(ORG2, "cbwh_" + "7" * 32, "http://127.0.0.1:1/x", ("A.B",), "s" * 16, None, True, 5, 999)
    store.put_webhook(hook)
    assert store.get_webhook(ORG2, hook.id) == hook and store.get_webhook(ORG1, hook.id) is None
    store.put_webhook(dataclasses.replace(hook, archived_at=6))
    assert [w.archived_at for w in store.webhooks(ORG2)] == [6]


def test_assessments_by_external_id_and_events_due(store: Store) -> None:
    due = dataclasses.replace(
        AssessmentRecord.new(ORG1, {"id": "cbqsrw_" + "a" * 32}), next_event_at=100, external_id="imp-1"
    )
    later = dataclasses.replace(AssessmentRecord.new(ORG2, {"id": "cbqsrw_" + "b" * 32}), next_event_at=200)
    store.put_assessment(later)
    store.put_assessment(due)
    assert [a.id for a in store.assessments_with_events_due(150, 10)] == [due.id]
    assert [a.id for a in store.assessments_with_events_due(200, 10)] == [due.id, later.id]
    assert [a.id for a in store.assessments_with_events_due(200, 1)] == [due.id]
    found = store.assessment_by_external_id(ORG1, "imp-1")
    assert found == due and store.assessment_by_external_id(ORG2, "imp-1") is None
    store.put_assessment(dataclasses.replace(due, next_event_at=None))
    assert [a.id for a in store.assessments_with_events_due(10**9, 10)] == [later.id]


def test_deliveries_are_claimed_once_and_finished_by_their_claimant(store: Store) -> None:
    early, late = _delivery(store, "cbwhd_" + "1" * 32, 100), _delivery(store, "cbwhd_" + "2" * 32, 300)
    store.add_delivery(late)
    store.add_delivery(early)
    assert [d.id for d in store.deliveries(ORG1)] == [early.id, late.id], "oldest first by sequence"
    assert store.claim_due_deliveries(50, "w1", held_until=1030, stale_before=1000, limit=10) == []
    [claimed] = store.claim_due_deliveries(200, "w1", held_until=1030, stale_before=1000, limit=10)
    assert claimed.id == early.id and claimed.status == "sending" and claimed.claimed_by == "w1"
    assert store.claim_due_deliveries(200, "w2", held_until=1031, stale_before=1001, limit=10) == []
    finished = dataclasses.replace(claimed, status="error", attempted_at=150)
    retry = _delivery(store, "cbwhd_" + "3" * 32, 154)
    assert store.finish_delivery(dataclasses.replace(finished, claimed_by="w2"), None) is False, "not w2's claim"
    assert store.finish_delivery(finished, retry) is True
    assert store.finish_delivery(finished, None) is False, "finished once"
    statuses = {d.id: d.status for d in store.deliveries(ORG1, "cbwh_" + "1" * 32)}
    assert statuses == {late.id: "pending", early.id: "error", retry.id: "pending"}
    assert [d.id for d in store.claim_due_deliveries(400, "w2", 1100, 1070, limit=1)] == [retry.id], "earliest due"


def test_a_lapsed_claim_is_taken_over(store: Store) -> None:
    store.add_delivery(_delivery(store, "cbwhd_" + "4" * 32, 100))
    [first] = store.claim_due_deliveries(100, "dead", held_until=1030, stale_before=1000, limit=10)
    assert store.claim_due_deliveries(100, "alive", held_until=1060, stale_before=1030, limit=10) == []
    [taken] = store.claim_due_deliveries(100, "alive", held_until=1061, stale_before=1031, limit=10)
    assert taken.id == first.id and taken.claimed_by == "alive"
    assert store.finish_delivery(dataclasses.replace(first, status="delivered"), None) is False


def test_deliveries_roll_back_with_the_transaction(store: Store) -> None:
    with pytest.raises(Boom), store.transaction():
        store.add_delivery(_delivery(store, "cbwhd_" + "5" * 32, 100))
        store.put_service(
            ServiceRecord(ORG1, "cbvndr_" + "1" * 32, "cbsvc_" + "9" * 32, None, "{}", 1, 1, store.next_sequence())
        )
        store.put_webhook(WebhookRecord(ORG1, "cbwh_" + "9" * 32, "u", (), "s", None, True, 1))
        raise Boom
    assert store.deliveries() == []
    assert store.get_service(ORG1, "cbsvc_" + "9" * 32) is None and store.get_webhook(ORG1, "cbwh_" + "9" * 32) is None
    assert store.claim_due_deliveries(10**9, "w", 10, 0, 10) == []


def test_reset_clears_deliveries_and_reseeds_webhooks(store: Store) -> None:
    store.add_delivery(_delivery(store, "cbwhd_" + "6" * 32, 100))
    store.put_webhook(WebhookRecord(ORG1, "cbwh_" + "8" * 32, "u", (), "s", None, True, 1))
    store.reset()
    assert store.deliveries() == []
    assert [w.id for w in store.webhooks(ORG1)] == [w.id for w in store.fixtures.org(ORG1).webhooks]


def test_finished_deliveries_are_purged_after_retention(store: Store) -> None:
    old = dataclasses.replace(_delivery(store, "cbwhd_" + "7" * 32, 100), status="delivered")
    queued = _delivery(store, "cbwhd_" + "8" * 32, 100)
    recent = dataclasses.replace(_delivery(store, "cbwhd_" + "9" * 32, 500), status="error")
    for delivery in (old, queued, recent):
        store.add_delivery(delivery)
    assert store.purge_deliveries(200) == 1
    assert [d.id for d in store.deliveries()] == [queued.id, recent.id], "queued attempts are never purged"
