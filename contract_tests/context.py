"""What every check receives: the document, the client, the environment, the profile, and the suite's bookkeeping."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from . import determined, expect
from .budget import Budget
from .client import ApiClient, Reply
from .clocks import ClockControl, TargetTime
from .document import Document, IdempotencyPolicy
from .exchange import Exchange
from .outcome import Coverage, Finding, ScriptCheck, Skip, Violation
from .profiles import Profile
from .target import Environment
from .verdicts import judge

NAME_PREFIX = "coverbase-contract "
RUN_OPERATION, ASSESSMENT_OPERATION, VENDOR_OPERATION = "runWorkflow", "createAssessment", "createVendor"
KEY_PREFIX = "coverbase-contract-"
NO_INPUT: Any = object()  # start_run without a body at all


def suite_settings(max_examples: int, **extra: Any) -> settings:
    """The suite's hypothesis settings: sized by the profile, no database, no deadline, no shrinking."""
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **extra,
    )


@dataclass(frozen=True)
class CreatedObject:
    kind: Literal["run", "assessment"]
    id: str
    role: str  # the key role that created it, and therefore the one that can read it
    exchange: Exchange  # the request that created it


@dataclass
class Created:
    """Everything the suite created, with the key that created it: re-read (created_resources_readable), archived."""

    objects: list[CreatedObject] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: CreatedObject) -> None:
        with self.lock:
            if not any(o.kind == item.kind and o.id == item.id for o in self.objects):
                self.objects.append(item)

    def of(self, kind: str) -> list[CreatedObject]:
        with self.lock:
            return [o for o in self.objects if o.kind == kind]

    @property
    def assessments(self) -> list[str]:
        return [o.id for o in self.of("assessment")]


