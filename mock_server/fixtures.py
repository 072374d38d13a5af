"""Fixture files: organizations, their keys, reference objects, workflow definitions, progress plans and seed data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from .component_schemas import component_validator, describe_errors
from .spec import assessment_statuses, import_required_fields, webhook_event_types
from .triggers import CONDITION_SCHEMA, TRIGGER_EVENTS
from .webhooks import is_loopback_url

DEFAULT_FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures.yaml"
# When a fixture object says nothing of its creation: the public docs' example time (2025-05-07T00:00:00Z).
FIXTURE_EPOCH = 1746576000
DEFAULT_FACT_SHEET_SECONDS = 240
DEFAULT_ASSESSMENT_START_SECONDS = 60


def _id(prefix: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{prefix}_[0-9a-f]{{32}}$"}


def _ids(prefix: str) -> dict[str, Any]:
    return {"type": "array", "items": _id(prefix)}


_NAMED = {"type": "object", "required": ["id", "name"]}
_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_CONTACT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {"email": _TEXT, "name": _NULLABLE_TEXT, "title": _NULLABLE_TEXT, "phone_number": _NULLABLE_TEXT},
}
# How an assessment progresses over virtual time (declared on a control set or a workflow).
_PROGRESS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["stages", "outcome"],
    "properties": {
        "start_after_seconds": {"type": "integer", "minimum": 1},
        "stages": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["status", "duration_seconds"],
                "properties": {"status": _TEXT, "duration_seconds": {"type": "integer", "minimum": 1}},
            },
        },
        "outcome": {"enum": ["complete", "failed"]},
        "score_percent": {"type": "number", "minimum": 0, "maximum": 1},
        "findings_count": {"type": "integer", "minimum": 0},
    },
}
# Vendor object fields a fixture may set (the rest are null or empty).
_VENDOR_FIELDS = {
    "external_id": _NULLABLE_TEXT,
    "website": _NULLABLE_TEXT,
    "description": _NULLABLE_TEXT,
    "hq_location": _NULLABLE_TEXT,
    "status": _NULLABLE_TEXT,
    "status_id": {"anyOf": [_id("cbst"), {"type": "null"}]},
    "tags": {"type": "array", "items": _TEXT},
    "use_case": _NULLABLE_TEXT,
    "engagement_type": _NULLABLE_TEXT,
    "tier": _NULLABLE_TEXT,
    "risk_analyst_ids": _ids("cbuser"),
    "relationship_owner_ids": _ids("cbuser"),
    "watcher_ids": _ids("cbuser"),
    "inherent_risk_level_id": {"anyOf": [_id("cbsclvl"), {"type": "null"}]},
    "residual_risk_level_id": {"anyOf": [_id("cbsclvl"), {"type": "null"}]},
    "primary_contact": {"anyOf": [_CONTACT, {"type": "null"}]},
}
_SERVICE_FIELDS = {
    "external_id": _NULLABLE_TEXT,
    "description": _NULLABLE_TEXT,
    "tags": {"type": "array", "items": _TEXT},
    "relationship_owner_ids": _ids("cbuser"),
    "watcher_ids": _ids("cbuser"),
    "primary_contact": {"anyOf": [_CONTACT, {"type": "null"}]},
}

FIXTURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["orgs"],
    "additionalProperties": False,
    "properties": {
        "orgs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name", "api_keys", "vendors", "control_sets", "workflows"],
                "properties": {
                    "id": _id("cborg"),
                    "name": {"type": "string", "minLength": 1},
                    "api_keys": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "pattern": "^ak_[A-Za-z0-9_]+$"},
                    },
                    "users": {
                        "type": "array",
                        "items": {
                            **_NAMED,
                            "additionalProperties": False,
                            "properties": {
                                "id": _id("cbuser"),
                                "name": {"type": "string"},
                                "email": {"type": "string"},
                            },
                        },
                    },
                    "vendors": {
                        "type": "array",
                        "items": {
                            **_NAMED,
                            "additionalProperties": False,
                            "properties": {
                                "id": _id("cbvndr"),
                                "name": {"type": "string", "minLength": 1},
                                # Older fixture files: the vendor's risk owner, read as its one risk analyst.
                                "risk_owner_id": {"anyOf": [_id("cbuser"), {"type": "null"}]},
                                **_VENDOR_FIELDS,
                                # Other attributes trigger conditions may read (e.g. data_types).
                                "attributes": {"type": "object"},
                                "created_at": {"type": "integer", "minimum": 0},
                                "services": {
                                    "type": "array",
                                    "items": {
                                        **_NAMED,
                                        "additionalProperties": False,
                                        "properties": {
                                            "id": _id("cbsvc"),
                                            "name": {"type": "string"},
                                            **_SERVICE_FIELDS,
                                            "created_at": {"type": "integer", "minimum": 0},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "control_sets": {
                        "type": "array",
                        "items": {
                            **_NAMED,
                            "additionalProperties": False,
                            "properties": {
                                "id": _id("cbctst"),
                                "name": {"type": "string"},
                                "assessment_progress": _PROGRESS,
                            },
                        },
                    },
                    # What a vendor PATCH may reference: statuses, tags and risk (scale) levels of the org.
                    "statuses": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id", "label"],
                            "properties": {"id": _id("cbst"), "label": _TEXT},
                        },
                    },
                    "tags": {
                        "type": "array",
                        "items": {
                            **_NAMED,
                            "additionalProperties": False,
                            "properties": {"id": _id("cbtag"), "name": _TEXT},
                        },
                    },
                    "risk_levels": {
                        "type": "array",
                        "items": {
                            **_NAMED,
                            "additionalProperties": False,
                            "properties": {"id": _id("cbsclvl"), "name": _TEXT},
                        },
                    },
                    "fact_sheet": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "duration_seconds": {"type": "integer", "minimum": 1},
                            "outcome": {"enum": ["completed", "failed"]},
                        },
                    },
                    "documents": {
                        "type": "array",
                        "items": {
                            **_NAMED,
                            "additionalProperties": False,
                            "properties": {"id": _id("cbvdoc"), "name": {"type": "string"}},
                        },
                    },
                    "workflows": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id", "name", "enabled", "outcome", "steps"],
                            "properties": {
                                "id": _id("cbwd"),
                                "name": {"type": "string", "minLength": 1, "pattern": "^[^/\\s]+$"},
                                "enabled": {"type": "boolean"},
                                "outcome": {"enum": ["completed", "failed"]},
                                "failure_message": {"type": "string"},
                                "assessment_progress": _PROGRESS,
                                "triggers": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["event"],
                                        "properties": {
                                            "event": {"enum": list(TRIGGER_EVENTS)},
                                            "when": {"$ref": "#/definitions/condition"},
                                        },
                                    },
                                },
                                "steps": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": [
                                            "component_id",
                                            "component_name",
                                            "action_type",
                                            "duration_seconds",
                                        ],
                                        "properties": {
                                            "component_id": _id("cbwc"),
                                            "component_name": {"type": "string"},
                                            "action_type": {"type": "string"},
                                            "duration_seconds": {"type": "integer", "minimum": 1},
                                            "produces": {
                                                "enum": [
                                                    "assessment",
                                                    "questionnaire_response",
                                                    "vendor_document",
                                                    "finding",
                                                ]
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "assessments": {"type": "array", "items": {"type": "object"}},
                    "import_reports": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id", "name", "base_object", "mapping"],
                            "properties": {
                                "id": _id("cbimprt"),
                                "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                                "report_name": {"type": "string"},
                                "base_object": {"enum": ["vendor", "service", "assessment"]},
                                # The fields a mapping must cover come from the document (see parse_fixtures).
                                "mapping": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string", "minLength": 1},
                                },
                            },
                        },
                    },
                    "webhooks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id", "url", "events", "secret"],
                            "properties": {
                                "id": _id("cbwh"),
                                "url": {"type": "string", "pattern": "^https?://"},
                                "events": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                                "secret": {"type": "string", "minLength": 16},
                                "enabled": {"type": "boolean"},
                                "description": {"type": "string"},
                                "created_at": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                    "runs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["run"],
                            "properties": {
                                "run": {"type": "object"},
                                "input": {"type": "object"},
                                "target_assessment_id": _id("cbqsrw"),
                            },
                        },
                    },
                },
            },
        }
    },
}


FIXTURE_SCHEMA["definitions"] = {"condition": CONDITION_SCHEMA}


class FixtureError(ValueError):
    """A fixture file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class StepDefinition:
    component_id: str
    component_name: str
    action_type: str
    duration_seconds: int
    produces: str | None


