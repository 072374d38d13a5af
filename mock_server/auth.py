"""Bearer API keys -> organization, compared in constant time; plugged into connexion's security."""

from __future__ import annotations

import hmac
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.security import BearerSecurityHandler

from .fixtures import Fixtures
from .runtime import from_scope


def org_for_key(fixtures: Fixtures, presented: str) -> str | None:
    """Compare against every key without stopping early, so timing does not reveal a prefix match."""
    candidate = presented.encode("utf-8", "surrogateescape")
    found: str | None = None
    for org in fixtures.orgs:
        for key in org.api_keys:
            if hmac.compare_digest(candidate, key.encode("utf-8")):
                found = org.id
    return found


def mask_key(value: str) -> str:
    """What may be shown of a credential: its scheme and the last four characters."""
    scheme, _, token = value.partition(" ")
    if not token:
        scheme, token = "", value
    shown = token[-4:] if len(token) > 8 else ""
    return f"{scheme} ****{shown}".strip()


def verify_token(token: str, request: ConnexionRequest) -> dict[str, Any] | None:
    runtime = from_scope(request.scope)
    org_id = org_for_key(runtime.fixtures, token)
    if org_id is None and "auth_not_enforced" in runtime.settings.faults:
        org_id = runtime.fixtures.orgs[0].id
    if org_id is None:
        return None
    return {"sub": org_id}


class OrgBearerHandler(BearerSecurityHandler):
    """connexion's bearer handler, always verifying with `verify_token` (no x-bearerInfoFunc)."""

    def _resolve_func(self, security_scheme: dict[str, Any]) -> Any:
        return verify_token
