"""The `x-idempotency` policy of a document, put into plain sentences for the reference docs."""

from __future__ import annotations

from typing import Any

from spec_tools.load import Document, Operation, resolve_pointer

SCOPE_WORDS = {"org": "the API key's organization", "method": "the HTTP method", "path": "the concrete request path"}


def policy_for(doc: Document, op: Operation) -> dict[str, Any] | None:
    """The policy an operation points at with ``x-idempotency``, if it is also listed in the policy's operations."""
    ref = op.node.get("x-idempotency")
    if not isinstance(ref, str):
        return None
    try:
        policy = resolve_pointer(doc, ref)
    except KeyError:
        return None
    if not isinstance(policy, dict) or op.operation_id not in (policy.get("operations") or []):
        return None
    return policy


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''} ({seconds} seconds)"
    return f"{seconds} seconds"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _window(policy: dict[str, Any]) -> str:
    seconds = int(policy.get("window_seconds", 0))
    start = str(policy.get("window_start", "first_use")).replace("_", " ")
    sentence = f"A key is remembered for {_duration(seconds)} from its {start}; the window never slides."
    if policy.get("window_boundary") == "exclusive":
        sentence += (
            f" A key first used at second T replays up to and including T + {seconds - 1};"
            f" from T + {seconds} on the same key starts a new execution."
        )
    return sentence


def _replay(policy: dict[str, Any]) -> str:
    replay = policy.get("replay") or {}
    parts = []
    if replay.get("status") == "original":
        parts.append("the original status")
    if replay.get("body") == "original":
        parts.append("the original body verbatim")
    sentence = "A replay within the window returns " + (_join(parts) or "the stored response")
    sentence += " and creates nothing new"
    if replay.get("headers") == "none":
        sentence += "; no header marks it as a replay"
    return sentence + "."


def _mismatch(policy: dict[str, Any]) -> str:
    mode = policy.get("body_mismatch")
    if mode == "replay_original":
        return "Reusing a key with a different body is not rejected: the original response is replayed."
    return f"Reusing a key with a different body: `{mode}`."


def _concurrency(policy: dict[str, Any]) -> str:
    if policy.get("concurrency") == "single_execution":
        return (
            "Concurrent requests with the same key wait for the first one and then receive its stored response,"
            " so exactly one execution happens per stored outcome."
        )
    return f"Concurrent requests with the same key: `{policy.get('concurrency')}`."


def _stored(policy: dict[str, Any]) -> str:
    stored = policy.get("stored_statuses") or {}
    low, high = stored.get("min"), stored.get("max")
    return (
        f"Only responses with a status from {low} to {high} are stored; any other outcome"
        " can be retried with the same key."
    )


def _key(policy: dict[str, Any]) -> str:
    key = policy.get("key") or {}
    header = policy.get("header", "Idempotency-Key")
    sentence = (
        f"The `{header}` header is optional; without it there is no idempotency. A key is"
        f" {key.get('min_length')} to {key.get('max_length')} characters matching `{key.get('pattern')}`"
    )
    if "invalid_status" in key:
        sentence += f"; an invalid key is rejected with `{key['invalid_status']}`"
        if "invalid_type" in key:
            sentence += f" (`{key['invalid_type']}`)"
        sentence += " and starts nothing"
    return sentence + "."


def plain_sentences(policy: dict[str, Any]) -> list[str]:
    """The contract as a list of sentences, in the order an integrator needs them."""
    scope = [SCOPE_WORDS.get(str(part), f"`{part}`") for part in policy.get("scope") or []]
    sentences = [
        _key(policy),
        f"Keys are scoped to {_join(scope)}: the same key elsewhere is independent.",
        _window(policy),
        _replay(policy),
        _mismatch(policy),
        _concurrency(policy),
        _stored(policy),
    ]
    if policy.get("validation_before_lookup"):
        sentences.append(
            "Authentication and request validation run before the key is looked up: a request that fails"
            " them never consumes or replays a key."
        )
    return sentences


def reasons(policy: dict[str, Any]) -> list[tuple[str, str]]:
    """The documented reasons for each decision, sorted by the policy key they explain."""
    return sorted((str(k), " ".join(str(v).split())) for k, v in (policy.get("reasons") or {}).items())
