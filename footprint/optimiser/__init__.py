"""The footprint optimiser: exact integer programs over plain data, with honest statuses.

Pipeline for one call of :func:`optimise`:

1. :func:`footprint.feasibility.prepare` merges units that must stay together
   into nodes and explains, in named checks, any reason no plan can exist.
2. ``max-footprints``: the connected node sets that just reach the floor are
   enumerated and the most disjoint ones packed (a small set-packing program):
   that count is a proven upper bound. With only a floor, leftover units can
   always join a neighbouring footprint, so a plan with that many footprints is
   built directly and the count is proven optimal; otherwise (ceilings, apart
   pairs, counts) the districting model below proves or refutes each count.
3. The districting model (Hess et al., 1965): each footprint has a centre node
   and every node is assigned to one centre; it minimises the population-
   weighted squared distance to the centres (``compact``), the spread between
   the largest and smallest footprint (``balanced``), or, with footprints as
   the current plan's named slots, the units or population moved
   (``fewest-changes``). Contiguity is imposed by cutting planes: whenever a
   solution has a footprint in pieces, a separator inequality (each piece must
   reach the rest through its boundary) is added and the model solved again,
   warm-started from the best contiguous plan. The bound of every relaxed
   solve is a valid bound of the full problem, so the reported gap is honest.
4. ``balanced``: that model's relaxation shares population out evenly, so its
   bound is 0 and its search finds poor plans; most of the time therefore goes
   to :func:`footprint._recombine.recombine`, which merges neighbouring
   footprints and re-cuts them along random spanning trees, and the model is
   warm-started from its plan.

Where each part lives (one module per job, as spopt keeps one per model):

- ``budget``: the run's time, what each solve cost, models too large to build.
- ``state``: plans on the instance; ``PlanState`` keeps each footprint's nodes,
  population and cost up to date for local search and recombination.
- ``bound``: floor sets and their packing (the count bound).
- ``construct``: plans packed, grown, merged down and repaired.
- ``local_search``: single-node moves while a cost falls.
- ``districting``: the centre-based model and ``cut_loop``, the one contiguity
  cut loop every objective's model goes through.
- ``objectives/``: ``max_footprints``, ``compact``, ``balanced``,
  ``fewest_changes``, each its solve and how its value, bound and gap are read.
- ``finish``: the result, validated by :mod:`footprint.validate`.

Only :mod:`footprint.solver` talks to PuLP.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from ..constraints import Constraints
from ..feasibility import prepare
from ..problem import Problem
from ..result import OptimiseResult
from .budget import Progress, Run, Watcher
from .finish import finish_result
from .objectives import OBJECTIVES
from .state import Plan

__all__ = ["optimise"]

log = logging.getLogger(__name__)


# --- orchestration --------------------------------------------------------------------------------


def optimise(
    problem: Problem,
    constraints: Constraints | None = None,
    *,
    current: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    watcher: Watcher | None = None,
) -> OptimiseResult:
    """Group the problem's units into footprints that meet every constraint.

    Parameters
    ----------
    problem
        The units, populations and adjacency (see :class:`~footprint.problem.Problem`).
    constraints
        Rules and objective; the defaults are the 2013 rules (300,000 floor, LA
        blocks whole, the most footprints).
    current
        A current plan (unit -> footprint name): needed for ``fewest-changes``
        and for locked footprints, and used as a warm start otherwise.
    progress
        Called with one plain sentence at each step (for a progress display).
    cancel
        Set from another thread to stop early: the run ends as if its time were up, with
        the best plan checked so far and an honest status (see
        :mod:`footprint.background`, which runs ``optimise`` in a thread).
    watcher
        Called with a :class:`~footprint.optimiser.budget.Snapshot` (elapsed time, stage,
        best value and bound so far) at each step and as the solver searches.

    Returns
    -------
    OptimiseResult
        Never a plan that breaks a rule: every plan is checked by the
        independent validator before it is returned.

    Raises
    ------
    ConstraintsError
        When the constraints name codes the problem does not have.
    SolverError
        When the solver cannot run.
    """
    c = constraints or Constraints()
    objective = OBJECTIVES[c.objective]
    t0 = time.perf_counter()
    run = Run(c, progress or (lambda _m: None), t0 + c.time_limit, cancel=cancel, watcher=watcher)
    run.say("Checking the constraints against the map…")
    inst, checks = prepare(problem, c, current=current)
    if inst is None:
        return finish_result(
            problem,
            c,
            run,
            t0,
            status="infeasible",
            objective=objective,
            checks=checks,
            current=current,
        )

    def done(status: str, plan: Plan | None, **kw: Any) -> OptimiseResult:
        return finish_result(
            problem,
            c,
            run,
            t0,
            status=status,
            objective=objective,
            inst=inst,
            plan=plan,
            current=current,
            **kw,
        )

    if not inst.nodes:  # everything is locked
        return done("optimal", {}, value=0.0, bound=0.0)
    run.stages.append(
        {
            "stage": "preparation",
            "nodes": len(inst.nodes),
            "seconds": round(time.perf_counter() - t0, 3),
        }
    )
    if run.cancelled():
        return done("no-solution", None, reasons=("the run was cancelled before a plan was found",))
    if run.left() <= 0:
        # merging units and checking the rules is linear in the map, but a large map on a
        # busy server can still use the whole limit: say so rather than overrun it
        return done(
            "no-solution",
            None,
            reasons=(
                f"checking the constraints against the map of {len(problem.codes):,} units took "
                f"{time.perf_counter() - t0:.1f} s, the whole time limit of {c.time_limit:g} s; "
                "give it more time, or plan on fewer, larger units",
            ),
        )

    return objective.solve(inst, run, problem=problem, current=current, done=done)
