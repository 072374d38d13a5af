"""The errors an operation can answer, joined with the `x-error-catalog` entries that explain them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_server import spec
from mock_server.spec import resolve
from spec_tools.load import Document, Operation, json_media, media_examples, ref_name


@dataclass(frozen=True)
class ErrorRow:
    status: str
    code: str
    shape: str
    message: str
    when: str


def is_error_status(status: str) -> bool:
    return status[:1] in ("4", "5")


SHAPES = {"codes": "CodedError", "plain": "PlainError", "free_form": "FreeFormError"}


def catalog_rows(doc: Document) -> list[ErrorRow]:
    """Every catalogued error (coded, plain and free-form), sorted by status and code."""
    if "x-error-catalog" not in doc:
        return []
    rows = [ErrorRow(str(e.status), e.name, SHAPES[e.group], e.text, e.when or "") for e in spec.catalog_entries(doc)]
    return sorted(rows, key=lambda row: (row.status, row.code))


def coded_example_codes(doc: Document, response: dict[str, Any]) -> list[str]:
    """``detail.code`` values of a response's examples, in example order."""
    media = json_media(response)
    codes: list[str] = []
    for _, value in media_examples(media, doc) if media else []:
        detail = value.get("detail") if isinstance(value, dict) else None
        if isinstance(detail, dict) and isinstance(detail.get("code"), str) and detail["code"] not in codes:
            codes.append(detail["code"])
    return codes


def _catalog(doc: Document) -> dict[tuple[str, str], spec.CatalogEntry]:
    entries = spec.catalog_entries(doc) if "x-error-catalog" in doc else []
    return {(entry.group, entry.name): entry for entry in entries}


def operation_errors(doc: Document, op: Operation) -> list[ErrorRow]:
    """One row per error the operation documents; codes come from examples, ``when`` from the catalog."""
    catalog = _catalog(doc)
    rows: list[ErrorRow] = []
    for status, raw in sorted((op.node.get("responses") or {}).items()):
        status = str(status)
        if not is_error_status(status):
            continue
        response = resolve(doc, raw)
        media = json_media(response) or {}
        shape = ref_name(media.get("schema")) or "-"
        description = " ".join(str(response.get("description", "")).split())
        codes = coded_example_codes(doc, response)
        for code in codes:
            entry = catalog.get(("codes", code))
            message = entry.text if entry else ""
            rows.append(ErrorRow(status, code, shape, message, _when(entry, description)))
        if codes:
            continue
        matched = _uncoded_match(catalog, status, media, doc)
        if matched:
            rows.append(ErrorRow(status, matched.name, shape, matched.text, _when(matched, description)))
        else:
            rows.append(ErrorRow(status, "-", shape, "", description))
    return rows


def _when(entry: spec.CatalogEntry | None, fallback: str) -> str:
    return entry.when if entry is not None and entry.when is not None else fallback


def _uncoded_match(
    catalog: dict[tuple[str, str], spec.CatalogEntry], status: str, media: dict[str, Any], doc: Document
) -> spec.CatalogEntry | None:
    """The plain or free-form catalog entry with this status (plain ones must also match the example text)."""
    details = [v.get("detail") for _, v in media_examples(media, doc) if isinstance(v, dict)]
    entries = sorted(catalog.values(), key=lambda e: e.name)
    for entry in entries:
        if entry.group == "plain" and str(entry.status) == status and entry.text in details:
            return entry
    free_form_example = any(isinstance(d, dict) and "error" in d for d in details)
    for entry in entries:
        if entry.group == "free_form" and str(entry.status) == status and free_form_example:
            return entry
    return None
