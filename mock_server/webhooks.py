"""Webhook deliveries: the documented envelope and signature, retried on the virtual clock."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .clock import Clock
from .ids import IdFactory

SIGNATURE_HEADER = "Coverbase-Signature"
EVENT_ID_HEADER = "X-Coverbase-Event-Id"
EVENT_TYPE_HEADER = "X-Coverbase-Event-Type"
MAX_PARALLEL_ATTEMPTS = 32


@dataclass(frozen=True)
class DeliveryPolicy:
    """The `x-webhook-delivery` extension of openapi/mock-control.yaml."""

    max_attempts: int
    waits_seconds: tuple[int, ...]
    timeout_seconds: float
    retry_statuses: frozenset[int]
    retry_5xx: bool

    @classmethod
    def from_document(cls, control_document: dict[str, Any]) -> DeliveryPolicy:
        ext = control_document["x-webhook-delivery"]
        return cls(
            max_attempts=int(ext["max_attempts"]),
            waits_seconds=tuple(int(w) for w in ext["waits_seconds"]),
            timeout_seconds=float(ext["timeout_seconds"]),
            retry_statuses=frozenset(int(s) for s in ext["retry_statuses"]),
            retry_5xx=bool(ext["retry_5xx"]),
        )

    def retryable(self, status: int | None) -> bool:
        """None means no HTTP response at all (timeout or connection error)."""
        return status is None or status in self.retry_statuses or (self.retry_5xx and 500 <= status <= 599)


def sign(secret: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, keyed by the subscription secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)


def is_loopback_url(url: str) -> bool:
    """The mock only ever delivers to this machine: never a tool for reaching other hosts. Anything that does
    not parse as an http(s) URL with a loopback host and a valid port is refused (never an exception)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in 0-65535
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or port == 0:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Subscription:
    id: str
    org_id: str
    url: str
    events: list[str]
    secret: str
    enabled: bool = True
    description: str | None = None

    def public(self) -> dict[str, Any]:
        """What the control plane shows: never the secret."""
        return {
            "id": self.id,
            "org_id": self.org_id,
            "url": self.url,
            "events": list(self.events),
            "enabled": self.enabled,
            "description": self.description,
        }


@dataclass
class Attempt:
    """One delivery attempt, as the delivery log shows it."""

    id: str
    webhook_id: str
    org_id: str
    event_id: str
    event_type: str
    attempt: int
    due_at: int
    payload: dict[str, Any]
    status: str = "pending"
    response_status: int | None = None
    response_time_ms: int | None = None
    error: str | None = None
    attempted_at: int | None = None
    created_at: int = 0

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("due_at")
        return out


@dataclass
class WebhookState:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)


