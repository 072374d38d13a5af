"""Runnable curl commands built from an operation's parameter and request body examples."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mock_server.spec import resolve
from spec_tools.load import Document, Operation, json_media, media_examples

LOCAL_BASE_URL = "http://127.0.0.1:4010"
API_KEY = "ak_live_xxx"


@dataclass(frozen=True)
class CurlExample:
    title: str
    command: str


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _param_example(doc: Document, param: dict[str, Any]) -> Any:
    examples = media_examples(param, doc)
    if examples:
        return examples[0][1]
    schema = resolve(doc, param.get("schema", {}))
    if isinstance(schema, dict):
        for key in ("example", "default"):
            if key in schema:
                return schema[key]
    return None


def _scalar(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def build_url(doc: Document, op: Operation, base_url: str) -> str:
    path = op.path
    query: list[str] = []
    for param in op.parameters:
        value = _param_example(doc, param)
        if value is None:
            continue
        name = str(param.get("name"))
        if param.get("in") == "path":
            path = path.replace("{" + name + "}", quote(_scalar(value), safe=""))
        elif param.get("in") == "query":
            values = value if isinstance(value, list) else [value]
            query.extend(f"{quote(name)}={quote(_scalar(v), safe='')}" for v in values)
    return base_url + path + ("?" + "&".join(query) if query else "")


def requires_auth(doc: Document, op: Operation) -> bool:
    security: list[dict[str, Any]] = op.node.get("security", doc.get("security")) or []
    # An empty requirement object means anonymous access is one of the accepted alternatives.
    return bool(security) and all(bool(requirement) for requirement in security)


def _headers(doc: Document, op: Operation, example_index: int) -> list[str]:
    headers = [f"Authorization: Bearer {API_KEY}"] if requires_auth(doc, op) else []
    for param in op.parameters:
        if param.get("in") == "header":
            value = _param_example(doc, param)
            if value is None:
                continue
            text = _scalar(value)
            if str(param.get("name")).lower() == "idempotency-key" and example_index:
                # Reusing one key for two different bodies would replay the first response.
                text += f"-{example_index + 1}"
            headers.append(f"{param.get('name')}: {text}")
    return headers


def curl_examples(doc: Document, op: Operation, base_url: str = LOCAL_BASE_URL) -> list[CurlExample]:
    """One command per request body example (or one without a body); all share URL and headers."""
    url = f"curl -sS -X {op.method.upper()} {shell_quote(build_url(doc, op, base_url))}"
    body = resolve(doc, op.node.get("requestBody", {}))
    media = json_media(body) if isinstance(body, dict) else None
    bodies: list[tuple[str, Any]] = []
    if media is not None:
        named = {name: summary for name, summary in _example_summaries(doc, media)}
        bodies = [(named.get(name, name), value) for name, value in media_examples(media, doc)]
    if not bodies:
        lines = [url] + [f"-H {shell_quote(h)}" for h in _headers(doc, op, 0)]
        return [CurlExample("Request", " \\\n  ".join(lines))]
    examples = []
    for index, (title, value) in enumerate(bodies):
        lines = [url] + [f"-H {shell_quote(h)}" for h in _headers(doc, op, index)]
        lines += [f"-H {shell_quote('Content-Type: application/json')}", f"-d {shell_quote(json.dumps(value))}"]
        examples.append(CurlExample(title, " \\\n  ".join(lines)))
    return examples


def _example_summaries(doc: Document, media: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for name, example in (media.get("examples") or {}).items():
        resolved = resolve(doc, example)
        if isinstance(resolved, dict) and resolved.get("summary"):
            out.append((str(name), str(resolved["summary"])))
    return out