@dataclass
class Context:
    doc: Document
    client: ApiClient
    env: Environment
    profile: Profile
    seed: int
    budget: Budget
    app: Any = None  # an ASGI app when the target runs in this process
    target_time: TargetTime = field(default_factory=lambda: TargetTime(300))
    created: Created = field(default_factory=Created)
    coverage: Coverage = field(default_factory=Coverage)
    findings: list[Finding] = field(default_factory=list)  # failures a check reports without raising
    check_mark: int = 0
    example_mark: int = 0
    counter: int = 0
    # Keys and names are unique per run: a second run within the idempotency window must not replay the first.
    nonce: str = field(default_factory=lambda: secrets.token_hex(4))
    _keys_seen: set[tuple[str, str, str | None]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def policy(self) -> IdempotencyPolicy:
        return self.doc.policy

    def need_clock(self) -> ClockControl:
        if self.env.clock is None:
            raise Skip("no clock control on this target (no /_mock/clock and no frozen clock)")
        return self.env.clock

    def need_second_key(self) -> str:
        if self.env.second_key is None:
            raise Skip("no second organization's key (--second-api-key)")
        return self.env.second_key

    @property
    def key_prefix(self) -> str:
        """The prefix of every idempotency key, name and external ID the suite makes in this run."""
        return f"{KEY_PREFIX}{self.seed}-{self.nonce}-"

    def unique(self, label: str) -> str:
        with self._lock:
            self.counter += 1
            return f"{self.key_prefix}{label}-{self.counter}"

    def steps(self) -> list[Exchange]:
        """Every exchange of the current example (or, outside a property, of the current check), in order."""
        return self.client.since(max(self.check_mark, self.example_mark))

    def begin_example(self) -> None:
        """Start the steps of a new example here (a property that tries several cases in one example)."""
        self.example_mark = self.client.mark()

    def prove(
        self, test: Callable[..., None], *strategies: st.SearchStrategy[Any], examples: int | None = None
    ) -> None:
        """Run `test` as a hypothesis property, sized by the profile, reproducible by the seed, no shrinking."""

        def marked(args: tuple[Any, ...]) -> None:
            self.example_mark = self.client.mark()
            try:
                test(*args)
            except Violation as exc:
                if exc.steps is None:
                    exc.steps = self.steps()
                raise

        wrapped = suite_settings(examples or self.profile.examples)(
            seed(self.seed)(given(st.tuples(*strategies))(marked))
        )
        try:
            wrapped()
        finally:
            self.example_mark = 0

    # Helpers that create objects the way every check does: recognisable, recorded, determined fields checked.

    def run_path(self, workflow: str) -> str:
        return self.doc.path("runWorkflow", workflow_name=workflow)

    def start_run(
        self, workflow: str | None = None, key: str | None = None, run_input: Any = None, *, role: str = "primary"
    ) -> Reply:
        workflow = workflow or self.env.objects.enabled_workflow
        headers = {self.policy.header: key} if key is not None else None
        body: Any = None
        if run_input is not NO_INPUT:
            body = {"input": run_input if run_input is not None else {"source": NAME_PREFIX.strip()}}
        path = self.run_path(workflow)
        fresh = self._first_use("POST", path, role, key)
        bounds = self.target_time.bounds()
        reply = self.client.request("POST", path, json_body=body, headers=headers, key=role)
        if reply.status == 201 and fresh:
            found = determined.run_created(
                reply.body,
                workflow=workflow,
                sent_input=(body or {}).get("input", {}),
                initial=self.doc.initial_run_status(),
                bounds=(bounds[0], self.target_time.bounds()[1]),
            )
            self._determined(reply, found, f"the new run of {workflow} does not repeat what the request determined")
        self.note_created(reply)
        return reply

    def assessment_body(self, **extra: Any) -> dict[str, Any]:
        objects = self.env.objects
        body: dict[str, Any] = {
            "vendor_id": objects.vendor_id,
            "control_set_ids": list(objects.control_set_ids),
            "name": NAME_PREFIX + self.unique("assessment"),
        }
        if objects.service_ids:
            body["service_ids"] = list(objects.service_ids)
        body.update(extra)
        return body

    def create_assessment(
        self, body: dict[str, Any] | None = None, key: str | None = None, *, role: str = "primary"
    ) -> Reply:
        headers = {self.policy.header: key} if key is not None else None
        sent = body or self.assessment_body()
        path = self.doc.path("createAssessment")
        fresh = self._first_use("POST", path, role, key)
        bounds = self.target_time.bounds()
        reply = self.client.request("POST", path, json_body=sent, headers=headers, key=role)
        if reply.status == 201 and fresh:
            found = determined.assessment_created(
                reply.body,
                sent,
                initial=self.initial_assessment_status(),
                bounds=(bounds[0], self.target_time.bounds()[1]),
            )
            self._determined(reply, found, "the new assessment does not repeat what the request determined")
        self.note_created(reply)
        return reply

    def idempotent_operations(self) -> list[str]:
        """The operations of `x-idempotency` the suite may call on this target: creating vendors leaves them behind
        (the API deletes none), so createVendor only with `vendor_writes`."""
        return sorted(op for op in self.policy.operations if op != VENDOR_OPERATION or self.env.objects.vendor_writes)

    def vendor_body(self) -> dict[str, Any]:
        """A new vendor of this run: its name holds the run's key prefix, so `name=` counts the run's vendors."""
        external = self.unique("vendor")
        return {"name": NAME_PREFIX + external, "external_id": external}

    def create_vendor(self, body: dict[str, Any] | None = None, key: str | None = None) -> Reply:
        headers = {self.policy.header: key} if key is not None else None
        return self.client.request(
            "POST", self.doc.path(VENDOR_OPERATION), json_body=body or self.vendor_body(), headers=headers
        )

    def vendors_of_this_run(self) -> Reply:
        """The vendors this run created (first item only); its `total` counts them."""
        reply = self.client.request(
            "GET", self.doc.path("listVendors"), params=[("name", self.key_prefix), ("limit", "1")]
        )
        expect.premise(reply.status == 200, f"a count of the vendors (the list answered {reply.status})", reply)
        expect.get(reply, "/total", int)
        return reply

    def initial_assessment_status(self) -> str:
        return str(
            self.doc.operation("createAssessment")["responses"]["201"]["content"]["application/json"]["example"][
                "status"
            ]
        )

    def first_use_of_key(self, exchange: Exchange) -> bool:
        """False when `exchange` carries an idempotency key already sent to the same method and path."""
        key = exchange.headers.get(self.policy.header.lower())
        return self._first_use(exchange.method, self.client.relative(exchange.url), exchange.key_role or "", key)

    def _first_use(self, method: str, path: str, role: str, key: str | None) -> bool:
        """False when this idempotency key was already sent here (the answer may then be a replay)."""
        if key is None:
            return True
        with self._lock:
            seen = (method, path, f"{role}:{key}") in self._keys_seen
            self._keys_seen.add((method, path, f"{role}:{key}"))
            return not seen

    def _determined(self, reply: Reply, found: list[Any], what: str) -> None:
        if found:
            judge(
                Violation(
                    what,
                    [reply.exchange],
                    mismatches=found,
                    script=ScriptCheck("json", reply.exchange, determined.fixed_fields(found)),
                )
            )

    def note_created(self, reply: Reply) -> None:
        """Record what a 201 created, with the key role that created it (only that key can read it back)."""
        if reply.status != 201 or not isinstance(reply.body, dict):
            return
        role = reply.exchange.key_role or "primary"
        body = reply.body
        # Which operation answered decides what was created (a service also has `id` and `vendor_id`).
        operation = self.doc.operation_at(reply.exchange.method, self.client.relative(reply.exchange.url))
        if operation not in (RUN_OPERATION, ASSESSMENT_OPERATION):
            return
        run_id = body.get("workflow_run_id")
        if isinstance(run_id, str):
            self.created.add(CreatedObject("run", run_id, role, reply.exchange))
        assessment_id = body.get("id")
        if isinstance(assessment_id, str) and operation == ASSESSMENT_OPERATION:
            if role == "primary" and assessment_id not in self.created.assessments:
                self.budget.reserve()
            self.created.add(CreatedObject("assessment", assessment_id, role, reply.exchange))

    def runs_listed(self, key: str = "primary", **filters: str) -> Reply:
        """The list of runs (first item only) with these filters; its `total` counts them."""
        params = [(k, v) for k, v in filters.items()] + [("limit", "1")]
        reply = self.client.request("GET", self.doc.path("listWorkflowRuns"), params=params, key=key)
        expect.premise(reply.status == 200, f"a count of the runs (the list answered {reply.status})", reply)
        expect.get(reply, "/total", int)
        return reply

    def run_total(self, key: str = "primary", **filters: str) -> int:
        return int(expect.get(self.runs_listed(key, **filters), "/total", int))
