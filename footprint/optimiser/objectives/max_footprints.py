"""Max footprints: the most footprints that each reach the floor, then the most compact of them.

The connected node sets that just reach the floor are enumerated and the most disjoint
ones packed (:mod:`footprint.optimiser.bound`): that count is a proven upper bound.
With only a floor, leftover units can always join a neighbouring footprint, so a plan
with that many footprints is built directly and the count is proven optimal; otherwise
(ceilings, apart pairs, counts) the districting model proves or refutes each count
from the bound downwards. The value is the count (locked footprints included), the
bound the largest count not ruled out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...instance import Instance
from ...problem import Problem
from ...result import OptimiseResult
from .. import budget
from ..bound import bridged_sets, packing_bound, split_nodes
from ..budget import COMPACT_MODEL_SHARE, COMPACT_SEEDS_MAX, Run, hess_size
from ..construct import attach_leftovers, compact_seeds, grown_in_time, packed_plan
from ..districting import hess
from ..finish import from_current, solver_reasons, too_few
from ..state import Plan, plan_compactness
from .base import Objective, gap_of, plain_gap

Done = Callable[..., OptimiseResult]


def solve(
    inst: Instance, run: Run, *, problem: Problem, current: Mapping[str, str] | None, done: Done
) -> OptimiseResult:
    """The most footprints the constraints allow, as compact as the time allows."""
    packed = packing_bound(inst, run)
    if packed is None:
        top = inst.count_hi or max(1, inst.total // max(inst.floor, 1))
        # no packing, but footprints of at least the floor number at most total // floor
        # (and the count allowed bounds it too), so a plan of that many is still proven
        proven = inst.floor > 0 or inst.count_hi is not None
        return _count_down(inst, run, top=top, proven=proven, candidates=[], done=done)
    most, sets, proven, candidates = packed
    candidates = bridged_sets(inst, candidates)
    if proven and most < inst.count_lo:
        return done("infeasible", None, checks=[too_few(inst, run.constraints, most, problem)])
    plan = attach_leftovers(inst, sets)
    if plan is None:
        return _count_down(inst, run, top=most, proven=proven, candidates=candidates, done=done)
    return _most_compact(
        inst, run, plan, most=most, proven=proven, candidates=candidates, current=current, done=done
    )


def _most_compact(
    inst: Instance,
    run: Run,
    plan: Plan,
    *,
    most: int,
    proven: bool,
    candidates: list[frozenset[str]],
    current: Mapping[str, str] | None,
    done: Done,
) -> OptimiseResult:
    """The packed plan's count, made as compact as possible by the districting model."""
    k_plan = len(set(plan.values()))
    if (
        inst.cap is None
        and not inst.apart
        and not inst.fixed_name
        and proven
        and len(candidates) <= COMPACT_SEEDS_MAX
    ):
        # with only a floor any k disjoint floor sets grow into a plan: start from
        # the most compact ones (too slow to be worth it with very many sets)
        seeds = compact_seeds(inst, run, candidates, k_plan)
        tight = attach_leftovers(inst, seeds) if seeds else None
        if tight is not None and plan_compactness(inst, tight) < plan_compactness(inst, plan):
            plan = tight
    if proven and k_plan == most:
        run.say(
            f"{most} footprints is the proven largest number; making them as compact as possible…"
        )
    else:
        run.say(
            f"Found {k_plan} footprints; at most {most} are possible. Making them "
            "as compact as possible…"
        )
    # the model gets part of the time: HiGHS reads its clock only between rounds of
    # cuts, and a round on England's 88,202 rows once ran 12 s past it, so what is
    # left goes to recombination, which stops when asked
    solved = hess(
        inst,
        run,
        kind="compact",
        count=(k_plan, k_plan),
        start=plan,
        label="most compact plan with the largest count",
        also=from_current(inst, current),
        share=COMPACT_MODEL_SHARE,
    )
    final = solved.plan if solved.plan is not None else plan
    cgap = gap_of(solved.value, solved.bound) if solved.plan is not None else None
    return done(
        "optimal" if proven and k_plan == most else "feasible",
        final,
        value=float(k_plan),
        bound=float(most),
        compactness_gap=cgap,
    )


