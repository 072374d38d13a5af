"""What the mock logs and how: one line per request (rejected ones and rehearsals at WARNING, with the reason),
through uvicorn's handlers at uvicorn's level, and no API key in any line at any level.

`attach` runs when the app starts serving (its lifespan), after uvicorn has configured logging, in every
worker process: the mock's logger prints through uvicorn's handlers, and every handler masks API keys
(`redaction.Redactor`) in each line and traceback - uvicorn's own lines too. It also silences uvicorn's
"returned without completing response" error for a response the `drop_after_commit` rehearsal cut short on
purpose: that request is logged as the rehearsal it is.
"""

from __future__ import annotations

import contextvars
import logging

from .errors import ApiError
from .redaction import Redactor

LOGGER = "coverbase_mock"
REQUESTS = "coverbase_mock.requests"
UVICORN = "uvicorn"
UVICORN_ERROR = "uvicorn.error"
UVICORN_ACCESS = "uvicorn.access"
UVICORN_INCOMPLETE = "ASGI callable returned without completing response."
MAX_ITEMS = 3  # validation problems named in one line

# Set in the task of a request whose answer a rehearsal withheld (each request runs in its own task).
withheld_by_rehearsal: contextvars.ContextVar[bool] = contextvars.ContextVar("withheld_by_rehearsal", default=False)


def reason(err: ApiError) -> str:
    """Why a request was rejected, from its documented error body: the code, the 422's loc and msg, or the detail."""
    detail = err.body.get("detail") if isinstance(err.body, dict) else None
    if isinstance(detail, list):
        items = [
            ".".join(str(part) for part in item.get("loc", [])) + ": " + str(item.get("msg", ""))
            for item in detail
            if isinstance(item, dict)
        ]
        more = f" (and {len(items) - MAX_ITEMS} more)" if len(items) > MAX_ITEMS else ""
        return "; ".join(items[:MAX_ITEMS]) + more
    if isinstance(detail, dict):
        if "code" in detail:
            return str(detail["code"])
        return str(detail.get("error", detail))
    return str(detail)


class RedactingFilter(logging.Filter):
    """A handler filter that masks API keys in the finished line and in the traceback."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == UVICORN_ACCESS and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's access formatter needs its arguments: mask the request target in place.
            client, method, target, version, status = record.args
            record.args = (client, method, self.redactor.scrub(str(target)), version, status)
            return True
        message = record.getMessage()
        record.msg, record.args = self.redactor.scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        return True


class RehearsedDrop(logging.Filter):
    """Drops uvicorn's error about an incomplete response when a rehearsal withheld the body on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (withheld_by_rehearsal.get() and record.getMessage() == UVICORN_INCOMPLETE)


def attach(redactor: Redactor) -> None:
    """Once uvicorn has configured logging: print the mock's lines through its handlers, mask keys everywhere."""
    ours = logging.getLogger(LOGGER)
    served_by = logging.getLogger(UVICORN)
    if served_by.handlers and not ours.handlers:
        for handler in served_by.handlers:
            ours.addHandler(handler)
        ours.setLevel(logging.getLogger(UVICORN_ERROR).getEffectiveLevel())
        ours.propagate = False
    handlers = {*served_by.handlers, *logging.getLogger(UVICORN_ACCESS).handlers, *ours.handlers}
    for handler in handlers:
        present = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        if present:
            present[0].redactor = redactor
        else:
            handler.addFilter(RedactingFilter(redactor))
    error = logging.getLogger(UVICORN_ERROR)
    if not any(isinstance(f, RehearsedDrop) for f in error.filters):
        error.addFilter(RehearsedDrop())
