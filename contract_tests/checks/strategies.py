"""Hypothesis strategies for the values the property checks vary."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from ..document import IdempotencyPolicy

VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
SAFE_NAME = string.ascii_lowercase + string.digits + "-"


def run_inputs() -> st.SearchStrategy[dict[str, Any]]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(string.printable, max_size=12))
    values = st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(SAFE_NAME, min_size=1, max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )
    return st.dictionaries(st.text(SAFE_NAME, min_size=1, max_size=10), values, max_size=4)


def valid_keys(policy: IdempotencyPolicy) -> st.SearchStrategy[str]:
    """Keys the policy accepts; a fixed prefix keeps them recognisable and unique per example."""
    return st.text(VISIBLE_ASCII, min_size=policy.key_min, max_size=min(policy.key_max, 40)).filter(
        lambda k: policy.key_pattern.fullmatch(k) is not None
    )


def invalid_keys(policy: IdempotencyPolicy) -> st.SearchStrategy[tuple[str, bytes]]:
    """(kind, raw header value) of keys the policy rejects; whitespace only inside, so no hop strips it."""
    visible = st.text(VISIBLE_ASCII, min_size=1, max_size=10)
    inner_space = st.tuples(visible, st.sampled_from([" ", "\t"]), visible).map(
        lambda t: ("pattern", "".join(t).encode())
    )
    high = st.tuples(visible, st.characters(min_codepoint=0x80, max_codepoint=0xFF), visible).map(
        lambda t: ("pattern", "".join(t).encode("latin-1"))
    )
    too_long = st.integers(policy.key_max + 1, policy.key_max + 50).map(lambda n: ("length", b"k" * n))
    strategies = [inner_space, high, too_long]
    if policy.key_min > 0:
        strategies.append(st.just(("length", b"")))
    return st.one_of(*strategies)
