"""Assertions of the checks: each names what it checks, carries the field-level diff, the evidence and a re-check.

`decision=` names the document's Decision an assertion checks (None: a documented fact). Every value an
assertion reads from an answer is read with `get`, which turns an answer of the wrong shape into a
violation instead of a crash of the check.
"""

from __future__ import annotations

from typing import Any

from .client import Reply
from .diff import MISSING, Mismatch, diff, resolve, show
from .document import CodedError
from .outcome import ScriptCheck, Violation
from .verdicts import judge

STATUS = "#status"  # a pseudo-pointer for the status of an answer in field-level expectations


def _exchanges(replies: tuple[Reply, ...]) -> list[Any]:
    return [r.exchange for r in replies if r is not None]


def _label(what: str, decision: str | None) -> str:
    return f"{what} [Decision {decision}]" if decision else what


def fail(message: str, *replies: Reply, decision: str | None = None) -> Violation:
    """A violation to raise now (for facts that end the check)."""
    last = replies[-1] if replies else None
    script = ScriptCheck("answer", last.exchange, last.status) if last is not None else None
    return Violation(_label(message, decision), _exchanges(replies), decision=decision, script=script)


def premise(condition: bool, what: str, *replies: Reply, script: ScriptCheck | None = None) -> None:
    """A premise the property needs (the first request created something, counts moved): a failure if not met."""
    if not condition:
        last = replies[-1] if replies else None
        if script is None and last is not None:
            script = ScriptCheck("answer", last.exchange, last.status)
        raise Violation(f"could not establish {what}", _exchanges(replies), script=script)


def premise_status(reply: Reply, expected: int, what: str, *context: Reply) -> None:
    """The premise that `reply` answered `expected` (e.g. the first request created something: 201)."""
    premise(
        reply.status == expected,
        f"{what} (expected {expected}, got {reply.status})",
        *context,
        reply,
        script=ScriptCheck("status", reply.exchange, [expected]),
    )


def premise_delta(
    before: Reply, after: Reply, expected: int, what: str, *context: Reply, pointer: str = "/total"
) -> None:
    """The premise that the integer at `pointer` moved by `expected` (e.g. a list's total counted a new run)."""
    moved = get(after, pointer, int) - get(before, pointer, int)
    premise(
        moved == expected,
        f"{what} ({pointer} moved by {moved}, not {expected})",
        before,
        *context,
        after,
        script=ScriptCheck("delta", after.exchange, expected, pointer, other=before.exchange),
    )


def status(reply: Reply, expected: int | list[int], what: str, *, decision: str | None = None) -> bool:
    allowed = expected if isinstance(expected, list) else [expected]
    if reply.status in allowed:
        return True
    wanted = " or ".join(str(s) for s in allowed)
    judge(
        Violation(
            _label(f"{what}: expected status {wanted}, got {reply.status}", decision),
            [reply.exchange],
            mismatches=[Mismatch(STATUS, expected, reply.status)],
            decision=decision,
            script=ScriptCheck("status", reply.exchange, allowed),
        )
    )
    return False


def equal(actual: Any, expected: Any, what: str, *replies: Reply, decision: str | None = None) -> bool:
    """`actual` (computed by the check from `replies`) equals `expected`."""
    found = diff(expected, actual)
    if not found:
        return True
    last = replies[-1] if replies else None
    judge(
        Violation(
            _label(what, decision),
            _exchanges(replies),
            mismatches=found,
            decision=decision,
            script=ScriptCheck("answer", last.exchange, last.status) if last is not None else None,
        )
    )
    return False


def fields(reply: Reply, expected: dict[str, Any], what: str, *, decision: str | None = None) -> bool:
    """Each JSON pointer of the answer's body (or STATUS) holds the expected value."""
    found: list[Mismatch] = []
    for pointer, value in expected.items():
        if pointer == STATUS:
            found += [Mismatch(STATUS, value, reply.status)] if reply.status != value else []
        else:
            found += diff(value, resolve(reply.body, pointer), pointer)
    if not found:
        return True
    judge(
        Violation(
            _label(what, decision),
            [reply.exchange],
            mismatches=found,
            decision=decision,
            script=ScriptCheck("json", reply.exchange, expected),
        )
    )
    return False


