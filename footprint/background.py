"""Run the optimiser outside the caller: start it, poll it, cancel it.

A page that called :func:`~footprint.optimise` itself would be frozen for the whole time
limit (a minute by default) behind a spinner. Here the run goes in a thread of its own:
the caller polls a :class:`SolveProgress` (elapsed time against the limit, the stage, the
best value and bound so far) as often as it draws, and :meth:`BackgroundSolve.cancel`
ends the run as if its time were up, so that the result is the best plan checked so far
with its honest status (``feasible`` with its bound and gap) or ``no-solution``.

A thread, not a process: HiGHS releases the GIL while it searches (measured by
``benchmarks/bench_background.py`` on the shared 2-core machine: a thread solving
England's districting model for 20 s made a 10 ms sleep loop beside it late by 0.2 to
3.9 ms at the median and 311 to 514 ms at worst, while the model was handed over), the
problem is not copied, and HiGHS stops at its next check when asked (a result 1.6 s after
Cancel once it searches; up to 5 s while the first model is being built). What the run
does outside the solver (floor sets, recombining footprints, moving single units) reads
the cancel wherever it reads the time left, so it stops at the end of its current step.

:class:`SolveRegistry` keeps one run per owner (a browser's token in the app), so that a
reloaded page finds its run still going or finished, and a second start while one runs
hands back the first. Nothing here knows of Streamlit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .constraints import Constraints
from .errors import FootprintError, SolverError
from .optimiser import optimise
from .optimiser.budget import Snapshot
from .problem import Problem
from .result import OptimiseResult

__all__ = ["BackgroundSolve", "SolveProgress", "SolveRegistry", "start_solve"]

log = logging.getLogger(__name__)

#: ``waiting``: for a free solver slot; ``running``; ``cancelling``: asked to stop, ending
#: its current step; ``finished``: a result is ready (``result``), or the run was cancelled
#: before it started; ``failed``: the run could not be made (``error``).
State = Literal["waiting", "running", "cancelling", "finished", "failed"]

#: seconds between two looks at the cancel while waiting for a solver slot
_SLOT_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class SolveProgress:
    """Where a background run stands, for a progress bar and its words.

    Attributes
    ----------
    state
        One of ``waiting``, ``running``, ``cancelling``, ``finished``, ``failed``.
    elapsed, limit
        Seconds since the run started (0 while it waits for a slot) and its time limit.
    stage
        The optimiser's last sentence about what it is doing.
    value, bound
        The current stage's best plan value and proven bound so far (that stage's own
        model's measure, see ``stage``), None until known.
    cancelled
        Whether Cancel was asked.
    result
        The optimiser's result once ``finished`` (None if cancelled before it started).
    error
        Why the run failed, in words, when ``failed``.
    meta
        What the caller gave :func:`start_solve` to keep with the run.
    """

    state: State
    elapsed: float
    limit: float
    stage: str = ""
    value: float | None = None
    bound: float | None = None
    cancelled: bool = False
    result: OptimiseResult | None = None
    error: FootprintError | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether the run has ended (finished or failed)."""
        return self.state in ("finished", "failed")

    @property
    def fraction(self) -> float:
        """Elapsed time as a share of the limit, between 0 and 1 (for a progress bar)."""
        return min(1.0, max(0.0, self.elapsed / self.limit)) if self.limit > 0 else 0.0


