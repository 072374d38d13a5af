"""The `x-idempotency` policy of a document, as the mock reads it, put into plain sentences for the reference docs."""

from __future__ import annotations

from mock_server.spec import IdempotencyPolicy, IdempotencyTerms, idempotency_policy, idempotency_terms
from spec_tools.load import Document

SCOPE_WORDS = {"org": "the API key's organization", "method": "the HTTP method", "path": "the concrete request path"}


def read_policy(doc: Document) -> tuple[IdempotencyPolicy, IdempotencyTerms] | None:
    """The document's policy and its stated terms, or None when it has no `x-idempotency`."""
    if "x-idempotency" not in doc:
        return None
    return idempotency_policy(doc), idempotency_terms(doc)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''} ({seconds} seconds)"
    return f"{seconds} seconds"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _window(policy: IdempotencyPolicy, terms: IdempotencyTerms) -> str:
    seconds = policy.window_seconds
    start = terms.window_start.replace("_", " ")
    sentence = f"A key is remembered for {_duration(seconds)} from its {start}; the window never slides."
    if policy.boundary_exclusive:
        sentence += (
            f" A key first used at second T replays up to and including T + {seconds - 1};"
            f" from T + {seconds} on the same key starts a new execution."
        )
    return sentence


def _replay(terms: IdempotencyTerms) -> str:
    parts = []
    if terms.replay_status == "original":
        parts.append("the original status")
    if terms.replay_body == "original":
        parts.append("the original body verbatim")
    sentence = "A replay within the window returns " + (_join(parts) or "the stored response")
    sentence += " and creates nothing new"
    if terms.replay_headers == "none":
        sentence += "; no header marks it as a replay"
    return sentence + "."


def _mismatch(terms: IdempotencyTerms) -> str:
    if terms.body_mismatch == "replay_original":
        return "Reusing a key with a different body is not rejected: the original response is replayed."
    return f"Reusing a key with a different body: `{terms.body_mismatch}`."


def _concurrency(terms: IdempotencyTerms) -> str:
    if terms.concurrency == "single_execution":
        return (
            "Concurrent requests with the same key wait for the first one and then receive its stored response,"
            " so exactly one execution happens per stored outcome."
        )
    return f"Concurrent requests with the same key: `{terms.concurrency}`."


def _stored(policy: IdempotencyPolicy) -> str:
    return (
        f"Only responses with a status from {policy.stored_min} to {policy.stored_max} are stored; any other outcome"
        " can be retried with the same key."
    )


def _key(policy: IdempotencyPolicy) -> str:
    key = policy.key
    return (
        f"The `{policy.header}` header is optional; without it there is no idempotency. A key is"
        f" {key.min_length} to {key.max_length} characters matching `{key.pattern.pattern}`"
        f"; an invalid key is rejected with `{key.invalid_status}` (`{key.invalid_type}`) and starts nothing."
    )


def plain_sentences(policy: IdempotencyPolicy, terms: IdempotencyTerms) -> list[str]:
    """The contract as a list of sentences, in the order an integrator needs them."""
    scope = [SCOPE_WORDS.get(part, f"`{part}`") for part in policy.scope]
    sentences = [
        _key(policy),
        f"Keys are scoped to {_join(scope)}: the same key elsewhere is independent.",
        _window(policy, terms),
        _replay(terms),
        _mismatch(terms),
        _concurrency(terms),
        _stored(policy),
    ]
    if terms.validation_before_lookup:
        sentences.append(
            "Authentication and request validation run before the key is looked up: a request that fails"
            " them never consumes or replays a key."
        )
    return sentences


def reasons(terms: IdempotencyTerms) -> list[tuple[str, str]]:
    """The documented reasons for each decision, sorted by the policy key they explain."""
    return sorted((key, " ".join(text.split())) for key, text in terms.reasons)
