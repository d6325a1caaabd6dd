"""The run's budget and bookkeeping: time left, what each solve cost, models too large to build."""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import _cancel
from ..constraints import Constraints
from ..instance import Instance
from ..solver import Model, Outcome, solver_version

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

#: the most snapshots a second sent to a watcher while a solver searches (each one is
#: drawn by a page: more would only cost the run time)
_SNAPSHOTS_PER_SECOND = 4.0


@dataclass(frozen=True)
class Snapshot:
    """Where a run stands, for a progress bar: sent as the run goes, never used to decide.

    ``value`` and ``bound`` are the stage's own model's (``stage`` says which): the best
    plan's objective found so far in it and the best the solver has proved possible, each
    None until known.
    """

    elapsed: float
    limit: float
    stage: str
    value: float | None = None
    bound: float | None = None
    cancelled: bool = False


#: Called with each :class:`Snapshot` (from the thread that runs the optimiser).
Watcher = Callable[[Snapshot], None]


@dataclass
class Run:
    """Bookkeeping shared by the stages of one run."""

    constraints: Constraints
    progress: Progress
    deadline: float
    logs: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    #: (variables, constraints) -> most seconds a solve of that size spent outside the solver
    overheads: dict[tuple[int, int], float] = field(default_factory=dict)
    #: seconds the last solve spent building and handing over its model
    last_cost: float = 0.0
    #: (seconds needed, seconds left) when a districting model was not started for want
    #: of time and no plan was held
    unstarted: tuple[float, float] | None = None
    #: models not built because they would not fit in memory, each said in words
    refused: list[str] = field(default_factory=list)
    #: set (by another thread) to stop the run: read wherever time left is read, and by
    #: the solver as it searches, so that the run ends as if its time were up
    cancel: threading.Event | None = None
    #: sent a :class:`Snapshot` at each step and, throttled, while a solver searches
    watcher: Watcher | None = None
    #: the last sentence said, and the value and bound of the stage's model so far
    stage: str = ""
    value: float | None = None
    bound: float | None = None
    #: seconds the last model checked by :meth:`build_fits` was projected to need in all
    #: (build, handover and a first solve), at the pace measured while it was built
    projected: float = 0.0
    _sent: float = 0.0

    def __post_init__(self) -> None:
        _cancel.watch(self.cancel)  # the loops that stop at a deadline read it too

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def left(self) -> float:
        if self.cancelled():
            return 0.0
        return self.deadline - time.perf_counter()

    def snapshot(self) -> Snapshot:
        limit = float(self.constraints.time_limit)
        return Snapshot(
            elapsed=time.perf_counter() - (self.deadline - limit),
            limit=limit,
            stage=self.stage,
            value=self.value,
            bound=self.bound,
            cancelled=self.cancelled(),
        )

    def _send(self, *, throttled: bool = False) -> None:
        now = time.perf_counter()
        if self.watcher is None or (throttled and now - self._sent < 1 / _SNAPSHOTS_PER_SECOND):
            return
        self._sent = now
        self.watcher(self.snapshot())

    def watch(self, value: float | None, bound: float | None) -> bool:
        """The solver's report as it searches; True asks it to stop (the run is cancelled)."""
        if value is not None:
            self.value = value
        if bound is not None:
            self.bound = bound
        self._send(throttled=True)
        return self.cancelled()

    def room_for_another(self) -> bool:
        """Whether another model like the last one can be built, handed over and solved."""
        return self.left() > 2.0 * self.last_cost + 1.0

    def handover(self, model: Model) -> float:
        """Seconds to keep back for PuLP to hand ``model`` over and read the answer.

        Measured: up to three times as long as building it; once a model of about the
        same size has been solved, what that solve really spent outside the solver.
        """
        guess = HANDOVER_PER_BUILD_SECOND * (time.perf_counter() - model.created) + 1.5
        nv, nc = model.size
        seen = [
            o
            for (v, c), o in self.overheads.items()
            if abs(v - nv) <= 0.1 * nv and abs(c - nc) <= 0.2 * max(nc, 1)
        ]
        return max(guess, 1.25 * max(seen) + 0.5) if seen else guess

    def build_fits(self, created: float, started: float, done: float, *, available: float) -> bool:
        """Whether a model created at ``created`` (perf_counter), whose rows began at
        ``started`` and are ``done`` (0 to 1) built, can still be finished, handed over and
        solved for a moment in ``available`` seconds.

        The cost of building is measured as it goes, so it reads the machine as it is
        now: on a busy server England's districting model took 8.7 s to build and 13 s to
        hand over where a fixed rate had allowed 8 s for both, and the run overran its
        limit by the difference. The build is projected from its pace so far, the
        handover from that at the most it was measured to take: a model that passes is
        handed over before the deadline, though its solve may then get little time.
        """
        if self.cancelled():
            return False
        now = time.perf_counter()
        spent = now - created
        if done <= 0.0 or spent < BUILD_CHECK_SECONDS:
            return True  # too little measured yet to project from (and little lost)
        # its variables come first, all at once; the rows then at an even pace
        build = (started - created) + (now - started) / min(done, 1.0)
        self.projected = build * (1.0 + HANDOVER_MOST_PER_BUILD_SECOND) + MIN_SOLVE_SECONDS
        return self.projected - spent <= available

    def say(self, message: str) -> None:
        log.info(message)
        self.progress(message)
        self.stage = message
        self.value = self.bound = None  # a new step: the last model's figures are not its
        self._send()

    def refuse(
        self, label: str, size: int, inst: Instance, *, what: str = "districting model"
    ) -> None:
        """Record, in words and as a stage, that a model of ``size`` variables is not built."""
        units, nodes = len(inst.node_of), len(inst.nodes)
        of = f"{units:,} units" + (f" ({nodes:,} groups that stay whole)" if nodes != units else "")
        msg = (
            f"the {what} for {of} would hold {_sci(size)} variables, more than the "
            f"{_sci(MODEL_MAX_VARIABLES)} this server builds, so it was not built"
        )
        self.say(f"{label}: {msg}.")
        if msg not in self.refused:
            self.refused.append(msg)
        self.stages.append(
            {
                "stage": f"{label}: model not built",
                "status": "too large",
                "variables": size,
                "most variables": MODEL_MAX_VARIABLES,
                "reason": msg,
            }
        )

    def solve(
        self,
        model: Model,
        what: str,
        *,
        start: Mapping[str, float] | None = None,
        share: float = 1.0,
        abs_gap: float | None = None,
    ) -> Outcome:
        built = time.perf_counter() - model.created
        left = self.left()
        if built >= BUILD_CHECK_SECONDS and HANDOVER_LEAST_PER_BUILD_SECOND * built > left:
            # handing it over alone would pass the deadline (PuLP gives HiGHS the model one
            # row at a time and HiGHS cannot be asked to stop meanwhile): not started
            return self._not_started(model, what, built=built, left=left)
        limit = max(MIN_SOLVE_SECONDS, left * share - self.handover(model))
        self.value = self.bound = None  # a new model: its own value and bound
        self._send()
        out = model.solve(
            solver=self.constraints.solver,
            time_limit=limit,
            mip_gap=self.constraints.mip_gap,
            start=start,
            abs_gap=abs_gap,
            watch=self.watch if self.cancel is not None or self.watcher is not None else None,
        )
        self.value, self.bound = out.objective, out.bound
        self._send()
        self.overheads[model.size] = max(self.overheads.get(model.size, 0.0), out.overhead)
        self.last_cost = built + out.overhead
        nv, nc = model.size
        self.logs.append(f"===== {what} ({nv:,} variables, {nc:,} constraints) =====\n{out.log}")
        self.stages.append(
            {
                "stage": what,
                "status": out.status,
                "objective": out.objective,
                "bound": out.bound,
                "seconds": round(out.seconds, 3),
                "variables": nv,
                "constraints": nc,
            }
        )
        return out

    def _not_started(self, model: Model, what: str, *, built: float, left: float) -> Outcome:
        """The outcome of a model built but not handed to the solver for want of time."""
        nv, nc = model.size
        why = (
            f"not handed to the solver: building it took {built:.1f} s and handing it over "
            f"takes about {HANDOVER_LEAST_PER_BUILD_SECOND:g} times as long, more than the "
            f"{max(left, 0.0):.1f} s left"
        )
        self.say(f"{what}: {why}.")
        self.logs.append(f"===== {what} ({nv:,} variables, {nc:,} constraints) =====\n{why}")
        self.stages.append(
            {
                "stage": what,
                "status": "not started",
                "reason": why,
                "seconds": 0.0,
                "variables": nv,
                "constraints": nc,
            }
        )
        self.last_cost = built * (1.0 + HANDOVER_LEAST_PER_BUILD_SECOND)
        return Outcome(
            status="no-solution",
            objective=None,
            bound=None,
            gap=None,
            values={},
            seconds=0.0,
            log=why,
            solver=self.constraints.solver,
            version=solver_version(self.constraints.solver),
        )


