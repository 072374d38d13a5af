"""One execution, one transaction: everything a request writes commits together, or nothing does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import CommittedError

if TYPE_CHECKING:
    from .store import Store

Outcome = tuple[int, Any]


def atomically(store: Store, execute: Callable[[], Outcome], after: Callable[[Outcome], None] | None = None) -> Outcome:
    """Run `execute` (and `after`, with its outcome) in one transaction of `store`.

    An ApiError rolls everything back, except a CommittedError: the documented answer of a call whose
    writes stand (the `502 workflow_dispatch_failed` of a run row that exists), which commits first.
    """
    kept: CommittedError | None = None
    with store.transaction():
        try:
            outcome = execute()
        except CommittedError as error:
            kept = error
        else:
            if after is not None:
                after(outcome)
    if kept is not None:
        raise kept
    return outcome
