"""List runs: filters, newest-first ordering, pagination totals, and 422 on out-of-range limits."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .. import expect
from ..client import Reply
from ..context import Context
from .registry import check

OWN_RUNS = 4


def _entries(reply: Reply) -> list[dict[str, Any]]:
    """The page's runs, each an object with the fields the checks read."""
    data = expect.get(reply, "/data", list)
    for index, entry in enumerate(data):
        for name, kind in (("workflow_run_id", str), ("started_at", int), ("status", str)):
            expect.get(reply, f"/data/{index}/{name}", kind)
        expect.true(isinstance(entry, dict), f"/data/{index} is not an object", reply)
    return list(data)


@check("list_runs", requires=["runWorkflow", "listWorkflowRuns"])
def list_runs(ctx: Context) -> str:
    """Filters, newest-first ordering, pagination totals, 422 on out-of-range limit."""
    doc = ctx.doc
    objects = ctx.env.objects
    path = doc.path("listWorkflowRuns")
    workflows = [objects.enabled_workflow] + (
        [objects.other_enabled_workflow] if objects.other_enabled_workflow else []
    )
    mine: list[Reply] = []
    for index in range(OWN_RUNS):
        if ctx.env.clock is not None and index:
            ctx.env.clock.set(ctx.env.clock.now() + 1)
        reply = ctx.start_run(workflow=workflows[index % len(workflows)])
        expect.premise_status(reply, 201, "a run to list")
        mine.append(reply)
    since = str(expect.get(mine[0], "/started_at", int))
    full = ctx.client.request("GET", path, params=[("created_at_after", since), ("limit", "500")])
    expect.status(full, 200, "list runs")
    entries = _entries(full)
    expect.true(
        expect.get(full, "/total", int) == len(entries),
        "total of a list that fits one page",
        full,
        check="body['total'] == len(body['data'])",
    )
    started = [e["started_at"] for e in entries]
    newest_first = (
        "[e['started_at'] for e in body['data']] == sorted((e['started_at'] for e in body['data']), reverse=True)"
    )
    expect.true(
        started == sorted(started, reverse=True), "runs are not newest first (started_at)", full, check=newest_first
    )
    listed_ids = [e["workflow_run_id"] for e in entries]
    own_ids = [str(expect.get(m, "/workflow_run_id", str)) for m in mine]
    positions = [listed_ids.index(i) if i in listed_ids else -1 for i in own_ids]
    expect.true(-1 not in positions, "a run started by the suite is missing from the list", *mine, full)
    expect.true(positions == sorted(positions, reverse=True), "runs are not newest first (by creation order)", full)

    def prop(limit: int, status_filter: list[str], by_workflow: bool) -> None:
        pages: list[str] = []
        offset = 0
        page_replies = []
        while offset < len(entries) + limit:
            page = ctx.client.request(
                "GET", path, params=[("created_at_after", since), ("limit", str(limit)), ("offset", str(offset))]
            )
            page_replies.append(page)
            expect.status(page, 200, "a page of runs")
            data = _entries(page)
            expect.true(len(data) <= limit, f"a page of {len(data)} runs for limit={limit}", page)
            expect.fields(page, {"/limit": limit, "/offset": offset}, "a page repeats its limit and offset")
            expect.true(expect.get(page, "/total", int) >= len(entries), "total changed between pages", full, page)
            pages += [e["workflow_run_id"] for e in data]
            offset += limit
        expect.equal(
            pages[: len(listed_ids)], listed_ids, "pages concatenated differ from the full list", full, *page_replies
        )
        params = [("created_at_after", since), ("limit", "500")] + [("status", s) for s in status_filter]
        if by_workflow:
            params.append(("workflow_name", objects.enabled_workflow))
        filtered = ctx.client.request("GET", path, params=params)
        expect.status(filtered, 200, "filtered list")
        data = _entries(filtered)
        for entry in data:
            expect.true(
                not status_filter or entry["status"] in status_filter,
                f"status filter {status_filter} let {entry['status']} through",
                filtered,
            )
            expect.true(
                not by_workflow or entry.get("workflow_name") == objects.enabled_workflow,
                "workflow_name filter let another workflow through",
                filtered,
            )
        expect.true(
            expect.get(filtered, "/total", int) == len(data),
            "total of a filtered list",
            filtered,
            check="body['total'] == len(body['data'])",
        )
        known = [e["workflow_run_id"] for e in data if e["workflow_run_id"] in listed_ids]
        expect.equal(
            known,
            [i for i in listed_ids if i in known],
            "the filtered list keeps the newest-first order",
            full,
            filtered,
        )
        if not status_filter:
            expected_ids = [
                e["workflow_run_id"]
                for e in entries
                if not by_workflow or e.get("workflow_name") == objects.enabled_workflow
            ]
            expect.equal(
                known, expected_ids, "the filtered list is the full list with the filter applied", full, filtered
            )

    statuses = doc.enum("WorkflowRunStatus")
    ctx.prove(
        prop, st.integers(1, OWN_RUNS + 1), st.lists(st.sampled_from(statuses), max_size=2, unique=True), st.booleans()
    )

    limit_schema = doc.query_schema("listWorkflowRuns", "limit")
    for bad in (limit_schema["minimum"] - 1, limit_schema["maximum"] + 1):
        ctx.begin_example()
        reply = ctx.client.request("GET", path, params=[("limit", str(bad))])
        expect.status(reply, 422, f"limit={bad}")
        detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
        items = [i for i in detail if isinstance(i, dict)] if isinstance(detail, list) else []
        expect.true(
            any(i.get("loc") == ["query", "limit"] for i in items),
            f"the 422 for limit={bad} names loc ['query', 'limit']",
            reply,
        )
    bounds = f"{limit_schema['minimum'] - 1}/{limit_schema['maximum'] + 1}"
    return f"{len(entries)} runs listed; pages, filters and limits {bounds}"
