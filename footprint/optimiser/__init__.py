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

Only :mod:`footprint.solver` talks to PuLP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ..constraints import Constraints
from ..feasibility import prepare
from ..problem import Problem
from ..result import OptimiseResult
from . import budget
from .bound import _bridged, _packing_bound, _split_nodes
from .budget import _COMPACT_MODEL_SHARE, _COMPACT_SEEDS_MAX, Progress, _hess_size, _Run
from .construct import _attach, _compact_seeds, _from_many, _grown, _merge_down, _packed_plan
from .districting import _hess
from .finish import _finish, _from_current, _gap, _solver_reasons, _too_few
from .objectives.fewest_changes import _fewest_changes
from .state import Plan, _compactness

__all__ = ["optimise"]

log = logging.getLogger(__name__)


# --- orchestration --------------------------------------------------------------------------------


def optimise(
    problem: Problem,
    constraints: Constraints | None = None,
    *,
    current: Mapping[str, str] | None = None,
    progress: Progress | None = None,
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
    t0 = time.perf_counter()
    run = _Run(c, progress or (lambda _m: None), t0 + c.time_limit)
    run.say("Checking the constraints against the map…")
    inst, checks = prepare(problem, c, current=current)
    if inst is None:
        return _finish(problem, c, run, t0, status="infeasible", checks=checks, current=current)

    def done(status: str, plan: Plan | None, **kw: Any) -> OptimiseResult:
        return _finish(problem, c, run, t0, status=status, inst=inst, plan=plan,
                       current=current, **kw)

    if not inst.nodes:  # everything is locked
        return done("optimal", {}, value=0.0, bound=0.0)
    run.stages.append({"stage": "preparation", "nodes": len(inst.nodes),
                       "seconds": round(time.perf_counter() - t0, 3)})
    if run.left() <= 0:
        # merging units and checking the rules is linear in the map, but a large map on a
        # busy server can still use the whole limit: say so rather than overrun it
        return done("no-solution", None, reasons=(
            f"checking the constraints against the map of {len(problem.codes):,} units took "
            f"{time.perf_counter() - t0:.1f} s, the whole time limit of {c.time_limit:g} s; "
            "give it more time, or plan on fewer, larger units",))

    if c.objective == "fewest-changes":
        assert current is not None
        return _fewest_changes(inst, run, current=current, done=done,
                               by_population=c.change_measure == "population")

    if c.objective in ("compact", "balanced"):
        start = None
        packed = _packing_bound(inst, run) if inst.floor > 0 else None
        if packed is not None:
            most, sets, proven, candidates = packed
            if proven and most < inst.count_lo:
                return done("infeasible", None, checks=[_too_few(inst, c, most, problem)])
            plan = _attach(inst, sets) if sets else None
            if plan is None and sets:  # a node with no room, or in pieces: pack it in a set
                plan = _packed_plan(inst, run, _bridged(inst, candidates),
                                    split=_split_nodes(inst))
            if plan is not None and inst.count_hi is not None:
                plan = _merge_down(inst, plan, inst.count_hi)
            if plan is None and inst.count_hi is not None and candidates:
                plan = _from_many(inst, candidates)
            start = plan
        if start is None and _hess_size(inst) > budget.MODEL_MAX_VARIABLES:
            # the model will not be built (`_hess` says so): a plan grown to the mean size
            most = inst.count_hi if inst.count_hi is not None else inst.count_lo
            start = _grown(inst, run, target=inst.total / (max(most, 1) + 0.5))
        solved = _hess(inst, run, kind=c.objective, count=(inst.count_lo, inst.count_hi),
                       start=start, label=c.objective, also=_from_current(inst, current))
        if solved.plan is None:
            return done(solved.status, None, bound=solved.bound,
                        reasons=_solver_reasons(solved.status, run))
        return done(solved.status, solved.plan, value=solved.value, bound=solved.bound)

    # max-footprints
    packed = _packing_bound(inst, run)
    if packed is not None:
        most, sets, proven, candidates = packed
        candidates = _bridged(inst, candidates)
        if proven and most < inst.count_lo:
            return done("infeasible", None, checks=[_too_few(inst, c, most, problem)])
        plan = _attach(inst, sets)
        if plan is not None:
            k_plan = len(set(plan.values()))
            if (inst.cap is None and not inst.apart and not inst.fixed_name
                    and proven and len(candidates) <= _COMPACT_SEEDS_MAX):
                # with only a floor any k disjoint floor sets grow into a plan: start from
                # the most compact ones (too slow to be worth it with very many sets)
                seeds = _compact_seeds(inst, run, candidates, k_plan)
                tight = _attach(inst, seeds) if seeds else None
                if tight is not None and _compactness(inst, tight) < _compactness(inst, plan):
                    plan = tight
            if proven and k_plan == most:
                run.say(f"{most} footprints is the proven largest number; "
                        "making them as compact as possible…")
            else:
                run.say(f"Found {k_plan} footprints; at most {most} are possible. Making them "
                        "as compact as possible…")
            # the model gets part of the time: HiGHS reads its clock only between rounds of
            # cuts, and a round on England's 88,202 rows once ran 12 s past it, so what is
            # left goes to recombination, which stops when asked
            solved = _hess(inst, run, kind="compact", count=(k_plan, k_plan), start=plan,
                           label="most compact plan with the largest count",
                           also=_from_current(inst, current), share=_COMPACT_MODEL_SHARE)
            final = solved.plan if solved.plan is not None else plan
            cgap = _gap(solved.value, solved.bound) if solved.plan is not None else None
            return done("optimal" if proven and k_plan == most else "feasible", final,
                        value=float(k_plan), bound=float(most), compactness_gap=cgap)
        top = most
    else:
        top = inst.count_hi or max(1, inst.total // max(inst.floor, 1))
        # no packing, but footprints of at least the floor number at most total // floor
        # (and the count allowed bounds it too), so a plan of that many is still proven
        proven = inst.floor > 0 or inst.count_hi is not None
        candidates = []
    # counts from the bound downwards: the first count with a plan is the answer
    upper = top
    split = _split_nodes(inst)
    k_top = top if inst.count_hi is None else min(top, inst.count_hi)

    # the most sets that can be packed with every stuck node inside one: a plan to start from
    fallback: tuple[int, Plan] | None = None
    plan = _packed_plan(inst, run, candidates, split=split)
    if plan is not None and len(set(plan.values())) >= inst.count_lo:
        fallback = (len(set(plan.values())), plan)
    size = _hess_size(inst)
    huge = size > budget.MODEL_MAX_VARIABLES
    if huge:
        run.refuse("max-footprints", size, inst)
    if fallback is None and huge:
        # no model will be built for any count (`_hess` says so): footprints grown to the floor
        grown = _grown(inst, run, target=inst.floor)
        if grown is not None:
            fallback = (len(set(grown.values())), grown)
    k = k_top
    while k >= inst.count_lo and run.left() > 0.5:
        if huge and (fallback is None or k > fallback[0]):
            # each count would need the model: go straight to the plan in hand, if any
            if fallback is None:
                break
            k = fallback[0]
        if fallback is not None and k <= fallback[0]:
            k, start = fallback
            run.say(f"Found a plan with {k} footprints; making it as compact as possible…")
        else:
            run.say(f"Looking for a plan with {k} footprints…")
            start = None
        solved = _hess(inst, run, kind="compact", count=(k, k), start=start,
                       label=f"plan with {k} footprints", share=1.0 if start else 0.3)
        if solved.status == "infeasible":
            # exactly k is impossible; that bounds the count only if every count above k
            # was proven impossible too (a ceiling can rule out k and allow k + 1)
            if k == upper:
                upper = k - 1
            k -= 1
            continue
        if solved.plan is None:
            k -= 1  # no plan in this count's share of the time: look for one with fewer
            continue
        status = "optimal" if k == upper and (proven or upper < top) else "feasible"
        cgap = _gap(solved.value, solved.bound)
        return done(status, solved.plan, value=float(k), bound=float(upper),
                    compactness_gap=cgap)
    if fallback is not None and k >= fallback[0]:
        # the time ran out before the packed plan was reached: it is still valid
        run.say(f"No time left for more than {fallback[0]} footprints; keeping that plan.")
        status = "optimal" if fallback[0] == upper and proven else "feasible"
        return done(status, fallback[1], value=float(fallback[0]), bound=float(upper))
    if upper < inst.count_lo:
        return done("infeasible", None, reasons=(
            f"no plan with at least {inst.count_lo} footprints meets every constraint together "
            "(each count was proven impossible by the solver)",))
    return done("no-solution", None, bound=float(upper),
                reasons=_solver_reasons("no-solution", run))
