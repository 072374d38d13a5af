"""Bearer API keys -> organization: the one rule that reads credentials, for both lanes and the journal."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers

from .fixtures import Fixtures


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class KeyRing:
    """API keys of a world, looked up by their SHA-256 digest: the lookup time depends on the digest,
    never on how many leading characters of a real key were guessed right."""

    def __init__(self, fixtures: Fixtures) -> None:
        self._by_digest = {_digest(key): org.id for org in fixtures.orgs for key in org.api_keys}
        self._keys = [key for org in fixtures.orgs for key in org.api_keys]

    def org_for(self, token: str) -> str | None:
        return self._by_digest.get(_digest(token))

    def all_keys(self) -> list[str]:
        """Every key, to mask them wherever they appear (journal, logs)."""
        return list(self._keys)


def bearer_token(headers: Headers) -> str | None:
    """The token of the first Authorization header when its scheme is Bearer (case-insensitive)."""
    authorization = headers.get("authorization")
    if not authorization:
        return None
    parts = authorization.split(maxsplit=1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


def authenticate(rt: Any, scope: Mapping[str, Any]) -> str | None:
    """The organization whose key the request presents, or None (a 401)."""
    token = bearer_token(Headers(raw=scope["headers"]))
    return rt.keys.org_for(token) if token is not None else None


def mask_key(value: str) -> str:
    """What may be shown of a credential: its scheme and the last four characters."""
    scheme, _, token = value.partition(" ")
    if not token:
        scheme, token = "", value
    shown = token[-4:] if len(token) > 8 else ""
    return f"{scheme} ****{shown}".strip()
