"""Integration surfaces: the Import API's result contract and the webhook envelope and signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .. import expect
from ..context import NAME_PREFIX, Context
from ..outcome import Skip
from .registry import check

ENVELOPE_KEYS = {"event_id", "event_type", "occurred_at", "data"}
RESULTS_SUCCESSES_ONLY = "import-results-list-successes"
DUPLICATE_LATER = "import-duplicate-fails-later-record"
REPORT_NOT_FOUND = "import-report-not-found-body"
RUN_CREATED_DATA = "webhook-workflow-run-created-data"
RECEIVE_TIMEOUT_SECONDS = 20.0


@check("import_api", requires=["importRecords", "createAssessment"])
def import_api(ctx: Context) -> str:
    """Import API: all-failed 400, create, upsert on external_id, duplicates, unknown report."""
    report = ctx.env.objects.import_report
    if report is None:
        raise Skip("no import report named (import_report in --target, or an import report in the mock's fixtures)")
    path = ctx.doc.path("importRecords", report_name=report)
    # A record with no fields fails on its own: the 400 result reveals the mapping without writing anything.
    probe = ctx.client.request("POST", path, json_body={"data": [{}]})
    expect.status(probe, 400, "a batch whose every record fails")
    expect.fields(
        probe,
        {"/received_count": 1, "/created_count": 0, "/updated_count": 0, "/failed_count": 1},
        "the counts of an all-failed batch of one record",
    )
    expect.fields(probe, {"/results": []}, "the results of an all-failed batch", decision=RESULTS_SUCCESSES_ONLY)
    errors = expect.get(probe, "/errors", list)
    codes = {e.get("error_code") for e in errors if isinstance(e, dict)}
    expect.true(
        codes == {"missing_required_field"},
        f"a record without fields fails as missing: {sorted(map(str, codes))}",
        probe,
    )
    name = str(expect.get(probe, "/mapping/name", str))
    external = str(expect.get(probe, "/mapping/external_id", str))

    ctx.begin_example()
    external_id = ctx.unique("import")
    record = {name: NAME_PREFIX + external_id, external: external_id}
    created = ctx.client.request("POST", path, json_body={"data": [record]})
    expect.status(created, 200, "import one new record")
    expect.fields(
        created,
        {"/received_count": 1, "/created_count": 1, "/updated_count": 0, "/failed_count": 0},
        "the counts of a one-record import",
    )
    expect.fields(
        created, {"/results/0/external_id": external_id, "/results/0/action": "created"}, "the record's result"
    )
    vendor_id = str(expect.get(created, "/results/0/coverbase_id", str))

    ctx.begin_example()
    again = ctx.client.request("POST", path, json_body={"data": [record, record]})
    expect.status(again, 200, "re-import the same record twice in one batch")
    expect.fields(
        again,
        {"/results/0/action": "updated", "/results/0/coverbase_id": vendor_id},
        "an upsert on external_id updates the same object",
    )
    duplicates = [e for e in expect.get(again, "/errors", list) if isinstance(e, dict)]
    expect.true(
        any(e.get("error_code") == "duplicate_external_id" for e in duplicates),
        "the same external_id twice in one batch fails one record as duplicate_external_id",
        again,
    )
    expect.equal(
        [(e.get("index"), e.get("error_code")) for e in duplicates],
        [(1, "duplicate_external_id")],
        "the later of two records with one external_id is the one that fails",
        again,
        decision=DUPLICATE_LATER,
    )

    ctx.begin_example()
    missing = ctx.unique("no-such-report")
    unknown = ctx.client.request("POST", ctx.doc.path("importRecords", report_name=missing), json_body={"data": [{}]})
    expect.status(unknown, 404, "an unknown import report")
    expect.coded(
        unknown,
        ctx.doc.coded_error("import_report_not_found"),
        "the body of an unknown import report's 404",
        decision=REPORT_NOT_FOUND,
        report_name=missing,
    )
    ctx.begin_example()
    assessed = ctx.create_assessment(ctx.assessment_body(vendor_id=vendor_id, service_ids=[]))
    expect.status(assessed, 201, "an assessment of the imported vendor")
    return (
        f"report {report}: 400 all-failed, create, upsert, duplicate in batch, unknown report, imported vendor usable"
    )


class _Receiver:
    """A loopback HTTP endpoint that records what it receives."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.put(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/coverbase-contract"

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@check("webhooks", requires=["runWorkflow"])
def webhooks(ctx: Context) -> str:
    """A registered receiver gets the documented envelope, signature and headers."""
    if not ctx.env.control_plane:
        raise Skip("no way to register a receiver URL on this target (no /_mock/webhooks)")
    host = urlsplit(ctx.client.base_url).hostname or ""
    if ctx.app is None and host not in ("127.0.0.1", "localhost", "::1"):
        raise Skip("the target is not on this machine: it cannot reach a local receiver")
    secret = secrets.token_hex(16)
    with _Receiver() as receiver:
        subscribed = ctx.client.control(
            "POST",
            "/_mock/webhooks",
            json_body={"url": receiver.url, "events": ["WorkflowRun.Created"], "secret": secret},
        )
        expect.premise_status(subscribed, 201, "a registered receiver")
        subscription = str(expect.get(subscribed, "/id", str))
        try:
            run = ctx.start_run()
            expect.premise_status(run, 201, "a new run to raise WorkflowRun.Created")
            deadline = time.monotonic() + RECEIVE_TIMEOUT_SECONDS
            headers: dict[str, str] = {}
            raw = b""
            while time.monotonic() < deadline:
                ctx.client.control("POST", "/_mock/webhooks/deliver")
                try:
                    headers, raw = receiver.received.get(timeout=0.5)
                    break
                except queue.Empty:
                    continue
            expect.true(bool(raw), f"no delivery reached the receiver within {RECEIVE_TIMEOUT_SECONDS:g} s", run)
        finally:
            ctx.client.control("DELETE", f"/_mock/webhooks/{subscription}")
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    expect.true(
        hmac.compare_digest(signature, headers.get("coverbase-signature", "")),
        "Coverbase-Signature is not the HMAC-SHA256 of the raw body",
        run,
    )
    try:
        envelope: Any = json.loads(raw)
    except ValueError:
        envelope = None
    expect.true(isinstance(envelope, dict), f"the delivery is not a JSON object: {raw[:200]!r}", run)
    data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
    expect.equal(sorted(envelope), sorted(ENVELOPE_KEYS), "the envelope's keys", run)
    expect.equal(envelope.get("event_type"), "WorkflowRun.Created", "the event type", run)
    expect.equal(data.get("event_type"), envelope.get("event_type"), "data echoes event_type", run)
    expect.equal(
        data.get("workflow_run_id"),
        expect.get(run, "/workflow_run_id"),
        "the event's run",
        run,
        decision=RUN_CREATED_DATA,
    )
    expect.equal(headers.get("x-coverbase-event-id"), envelope.get("event_id"), "X-Coverbase-Event-Id", run)
    expect.equal(headers.get("x-coverbase-event-type"), envelope.get("event_type"), "X-Coverbase-Event-Type", run)
    expect.true(headers.get("content-type", "").startswith("application/json"), "Content-Type of the delivery", run)
    return "envelope keys, signature over the raw body, event headers"
