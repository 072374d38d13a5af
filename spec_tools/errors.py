"""The errors an operation can answer, joined with the `x-error-catalog` entries that explain them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec_tools.load import Document, Operation, deref, json_media, media_examples, ref_name


@dataclass(frozen=True)
class ErrorRow:
    status: str
    code: str
    shape: str
    message: str
    when: str


def is_error_status(status: str) -> bool:
    return status[:1] in ("4", "5")


def catalog_rows(doc: Document) -> list[ErrorRow]:
    """Every catalogued error (coded, plain and free-form), sorted by status and code."""
    catalog = doc.get("x-error-catalog") or {}
    rows: list[ErrorRow] = []
    groups = (
        ("codes", "CodedError", "message"),
        ("plain", "PlainError", "detail"),
        ("free_form", "FreeFormError", "body"),
    )
    for group, shape, text_key in groups:
        for code, entry in (catalog.get(group) or {}).items():
            rows.append(
                ErrorRow(
                    str(entry.get("status")), str(code), shape, str(entry.get(text_key, "")), str(entry.get("when"))
                )
            )
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


def _catalog_entry(catalog: dict[str, Any], group: str, code: str) -> dict[str, Any]:
    entry = (catalog.get(group) or {}).get(code)
    return entry if isinstance(entry, dict) else {}


def operation_errors(doc: Document, op: Operation) -> list[ErrorRow]:
    """One row per error the operation documents; codes come from examples, ``when`` from the catalog."""
    catalog = doc.get("x-error-catalog") or {}
    rows: list[ErrorRow] = []
    for status, raw in sorted((op.node.get("responses") or {}).items()):
        status = str(status)
        if not is_error_status(status):
            continue
        response = deref(doc, raw)
        media = json_media(response) or {}
        shape = ref_name(media.get("schema")) or "-"
        description = " ".join(str(response.get("description", "")).split())
        codes = coded_example_codes(doc, response)
        for code in codes:
            entry = _catalog_entry(catalog, "codes", code)
            rows.append(
                ErrorRow(status, code, shape, str(entry.get("message", "")), str(entry.get("when", description)))
            )
        if codes:
            continue
        matched = _uncoded_match(catalog, status, media, doc)
        if matched:
            code, entry, text = matched
            rows.append(ErrorRow(status, code, shape, text, str(entry.get("when", description))))
        else:
            rows.append(ErrorRow(status, "-", shape, "", description))
    return rows


def _uncoded_match(
    catalog: dict[str, Any], status: str, media: dict[str, Any], doc: Document
) -> tuple[str, dict[str, Any], str] | None:
    """The plain or free-form catalog entry with this status (plain ones must also match the example text)."""
    details = [v.get("detail") for _, v in media_examples(media, doc) if isinstance(v, dict)]
    for code, entry in sorted((catalog.get("plain") or {}).items()):
        if str(entry.get("status")) == status and entry.get("detail") in details:
            return str(code), entry, str(entry.get("detail"))
    for code, entry in sorted((catalog.get("free_form") or {}).items()):
        if str(entry.get("status")) == status and any(isinstance(d, dict) and "error" in d for d in details):
            return str(code), entry, str(entry.get("body"))
    return None
