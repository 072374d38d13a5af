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

from ..context import NAME_PREFIX, Context
from ..outcome import Skip
from . import Check, expect

ENVELOPE_KEYS = {"event_id", "event_type", "occurred_at", "data"}
RECEIVE_TIMEOUT_SECONDS = 20.0


def import_api(ctx: Context) -> str:
    report = ctx.env.objects.import_report
    if report is None:
        raise Skip("no import report named (import_report in --target, or an import report in the mock's fixtures)")
    path = ctx.doc.path("importRecords", report_name=report)
    # A record with no fields fails on its own: the 400 result reveals the mapping without writing anything.
    probe = ctx.client.request("POST", path, json_body={"data": [{}]})
    expect.status(probe, 400, "a batch whose every record fails")
    expect.equal(probe.body["failed_count"], 1, "failed_count of an all-failed batch", probe)
    expect.equal(probe.body["results"], [], "results of an all-failed batch", probe)
    codes = {e["error_code"] for e in probe.body["errors"]}
    expect.true(codes == {"missing_required_field"}, f"a record without fields fails as missing: {codes}", probe)
    mapping = probe.body["mapping"]
    name, external = mapping["name"], mapping["external_id"]

    external_id = ctx.unique("import")
    record = {name: NAME_PREFIX + external_id, external: external_id}
    created = ctx.client.request("POST", path, json_body={"data": [record]})
    expect.status(created, 200, "import one new record")
    counts = [created.body[k] for k in ("received_count", "created_count", "updated_count", "failed_count")]
    expect.equal(counts, [1, 1, 0, 0], "counts of a one-record import", created)
    result = created.body["results"][0]
    expect.equal((result["external_id"], result["action"]), (external_id, "created"), "the record's result", created)

    again = ctx.client.request("POST", path, json_body={"data": [record, record]})
    expect.status(again, 200, "re-import the same record twice in one batch")
    first = again.body["results"][0]
    expect.equal(
        (first["action"], first["coverbase_id"]),
        ("updated", result["coverbase_id"]),
        "an upsert on external_id updates the same object",
        created,
        again,
    )
    duplicate = [(e["index"], e["error_code"]) for e in again.body["errors"]]
    expect.equal(duplicate, [(1, "duplicate_external_id")], "the same external_id twice in one batch", again)

    missing = ctx.unique("no-such-report")
    unknown = ctx.client.request("POST", ctx.doc.path("importRecords", report_name=missing), json_body={"data": [{}]})
    expected = ctx.doc.coded_error("import_report_not_found")
    expect.coded(unknown, expected, "an unknown import report", report_name=missing)
    assessed = ctx.create_assessment(ctx.assessment_body(vendor_id=result["coverbase_id"], service_ids=[]))
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


def webhooks(ctx: Context) -> str:
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
        expect.status(subscribed, 201, "register a receiver")
        try:
            run = ctx.start_run()
            expect.status(run, 201, "start a run (raises WorkflowRun.Created)")
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
            ctx.client.control("DELETE", f"/_mock/webhooks/{subscribed.body['id']}")
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    expect.true(
        hmac.compare_digest(signature, headers.get("coverbase-signature", "")),
        "Coverbase-Signature is not the HMAC-SHA256 of the raw body",
        run,
    )
    envelope: Any = json.loads(raw)
    expect.equal(set(envelope), ENVELOPE_KEYS, "the envelope's keys", run)
    expect.equal(envelope["event_type"], "WorkflowRun.Created", "the event type", run)
    expect.equal(envelope["data"].get("event_type"), envelope["event_type"], "data echoes event_type", run)
    expect.equal(envelope["data"].get("workflow_run_id"), run.body["workflow_run_id"], "the event's run", run)
    expect.equal(headers.get("x-coverbase-event-id"), envelope["event_id"], "X-Coverbase-Event-Id", run)
    expect.equal(headers.get("x-coverbase-event-type"), envelope["event_type"], "X-Coverbase-Event-Type", run)
    expect.true(headers.get("content-type", "").startswith("application/json"), "Content-Type of the delivery", run)
    return "envelope keys, signature over the raw body, event headers"


CHECKS = [
    Check(
        "import_api",
        "Import API: all-failed 400, create, upsert on external_id, duplicates, unknown report",
        import_api,
    ),
    Check("webhooks", "a registered receiver gets the documented envelope, signature and headers", webhooks),
]
