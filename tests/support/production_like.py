"""A production-like Coverbase API for the contract suite's tests: written from the public docs digest alone.

It is what an independent team would build with FastAPI's and pydantic's defaults, in memory and without a
control plane: unknown body fields and query parameters are ignored, any non-empty Idempotency-Key is a
key, a non-UTF-8 body is FastAPI's `400 {"detail": "There was an error parsing the body"}`, an unknown
import report is a 404 worded its own way, and per-record import errors carry only the fields the docs
list (`index`, `external_id`, `error_code`, `message`). Every documented fact holds. Against it, the
suite must report those Decisions of the document as deviations (not failures), and only them.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY = "ak_live_prodlike_acme_7f3c9a1e5b2d4c6e8a0b"
SECOND_KEY = "ak_live_prodlike_initech_2b4d6f8a0c1e3a5c"
VENDOR = "cbvndr_" + "a1" * 16
CONTROL_SET = "cbctst_" + "b2" * 16
SERVICE = "cbsvc_" + "c3" * 16
USER = "cbuser_" + "d4" * 16
ENABLED, OTHER_ENABLED, DISABLED = "contract-noop", "contract-noop-2", "contract-disabled"
REPORT = "contract-vendors"
WINDOW_SECONDS = 86400
MAPPING = {"name": "Name", "external_id": "External Id", "website": "Website"}
TERMINAL = ("completed", "canceled", "failed")
RUN_STATUSES = ("started", *TERMINAL)

TARGET_YAML = f"""\
vendor_id: {VENDOR}
control_set_ids: [{CONTROL_SET}]
service_ids: [{SERVICE}]
enabled_workflow: {ENABLED}
other_enabled_workflow: {OTHER_ENABLED}
disabled_workflow: {DISABLED}
import_report: {REPORT}
vendor_writes: true
webhook_url: https://hooks.example.com/coverbase-contract
"""
# The event catalog of integrations/webhooks (the reference page's list only).
EVENTS = frozenset(
    {
        "Assessment.Created",
        "Assessment.AssigneeChanged",
        "Assessment.StatusChanged",
        "QuestionnaireResponse.Created",
        "QuestionnaireResponse.StatusChanged",
        "Review.StatusChanged",
        "WorkQueueItem.Created",
        "WorkQueueItem.Completed",
        "Vendor.Created",
        "Vendor.Updated",
        "Procurement.Created",
        "Procurement.StatusChanged",
        "Service.Created",
        "Service.Updated",
        "OrgIntake.QuestionnaireRemoved",
        "OrgIntake.Disabled",
        "IntakeSession.Created",
        "IntakeSession.Submitted",
    }
)
INVALID_URL = "Webhook URL must be HTTPS and must not target a private, link-local, loopback, or metadata address."
VENDOR_TEXT = ("website", "description", "hq_location", "use_case")
PEOPLE = ("risk_analyst_ids", "relationship_owner_ids", "watcher_ids")
SECTIONS = ("company_profile", "products", "public_perception", "financials", "people", "compliance_legal")


class ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.detail = detail


def coded(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, {"code": code, "message": message})


def invalid(*items: dict[str, Any]) -> ApiError:
    return ApiError(422, list(items))


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass
class Org:
    name: str
    vendors: dict[str, str]  # id -> name
    services: dict[str, str]  # id -> vendor id
    workflows: dict[str, bool]  # name -> enabled
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    assessments: dict[str, dict[str, Any]] = field(default_factory=dict)
    imported: dict[str, str] = field(default_factory=dict)  # external_id -> vendor id
    keys: dict[tuple[str, str, str], tuple[float, int, Any]] = field(default_factory=dict)
    vendor_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the vendor object (no services)
    service_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    fact_sheets: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> subscription (with its secret)


class ProductionLike:
    """The state of the whole deployment, and the Starlette app that serves it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orgs = {
            KEY: Org(
                "Acme",
                {VENDOR: "Acme Corporation"},
                {SERVICE: VENDOR},
                {ENABLED: True, OTHER_ENABLED: True, DISABLED: False},
            ),
            SECOND_KEY: Org("Initech", {"cbvndr_" + "e5" * 16: "Initech"}, {}, {ENABLED: True}),
        }
        self.sequence = 0
        self.app = Starlette(
            routes=[
                Route("/v1/utils/authtest", self.authtest, methods=["GET"]),
                Route("/v1/assessments", self.create_assessment, methods=["POST"]),
                Route("/v1/assessments/{assessment_id}", self.assessment, methods=["GET", "DELETE"]),
                Route("/v1/workflows/runs", self.list_runs, methods=["GET"]),
                Route("/v1/workflows/runs/{run_id}", self.get_run, methods=["GET"]),
                Route("/v1/workflows/{name}/run", self.run_workflow, methods=["POST"]),
                Route("/v1/import/{report}", self.import_records, methods=["POST"]),
                Route("/v1/vendors", self.vendors, methods=["GET", "POST"]),
                Route("/v1/vendors/{vendor_id}", self.vendor, methods=["GET", "PATCH"]),
                Route("/v1/vendors/{vendor_id}/services", self.create_service, methods=["POST"]),
                Route("/v1/vendors/{vendor_id}/services/{service_id}", self.update_service, methods=["PATCH"]),
                Route("/v1/vendors/{vendor_id}/fact-sheet", self.fact_sheet, methods=["GET"]),
                Route("/v1/vendors/{vendor_id}/fact-sheet/refresh", self.refresh_fact_sheet, methods=["POST"]),
                Route("/v1/webhooks", self.webhooks, methods=["GET", "POST"]),
                Route("/v1/webhooks/{webhook_id}", self.webhook, methods=["PATCH", "DELETE"]),
                Route("/v1/webhooks/{webhook_id}/test", self.test_webhook, methods=["POST"]),
                Route("/v1/webhooks/{webhook_id}/deliveries", self.deliveries, methods=["GET"]),
            ]
        )
        self.app.add_exception_handler(ApiError, self._error)
        self.app.add_exception_handler(404, self._http_error)
        self.app.add_exception_handler(405, self._http_error)

    # Plumbing, as FastAPI does it.

    async def _error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.detail}, exc.status, headers=headers)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = {404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")
        return JSONResponse({"detail": detail}, status, headers=getattr(exc, "headers", None))

    def org(self, request: Request) -> Org:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        org = self.orgs.get(credential) if scheme.lower() == "bearer" else None
        if org is None:
            raise ApiError(401, "Invalid or expired API key.")
        return org

    async def body(self, request: Request, *, required: bool) -> Any:
        raw = await request.body()
        if not raw:
            if required:
                raise invalid({"type": "missing", "loc": ["body"], "msg": "Field required", "input": None})
            return None
        if "json" not in request.headers.get("content-type", "json"):
            raise invalid(
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                }
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "There was an error parsing the body") from None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise invalid(
                {"type": "json_invalid", "loc": ["body", getattr(exc, "pos", 0)], "msg": "JSON decode error"}
            ) from None
        if not isinstance(value, dict):
            raise invalid(
                {
                    "type": "model_attributes_type",
                    "loc": ["body"],
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                }
            )
        return value

    def idempotent(self, request: Request, org: Org, execute: Any) -> tuple[int, Any]:
        """Any non-empty key, scoped to (org, method, concrete path); 24 hours from first use; 2xx stored."""
        key = request.headers.get("idempotency-key", "")
        now = time.time()
        where = (request.method, request.url.path, key)
        if key and where in org.keys and now - org.keys[where][0] < WINDOW_SECONDS:
            return org.keys[where][1], org.keys[where][2]
        status, body = execute()
        if key and 200 <= status < 300:
            org.keys[where] = (now, status, body)
        return status, body

    # Operations.

    async def authtest(self, request: Request) -> Response:
        self.org(request)
        return JSONResponse({"msg": "Auth successful"})

    async def run_workflow(self, request: Request) -> Response:
        org = self.org(request)
        body = await self.body(request, required=False) or {}
        run_input = body.get("input", {})
        if not isinstance(run_input, dict):
            raise invalid({"type": "dict_type", "loc": ["body", "input"], "msg": "Input should be a valid dictionary"})
        name = request.path_params["name"]
        with self.lock:
            status, answer = self.idempotent(request, org, lambda: (201, self.start(org, name, run_input)))
        return JSONResponse(answer, status)

    def start(self, org: Org, name: str, run_input: dict[str, Any]) -> dict[str, Any]:
        if name not in org.workflows:
            raise coded(404, "workflow_not_found", f"Workflow '{name}' not found.")
        if not org.workflows[name]:
            raise coded(409, "workflow_disabled", f"Workflow '{name}' is disabled.")
        self.sequence += 1
        run = {
            "workflow_run_id": _new_id("cbwr"),
            "workflow_name": name,
            "status": "started",
            "started_at": int(time.time()),
            "input": run_input,
            "sequence": self.sequence,
        }
        org.runs[str(run["workflow_run_id"])] = run
        return {k: run[k] for k in ("workflow_run_id", "workflow_name", "status", "started_at", "input")}

    @staticmethod
    def run_view(run: dict[str, Any]) -> dict[str, Any]:
        return {
            "workflow_run_id": run["workflow_run_id"],
            "workflow_name": run["workflow_name"],
            "workflow_definition_id": None,
            "status": run["status"],
            "started_at": run["started_at"],
            "completed_at": None,
        }

    async def get_run(self, request: Request) -> Response:
        run = self.org(request).runs.get(request.path_params["run_id"])
        if run is None:
            raise coded(404, "workflow_run_not_found", "Workflow run not found.")
        return JSONResponse({**self.run_view(run), "steps": []})

    async def list_runs(self, request: Request) -> Response:
        org = self.org(request)
        query = request.query_params
        numbers: dict[str, int | None] = {}
        for name, low, high, default in (
            ("limit", 1, 500, 100),
            ("offset", 0, None, 0),
            ("created_at_after", 0, None, None),
            ("created_at_before", 0, None, None),
        ):
            raw = query.get(name)
            if raw is None:
                numbers[name] = default
                continue
            try:
                value = int(raw)
            except ValueError:
                raise invalid(
                    {
                        "type": "int_parsing",
                        "loc": ["query", name],
                        "msg": "Input should be a valid integer",
                        "input": raw,
                    }
                ) from None
            if value < low or (high is not None and value > high):
                raise invalid(
                    {
                        "type": "less_than_equal" if high and value > high else "greater_than_equal",
                        "loc": ["query", name],
                        "msg": "Input is out of range",
                        "input": raw,
                    }
                )
            numbers[name] = value
        statuses = query.getlist("status")
        for index, status in enumerate(statuses):
            if status not in RUN_STATUSES:
                raise invalid(
                    {
                        "type": "enum",
                        "loc": ["query", "status", index],
                        "msg": "Input should be a status",
                        "input": status,
                    }
                )
        workflow = query.get("workflow_name")
        if workflow is not None and workflow not in org.workflows:
            raise coded(404, "workflow_not_found", f"Workflow '{workflow}' not found.")
        runs = [
            r
            for r in org.runs.values()
            if (workflow is None or r["workflow_name"] == workflow)
            and (not statuses or r["status"] in statuses)
            and (numbers["created_at_after"] is None or r["started_at"] >= numbers["created_at_after"])
            and (numbers["created_at_before"] is None or r["started_at"] <= numbers["created_at_before"])
        ]
        runs.sort(key=lambda r: (r["started_at"], r["sequence"]), reverse=True)
        offset, limit = int(numbers["offset"] or 0), int(numbers["limit"] or 100)
        page = runs[offset : offset + limit]
        return JSONResponse(
            {
                "data": [{**self.run_view(r), "step_count": 0} for r in page],
                "total": len(runs),
                "limit": limit,
                "offset": offset,
            }
        )

    async def create_assessment(self, request: Request) -> Response:
        org = self.org(request)
        body = await self.body(request, required=True)
        problems = []
        for name, kind in (("vendor_id", str), ("control_set_ids", list)):
            if name not in body:
                problems.append({"type": "missing", "loc": ["body", name], "msg": "Field required", "input": body})
            elif not isinstance(body[name], kind):
                problems.append({"type": f"{kind.__name__}_type", "loc": ["body", name], "msg": "Wrong type"})
        for name in ("name", "assessment_name_format", "assignee_id", "trigger_workflow"):
            if name in body and not isinstance(body[name], str):
                problems.append({"type": "string_type", "loc": ["body", name], "msg": "Input should be a valid string"})
        for name in ("control_set_ids", "service_ids", "supporting_document_ids"):
            items = body.get(name, [])
            if not isinstance(items, list):
                problems.append({"type": "list_type", "loc": ["body", name], "msg": "Input should be a valid list"})
            else:
                problems += [
                    {"type": "string_type", "loc": ["body", name, i], "msg": "Input should be a valid string"}
                    for i, item in enumerate(items)
                    if not isinstance(item, str)
                ]
        if problems:
            raise invalid(*problems)
        with self.lock:
            status, answer = self.idempotent(request, org, lambda: (201, self.assess(org, body)))
        return JSONResponse(answer, status)

    def assess(self, org: Org, body: dict[str, Any]) -> dict[str, Any]:
        vendor = body["vendor_id"]
        if vendor not in org.vendors:
            raise ApiError(400, {"error": f"Vendor {vendor} not found."})
        for control_set in body["control_set_ids"]:
            if control_set != CONTROL_SET or org is not self.orgs[KEY]:
                raise ApiError(400, {"error": f"Control set {control_set} not found."})
        for service in body.get("service_ids", []):
            if org.services.get(service) != vendor:
                raise ApiError(400, {"error": f"Service {service} not found."})
        if "assignee_id" in body and body["assignee_id"] != USER:
            raise ApiError(400, {"error": f"User {body['assignee_id']} not found."})
        for document in body.get("supporting_document_ids", []):
            raise ApiError(400, {"error": f"Document {document} not found."})
        run_id = None
        if "trigger_workflow" in body:
            run_id = self.start(org, body["trigger_workflow"], {})["workflow_run_id"]
        now = int(time.time())
        assessment = {
            "id": _new_id("cbqsrw"),
            "vendor_id": vendor,
            "name": body.get("name", f"{org.vendors[vendor]} Assessment"),
            "status": "created",
            "control_set_ids": body["control_set_ids"],
            "service_ids": body.get("service_ids", []),
            "assignee_id": body.get("assignee_id"),
            "score_percent": None,
            "findings_count": 0,
            "initiated_at": None,
            "created_at": now,
            "updated_at": now,
        }
        org.assessments[assessment["id"]] = {**assessment, "custom_fields": [], "archive": None}
        return {**assessment, "workflow_run_id": run_id}

    async def assessment(self, request: Request) -> Response:
        org = self.org(request)
        found = org.assessments.get(request.path_params["assessment_id"])
        if found is None:
            raise coded(404, "assessment_not_found", "Assessment not found.")
        if request.method == "GET":
            return JSONResponse({k: v for k, v in found.items() if k != "archive"})
        with self.lock:
            if found["archive"] is None:
                if found["status"] not in ("complete", "failed", "canceled"):
                    found["status"] = "canceled"
                found["archive"] = {
                    "id": found["id"],
                    "status": found["status"],
                    "is_archived": True,
                    "archived_at": int(time.time()),
                }
        return JSONResponse(found["archive"])

    async def import_records(self, request: Request) -> Response:
        org = self.org(request)
        body = await self.body(request, required=True)
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise invalid(
                {
                    "type": "too_short" if isinstance(data, list) else "list_type",
                    "loc": ["body", "data"],
                    "msg": "List should have at least 1 item",
                }
            )
        if request.path_params["report"] != REPORT or org is not self.orgs[KEY]:
            raise coded(404, "import_report_not_found", "Import report not found.")
        results, errors, seen = [], [], set()
        created = updated = 0
        with self.lock:
            for index, record in enumerate(data):
                if not isinstance(record, dict):
                    errors.append(
                        {
                            "index": index,
                            "external_id": None,
                            "error_code": "invalid_field_value",
                            "message": "The record is not an object.",
                        }
                    )
                    continue
                external = record.get(MAPPING["external_id"])
                missing = [MAPPING[f] for f in ("name", "external_id") if not isinstance(record.get(MAPPING[f]), str)]
                if missing:
                    errors.append(
                        {
                            "index": index,
                            "external_id": external if isinstance(external, str) else None,
                            "error_code": "missing_required_field",
                            "message": f"Required field '{missing[0]}' is missing.",
                        }
                    )
                    continue
                if external in seen:
                    errors.append(
                        {
                            "index": index,
                            "external_id": external,
                            "error_code": "duplicate_external_id",
                            "message": "The external_id appears twice in the batch.",
                        }
                    )
                    continue
                assert isinstance(external, str)
                seen.add(external)
                action = "updated" if external in org.imported else "created"
                if action == "created":
                    vendor_id = _new_id("cbvndr")
                    org.imported[external] = vendor_id
                    org.vendors[vendor_id] = record[MAPPING["name"]]
                    created += 1
                else:
                    updated += 1
                results.append(
                    {
                        "external_id": external,
                        "coverbase_id": org.imported[external],
                        "action": action,
                        "status": "success",
                    }
                )
        answer = {
            "id": "cbimprt_" + "f6" * 16,
            "slug": REPORT,
            "report_name": "Contract vendors",
            "base_object": "vendor",
            "mapping": MAPPING,
            "received_count": len(data),
            "created_count": created,
            "updated_count": updated,
            "failed_count": len(data) - len(results),
            "results": results,
            "errors": errors,
            "received_at": int(time.time()),
        }
        return JSONResponse(answer, 200 if results else 400)

    # Vendors & Services, as a FastAPI implementation of api-reference/vendors would answer.

    def vendor_object(self, org: Org, vendor_id: str) -> dict[str, Any]:
        if vendor_id not in org.vendor_objects:
            now = int(time.time())
            org.vendor_objects[vendor_id] = {
                "id": vendor_id,
                "external_id": next((e for e, v in org.imported.items() if v == vendor_id), None),
                "name": org.vendors[vendor_id],
                **dict.fromkeys(("website", "description", "hq_location", "status", "status_id")),
                "tags": [],
                **{name: [] for name in PEOPLE},
                **dict.fromkeys(("inherent_risk_level_id", "residual_risk_level_id", "engagement_type", "use_case")),
                "tier": None,
                "primary_contact": None,
                "created_at": now,
                "updated_at": now,
                "sequence": 0,
            }
        return org.vendor_objects[vendor_id]

    def full(self, org: Org, vendor_id: str) -> dict[str, Any]:
        found = {k: v for k, v in self.vendor_object(org, vendor_id).items() if k != "sequence"}
        found["services"] = [s for s in org.service_objects.values() if s["vendor_id"] == vendor_id]
        return found

    @staticmethod
    def contact(value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict) or not isinstance(value.get("email"), str) or "@" not in value["email"]:
            if value is None:
                return None
            raise invalid({"type": "value_error", "loc": ["body", "primary_contact", "email"], "msg": "Not an email"})
        return {"email": value["email"], **{k: value.get(k) for k in ("name", "title", "phone_number")}}

    def people(self, org: Org, body: dict[str, Any], names: tuple[str, ...], code: str) -> None:
        for name in names:
            value = body.get(name)
            if value is not None and (not isinstance(value, list) or any(u != USER for u in value)):
                raise coded(400, code, "Unknown user.")

    async def vendors(self, request: Request) -> Response:
        org = self.org(request)
        if request.method == "GET":
            query = request.query_params
            limit, offset = self.paging(query.get("limit", "50"), query.get("offset", "0"), 200)
            name, external = query.get("name"), query.get("external_id")
            found = []
            for vendor_id in org.vendors:
                vendor = self.vendor_object(org, vendor_id)
                names = [
                    vendor["name"],
                    *(s["name"] for s in org.service_objects.values() if s["vendor_id"] == vendor_id),
                ]
                if name is not None and not any(name.lower() in n.lower() for n in names):
                    continue
                if external is not None and vendor["external_id"] != external:
                    continue
                found.append(vendor)
            found.sort(key=lambda v: (v["created_at"], v["sequence"]), reverse=True)
            summary = ("id", "external_id", "name", "website", "description", "hq_location", "status", "status_id")
            more = ("tags", "use_case", "tier", "primary_contact", "created_at", "updated_at")
            items = [{k: v[k] for k in (*summary, *more)} for v in found[offset : offset + limit]]
            return JSONResponse({"items": items, "total": len(found), "limit": limit, "offset": offset})
        body = await self.body(request, required=True)
        if not isinstance(body.get("name"), str):
            raise invalid({"type": "missing", "loc": ["body", "name"], "msg": "Field required"})
        self.people(org, body, PEOPLE, "invalid_vendor")
        contact = self.contact(body.get("primary_contact"))

        def create() -> tuple[int, Any]:
            vendor_id = _new_id("cbvndr")
            org.vendors[vendor_id] = body["name"]
            self.sequence += 1
            vendor = self.vendor_object(org, vendor_id)
            vendor.update({k: body.get(k) for k in VENDOR_TEXT}, sequence=self.sequence, primary_contact=contact)
            vendor.update({k: body.get(k) or [] for k in PEOPLE}, external_id=body.get("external_id"))
            return 201, self.full(org, vendor_id)

        with self.lock:
            status, answer = self.idempotent(request, org, create)
        return JSONResponse(answer, status)

    @staticmethod
    def paging(raw_limit: str, raw_offset: str, high: int) -> tuple[int, int]:
        try:
            limit, offset = int(raw_limit), int(raw_offset)
        except ValueError:
            raise invalid({"type": "int_parsing", "loc": ["query", "limit"], "msg": "Not an integer"}) from None
        if not 1 <= limit <= high or offset < 0:
            raise invalid({"type": "less_than_equal", "loc": ["query", "limit"], "msg": "Out of range"})
        return limit, offset

    def found_vendor(self, request: Request) -> tuple[Org, str]:
        org = self.org(request)
        vendor_id = request.path_params["vendor_id"]
        if vendor_id not in org.vendors:
            raise coded(404, "vendor_not_found", "Vendor not found.")
        return org, vendor_id

    async def vendor(self, request: Request) -> Response:
        org, vendor_id = self.found_vendor(request)
        if request.method == "PATCH":
            body = await self.body(request, required=True)
            self.people(org, body, PEOPLE, "invalid_update")
            vendor = self.vendor_object(org, vendor_id)
            for name in (*VENDOR_TEXT, "name", "engagement_type", *PEOPLE):
                if body.get(name) is not None:
                    vendor[name] = body[name]
            if body.get("primary_contact") is not None:
                vendor["primary_contact"] = self.contact(body["primary_contact"])
            vendor["updated_at"] = int(time.time())
        return JSONResponse(self.full(org, vendor_id))

    async def create_service(self, request: Request) -> Response:
        org, vendor_id = self.found_vendor(request)
        body = await self.body(request, required=True)
        if not isinstance(body.get("name"), str):
            raise invalid({"type": "missing", "loc": ["body", "name"], "msg": "Field required"})
        self.people(org, body, ("relationship_owner_ids", "watcher_ids"), "invalid_service")
        service = {
            "id": _new_id("cbsvc"),
            "vendor_id": vendor_id,
            "name": body["name"],
            "description": body.get("description"),
            "external_id": body.get("external_id"),
            "tags": [],
            "relationship_owner_ids": body.get("relationship_owner_ids") or [],
            "watcher_ids": body.get("watcher_ids") or [],
            "primary_contact": self.contact(body.get("primary_contact")),
            "created_at": int(time.time()),
        }
        org.service_objects[service["id"]] = service
        org.services[service["id"]] = vendor_id
        return JSONResponse(service, 201)

    async def update_service(self, request: Request) -> Response:
        org = self.org(request)
        service = org.service_objects.get(request.path_params["service_id"])
        if service is None or service["vendor_id"] != request.path_params["vendor_id"]:
            raise coded(404, "service_not_found", "Service not found.")
        body = await self.body(request, required=True)
        for name in ("name", "description", "relationship_owner_ids", "watcher_ids"):
            if body.get(name) is not None:
                service[name] = body[name]
        return JSONResponse(service)

    async def fact_sheet(self, request: Request) -> Response:
        org, vendor_id = self.found_vendor(request)
        sheet = org.fact_sheets.get(vendor_id)
        never = {"entity_id": None, "status": None, "progress": [], "generated_at": None}
        return JSONResponse(
            {"vendor_id": vendor_id, **(sheet or never), **dict.fromkeys(SECTIONS), "security_posture": None}
        )

    async def refresh_fact_sheet(self, request: Request) -> Response:
        org, vendor_id = self.found_vendor(request)
        entity = (org.fact_sheets.get(vendor_id) or {}).get("entity_id") or _new_id("cbentity")
        org.fact_sheets[vendor_id] = {"entity_id": entity, "status": "pending", "progress": [], "generated_at": None}
        message = "Fact sheet regeneration has been queued."
        return JSONResponse({"vendor_id": vendor_id, "entity_id": entity, "status": "pending", "message": message}, 202)

    # Webhooks, as api-reference/webhooks describes them: public HTTPS only, strict catalog.

    @staticmethod
    def check_webhook(body: dict[str, Any]) -> None:
        if body.get("secret") is not None and len(str(body["secret"])) < 16:
            raise coded(400, "weak_secret", "Secret must be at least 16 characters.")
        url = body.get("url")
        if url is not None:
            host = (urlsplit(str(url)).hostname or "") if str(url).startswith("https://") else ""
            private = host in ("", "localhost") or host.startswith(("127.", "10.", "192.168.", "169.254."))
            if private:
                raise coded(400, "invalid_url", INVALID_URL)
        events = body.get("events")
        if events is not None:
            unknown = [e for e in dict.fromkeys(events) if e not in EVENTS]
            if unknown:
                raise coded(422, "invalid_event_types", f"Unsupported event type(s): {', '.join(map(str, unknown))}.")

    @staticmethod
    def public(hook: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in hook.items() if k not in ("secret", "archived")}

    async def webhooks(self, request: Request) -> Response:
        org = self.org(request)
        if request.method == "GET":
            return JSONResponse({"data": [self.public(h) for h in org.webhooks.values() if not h["archived"]]})
        body = await self.body(request, required=True)
        missing = [n for n in ("url", "events", "secret") if n not in body]
        if missing:
            raise invalid(*({"type": "missing", "loc": ["body", n], "msg": "Field required"} for n in missing))
        self.check_webhook(body)
        hook = {
            "id": _new_id("cbwh"),
            "url": body["url"],
            "events": list(body["events"]),
            "description": body.get("description"),
            "enabled": body.get("enabled", True),
            "created_at": int(time.time()),
            "last_delivery_status": None,
            "delivery_success_rate": None,
            "delivery_count": 0,
            "secret": body["secret"],
            "archived": False,
        }
        org.webhooks[hook["id"]] = hook
        return JSONResponse(self.public(hook), 201)

    def found_webhook(self, request: Request) -> dict[str, Any]:
        hook = self.org(request).webhooks.get(request.path_params["webhook_id"])
        if hook is None or hook["archived"]:
            raise coded(404, "webhook_not_found", "Webhook not found.")
        return hook

    async def webhook(self, request: Request) -> Response:
        hook = self.found_webhook(request)
        if request.method == "DELETE":
            hook["archived"] = True
            return Response(status_code=204)
        body = await self.body(request, required=True)
        self.check_webhook(body)
        for name in ("url", "events", "secret", "description", "enabled"):
            if body.get(name) is not None:
                hook[name] = body[name]
        return JSONResponse(self.public(hook))

    async def test_webhook(self, request: Request) -> Response:
        self.found_webhook(request)
        await self.body(request, required=False)
        answer = {
            "event_id": "cbevt_test_" + secrets.token_hex(16),
            "delivered": True,
            "response_status": None,
            "response_time_ms": None,
            "attempted_at": int(time.time()),
        }
        return JSONResponse(answer)

    async def deliveries(self, request: Request) -> Response:
        self.found_webhook(request)
        query = request.query_params
        try:
            limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
        except ValueError:
            raise invalid({"type": "int_parsing", "loc": ["query", "limit"], "msg": "Not an integer"}) from None
        return JSONResponse({"data": [], "total": 0, "limit": min(max(limit, 1), 100), "offset": max(offset, 0)})


def create_app() -> Starlette:
    return ProductionLike().app
