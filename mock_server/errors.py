"""Every error body the mock sends is built here; handlers raise, they never assemble dicts."""

from __future__ import annotations

import json
from typing import Any

from .spec import CodedErrorSpec

JSONBody = dict[str, Any]


class ApiError(Exception):
    """An error answer: a status and a documented body."""

    def __init__(self, status: int, body: JSONBody, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {json.dumps(body)}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class CommittedError(ApiError):
    """An error answer for a call whose writes stand: they commit, then the error is sent (see execution.py)."""


class ErrorFactory:
    """Builds errors from the document's `x-error-catalog`."""

    def __init__(
        self,
        catalog: dict[str, CodedErrorSpec],
        plain: dict[str, tuple[int, str]],
        challenge: dict[str, str] | None = None,
    ) -> None:
        self._catalog = catalog
        self._plain = plain
        self._challenge = challenge or {}  # the Unauthorized response's fixed headers (WWW-Authenticate)

    def coded(self, code: str, **fields: str) -> ApiError:
        entry = self._catalog[code]
        message = entry.message.format(**fields) if fields else entry.message
        return ApiError(entry.status, {"detail": {"code": entry.code, "message": message}})

    def committed(self, code: str, **fields: str) -> CommittedError:
        """A coded error whose request's writes are kept (e.g. the failed run row of a dispatch failure)."""
        error = self.coded(code, **fields)
        return CommittedError(error.status, error.body, error.headers)

    def plain(self, name: str, headers: dict[str, str] | None = None) -> ApiError:
        status, detail = self._plain[name]
        return ApiError(status, {"detail": detail}, headers)

    def unauthorized(self) -> ApiError:
        return self.plain("invalid_api_key", dict(self._challenge))

    def not_found_route(self) -> ApiError:
        return self.plain("not_found")

    def method_not_allowed(self, allow: list[str]) -> ApiError:
        return self.plain("method_not_allowed", {"Allow": ", ".join(allow)})

    @staticmethod
    def free_form(status: int, error: str) -> ApiError:
        return ApiError(status, {"detail": {"error": error}})

    @staticmethod
    def validation(errors: list[JSONBody], status: int = 422) -> ApiError:
        return ApiError(status, {"detail": errors})

    @staticmethod
    def validation_item(loc: list[str | int], msg: str, type_: str) -> JSONBody:
        return {"loc": loc, "msg": msg, "type": type_}
