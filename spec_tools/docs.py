"""`make docs`: regenerate the Markdown and offline HTML reference in docs/ from the OpenAPI documents."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mock_server.spec import resolve
from spec_tools import curl, errors, idempotency
from spec_tools.fields import Field, flatten, make_field
from spec_tools.load import (
    API_DOCUMENT,
    CONTROL_DOCUMENT,
    REPO_ROOT,
    Document,
    Operation,
    iter_operations,
    json_media,
    load_document,
    media_examples,
    ref_name,
)
from spec_tools.md_to_html import inline_html, to_html

TEMPLATES = Path(__file__).resolve().parent / "templates"
DOCS_DIR = REPO_ROOT / "docs"


@dataclass(frozen=True)
class ResponseView:
    status: str
    description: str
    schema_name: str
    fields: list[Field]
    example: str
    headers: list[tuple[str, str]]
    links: list[tuple[str, str, str, str]]


@dataclass(frozen=True)
class OperationView:
    operation_id: str
    method: str
    path: str
    summary: str
    description: str
    auth: str
    parameters: list[tuple[Field, str, str]]
    body: list[Field] | None
    body_required: bool
    body_description: str
    body_schema: str
    responses: list[ResponseView]
    errors: list[errors.ErrorRow]
    idempotency: list[str]
    curl: list[curl.CurlExample]


@dataclass(frozen=True)
class TagView:
    name: str
    description: str
    page: str
    operations: list[OperationView]


@dataclass(frozen=True)
class DocumentView:
    key: str
    folder: str
    source: str
    title: str
    version: str
    description: str
    servers: list[tuple[str, str]]
    security: list[tuple[str, str]]
    tags: list[TagView]
    catalog: list[errors.ErrorRow]
    idempotency: list[str]
    idempotency_operations: list[str]
    idempotency_reasons: list[tuple[str, str]]


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _auth(doc: Document, op: Operation) -> str:
    if not curl.requires_auth(doc, op):
        return "None (no credential needed)."
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    names = sorted({name for req in op.node.get("security", doc.get("security")) or [] for name in req})
    words = []
    for name in names:
        scheme = schemes.get(name) or {}
        if scheme.get("type") == "http" and scheme.get("scheme") == "bearer":
            words.append(f"Bearer API key (`{name}`): `Authorization: Bearer {curl.API_KEY}`.")
        else:
            words.append(f"`{name}` ({scheme.get('type', 'unknown')}).")
    return " ".join(words)


def _parameter_rows(doc: Document, op: Operation) -> list[tuple[Field, str, str]]:
    """(field, location, example) per parameter, path first then query then header, each in document order."""
    order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
    rows = []
    for param in sorted(op.parameters, key=lambda p: order.get(str(p.get("in")), 9)):
        base = make_field(doc, str(param.get("name")), param.get("schema", {}), bool(param.get("required")))
        prefix = param.get("x-id-prefix") or base.id_prefix
        description = " ".join(str(param.get("description", "")).split()) or base.description
        row = replace(base, id_prefix=prefix, description=description)
        examples = media_examples(param, doc)
        rows.append((row, str(param.get("in")), json.dumps(examples[0][1]) if examples else ""))
    return rows


def _header_text(doc: Document, raw: Any) -> str:
    """A response header's description followed by its facts, e.g. "(always sent; one of `Bearer`)"."""
    header = resolve(doc, raw)
    notes = ["always sent"] if header.get("required") else []
    notes += field_notes(make_field(doc, "", header.get("schema", {}), bool(header.get("required"))))
    text = " ".join(str(header.get("description", "")).split())
    return f"{text} ({'; '.join(notes)})" if notes else text


def _response_views(doc: Document, op: Operation) -> list[ResponseView]:
    views = []
    for status, raw in sorted((op.node.get("responses") or {}).items()):
        response = resolve(doc, raw)
        media = json_media(response) or {}
        schema = media.get("schema")
        examples = media_examples(media, doc)
        headers = [(str(name), _header_text(doc, raw)) for name, raw in sorted((response.get("headers") or {}).items())]
        links = [
            (
                str(name),
                str(link.get("operationId", "")),
                ", ".join(f"{k} = {v}" for k, v in (link.get("parameters") or {}).items()),
                " ".join(str(link.get("description", "")).split()),
            )
            for name, link in (
                (name, resolve(doc, raw_link)) for name, raw_link in (response.get("links") or {}).items()
            )
        ]
        views.append(
            ResponseView(
                status=str(status),
                description=" ".join(str(response.get("description", "")).split()),
                schema_name=ref_name(schema) or "",
                fields=flatten(doc, schema) if schema else [],
                example=pretty_json(examples[0][1]) if examples else "",
                headers=headers,
                links=links,
            )
        )
    return views


def operation_view(doc: Document, op: Operation, idempotency_sentences: list[str]) -> OperationView:
    """One operation; ``idempotency_sentences`` are the policy's, given only when the policy covers it."""
    body = resolve(doc, op.node.get("requestBody")) if op.node.get("requestBody") else None
    media = json_media(body) if isinstance(body, dict) else None
    schema = media.get("schema") if media else None
    return OperationView(
        operation_id=op.operation_id,
        method=op.method.upper(),
        path=op.path,
        summary=str(op.node.get("summary", "")),
        description=str(op.node.get("description", "")).strip(),
        auth=_auth(doc, op),
        parameters=_parameter_rows(doc, op),
        body=flatten(doc, schema) if schema is not None else None,
        body_required=bool(body and body.get("required")),
        body_description=" ".join(str((body or {}).get("description", "")).split()),
        body_schema=ref_name(schema) or "",
        responses=_response_views(doc, op),
        errors=errors.operation_errors(doc, op),
        idempotency=idempotency_sentences,
        curl=curl.curl_examples(doc, op),
    )


