"""What changed between two versions of the API document, classified as breaking for integrators or not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from mock_server.spec import resolve
from spec_tools.fields import Field, flatten, make_field
from spec_tools.load import Document, Operation, iter_operations, json_media

# Policy keys that only explain; changing them changes no behaviour.
IDEMPOTENCY_PROSE = ("description", "reasons")


@dataclass(frozen=True, order=True)
class Change:
    breaking: bool
    where: str
    message: str

    def render(self) -> str:
        return f"{self.where}: {self.message}"


def _show(value: Any) -> str:
    return "null" if value is None else str(value)


def _enum_changes(where: str, what: str, old: Field, new: Field, request: bool) -> Iterator[Change]:
    if old.enum is None and new.enum is None:
        return
    if new.enum is not None and old.enum is None:
        yield Change(True, where, f"{what} is now restricted to {', '.join(map(_show, new.enum))}")
        return
    if new.enum is None:
        yield Change(False, where, f"{what} is no longer restricted to an enum")
        return
    assert old.enum is not None
    removed = [v for v in old.enum if v not in new.enum]
    added = [v for v in new.enum if v not in old.enum]
    if removed:
        yield Change(True, where, f"{what}: enum values removed: {', '.join(map(_show, removed))}")
    if added:
        side = "accepts" if request else "may now return"
        yield Change(False, where, f"{what} {side} new enum values: {', '.join(map(_show, added))}")


def _shape_changes(where: str, what: str, old: Field, new: Field, request: bool) -> Iterator[Change]:
    """Type, enum, pattern, ID prefix and nullability of a field or parameter that exists in both versions."""
    if old.wire_type != new.wire_type:
        yield Change(True, where, f"{what} changed type from {old.wire_type} to {new.wire_type}")
    yield from _enum_changes(where, what, old, new, request)
    if old.pattern != new.pattern:
        yield Change(True, where, f"{what} pattern changed from {old.pattern!r} to {new.pattern!r}")
    if old.id_prefix != new.id_prefix:
        yield Change(True, where, f"{what} ID prefix changed from {old.id_prefix!r} to {new.id_prefix!r}")
    if old.nullable != new.nullable:
        # A response field that may become null, or a request field that may no longer be null, breaks clients.
        breaking = new.nullable != request
        state = "nullable" if new.nullable else "no longer nullable"
        yield Change(breaking, where, f"{what} is now {state}")


def _request_fields(where: str, old: list[Field], new: list[Field]) -> Iterator[Change]:
    old_by, new_by = {f.name: f for f in old}, {f.name: f for f in new}
    for name, field in new_by.items():
        if name not in old_by:
            if field.required:
                yield Change(True, where, f"new required request field `{name}`")
            else:
                yield Change(False, where, f"new optional request field `{name}`")
            continue
        before = old_by[name]
        if field.required and not before.required:
            yield Change(True, where, f"request field `{name}` is now required")
        elif before.required and not field.required:
            yield Change(False, where, f"request field `{name}` is now optional")
        yield from _shape_changes(where, f"request field `{name}`", before, field, request=True)
    for name in old_by:
        if name not in new_by:
            # Unknown body fields are rejected (strict input), so clients still sending it now fail.
            yield Change(True, where, f"request field `{name}` removed (requests that send it are rejected)")


def _parent(name: str) -> str:
    """``a[].b`` -> ``a``; top-level fields have the parent ""."""
    return name.rsplit(".", 1)[0].removesuffix("[]") if "." in name else ""


def _response_fields(where: str, old: list[Field], new: list[Field]) -> Iterator[Change]:
    old_by, new_by = {f.name: f for f in old}, {f.name: f for f in new}
    removed = [name for name in old_by if name not in new_by]
    added = [name for name in new_by if name not in old_by]
    for name in removed:
        if _parent(name) in removed:
            continue  # reported with its removed parent
        siblings = [a for a in added if _parent(a) == _parent(name) and new_by[a].wire_type == old_by[name].wire_type]
        hint = f" (renamed to `{siblings[0]}`?)" if len(siblings) == 1 else ""
        yield Change(True, where, f"response field `{name}` removed{hint}")
    for name in added:
        if _parent(name) not in added:
            yield Change(False, where, f"new response field `{name}`")
    for name, field in new_by.items():
        before = old_by.get(name)
        if before is None:
            continue
        if before.required and not field.required:
            yield Change(True, where, f"response field `{name}` is no longer always present")
        yield from _shape_changes(where, f"response field `{name}`", before, field, request=False)


def _parameter(doc: Document, param: dict[str, Any]) -> Field:
    field = make_field(doc, str(param.get("name")), param.get("schema", {}), bool(param.get("required")))
    prefix = param.get("x-id-prefix")
    return field if prefix is None else replace(field, id_prefix=prefix)


def _parameters(where: str, old_doc: Document, new_doc: Document, old: Operation, new: Operation) -> Iterator[Change]:
    old_by = {(str(p.get("in")), str(p.get("name"))): _parameter(old_doc, p) for p in old.parameters}
    new_by = {(str(p.get("in")), str(p.get("name"))): _parameter(new_doc, p) for p in new.parameters}
    for key, param in new_by.items():
        what = f"{key[0]} parameter `{key[1]}`"
        before = old_by.get(key)
        if before is None:
            yield Change(param.required, where, f"new {'required' if param.required else 'optional'} {what}")
            continue
        if param.required and not before.required:
            yield Change(True, where, f"{what} is now required")
        yield from _shape_changes(where, what, before, param, request=True)
    for key in old_by:
        if key not in new_by:
            yield Change(True, where, f"{key[0]} parameter `{key[1]}` removed")


def _body(doc: Document, op: Operation) -> tuple[dict[str, Any] | None, list[Field]]:
    raw = op.node.get("requestBody")
    if raw is None:
        return None, []
    body = resolve(doc, raw)
    media = json_media(body) or {}
    return body, flatten(doc, media.get("schema")) if media.get("schema") else []


def _operation(old_doc: Document, new_doc: Document, old: Operation, new: Operation) -> Iterator[Change]:
    where = new.label
    if old.operation_id != new.operation_id:
        yield Change(True, where, f"operationId changed from {old.operation_id} to {new.operation_id}")
    yield from _parameters(where, old_doc, new_doc, old, new)
    old_body, old_fields = _body(old_doc, old)
    new_body, new_fields = _body(new_doc, new)
    if new_body is not None and new_body.get("required") and not (old_body or {}).get("required"):
        yield Change(True, where, "request body is now required")
    yield from _request_fields(where, old_fields, new_fields)
    old_responses, new_responses = old.node.get("responses") or {}, new.node.get("responses") or {}
    for status in old_responses:
        if status not in new_responses:
            yield Change(True, where, f"response status {status} removed")
    for status, raw in new_responses.items():
        if status not in old_responses:
            yield Change(False, where, f"new response status {status}")
            continue
        old_media = json_media(resolve(old_doc, old_responses[status])) or {}
        new_media = json_media(resolve(new_doc, raw)) or {}
        yield from _response_fields(
            f"{where} -> {status}",
            flatten(old_doc, old_media.get("schema")) if old_media.get("schema") else [],
            flatten(new_doc, new_media.get("schema")) if new_media.get("schema") else [],
        )


def _idempotency(old_doc: Document, new_doc: Document) -> Iterator[Change]:
    """The two versions' `x-idempotency` compared key by key.

    Deliberately not through the mock's reader: the versions compared (an older commit, a minimal document)
    need not be readable by today's reader, and a version diff must still say what changed. Only the window
    (shorter breaks) and the operation list (a removed operation breaks) are interpreted; any other changed
    key is reported as breaking, verbatim.
    """
    old, new = old_doc.get("x-idempotency"), new_doc.get("x-idempotency")
    where = "x-idempotency"
    if not isinstance(old, dict) or not isinstance(new, dict):
        if isinstance(old, dict):
            yield Change(True, where, "idempotency policy removed")
        elif isinstance(new, dict):
            yield Change(False, where, "idempotency policy added")
        return
    old_window, new_window = old.get("window_seconds"), new.get("window_seconds")
    if old_window != new_window:
        if isinstance(old_window, int) and isinstance(new_window, int):
            shorter = new_window < old_window
            verb = "shortened" if shorter else "lengthened"
        else:
            shorter, verb = True, "changed"
        yield Change(shorter, where, f"window {verb} from {old_window}s to {new_window}s")
    old_ops, new_ops = list(old.get("operations") or []), list(new.get("operations") or [])
    for name in old_ops:
        if name not in new_ops:
            yield Change(True, where, f"operation {name} no longer honours Idempotency-Key")
    for name in new_ops:
        if name not in old_ops:
            yield Change(False, where, f"operation {name} now honours Idempotency-Key")
    for key in sorted(set(old) | set(new)):
        if key in (*IDEMPOTENCY_PROSE, "window_seconds", "operations") or old.get(key) == new.get(key):
            continue
        yield Change(True, where, f"`{key}` changed from {old.get(key)!r} to {new.get(key)!r}")


def _error_catalog(old_doc: Document, new_doc: Document) -> Iterator[Change]:
    """Removed codes and changed statuses, compared as written in each version (see `_idempotency`)."""
    old = ((old_doc.get("x-error-catalog") or {}).get("codes")) or {}
    new = ((new_doc.get("x-error-catalog") or {}).get("codes")) or {}
    where = "x-error-catalog"
    for code, entry in old.items():
        if code not in new:
            yield Change(True, where, f"error code `{code}` removed")
        elif entry.get("status") != new[code].get("status"):
            yield Change(
                True,
                where,
                f"error code `{code}` status changed from {entry.get('status')} to {new[code].get('status')}",
            )
    for code in new:
        if code not in old:
            yield Change(False, where, f"new error code `{code}`")


def compare(old_doc: Document, new_doc: Document) -> list[Change]:
    """Every change, breaking first, then by place; duplicates (shared components) appear once per place."""
    old_ops = {(op.path, op.method): op for op in iter_operations(old_doc)}
    new_ops = {(op.path, op.method): op for op in iter_operations(new_doc)}
    changes: set[Change] = set()
    for key, op in old_ops.items():
        if key not in new_ops:
            changes.add(Change(True, op.label, f"operation {op.operation_id} removed"))
        else:
            changes.update(_operation(old_doc, new_doc, op, new_ops[key]))
    for key, op in new_ops.items():
        if key not in old_ops:
            changes.add(Change(False, op.label, f"new operation {op.operation_id}"))
    changes.update(_idempotency(old_doc, new_doc))
    changes.update(_error_catalog(old_doc, new_doc))
    return sorted(changes, key=lambda c: (not c.breaking, c.where, c.message))