@dataclass(frozen=True)
class TriggerBinding:
    event: str
    when: dict[str, Any] | None


@dataclass(frozen=True)
class AssessmentPlan:
    """How an assessment progresses: `created` for `start_after_seconds`, then each stage's status for its
    duration, then the outcome (`complete` with its score and findings, or `failed`)."""

    start_after_seconds: int
    stages: tuple[tuple[str, int], ...]
    outcome: str
    score_percent: float | None
    findings_count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_after_seconds": self.start_after_seconds,
            "stages": [list(stage) for stage in self.stages],
            "outcome": self.outcome,
            "score_percent": self.score_percent,
            "findings_count": self.findings_count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssessmentPlan:
        return cls(
            int(data["start_after_seconds"]),
            tuple((str(status), int(seconds)) for status, seconds in data["stages"]),
            str(data["outcome"]),
            data["score_percent"],
            int(data["findings_count"]),
        )


@dataclass(frozen=True)
class WorkflowDefinition:
    id: str
    name: str
    enabled: bool
    outcome: str
    failure_message: str
    steps: tuple[StepDefinition, ...]
    triggers: tuple[TriggerBinding, ...] = ()
    assessment_progress: AssessmentPlan | None = None
    # Derived once: each step's start, as seconds after the run's start, and the whole run's length.
    step_offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)
    duration_seconds: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        offsets, at = [], 0
        for step in self.steps:
            offsets.append(at)
            at += step.duration_seconds
        object.__setattr__(self, "step_offsets", tuple(offsets))
        object.__setattr__(self, "duration_seconds", at)