def _sci(n: float) -> str:
    """A count for a sentence: 250,000 as is, 1,599,960,000 as 1.6e9."""
    if n < 1e6:
        return f"{round(n):,}"
    mantissa, exponent = f"{n:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


#: seconds the districting model costs per variable at the least: measured on England,
#: 44,523 variables took 1.3 s to build and 3 s more to hand to HiGHS and read back, and
#: HiGHS then spent 2 to 4 s more on its first round of cuts whatever its limit (a compact
#: run of 6 s ended after 8.2 to 10.3 s); a model started with less time left than that
#: overruns the run's limit, and in such short runs recombining the plan does better
SECONDS_PER_VAR = 1.7e-4

#: the handover (PuLP giving HiGHS the model column by column and row by row, then reading
#: the answer back) against the build of the same model: England's districting model at
#: 1,000,000 with the LA rule off took 1.2 to 2.2 times its build (2.8 to 5.1 s to build,
#: 5.6 to 7.2 s to hand over, on this 2-core server at load 4 to 6). Kept back from a
#: solve's limit: three times (see `Run.handover`); a model is not finished unless the
#: most measured fits, nor handed over when even the least would pass the deadline
HANDOVER_PER_BUILD_SECOND = 3.0
HANDOVER_MOST_PER_BUILD_SECOND = 2.2
HANDOVER_LEAST_PER_BUILD_SECOND = 1.2

