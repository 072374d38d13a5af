"""What every check receives: the document, the client, the environment, the profile, and the suite's bookkeeping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .budget import Budget
from .client import ApiClient
from .clocks import ClockControl
from .document import Document, IdempotencyPolicy
from .outcome import Skip
from .profiles import Profile
from .target import Environment

NAME_PREFIX = "coverbase-contract "
KEY_PREFIX = "coverbase-contract-"


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


@dataclass
class Created:
    """Everything the suite created, to re-read it (created_resources_readable) and archive it."""

    runs: list[str] = field(default_factory=list)
    assessments: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, run_id: str) -> None:
        with self.lock:
            self.runs.append(run_id)

    def assessment(self, assessment_id: str) -> None:
        with self.lock:
            self.assessments.append(assessment_id)


@dataclass
class Context:
    doc: Document
    client: ApiClient
    env: Environment
    profile: Profile
    seed: int
    budget: Budget
    app: Any = None  # an ASGI app when the target runs in this process
    created: Created = field(default_factory=Created)
    example_mark: int = 0
    counter: int = 0

    @property
    def policy(self) -> IdempotencyPolicy:
        return self.doc.idempotency()

    def need_clock(self) -> ClockControl:
        if self.env.clock is None:
            raise Skip("no clock control on this target (no /_mock/clock and no frozen clock)")
        return self.env.clock

    def need_second_key(self) -> str:
        if self.env.second_key is None:
            raise Skip("no second organization's key (--second-api-key)")
        return self.env.second_key

    def unique(self, label: str) -> str:
        self.counter += 1
        return f"{KEY_PREFIX}{self.seed}-{label}-{self.counter}"

    def prove(
        self, test: Callable[..., None], *strategies: st.SearchStrategy[Any], examples: int | None = None
    ) -> None:
        """Run `test` as a hypothesis property, sized by the profile, reproducible by the seed, no shrinking."""

        def marked(args: tuple[Any, ...]) -> None:
            self.example_mark = self.client.mark()
            test(*args)

        wrapped = suite_settings(examples or self.profile.examples)(
            seed(self.seed)(given(st.tuples(*strategies))(marked))
        )
        wrapped()

    # Helpers that create objects the way every check does (recognisable, recorded for cleanup).

    def run_path(self, workflow: str) -> str:
        return self.doc.path("runWorkflow", workflow_name=workflow)

    def start_run(self, workflow: str | None = None, key: str | None = None, run_input: Any = None) -> Any:
        headers = {self.policy.header: key} if key is not None else None
        body = {"input": run_input if run_input is not None else {"source": NAME_PREFIX.strip()}}
        reply = self.client.request(
            "POST", self.run_path(workflow or self.env.objects.enabled_workflow), json_body=body, headers=headers
        )
        self.note_created(reply.status, reply.body)
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

    def create_assessment(self, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
        headers = {self.policy.header: key} if key is not None else None
        reply = self.client.request(
            "POST", self.doc.path("createAssessment"), json_body=body or self.assessment_body(), headers=headers
        )
        self.note_created(reply.status, reply.body)
        return reply

    def note_created(self, status: int, body: Any) -> None:
        if status != 201 or not isinstance(body, dict):
            return
        if isinstance(body.get("workflow_run_id"), str):
            self.created.run(body["workflow_run_id"])
        if isinstance(body.get("id"), str) and body["id"] not in self.created.assessments:
            self.budget.reserve()
            self.created.assessment(body["id"])

    def run_total(self, key: str = "primary", **filters: str) -> int:
        params = [(k, v) for k, v in filters.items()] + [("limit", "1")]
        reply = self.client.request("GET", self.doc.path("listWorkflowRuns"), params=params, key=key)
        if reply.status != 200:
            raise AssertionError(f"list runs answered {reply.status}: {reply.body}")
        return int(reply.body["total"])
