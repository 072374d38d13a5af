"""Fixture files: organizations, their keys, reference objects, workflow definitions and seed data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from .component_schemas import component_validator, describe_errors
from .spec import import_required_fields
from .triggers import CONDITION_SCHEMA, TRIGGER_EVENTS
from .webhooks import is_loopback_url

DEFAULT_FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures.yaml"


def _id(prefix: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{prefix}_[0-9a-f]{{32}}$"}


_NAMED = {"type": "object", "required": ["id", "name"]}

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
                                "risk_owner_id": {"anyOf": [_id("cbuser"), {"type": "null"}]},
                                "services": {
                                    "type": "array",
                                    "items": {
                                        **_NAMED,
                                        "additionalProperties": False,
                                        "properties": {"id": _id("cbsvc"), "name": {"type": "string"}},
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
                            "properties": {"id": _id("cbctst"), "name": {"type": "string"}},
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
                                "base_object": {"enum": ["vendor"]},
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
class WorkflowDefinition:
    id: str
    name: str
    enabled: bool
    outcome: str
    failure_message: str
    steps: tuple[StepDefinition, ...]
    triggers: tuple[TriggerBinding, ...] = ()
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


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    risk_owner_id: str | None
    service_ids: frozenset[str]


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
    assessment_check = component_validator(doc, "Assessment")
    run_check = component_validator(doc, "WorkflowRun")
    orgs = []
    seen_keys: set[str] = set()
    seen_ids: set[str] = set()
    for i, org in enumerate(raw["orgs"]):
        where = f"{source}.orgs[{i}]"
        orgs.append(_parse_org(org, where, assessment_check, run_check, seen_keys, seen_ids))
    return Fixtures(tuple(orgs), source)


def _unique(value: str, seen: set[str], where: str, what: str) -> None:
    if value in seen:
        raise FixtureError(f"{where}: duplicate {what} {value!r}")
    seen.add(value)


def _parse_org(
    org: dict[str, Any],
    where: str,
    assessment_check: Any,
    run_check: Any,
    seen_keys: set[str],
    seen_ids: set[str],
) -> OrgFixture:
    _unique(org["id"], seen_ids, f"{where}.id", "id")
    for k, key in enumerate(org["api_keys"]):
        if key in seen_keys:  # never print a key
            raise FixtureError(f"{where}.api_keys[{k}]: duplicate API key (the same key is listed earlier)")
        seen_keys.add(key)
    users = {u["id"] for u in org.get("users", [])}
    vendors: dict[str, Vendor] = {}
    for v, vendor in enumerate(org["vendors"]):
        _unique(vendor["id"], seen_ids, f"{where}.vendors[{v}].id", "id")
        owner = vendor.get("risk_owner_id")
        if owner is not None and owner not in users:
            raise FixtureError(f"{where}.vendors[{v}].risk_owner_id: no user {owner!r} in this org")
        services = [s["id"] for s in vendor.get("services", [])]
        for s, sid in enumerate(services):
            _unique(sid, seen_ids, f"{where}.vendors[{v}].services[{s}].id", "id")
        vendors[vendor["id"]] = Vendor(vendor["id"], vendor["name"], owner, frozenset(services))
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
        )
    for a, assessment in enumerate(org.get("assessments", [])):
        problems = describe_errors(assessment_check, assessment, f"{where}.assessments[{a}]", values=False)
        if problems:
            raise FixtureError("invalid fixtures:\n  " + "\n  ".join(problems))
        if assessment["vendor_id"] not in vendors:
            raise FixtureError(f"{where}.assessments[{a}].vendor_id: no vendor {assessment['vendor_id']!r} in this org")
        _unique(assessment["id"], seen_ids, f"{where}.assessments[{a}].id", "id")
    runs = []
    for r, seed in enumerate(org.get("runs", [])):
        problems = describe_errors(run_check, seed["run"], f"{where}.runs[{r}].run", values=False)
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
        hooks.append(
            WebhookFixture(
                hook["id"],
                hook["url"],
                tuple(hook["events"]),
                hook["secret"],
                hook.get("enabled", True),
                hook.get("description"),
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
    )


_ID_RE = re.compile(r"^[a-z]+_[0-9a-f]{32}$")


def looks_like_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID_RE.match(value))