def same(first: Reply, again: Reply, what: str, *context: Reply, decision: str | None = None) -> bool:
    """`again` got the identical status and body as `first`."""
    found = [Mismatch(STATUS, first.status, again.status)] if first.status != again.status else []
    found += diff(first.body, again.body)
    if not found:
        return True
    judge(
        Violation(
            _label(what, decision),
            _exchanges((*context, first, again)),
            mismatches=found,
            decision=decision,
            script=ScriptCheck("same", again.exchange, other=first.exchange),
        )
    )
    return False


def differs(first: Reply, again: Reply, pointer: str, what: str, *context: Reply, decision: str | None = None) -> bool:
    """The value at `pointer` of `again`'s answer differs from `first`'s."""
    if resolve(again.body, pointer) != resolve(first.body, pointer):
        return True
    judge(
        Violation(
            _label(f"{what}: {pointer} is {show(resolve(again.body, pointer))} in both answers", decision),
            _exchanges((*context, first, again)),
            decision=decision,
            script=ScriptCheck("differs", again.exchange, pointer=pointer, other=first.exchange),
        )
    )
    return False


def delta(
    before: Reply,
    after: Reply,
    expected: int,
    what: str,
    *context: Reply,
    pointer: str = "/total",
    decision: str | None = None,
) -> bool:
    """The integer at `pointer` grew by exactly `expected` from `before` to `after` (e.g. a list's total)."""
    old, new = get(before, pointer, int), get(after, pointer, int)
    if new - old == expected:
        return True
    judge(
        Violation(
            _label(f"{what}: {pointer} moved by {new - old} ({old} -> {new})", decision),
            _exchanges((*context, before, after)),
            mismatches=[Mismatch(f"{pointer} (difference)", expected, new - old)],
            decision=decision,
            script=ScriptCheck("delta", after.exchange, expected, pointer, other=before.exchange),
        )
    )
    return False


def true(condition: bool, what: str, *replies: Reply, decision: str | None = None, check: str | None = None) -> bool:
    """`condition` holds; `check` is the same condition as a Python expression over the last reply's `body`,
    `status` and `headers`, for a reproduction script to re-check (without it the script can only show the answer).
    """
    if condition:
        return True
    last = replies[-1] if replies else None
    script = None
    if last is not None:
        script = (
            ScriptCheck("expr", last.exchange, check) if check else ScriptCheck("answer", last.exchange, last.status)
        )
    judge(Violation(_label(what, decision), _exchanges(replies), decision=decision, script=script))
    return False


def coded(reply: Reply, error: CodedError, what: str, *, decision: str | None = None, **values: str) -> bool:
    """The reply is exactly the catalogued error: its status and its body, placeholders filled."""
    body = error.body(**values)
    expected = {
        STATUS: error.status,
        "/detail/code": body["detail"]["code"],
        "/detail/message": body["detail"]["message"],
    }
    if not fields(reply, expected, what, decision=decision):
        return False
    return equal(reply.body, body, f"{what}: the body holds nothing else", reply, decision=decision)


def coded_as(reply: Reply, error: CodedError, what: str, *, decision: str | None = None) -> bool:
    """The reply is the catalogued error's status and code; its message is free (the catalog gives none that a
    deployment must repeat word for word, e.g. `{reason}`)."""
    return fields(reply, {STATUS: error.status, "/detail/code": error.code}, what, decision=decision)


def get(reply: Reply, pointer: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """The value at `pointer` of the answer; an answer without it (or of another type) is a violation."""
    value = resolve(reply.body, pointer)
    if value is MISSING or (kind is not None and not _is(value, kind)):
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind or ())
        shown = "nothing" if value is MISSING else show(value)
        raise Violation(
            f"the answer ({reply.status}) has no usable {pointer or 'body'}{' (' + wanted + ')' if wanted else ''}:"
            f" got {shown}",
            [reply.exchange],
            mismatches=[Mismatch(pointer, f"a {wanted or 'value'}", value)],
            script=ScriptCheck("answer", reply.exchange, reply.status),
        )
    return value


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # JSON true is not an integer
    return isinstance(value, kinds)