class WebhookDispatcher:
    """Publishes events to subscriptions and delivers due attempts; never blocks a request."""

    def __init__(
        self,
        policy: DeliveryPolicy,
        clock: Clock,
        ids: IdFactory,
        fixture_subscriptions: list[Subscription],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._ids = ids
        self._fixture_subscriptions = fixture_subscriptions
        self.transport = transport
        self.state = WebhookState()
        self._wakeup: asyncio.Event | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._worker_loop: asyncio.AbstractEventLoop | None = None
        self.reset()

    def reset(self) -> None:
        self.state = WebhookState(
            {s.id: Subscription(**asdict(s)) for s in self._fixture_subscriptions},
            [],
        )

    # --- subscriptions -------------------------------------------------------------------------

    def subscribe(self, org_id: str, url: str, events: list[str], secret: str, description: str | None) -> Subscription:
        subscription = Subscription(self._ids.new("cbwh"), org_id, url, list(events), secret, True, description)
        self.state.subscriptions[subscription.id] = subscription
        return subscription

    def unsubscribe(self, webhook_id: str) -> bool:
        return self.state.subscriptions.pop(webhook_id, None) is not None

    # --- events --------------------------------------------------------------------------------

    def publish(self, org_id: str, event_type: str, data: dict[str, Any]) -> str:
        """Queue one attempt per matching subscription; the same event ID is shared by all of them."""
        event_id = self._ids.new("cbevt")
        now = self._clock.now()
        payload = {**data, "event_type": event_type}
        for subscription in self.state.subscriptions.values():
            if subscription.org_id != org_id or event_type not in subscription.events or not subscription.enabled:
                continue
            self.state.attempts.append(
                Attempt(
                    id=self._ids.new("cbwhd"),
                    webhook_id=subscription.id,
                    org_id=org_id,
                    event_id=event_id,
                    event_type=event_type,
                    attempt=1,
                    due_at=now,
                    payload=payload,
                    created_at=now,
                )
            )
        self._wake()
        return event_id

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

    def deliveries(self, org_id: str | None = None) -> list[Attempt]:
        return [a for a in self.state.attempts if org_id is None or a.org_id == org_id]

    # --- delivery ------------------------------------------------------------------------------

    def due(self) -> list[Attempt]:
        now = self._clock.now()
        return [a for a in self.state.attempts if a.status == "pending" and a.due_at <= now]

    async def deliver_due(self) -> int:
        """Send every attempt that is due now (concurrently), and wait until the attempts another caller (the
        background worker) is sending on this loop are answered too; returns how many this call attempted."""
        batch = self.due()
        for attempt in batch:
            attempt.status = "sending"
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

    async def _send_batch(self, batch: list[Attempt]) -> None:
        limit = asyncio.Semaphore(MAX_PARALLEL_ATTEMPTS)
        async with httpx.AsyncClient(transport=self.transport, timeout=self.policy.timeout_seconds) as client:

            async def one(attempt: Attempt) -> None:
                async with limit:
                    await self._send(client, attempt)

            await asyncio.gather(*(one(a) for a in batch))

    async def _send(self, client: httpx.AsyncClient, attempt: Attempt) -> None:
        subscription = self.state.subscriptions.get(attempt.webhook_id)
        attempt.attempted_at = self._clock.now()
        if subscription is None or not subscription.enabled:
            attempt.status = "skipped"
            return
        envelope = {
            "event_id": attempt.event_id,
            "event_type": attempt.event_type,
            "occurred_at": attempt.attempted_at,
            "data": attempt.payload,
        }
        body = json.dumps(envelope, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(subscription.secret, body),
            EVENT_ID_HEADER: attempt.event_id,
            EVENT_TYPE_HEADER: attempt.event_type,
        }
        started = time.perf_counter()
        status: int | None = None
        try:
            response = await client.post(subscription.url, content=body, headers=headers)
            status = response.status_code
            attempt.response_status = status
            attempt.status = "delivered" if 200 <= status <= 299 else "error"
            if attempt.status == "error":
                attempt.error = f"receiver answered {status}"
        except httpx.TimeoutException:
            attempt.status, attempt.error = "timeout", f"no answer within {self.policy.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            attempt.status, attempt.error = "error", f"connection failed: {type(exc).__name__}"
        attempt.response_time_ms = int((time.perf_counter() - started) * 1000)
        if (
            attempt.status != "delivered"
            and self.policy.retryable(status)
            and attempt.attempt < self.policy.max_attempts
        ):
            wait = self.policy.waits_seconds[min(attempt.attempt - 1, len(self.policy.waits_seconds) - 1)]
            self.state.attempts.append(
                Attempt(
                    id=self._ids.new("cbwhd"),
                    webhook_id=attempt.webhook_id,
                    org_id=attempt.org_id,
                    event_id=attempt.event_id,
                    event_type=attempt.event_type,
                    attempt=attempt.attempt + 1,
                    due_at=attempt.attempted_at + wait,
                    payload=attempt.payload,
                    created_at=attempt.attempted_at,
                )
            )

    async def run_forever(self, poll_seconds: float = 0.25) -> None:
        """Background loop of a served mock: deliver what is due as virtual time passes."""
        self._wakeup = asyncio.Event()
        self._worker_loop = asyncio.get_running_loop()
        while True:
            await self.deliver_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=poll_seconds)
            self._wakeup.clear()