def document_view(doc: Document, key: str, folder: str, source: str) -> DocumentView:
    operations = iter_operations(doc)
    read = idempotency.read_policy(doc)
    sentences = idempotency.plain_sentences(*read) if read else []
    covered = [op.operation_id for op in operations if read and op.operation_id in read[0].operation_ids]
    declared = [(str(t.get("name")), str(t.get("description", ""))) for t in doc.get("tags") or []]
    used = sorted({str(tag) for op in operations for tag in op.node.get("tags") or []} - {n for n, _ in declared})
    tags = []
    for name, description in declared + [(name, "") for name in used]:
        ops = [
            operation_view(doc, op, sentences if op.operation_id in covered else [])
            for op in operations
            if name in (op.node.get("tags") or [])
        ]
        tags.append(TagView(name, description, f"{name}.md", ops))
    info = doc.get("info") or {}
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    return DocumentView(
        key=key,
        folder=folder,
        source=source,
        title=str(info.get("title", source)),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")).strip(),
        servers=[(str(s.get("url")), str(s.get("description", ""))) for s in doc.get("servers") or []],
        security=[(str(n), str(s.get("description", "")).strip()) for n, s in sorted(schemes.items())],
        tags=tags,
        catalog=errors.catalog_rows(doc),
        idempotency=sentences,
        idempotency_operations=covered,
        idempotency_reasons=idempotency.reasons(read[1]) if read else [],
    )


def md_cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def field_notes(item: Field) -> list[str]:
    """Short facts about a field beyond its type: nullability, default, enum, ID prefix, pattern, bounds."""
    notes = []
    if item.nullable:
        notes.append("nullable")
    if item.has_default:
        notes.append(f"default `{json.dumps(item.default)}`")
    if item.enum is not None:
        notes.append("one of " + ", ".join(f"`{json.dumps(v) if v is None else v}`" for v in item.enum))
    if item.id_prefix:
        notes.append(f"ID prefix `{item.id_prefix}`")
    if item.pattern:
        notes.append(f"pattern `{item.pattern}`")
    notes.extend(f"{key} {value}" for key, value in item.constraints)
    if item.schema_name and not item.type.endswith(item.schema_name):
        notes.append(f"schema `{item.schema_name}`")
    return notes


def servers_note(view: DocumentView) -> str:
    """Where the examples point, and which other base URLs replace it."""
    others = [f"`{url}` ({text})" for url, text in view.servers if url != curl.LOCAL_BASE_URL]
    note = f"Examples call the local mock at `{curl.LOCAL_BASE_URL}`."
    if others:
        note += " Replace the base URL with " + " or ".join(others) + " to call the real API."
    return note


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = md_cell
    env.filters["md"] = to_html
    env.filters["md_inline"] = inline_html
    env.globals["servers_note_text"] = servers_note
    env.globals["field_notes"] = field_notes
    env.globals["local_base_url"] = curl.LOCAL_BASE_URL
    env.globals["api_key"] = curl.API_KEY
    return env


def render_all(api_path: Path = API_DOCUMENT, control_path: Path = CONTROL_DOCUMENT) -> dict[str, str]:
    """Every generated file as relative path -> text; pure, so tests can compare it with docs/."""
    api = document_view(load_document(api_path), "api", "api", f"openapi/{api_path.name}")
    control = document_view(load_document(control_path), "control", "mock-control", f"openapi/{control_path.name}")
    env = environment()
    files: dict[str, str] = {}
    documents = [api, control]
    files["README.md"] = env.get_template("index.md.j2").render(documents=documents)
    for view in documents:
        files[f"{view.folder}/README.md"] = env.get_template("document.md.j2").render(d=view)
        for tag in view.tags:
            files[f"{view.folder}/{tag.page}"] = env.get_template("tag.md.j2").render(d=view, tag=tag)
    files["index.html"] = env.get_template("reference.html.j2").render(documents=documents)
    return dict(sorted(files.items()))


def write_docs(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Write the files and delete generated files that are no longer produced; returns the changed paths."""
    changed = []
    for existing in sorted(out_dir.rglob("*")) if out_dir.exists() else []:
        rel = existing.relative_to(out_dir).as_posix()
        if existing.is_file() and existing.suffix in (".md", ".html") and rel not in files:
            existing.unlink()
            changed.append(rel)
    for rel, text in files.items():
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8", newline="\n")
            changed.append(rel)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DOCS_DIR, help="output folder (default: docs/)")
    parser.add_argument("--api", type=Path, default=API_DOCUMENT, help="the API document")
    parser.add_argument("--control", type=Path, default=CONTROL_DOCUMENT, help="the control plane document")
    args = parser.parse_args(argv)
    changed = write_docs(args.out, render_all(args.api, args.control))
    print(f"{args.out}: {len(changed)} file(s) changed" + "".join(f"\n  {p}" for p in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
