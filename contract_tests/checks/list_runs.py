"""List runs: filters, newest-first ordering, pagination totals, and 422 on out-of-range limits."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..context import Context
from . import Check, expect

OWN_RUNS = 4


def list_runs(ctx: Context) -> str:
    doc = ctx.doc
    objects = ctx.env.objects
    path = doc.path("listWorkflowRuns")
    workflows = [objects.enabled_workflow] + (
        [objects.other_enabled_workflow] if objects.other_enabled_workflow else []
    )
    mine: list[dict[str, Any]] = []
    for index in range(OWN_RUNS):
        if ctx.env.clock is not None and index:
            ctx.env.clock.set(ctx.env.clock.now() + 1)
        reply = ctx.start_run(workflow=workflows[index % len(workflows)])
        expect.status(reply, 201, "start a run to list")
        mine.append(reply.body)
    since = str(mine[0]["started_at"])
    full = ctx.client.request("GET", path, params=[("created_at_after", since), ("limit", "500")])
    expect.status(full, 200, "list runs")
    entries = full.body["data"]
    expect.equal(full.body["total"], len(entries), "total of a list that fits one page", full)
    keys = [(e["started_at"]) for e in entries]
    expect.true(keys == sorted(keys, reverse=True), "runs are not newest first", full)
    listed_ids = [e["workflow_run_id"] for e in entries]
    own_ids = [m["workflow_run_id"] for m in mine]
    positions = [listed_ids.index(i) if i in listed_ids else -1 for i in own_ids]
    expect.true(-1 not in positions, "a run started by the suite is missing from the list", full)
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
            expect.true(len(page.body["data"]) <= limit, "a page longer than limit", page)
            expect.true(page.body["total"] >= len(entries), "total changed between pages", full, page)
            pages += [e["workflow_run_id"] for e in page.body["data"]]
            offset += limit
        expect.equal(
            pages[: len(listed_ids)],
            listed_ids,
            "pages concatenated differ from the full list",
            full,
            *page_replies[-2:],
        )
        params = [("created_at_after", since), ("limit", "500")] + [("status", s) for s in status_filter]
        if by_workflow:
            params.append(("workflow_name", objects.enabled_workflow))
        filtered = ctx.client.request("GET", path, params=params)
        expect.status(filtered, 200, "filtered list")
        for entry in filtered.body["data"]:
            expect.true(
                not status_filter or entry["status"] in status_filter,
                f"status filter {status_filter} let {entry['status']} through",
                filtered,
            )
            expect.true(
                not by_workflow or entry["workflow_name"] == objects.enabled_workflow,
                "workflow_name filter let another workflow through",
                filtered,
            )
        expect.equal(filtered.body["total"], len(filtered.body["data"]), "total of a filtered list", filtered)

    statuses = doc.enum("WorkflowRunStatus")
    ctx.prove(
        prop, st.integers(1, OWN_RUNS + 1), st.lists(st.sampled_from(statuses), max_size=2, unique=True), st.booleans()
    )

    limit_schema = doc.query_schema("listWorkflowRuns", "limit")
    for bad in (limit_schema["minimum"] - 1, limit_schema["maximum"] + 1):
        reply = ctx.client.request("GET", path, params=[("limit", str(bad))])
        expect.status(reply, 422, f"limit={bad}")
        expect.true(
            any(item.get("loc") == ["query", "limit"] for item in reply.body.get("detail", [])),
            "the 422 names loc ['query', 'limit']",
            reply,
        )
    bounds = f"{limit_schema['minimum'] - 1}/{limit_schema['maximum'] + 1}"
    return f"{len(entries)} runs listed; pages, filters and limits {bounds}"


CHECKS = [Check("list_runs", "filters, newest-first ordering, pagination totals, 422 on out-of-range limit", list_runs)]
