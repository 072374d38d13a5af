"""Response fields a request determines, compared for equality (not only for schema validity).

A new run echoes the workflow name and the input it was given, starts `started` at the moment it was
created (Unix seconds); a new assessment repeats the vendor, control sets, services, name and assignee it
was given, starts `created` with no score and no findings, and carries `workflow_run_id` exactly when
`trigger_workflow` was given. Used for the suite's own requests and for schemathesis' generated ones.
"""

from __future__ import annotations

from typing import Any

from .diff import Mismatch, diff, resolve

Bounds = tuple[int, int]


def timestamp(body: Any, pointer: str, bounds: Bounds) -> list[Mismatch]:
    """The value at `pointer` is a Unix time in seconds within `bounds` (the target's clock around the call)."""
    value = resolve(body, pointer)
    low, high = bounds
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return []
    return [Mismatch(pointer, f"a Unix time in seconds within [{low}, {high}] (the target's clock)", value)]


def run_created(body: Any, *, workflow: str, sent_input: Any, initial: str, bounds: Bounds | None) -> list[Mismatch]:
    expected = {"workflow_name": workflow, "input": sent_input if sent_input is not None else {}, "status": initial}
    found: list[Mismatch] = []
    for name, value in expected.items():
        found += diff(value, resolve(body, "/" + name), "/" + name)
    if bounds is not None:
        found += timestamp(body, "/started_at", bounds)
    return found


# Request fields a created assessment repeats as given.
ECHOED = ("vendor_id", "control_set_ids", "service_ids", "name", "assignee_id")


def assessment_created(body: Any, sent: dict[str, Any], *, initial: str, bounds: Bounds | None) -> list[Mismatch]:
    found: list[Mismatch] = []
    for name in ECHOED:
        if name in sent:
            found += diff(sent[name], resolve(body, "/" + name), "/" + name)
    found += diff(initial, resolve(body, "/status"), "/status")
    found += diff(0, resolve(body, "/findings_count"), "/findings_count")
    found += diff(None, resolve(body, "/score_percent"), "/score_percent")
    run_id = resolve(body, "/workflow_run_id")
    if "trigger_workflow" in sent and not isinstance(run_id, str):
        found.append(Mismatch("/workflow_run_id", "the ID of the run trigger_workflow started", run_id))
    if "trigger_workflow" not in sent and run_id is not None:
        found.append(Mismatch("/workflow_run_id", None, run_id))
    if bounds is not None:
        found += timestamp(body, "/created_at", bounds) + timestamp(body, "/updated_at", bounds)
    return found


DESCRIBED = ("a Unix time", "the ID of")  # expectations stated in words, not as a literal value


def fixed_fields(mismatches: list[Mismatch]) -> dict[str, Any]:
    """The expected values of mismatches a script can re-check literally (not the time windows)."""
    return {
        m.pointer: m.expected
        for m in mismatches
        if not (isinstance(m.expected, str) and m.expected.startswith(DESCRIBED))
    }
