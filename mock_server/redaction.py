"""API keys masked in any text the mock writes down (journal, log lines), in any encoding a request carries them.

A key may arrive raw, percent-encoded (`ak%5Flive%5F...`, any hex case, even double-encoded `%255F`), as JSON
or Python escapes (`\\u0061k_...`, `\\x61k_...`), or any mix of these per character, in the path, the query,
a header or the body. The text is decoded once (keeping where each character came from), then every word
that starts with `ak_` (any case) is masked when it begins with a key of the key ring, or when it is shaped
like an API key itself (`ak_` and at least four key characters, starting a word): a real key sent to the mock
by mistake is masked too. The mask (`auth.mask_key`) replaces the word's characters as they were sent.

Every request's path, query, headers and body pass here, so the common case - nothing that could be a key -
costs a few substring searches.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from .auth import mask_key

KEY_PREFIX = "ak_"
MIN_SHAPED_TAIL = 4  # key characters after `ak_` before a word counts as a key
WORD_CHARACTERS = frozenset(string.ascii_letters + string.digits)
# ASCII only: lower-casing must keep every character where it is (str.lower may lengthen some).
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ESCAPED = re.compile(r"%(?:25)?([0-9A-Fa-f]{2})|\\u00([0-9A-Fa-f]{2})|\\x([0-9A-Fa-f]{2})")
_KEY_TAIL = re.compile(r"[A-Za-z0-9_]*")


def decode(text: str) -> str:
    """What an encoded text stands for: escapes and (double) percent-encoding undone, one character each."""
    return _decoded(text)[0]


def _decoded(text: str) -> tuple[str, list[int]]:
    """The text with escapes undone, and where each decoded character starts in `text` (plus its end)."""
    pieces: list[str] = []
    starts: list[int] = []
    at = 0
    for escape in _ESCAPED.finditer(text):
        pieces.append(text[at : escape.start()])
        starts.extend(range(at, escape.start()))
        pieces.append(chr(int(escape.group(1) or escape.group(2) or escape.group(3), 16)))
        starts.append(escape.start())
        at = escape.end()
    pieces.append(text[at:])
    starts.extend(range(at, len(text) + 1))
    return "".join(pieces), starts


class Redactor:
    """Masks the key ring's keys and key-shaped words in a text."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._known = tuple(sorted({key.lower() for key in keys if key}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        if not text:
            return text
        encoded = "%" in text or "\\" in text
        decoded, starts = _decoded(text) if encoded else (text, None)
        if KEY_PREFIX not in decoded.lower():
            return text
        lowered = decoded.translate(_ASCII_LOWER)
        at = lowered.find(KEY_PREFIX)
        spans: list[tuple[int, int]] = []
        while at >= 0:
            match = _KEY_TAIL.match(lowered, at + len(KEY_PREFIX))
            end = match.end() if match is not None else at + len(KEY_PREFIX)
            if self._is_key(lowered, at, end):
                spans.append((at, end))
                at = lowered.find(KEY_PREFIX, end)
            else:
                at = lowered.find(KEY_PREFIX, at + 1)
        for begin, end in reversed(spans):
            masked = mask_key(decoded[begin:end])
            if starts is not None:
                begin, end = starts[begin], starts[end]
            text = text[:begin] + masked + text[end:]
        return text

    def _is_key(self, lowered: str, begin: int, end: int) -> bool:
        word = lowered[begin:end]
        if any(word.startswith(key) for key in self._known):
            return True
        starts_a_word = begin == 0 or lowered[begin - 1] not in WORD_CHARACTERS
        return starts_a_word and end - begin - len(KEY_PREFIX) >= MIN_SHAPED_TAIL