class BackgroundSolve:
    """One optimiser run in a thread of its own; made by :func:`start_solve`."""

    def __init__(
        self,
        problem: Problem,
        constraints: Constraints,
        *,
        current: Mapping[str, str] | None,
        slots: threading.Semaphore | None,
        slot_wait: float,
        meta: Mapping[str, Any],
    ) -> None:
        self._problem = problem
        self._constraints = constraints
        self._current = dict(current) if current is not None else None
        self._slots = slots
        self._slot_wait = slot_wait
        self._meta = dict(meta)
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._state: State = "waiting"
        self._started: float | None = None
        self._ended: float | None = None
        self._snap = Snapshot(elapsed=0.0, limit=float(constraints.time_limit), stage="")
        self._result: OptimiseResult | None = None
        self._error: FootprintError | None = None
        self._thread = threading.Thread(target=self._main, name="footprint-solve", daemon=True)

    # --- the caller's side ---------------------------------------------------------------

    def poll(self) -> SolveProgress:
        """Where the run stands now (cheap: call it at every redraw)."""
        with self._lock:
            state, snap, started, ended = self._state, self._snap, self._started, self._ended
            result, error = self._result, self._error
        if state in ("running", "waiting") and self._cancel.is_set():
            state = "cancelling" if state == "running" else state
        now = ended if ended is not None else time.perf_counter()
        return SolveProgress(
            state=state,
            elapsed=0.0 if started is None else now - started,
            limit=float(self._constraints.time_limit),
            stage=snap.stage,
            value=snap.value,
            bound=snap.bound,
            cancelled=self._cancel.is_set(),
            result=result,
            error=error,
            meta=dict(self._meta),
        )

    def cancel(self) -> None:
        """Ask the run to stop: it ends as if its time were up, keeping its best plan."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> SolveProgress:
        """Wait until the run ends (or ``timeout`` seconds pass) and say where it stands."""
        self._thread.join(timeout)
        return self.poll()

    @property
    def constraints(self) -> Constraints:
        return self._constraints

    # --- the thread's side ---------------------------------------------------------------

    def _start(self) -> None:
        self._thread.start()

    def _set(self, **kw: Any) -> None:
        with self._lock:
            for name, value in kw.items():
                setattr(self, f"_{name}", value)

    def _take_slot(self) -> bool | None:
        """True when a slot is held, False when none came free in time, None if cancelled."""
        if self._slots is None:
            return True
        give_up = time.perf_counter() + self._slot_wait
        while not self._cancel.is_set():
            wait = min(_SLOT_POLL_SECONDS, give_up - time.perf_counter())
            if self._slots.acquire(timeout=max(0.0, wait)):
                return True
            if time.perf_counter() >= give_up:
                return False
            self._set(snap=Snapshot(0.0, self._snap.limit, stage=_WAITING))
        return None

    def _main(self) -> None:
        held = self._take_slot()
        if held is None:  # cancelled while waiting: nothing ran
            self._set(state="finished", ended=time.perf_counter())
            return
        if not held:
            self._set(
                state="failed",
                error=SolverError(
                    f"No solver came free in {self._slot_wait:g} s: other planners' runs "
                    "are using this server's cores; nothing was run. Try again in a moment"
                ),
            )
            return
        try:
            self._set(state="running", started=time.perf_counter())
            result = optimise(
                self._problem,
                self._constraints,
                current=self._current,
                progress=lambda message: None,  # the watcher's snapshots carry each sentence
                cancel=self._cancel,
                watcher=lambda snap: self._set(snap=snap),
            )
            self._set(state="finished", result=result, ended=time.perf_counter())
        except FootprintError as exc:
            self._set(state="failed", error=exc, ended=time.perf_counter())
        except Exception:  # the thread must end in a state the caller can read
            log.exception("the optimiser stopped on an unexpected problem")
            self._set(
                state="failed",
                error=SolverError(
                    "The optimiser stopped on an unexpected problem (written to the server's "
                    "log); your drawing is unchanged. Try again, or with other settings"
                ),
                ended=time.perf_counter(),
            )
        finally:
            if self._slots is not None:
                self._slots.release()


#: what a run says while it waits for a slot
_WAITING = (
    "Waiting for a free solver: other planners' runs are using this server's cores. "
    "Your time limit starts when your run does."
)


def start_solve(
    problem: Problem,
    constraints: Constraints,
    *,
    current: Mapping[str, str] | None = None,
    slots: threading.Semaphore | None = None,
    slot_wait: float = 600.0,
    meta: Mapping[str, Any] | None = None,
) -> BackgroundSolve:
    """Start :func:`~footprint.optimise` in a thread and return at once.

    Parameters
    ----------
    problem, constraints, current
        As for :func:`~footprint.optimise` (``current`` is copied: later edits to the
        caller's plan do not reach the run).
    slots
        A semaphore of the server's solver slots (one run per core): the run waits for
        one, up to ``slot_wait`` seconds, before its time limit starts, and gives it back
        when it ends, however it ends.
    slot_wait
        Seconds to wait for a slot before failing with a :class:`SolverError`.
    meta
        Anything the caller needs again with the result (a scenario's name, the plan it
        started from); copied, and handed back in every :class:`SolveProgress`.

    Returns
    -------
    BackgroundSolve
        Poll it, cancel it, or wait for it.
    """
    run = BackgroundSolve(
        problem,
        constraints,
        current=current,
        slots=slots,
        slot_wait=float(slot_wait),
        meta=meta or {},
    )
    run._start()
    return run


class SolveRegistry:
    """The background runs of one server, at most one per owner (a browser's token).

    A page that is reloaded loses its own memory; the registry, kept by the server, gives
    it back its run, still going or finished, until the result is collected once.
    """

    def __init__(self) -> None:
        self._runs: dict[str, BackgroundSolve] = {}
        self._lock = threading.Lock()

    def start(
        self, owner: str, problem: Problem, constraints: Constraints, **options: Any
    ) -> tuple[BackgroundSolve, bool]:
        """Start a run for ``owner`` unless one has not been collected yet.

        Returns the run and whether it is new: a second start while a run of the same
        owner is going (a double click, a second tab) hands back the first, so that two
        never run for one planner. Options are those of :func:`start_solve`.
        """
        with self._lock:
            running = self._runs.get(owner)
            if running is not None and not running.poll().done:
                return running, False
            run = start_solve(problem, constraints, **options)
            self._runs[owner] = run
            return run, True

    def get(self, owner: str) -> BackgroundSolve | None:
        """The owner's run not yet collected, if any."""
        with self._lock:
            return self._runs.get(owner)

    def collect(self, owner: str, run: BackgroundSolve) -> bool:
        """Take a finished ``run`` out of the registry; True only for the one caller that
        took it (so that its result is saved once, however many pages saw it end)."""
        with self._lock:
            if self._runs.get(owner) is not run or not run.poll().done:
                return False
            del self._runs[owner]
            return True
