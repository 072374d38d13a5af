"""Webhook deliveries: subscriptions and attempts in the store, the documented envelope and signature, retries.

Publishing an event queues one attempt per active subscription in the store, inside the transaction of the
call that raised it, so a rollback leaves no attempt. A delivery worker (the served mock's background task,
or `POST /_mock/webhooks/deliver`) claims the attempts that are due on the virtual clock with a lease in real
seconds, sends them outside any transaction, and finishes each with its outcome and, if the policy retries,
the next attempt. Several mock processes sharing one state never send an attempt twice while its claim
holds; when a process dies, its claims lapse and another takes them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import logging
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from .clock import Clock, SystemClock
from .ids import IdFactory
from .records import DELIVERY_OUTCOMES, DeliveryRecord, WebhookRecord, dumps

if TYPE_CHECKING:
    from .store import Store

SIGNATURE_HEADER = "Coverbase-Signature"
EVENT_ID_HEADER = "X-Coverbase-Event-Id"
EVENT_TYPE_HEADER = "X-Coverbase-Event-Type"
MAX_PARALLEL_ATTEMPTS = 32
CLAIM_BATCH = 256
TEST_EVENT_PREFIX = "cbevt_test_"
# A test event's type is any text: in its header, everything but visible ASCII is percent-encoded (UTF-8).
HEADER_SAFE = "".join(c for c in string.printable if c not in string.whitespace + "%")
log = logging.getLogger("coverbase_mock.webhooks")


@dataclass(frozen=True)
class DeliveryPolicy:
    """The `x-webhook-delivery` extension of openapi/mock-control.yaml."""

    max_attempts: int
    waits_seconds: tuple[int, ...]
    timeout_seconds: float
    lease_seconds: int
    retention_seconds: int
    retry_statuses: frozenset[int]
    retry_5xx: bool

    @classmethod
    def from_document(cls, control_document: dict[str, Any]) -> DeliveryPolicy:
        ext = control_document["x-webhook-delivery"]
        return cls(
            max_attempts=int(ext["max_attempts"]),
            waits_seconds=tuple(int(w) for w in ext["waits_seconds"]),
            timeout_seconds=float(ext["timeout_seconds"]),
            lease_seconds=int(ext["lease_seconds"]),
            retention_seconds=int(ext["retention_seconds"]),
            retry_statuses=frozenset(int(s) for s in ext["retry_statuses"]),
            retry_5xx=bool(ext["retry_5xx"]),
        )

    def retryable(self, status: int | None) -> bool:
        """None means no HTTP response at all (timeout or connection error)."""
        return status is None or status in self.retry_statuses or (self.retry_5xx and 500 <= status <= 599)

    def wait_after(self, attempt: int) -> int:
        return self.waits_seconds[min(attempt - 1, len(self.waits_seconds) - 1)]


def sign(secret: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, keyed by the subscription secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)


def is_loopback_url(url: str) -> bool:
    """The one URL rule of the mock's webhooks (Decision webhook-url-loopback): an http(s) URL on this machine
    (127.0.0.0/8, ::1, localhost), with a valid port and no credentials. The mock is never a tool for reaching
    other hosts. Anything that does not parse so is refused, never an exception."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in 0-65535
        host = parts.hostname  # raises ValueError for a bracketed host that is not IPv6
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or port == 0:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_active(hook: WebhookRecord | None) -> bool:
    """A subscription that receives events: it exists, is enabled and not archived."""
    return hook is not None and hook.enabled and hook.archived_at is None


def health(deliveries: list[DeliveryRecord]) -> dict[str, Any]:
    """The documented aggregates of a subscription, over the attempts made (queued ones are not counted)."""
    made = [d for d in deliveries if d.status in DELIVERY_OUTCOMES]
    if not made:
        return {"last_delivery_status": None, "delivery_success_rate": None, "delivery_count": 0}
    last = max(made, key=lambda d: (d.attempted_at or 0, d.sequence))
    delivered = sum(d.status == "delivered" for d in made)
    return {
        "last_delivery_status": last.status,
        "delivery_success_rate": round(delivered / len(made), 4),
        "delivery_count": len(made),
    }