#: seconds of building before its pace is read (a shorter build costs little if wasted)
BUILD_CHECK_SECONDS = 0.5

#: the least time a solve is given (`Run.solve`), kept for it when a build is projected
MIN_SOLVE_SECONDS = 0.5

#: share of the time left that the compactness stage of max-footprints gives its model
COMPACT_MODEL_SHARE = 0.7

#: share of a 'balanced' run spent recombining footprints before the model is solved
BALANCE_SHARE = 0.75

#: above this many floor sets the compact start's packing costs more time than it saves
#: (14,273 sets at 1,000,000 with the LA rule off: HiGHS's presolve alone overran 20 s)
COMPACT_SEEDS_MAX = 5_000

#: the most variables a districting model (or the fewest-changes model) is built with.
#: Its variables are node x centre pairs, so it grows with the square of the nodes: 211
#: CCGs make 44,523, 40,000 units 1.6e9 (a 10 s run of that reached 13.6 GB before this
#: cap). Measured here, 200,000 binaries with one two-term row each took 0.3 GB and 21 s
#: to build in PuLP; the districting model has about three rows per variable, so this many
#: take about 1 GB and a minute to build before the solver starts; a compact run on 500
#: synthetic units (250,000 variables) peaked at 2.1 GB, so the cap is 100,000 (316 nodes;
#: England's 211 CCGs stay well inside it). Above it the model is not built, the result
#: says so, and the plan comes from the constructions and local search; for compact, a
#: bound comes from `districting.floor_ball_bound`, linear in the units
MODEL_MAX_VARIABLES = 100_000

#: seconds per unit kept back at the end of a run on a map too large for the model, for
#: checking the plan and tabulating it: measured on 40,000 units on this 2-core server while
#: busy (load 16), the validator took 1.5 s, the summary table 2.3 s and the last checks of
#: the plan 1 s
FINISH_SECONDS_PER_UNIT = 1.2e-4

#: footprints of more nodes than this are not recombined: one move prices every cut of a
#: spanning tree of two footprints, the square of their size, and on a map of 40,000
#: units a single move outlasted a 10 s limit; moving single nodes (`polish`) is used alone
RECOMBINE_MAX_NODES = 300


def hess_size(inst: Instance) -> int:
    """Variables of the districting model, counted without listing them.

    One per (node, centre) pair that may share a footprint: every node with itself,
    and two different nodes unless kept apart or together above the ceiling. Counted
    from the sorted populations, so that even a map far too large for the model is
    measured in n log n steps.
    """
    n = len(inst.nodes)
    cap = inst.cap
    if cap is None:
        pairs = n * (n - 1)
    else:
        pops = sorted(inst.pop.values())
        pairs = 0
        for p in pops:
            pairs += bisect.bisect_right(pops, cap - p) - (1 if 2 * p <= cap else 0)
    for a, b in inst.apart:
        if cap is None or inst.pop[a] + inst.pop[b] <= cap:
            pairs -= 2
    return n + pairs
