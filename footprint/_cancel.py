"""Whether the optimiser run in this thread was asked to stop (its Cancel button).

The run's loops that stop at a deadline (enumerating floor sets, recombining footprints,
moving single units) read this beside the clock, so that a cancelled run ends its current
step at once rather than when that step's share of the time is spent. The run's
bookkeeping (:class:`footprint.optimiser.budget.Run`) sets it when it is made; a run
in another thread has its own.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar

_EVENT: ContextVar[threading.Event | None] = ContextVar("footprint_cancel", default=None)


def watch(event: threading.Event | None) -> None:
    """Make ``event`` the cancel of the run in this thread (None: a run with no Cancel)."""
    _EVENT.set(event)


def asked() -> bool:
    """Whether the run in this thread was asked to stop."""
    event = _EVENT.get()
    return event is not None and event.is_set()