class WebhookDispatcher:
    """Queues attempts for events (in the caller's transaction) and delivers due attempts; never blocks a request."""

    def __init__(
        self,
        policy: DeliveryPolicy,
        clock: Clock,
        ids: IdFactory,
        store: Store,
        transport: httpx.AsyncBaseTransport | None = None,
        lease_clock: Clock | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._ids = ids
        self._store = store
        self.transport = transport
        # Claims age in real seconds: moving the virtual clock must not take over an attempt being sent.
        self._lease_clock = lease_clock or SystemClock()
        self.worker_id = ids.new("mockdlv")
        self._wakeup: asyncio.Event | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._worker_loop: asyncio.AbstractEventLoop | None = None

    # --- events --------------------------------------------------------------------------------

    def publish(self, org_id: str, event_type: str, data: dict[str, Any], *, due_at: int | None = None) -> str:
        """Queue one attempt per active subscription to `event_type`; they share one event ID. `due_at`: when the
        event happened, if earlier than now (a status change published after virtual time passed it)."""
        event_id = self._ids.new("cbevt")
        at = self._clock.now() if due_at is None else due_at
        payload = dumps({**data, "event_type": event_type})
        for hook in self._store.webhooks(org_id):
            if is_active(hook) and event_type in hook.events:
                self._queue(hook, event_id, event_type, payload, at, self.policy.max_attempts)
        self._wake()
        return event_id

    def send_test(self, hook: WebhookRecord, event_type: str, payload: dict[str, Any]) -> str:
        """Queue the test event of `POST /v1/webhooks/{webhook_id}/test`: `payload` is its data, one attempt."""
        event_id = TEST_EVENT_PREFIX + self._ids.new("cbevt").partition("_")[2]
        self._queue(hook, event_id, event_type, dumps(payload), self._clock.now(), 1)
        self._wake()
        return event_id

    def _queue(self, hook: WebhookRecord, event_id: str, event_type: str, payload: str, at: int, attempts: int) -> None:
        self._store.add_delivery(
            DeliveryRecord(
                id=self._ids.new("cbwhd"),
                org_id=hook.org_id,
                webhook_id=hook.id,
                event_id=event_id,
                event_type=event_type,
                attempt=1,
                max_attempts=attempts,
                due_at=at,
                payload_json=payload,
                created_at=at,
                sequence=self._store.next_sequence(),
            )
        )

    def _wake(self) -> None:
        """Nudge the background worker, but only from its own loop (tests may run several loops)."""
        if self._wakeup is None or self._worker_loop is None:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            return
        if current is self._worker_loop:
            self._wakeup.set()

    # --- delivery ------------------------------------------------------------------------------

    def claim_due(self) -> list[DeliveryRecord]:
        lease_now = self._lease_clock.now()
        return self._store.claim_due_deliveries(
            self._clock.now(), self.worker_id, lease_now + self.policy.lease_seconds, lease_now, CLAIM_BATCH
        )

    async def deliver_due(self) -> int:
        """Claim every attempt that is due now and send them (concurrently), and wait until the attempts another
        caller (the background worker) is sending on this loop are answered too; returns how many this call
        attempted. Attempts made longer ago than the retention are forgotten first."""
        self._store.purge_deliveries(self._clock.now() - self.policy.retention_seconds)
        batch = self.claim_due()
        loop = asyncio.get_running_loop()
        waits = [sending for sending in self._sending if sending.get_loop() is loop]
        mine = None
        if batch:
            mine = loop.create_task(self._send_batch(batch))
            self._sending.add(mine)
            mine.add_done_callback(self._sending.discard)
            waits.append(mine)
        try:
            if waits:
                # asyncio.wait, not gather: a cancelled caller must not cancel another caller's sends.
                await asyncio.wait(waits)
        except asyncio.CancelledError:
            if mine is not None:
                mine.cancel()
            raise
        if mine is not None:
            mine.result()
        return len(batch)

    async def _send_batch(self, batch: list[DeliveryRecord]) -> None:
        limit = asyncio.Semaphore(MAX_PARALLEL_ATTEMPTS)
        async with httpx.AsyncClient(transport=self.transport, timeout=self.policy.timeout_seconds) as client:

            async def one(attempt: DeliveryRecord) -> None:
                async with limit:
                    try:
                        await self._send(client, attempt)
                    except Exception as exc:  # one attempt never stops the others, nor the worker
                        log.exception("webhook attempt %s could not be sent", attempt.id)
                        failed = dataclasses.replace(
                            attempt,
                            status="error",
                            error=f"could not be sent: {type(exc).__name__}",
                            attempted_at=self._clock.now(),
                        )
                        self._store.finish_delivery(failed, None)

            await asyncio.gather(*(one(a) for a in batch))

    async def _send(self, client: httpx.AsyncClient, attempt: DeliveryRecord) -> None:
        hook = self._store.get_webhook(attempt.org_id, attempt.webhook_id)
        attempted_at = self._clock.now()
        if hook is None or not is_active(hook) or not is_loopback_url(hook.url):
            # Archived or disabled since the event (or no longer deliverable): the attempt is skipped.
            self._store.finish_delivery(dataclasses.replace(attempt, status="skipped", attempted_at=attempted_at), None)
            return
        envelope = {
            "event_id": attempt.event_id,
            "event_type": attempt.event_type,
            "occurred_at": attempted_at,
            "data": attempt.payload,
        }
        body = json.dumps(envelope, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(hook.secret, body),
            EVENT_ID_HEADER: attempt.event_id,
            EVENT_TYPE_HEADER: quote(attempt.event_type, safe=HEADER_SAFE),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(hook.url, content=body, headers=headers)
            status = response.status_code
            outcome = "delivered" if 200 <= status <= 299 else "error"
            error = None if outcome == "delivered" else f"receiver answered {status}"
        except httpx.TimeoutException:
            outcome, error = "timeout", f"no answer within {self.policy.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            outcome, error = "error", f"connection failed: {type(exc).__name__}"
        finished = dataclasses.replace(
            attempt,
            status=outcome,
            response_status=status,
            response_time_ms=int((time.perf_counter() - started) * 1000),
            error=error,
            attempted_at=attempted_at,
        )
        retry = None
        if outcome != "delivered" and self.policy.retryable(status) and attempt.attempt < attempt.max_attempts:
            due = attempted_at + self.policy.wait_after(attempt.attempt)
            retry = dataclasses.replace(
                attempt,
                id=self._ids.new("cbwhd"),
                attempt=attempt.attempt + 1,
                due_at=due,
                created_at=attempted_at,
                sequence=self._store.next_sequence(),
                claimed_by=None,
                lease_until=None,
                status="pending",
            )
        # False: the claim lapsed and another worker took the attempt over; its outcome is the one kept.
        self._store.finish_delivery(finished, retry)

    async def run_forever(self, before_round: Callable[[], object] | None = None, poll_seconds: float = 0.25) -> None:
        """Background loop of a served mock: as virtual time passes, `before_round` publishes what became due
        (status changes), then the due attempts are delivered."""
        self._wakeup = asyncio.Event()
        self._worker_loop = asyncio.get_running_loop()
        while True:
            try:
                if before_round is not None:
                    before_round()
                await self.deliver_due()
            except Exception:  # e.g. the store briefly unavailable: the next round tries again
                log.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=poll_seconds)
            self._wakeup.clear()
