"""API keys masked in any text the mock writes down (journal, log lines), in any encoding a request carries them.

A key may arrive raw, percent-encoded (`ak%5Flive%5F...`, any hex case, even double-encoded `%255F`), as JSON
or Python escapes (`\\u0061k_...`, `\\x61k_...`), or any mix of these per character, in the path, the query,
a header or the body. Two passes find them: every key of the key ring anywhere, and anything shaped like an
API key (`ak_` and at least four key characters, the fixtures' key pattern) that starts a word - a real key
sent to the mock by mistake is masked too. A match is replaced by `auth.mask_key` of what it decodes to.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from urllib.parse import unquote

from .auth import mask_key

KEY_PREFIX = "ak_"
KEY_CHARACTERS = string.ascii_letters + string.digits + "_"
MIN_SHAPED_TAIL = 4  # characters after `ak_` before a word counts as a key
# Texts without any of these cannot hold a key: the common case costs one search.
_MAYBE = re.compile(r"ak_|%|\\", re.IGNORECASE)
_ESCAPE = re.compile(r"\\u00([0-9a-f]{2})|\\x([0-9a-f]{2})", re.IGNORECASE)


def _hex_alternatives(characters: str) -> str:
    return "|".join(sorted({f"{ord(c):02x}" for c in characters}))


def _encoded(hex_codes: str) -> str:
    """The encodings of one character whose code is one of `hex_codes` (an alternation of two hex digits)."""
    return rf"%(?:25)?(?:{hex_codes})|\\u00(?:{hex_codes})|\\x(?:{hex_codes})"


def _character(c: str) -> str:
    """A pattern for the character `c`, raw or encoded."""
    return rf"(?:{re.escape(c)}|{_encoded(f'{ord(c):02x}')})"


_KEY_CHARACTER = rf"(?:[A-Za-z0-9_]|{_encoded(_hex_alternatives(KEY_CHARACTERS))})"
_SHAPED = r"(?<![A-Za-z0-9])" + "".join(_character(c) for c in KEY_PREFIX) + _KEY_CHARACTER + f"{{{MIN_SHAPED_TAIL},}}"


def decode(text: str) -> str:
    """What an encoded key stands for: escapes and (double) percent-encoding undone."""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
    return unquote(unquote(text))


class Redactor:
    """Masks the key ring's keys and key-shaped words in a text; built once per app (patterns compiled once)."""

    def __init__(self, keys: Iterable[str]) -> None:
        known = sorted(set(keys), key=len, reverse=True)
        patterns = ["".join(_character(c) for c in key) for key in known if key]
        self._known = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None
        self._shaped = re.compile(_SHAPED, re.IGNORECASE)

    def scrub(self, text: str) -> str:
        if not text or _MAYBE.search(text) is None:
            return text
        if self._known is not None:
            text = self._known.sub(_masked, text)
        return self._shaped.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    return mask_key(decode(match.group(0)))