@dataclass(frozen=True)
class ImportReport:
    id: str
    name: str
    report_name: str
    base_object: str
    mapping: dict[str, str]


@dataclass(frozen=True)
class WebhookFixture:
    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    enabled: bool
    description: str | None
    created_at: int = FIXTURE_EPOCH


@dataclass(frozen=True)
class ServiceFixture:
    id: str
    name: str
    external_id: str | None
    attributes: dict[str, Any]
    created_at: int


@dataclass(frozen=True)
class Vendor:
    """A fixture vendor, as it is seeded into the store (where every vendor of the org lives)."""

    id: str
    name: str
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    services: tuple[ServiceFixture, ...] = ()
    created_at: int = FIXTURE_EPOCH

    @property
    def service_ids(self) -> frozenset[str]:
        return frozenset(s.id for s in self.services)


@dataclass(frozen=True)
class FactSheetPlan:
    duration_seconds: int = DEFAULT_FACT_SHEET_SECONDS
    outcome: str = "completed"


@dataclass(frozen=True)
class SeedRun:
    run: dict[str, Any]
    input: dict[str, Any]
    target_assessment_id: str | None


@dataclass(frozen=True)
class OrgFixture:
    id: str
    name: str
    api_keys: tuple[str, ...]
    vendors: dict[str, Vendor]
    control_set_ids: frozenset[str]
    user_ids: frozenset[str]
    document_ids: frozenset[str]
    workflows: dict[str, WorkflowDefinition]
    assessments: tuple[dict[str, Any], ...]
    runs: tuple[SeedRun, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)
    import_reports: dict[str, ImportReport] = field(default_factory=dict)
    webhooks: tuple[WebhookFixture, ...] = ()
    assessment_plans: dict[str, AssessmentPlan] = field(default_factory=dict)  # control set ID -> plan
    statuses: dict[str, str] = field(default_factory=dict)  # cbst_ ID -> label
    tags: dict[str, str] = field(default_factory=dict)  # cbtag_ ID -> name
    risk_level_ids: frozenset[str] = frozenset()
    fact_sheet: FactSheetPlan = field(default_factory=FactSheetPlan)

    def workflow_by_id(self, definition_id: str | None) -> WorkflowDefinition | None:
        return self._workflows_by_id.get(definition_id or "")

    @property
    def _workflows_by_id(self) -> dict[str, WorkflowDefinition]:
        found: dict[str, WorkflowDefinition] | None = self.__dict__.get("_by_id")
        if found is None:
            found = {w.id: w for w in self.workflows.values()}
            object.__setattr__(self, "_by_id", found)
        return found