def _fallback(
    inst: Instance,
    run: Run,
    candidates: list[frozenset[str]],
) -> tuple[tuple[int, Plan] | None, bool]:
    """A plan to start from (its count and plan), and whether the model is too large to build.

    The most sets that can be packed with every stuck node inside one; failing that
    (on a map too large for the model, or, with only a floor, too many floor sets to pack
    in the time), footprints grown to the floor, in linear time: a valid plan to keep
    when the time runs out before the model gives one.
    """
    fallback: tuple[int, Plan] | None = None
    plan = packed_plan(inst, run, candidates, split=split_nodes(inst))
    if plan is not None and len(set(plan.values())) >= inst.count_lo:
        fallback = (len(set(plan.values())), plan)
    size = hess_size(inst)
    huge = size > budget.MODEL_MAX_VARIABLES
    if huge:
        run.refuse("max-footprints", size, inst)
    only_floor = inst.cap is None and not inst.apart and not inst.fixed_name
    if fallback is None and (huge or only_floor):
        # no model will be built for any count when it is too large (`hess` says so), and on
        # a busy server England's is not built in 20 s: footprints grown to the floor (with
        # only a floor they always give a plan; under other rules the model is left to try)
        grown = grown_in_time(
            inst,
            run,
            target=inst.floor,
            why="the map is too large for the full model"
            if huge
            else "a plan to keep should the model not give one in time",
        )
        if grown is not None and len(set(grown.values())) >= inst.count_lo:
            fallback = (len(set(grown.values())), grown)
    return fallback, huge


def _count_down(
    inst: Instance,
    run: Run,
    *,
    top: int,
    proven: bool,
    candidates: list[frozenset[str]],
    done: Done,
) -> OptimiseResult:
    """Counts from the bound downwards: the first count with a plan is the answer."""
    upper = top
    k_top = top if inst.count_hi is None else min(top, inst.count_hi)
    fallback, huge = _fallback(inst, run, candidates)
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
        solved = hess(
            inst,
            run,
            kind="compact",
            count=(k, k),
            start=start,
            label=f"plan with {k} footprints",
            share=1.0 if start else 0.3,
        )
        if solved.status == "infeasible":
            # exactly k is impossible; that bounds the count only if every count above k
            # was proven impossible too (a ceiling can rule out k and allow k + 1)
            if k == upper:
                upper = k - 1
            k -= 1
            continue
        if solved.plan is None:
            if run.unstarted is not None or run.cancelled():
                # the model was not started for want of time, and it is as large for every
                # count: the plan in hand, if any, is made as compact as the time allows
                if fallback is not None and k > fallback[0] and not run.cancelled():
                    k = fallback[0]
                    continue
                break
            k -= 1  # no plan in this count's share of the time: look for one with fewer
            continue
        status = "optimal" if k == upper and (proven or upper < top) else "feasible"
        cgap = gap_of(solved.value, solved.bound)
        return done(status, solved.plan, value=float(k), bound=float(upper), compactness_gap=cgap)
    return _out_of_counts(inst, run, k=k, upper=upper, proven=proven, fallback=fallback, done=done)


def _out_of_counts(
    inst: Instance,
    run: Run,
    *,
    k: int,
    upper: int,
    proven: bool,
    fallback: tuple[int, Plan] | None,
    done: Done,
) -> OptimiseResult:
    """No count answered: the plan in hand, a proof that none exists, or no plan in time."""
    if fallback is not None and k >= fallback[0]:
        # the time ran out before the packed plan was reached: it is still valid
        run.say(f"No time left for more than {fallback[0]} footprints; keeping that plan.")
        status = "optimal" if fallback[0] == upper and proven else "feasible"
        return done(status, fallback[1], value=float(fallback[0]), bound=float(upper))
    if upper < inst.count_lo:
        return done(
            "infeasible",
            None,
            reasons=(
                f"no plan with at least {inst.count_lo} footprints meets every constraint together "
                "(each count was proven impossible by the solver)",
            ),
        )
    return done("no-solution", None, bound=float(upper), reasons=solver_reasons("no-solution", run))


def read(
    value: float | None,
    bound: float | None,
    *,
    inst: Instance | None,
    assignment: Mapping[str, str],
) -> tuple[float | None, float | None]:
    """The plan's count and bound, the locked footprints included (the model counts the free)."""
    if inst is not None and bound is not None:
        bound += len(set(inst.locked_plan.values()))
    if assignment:
        value = float(len(set(assignment.values())))
    return value, bound


def below_plan(value: float, bound: float) -> bool:
    """An upper bound below the count of a valid plan."""
    return bound < value - 1e-6 * max(1.0, abs(value))


def settle(
    status: str,
    value: float | None,
    bound: float | None,
    **kw: Any,
) -> tuple[float | None, float | None]:
    """A count's gap is read against the bound: footprints short of the most possible."""
    gap, bound = plain_gap(status, value, bound, **kw)
    if status == "feasible" and value and bound:
        gap = (bound - value) / bound
    return gap, bound


OBJECTIVE = Objective(
    "max-footprints", solve=solve, read=read, wrong_side=below_plan, settle=settle
)