@dataclass(frozen=True)
class Fixtures:
    orgs: tuple[OrgFixture, ...]
    source: str

    def org(self, org_id: str) -> OrgFixture:
        for org in self.orgs:
            if org.id == org_id:
                return org
        raise KeyError(org_id)


def load_fixtures(path: Path | None, doc: dict[str, Any]) -> Fixtures:
    """Read, validate and index a fixture file; raise FixtureError naming the bad field."""
    source = Path(path or DEFAULT_FIXTURES)
    # The file may be anything (a password file, in one try): errors name the problem and its position only.
    if source.exists() and not source.is_file():
        raise FixtureError(f"{source}: cannot read fixtures: not a regular file")
    try:
        text = source.read_bytes().decode("utf-8")
    except OSError as exc:
        raise FixtureError(f"{source}: cannot read fixtures: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise FixtureError(f"{source}: not a fixture file: not UTF-8 text (byte {exc.start})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FixtureError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    return parse_fixtures(raw, doc, str(source))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's problem and where, without the snippet of the file PyYAML would quote."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def parse_fixtures(raw: Any, doc: dict[str, Any], source: str = "<fixtures>") -> Fixtures:
    problems = describe_errors(Draft7Validator(FIXTURE_SCHEMA), raw, source, values=False)
    if problems:
        raise FixtureError("invalid fixtures:\n  " + "\n  ".join(problems))
    required = import_required_fields(doc)
    for i, org in enumerate(raw["orgs"]):
        for n, report in enumerate(org.get("import_reports", [])):
            missing = [name for name in required[report["base_object"]] if name not in report["mapping"]]
            if missing:
                where = f"{source}.orgs[{i}].import_reports[{n}].mapping"
                raise FixtureError(f"{where}: must map {', '.join(missing)} (x-required-fields of importRecords)")
    checks = _Checks(
        component_validator(doc, "Assessment"),
        component_validator(doc, "WorkflowRun"),
        assessment_statuses(doc).working,
        frozenset(webhook_event_types(doc)),
    )
    orgs = []
    seen_keys: set[str] = set()
    seen_ids: set[str] = set()
    for i, org in enumerate(raw["orgs"]):
        where = f"{source}.orgs[{i}]"
        orgs.append(_parse_org(org, where, checks, seen_keys, seen_ids))
    return Fixtures(tuple(orgs), source)


@dataclass(frozen=True)
class _Checks:
    """What fixtures are checked against, read from the document once."""

    assessment: Any
    run: Any
    working_statuses: tuple[str, ...]  # an assessment's statuses between `created` and its outcome, in order
    events: frozenset[str]  # the webhook event catalog


def _plan(raw: dict[str, Any] | None, where: str, working: tuple[str, ...]) -> AssessmentPlan | None:
    if raw is None:
        return None
    order = [stage["status"] for stage in raw["stages"]]
    for n, status in enumerate(order):
        if status not in working:
            raise FixtureError(f"{where}.stages[{n}].status: {status!r} is not one of {', '.join(working)}")
    if order != sorted(order, key=working.index) or len(set(order)) != len(order):
        raise FixtureError(f"{where}.stages: statuses must follow the documented order ({', '.join(working)})")
    complete = raw["outcome"] == "complete"
    return AssessmentPlan(
        int(raw.get("start_after_seconds", DEFAULT_ASSESSMENT_START_SECONDS)),
        tuple((stage["status"], int(stage["duration_seconds"])) for stage in raw["stages"]),
        raw["outcome"],
        float(raw["score_percent"]) if complete and "score_percent" in raw else None,
        int(raw.get("findings_count", 0)) if complete else 0,
    )


def _people(raw: dict[str, Any], where: str, users: set[str]) -> None:
    for name in ("risk_analyst_ids", "relationship_owner_ids", "watcher_ids", "risk_owner_id"):
        value = raw.get(name)
        for n, user in enumerate(value if isinstance(value, list) else [value] if value else []):
            if user not in users:
                at = f"{where}.{name}[{n}]" if isinstance(value, list) else f"{where}.{name}"
                raise FixtureError(f"{at}: no user {user!r} in this org")


def _vendor(raw: dict[str, Any], where: str, users: set[str], seen_ids: set[str]) -> Vendor:
    _people(raw, where, users)
    attributes = {name: raw[name] for name in _VENDOR_FIELDS if name in raw and name != "external_id"}
    attributes["name"] = raw["name"]
    owner = raw.get("risk_owner_id")
    if owner is not None and "risk_analyst_ids" not in raw:
        attributes["risk_analyst_ids"] = [owner]
    attributes.update(raw.get("attributes") or {})
    services = []
    for s, service in enumerate(raw.get("services", [])):
        at = f"{where}.services[{s}]"
        _unique(service["id"], seen_ids, f"{at}.id", "id")
        _people(service, at, users)
        fields = {name: service[name] for name in _SERVICE_FIELDS if name in service and name != "external_id"}
        fields["name"] = service["name"]
        created = int(service.get("created_at", raw.get("created_at", FIXTURE_EPOCH)))
        services.append(ServiceFixture(service["id"], service["name"], service.get("external_id"), fields, created))
    return Vendor(
        raw["id"],
        raw["name"],
        raw.get("external_id"),
        attributes,
        tuple(services),
        int(raw.get("created_at", FIXTURE_EPOCH)),
    )


def _unique(value: str, seen: set[str], where: str, what: str) -> None:
    if value in seen:
        raise FixtureError(f"{where}: duplicate {what} {value!r}")
    seen.add(value)


def _parse_org(org: dict[str, Any], where: str, checks: _Checks, seen_keys: set[str], seen_ids: set[str]) -> OrgFixture:
    _unique(org["id"], seen_ids, f"{where}.id", "id")
    for k, key in enumerate(org["api_keys"]):
        if key in seen_keys:  # never print a key
            raise FixtureError(f"{where}.api_keys[{k}]: duplicate API key (the same key is listed earlier)")
        seen_keys.add(key)
    users = {u["id"] for u in org.get("users", [])}
    vendors: dict[str, Vendor] = {}
    external_ids: set[str] = set()
    for v, vendor in enumerate(org["vendors"]):
        _unique(vendor["id"], seen_ids, f"{where}.vendors[{v}].id", "id")
        if vendor.get("external_id") is not None:
            _unique(vendor["external_id"], external_ids, f"{where}.vendors[{v}].external_id", "external_id")
        vendors[vendor["id"]] = _vendor(vendor, f"{where}.vendors[{v}]", users, seen_ids)
    plans: dict[str, AssessmentPlan] = {}
    for c, control_set in enumerate(org["control_sets"]):
        plan = _plan(
            control_set.get("assessment_progress"),
            f"{where}.control_sets[{c}].assessment_progress",
            checks.working_statuses,
        )
        if plan is not None:
            plans[control_set["id"]] = plan
    catalogs: dict[str, dict[str, str]] = {}
    for kind, label in (("statuses", "label"), ("tags", "name"), ("risk_levels", "name")):
        catalogs[kind] = {}
        for n, entry in enumerate(org.get(kind, [])):
            _unique(entry["id"], seen_ids, f"{where}.{kind}[{n}].id", "id")
            catalogs[kind][entry["id"]] = entry[label]
    for v, vendor in enumerate(org["vendors"]):
        for name, kind in (
            ("status_id", "statuses"),
            ("inherent_risk_level_id", "risk_levels"),
            ("residual_risk_level_id", "risk_levels"),
        ):
            if vendor.get(name) is not None and vendor[name] not in catalogs[kind]:
                raise FixtureError(f"{where}.vendors[{v}].{name}: no {kind} entry {vendor[name]!r} in this org")
    workflows: dict[str, WorkflowDefinition] = {}
    for w, wf in enumerate(org["workflows"]):
        if wf["name"] in workflows:
            raise FixtureError(f"{where}.workflows[{w}].name: duplicate workflow {wf['name']!r}")
        _unique(wf["id"], seen_ids, f"{where}.workflows[{w}].id", "id")
        steps = tuple(
            StepDefinition(
                s["component_id"], s["component_name"], s["action_type"], s["duration_seconds"], s.get("produces")
            )
            for s in wf["steps"]
        )
        workflows[wf["name"]] = WorkflowDefinition(
            wf["id"],
            wf["name"],
            wf["enabled"],
            wf["outcome"],
            wf.get("failure_message", "The workflow failed."),
            steps,
            tuple(TriggerBinding(t["event"], t.get("when")) for t in wf.get("triggers", [])),
            _plan(
                wf.get("assessment_progress"), f"{where}.workflows[{w}].assessment_progress", checks.working_statuses
            ),
        )
    for a, assessment in enumerate(org.get("assessments", [])):
        problems = describe_errors(checks.assessment, assessment, f"{where}.assessments[{a}]", values=False)
        if problems:
            raise FixtureError("invalid fixtures:\n  " + "\n  ".join(problems))
        if assessment["vendor_id"] not in vendors:
            raise FixtureError(f"{where}.assessments[{a}].vendor_id: no vendor {assessment['vendor_id']!r} in this org")
        _unique(assessment["id"], seen_ids, f"{where}.assessments[{a}].id", "id")
    runs = []
    for r, seed in enumerate(org.get("runs", [])):
        problems = describe_errors(checks.run, seed["run"], f"{where}.runs[{r}].run", values=False)
        if problems:
            raise FixtureError("invalid fixtures:\n  " + "\n  ".join(problems))
        if seed["run"]["status"] == "started":
            raise FixtureError(f"{where}.runs[{r}].run.status: seed runs must be terminal")
        _unique(seed["run"]["workflow_run_id"], seen_ids, f"{where}.runs[{r}].run.workflow_run_id", "id")
        runs.append(SeedRun(seed["run"], seed.get("input", {}), seed.get("target_assessment_id")))
    reports: dict[str, ImportReport] = {}
    for n, report in enumerate(org.get("import_reports", [])):
        if report["name"] in reports:
            raise FixtureError(f"{where}.import_reports[{n}].name: duplicate report {report['name']!r}")
        _unique(report["id"], seen_ids, f"{where}.import_reports[{n}].id", "id")
        reports[report["name"]] = ImportReport(
            report["id"],
            report["name"],
            report.get("report_name", report["name"]),
            report["base_object"],
            report["mapping"],
        )
    hooks = []
    for n, hook in enumerate(org.get("webhooks", [])):
        _unique(hook["id"], seen_ids, f"{where}.webhooks[{n}].id", "id")
        if not is_loopback_url(hook["url"]):
            raise FixtureError(f"{where}.webhooks[{n}].url: the mock delivers only to loopback addresses")
        unknown = [event for event in hook["events"] if event not in checks.events]
        if unknown:
            raise FixtureError(
                f"{where}.webhooks[{n}].events: {', '.join(map(repr, unknown))} not in the event catalog"
                " (x-webhook-events of the document)"
            )
        hooks.append(
            WebhookFixture(
                hook["id"],
                hook["url"],
                tuple(hook["events"]),
                hook["secret"],
                hook.get("enabled", True),
                hook.get("description"),
                int(hook.get("created_at", FIXTURE_EPOCH)),
            )
        )
    return OrgFixture(
        id=org["id"],
        name=org["name"],
        api_keys=tuple(org["api_keys"]),
        vendors=vendors,
        control_set_ids=frozenset(c["id"] for c in org["control_sets"]),
        user_ids=frozenset(users),
        document_ids=frozenset(d["id"] for d in org.get("documents", [])),
        workflows=workflows,
        assessments=tuple(org.get("assessments", [])),
        runs=tuple(runs),
        raw=org,
        import_reports=reports,
        webhooks=tuple(hooks),
        assessment_plans=plans,
        statuses=catalogs["statuses"],
        tags=catalogs["tags"],
        risk_level_ids=frozenset(catalogs["risk_levels"]),
        fact_sheet=FactSheetPlan(**org.get("fact_sheet", {})),
    )


_ID_RE = re.compile(r"^[a-z]+_[0-9a-f]{32}$")


def looks_like_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID_RE.match(value))
