"""Compact: the least population-weighted squared distance of units to their footprint's centre.

Formulation (the districting model of :mod:`footprint.optimiser.districting`): minimise
sum over centres j and nodes i of pop(i) d(i, j)^2 x(i, j), each node assigned to one
centre, each footprint between the floor and the ceiling, contiguous by cuts. Values
are read in person-km² (the model works in thousands of people).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ...instance import Instance
from ...problem import Problem
from ...result import OptimiseResult
from .. import budget
from ..bound import bridged_sets, packing_bound, split_nodes
from ..budget import Run, hess_size
from ..construct import attach_leftovers, from_many, grown_in_time, merge_down, packed_plan
from ..districting import hess
from ..finish import from_current, solver_reasons, too_few
from ..state import Plan
from .base import Objective, above_plan, never_negative, plain_gap


def solve(
    inst: Instance,
    run: Run,
    *,
    problem: Problem,
    current: Mapping[str, str] | None,
    done: Callable[..., OptimiseResult],
) -> OptimiseResult:
    """The most compact plan with a count the constraints allow."""
    return solve_districting(inst, run, kind="compact", problem=problem, current=current, done=done)


def solve_districting(
    inst: Instance,
    run: Run,
    *,
    kind: str,
    problem: Problem,
    current: Mapping[str, str] | None,
    done: Callable[..., OptimiseResult],
) -> OptimiseResult:
    """The districting model for ``kind``, started from the packed floor sets or a grown plan."""
    start = None
    packed = packing_bound(inst, run) if inst.floor > 0 else None
    if packed is not None:
        most, sets, proven, candidates = packed
        if proven and most < inst.count_lo:
            return done("infeasible", None, checks=[too_few(inst, run.constraints, most, problem)])
        start = _start_from_sets(inst, run, sets, candidates)
    if start is None:
        start = _grown_start(inst, run)
    solved = hess(
        inst,
        run,
        kind=kind,
        count=(inst.count_lo, inst.count_hi),
        start=start,
        label=kind,
        also=from_current(inst, current),
    )
    if solved.plan is None:
        return done(
            solved.status, None, bound=solved.bound, reasons=solver_reasons(solved.status, run)
        )
    return done(solved.status, solved.plan, value=solved.value, bound=solved.bound)


def _grown_start(inst: Instance, run: Run) -> Plan | None:
    """A plan grown to the mean size when the floor sets gave none (milliseconds on England).

    The model may be too large to build, or too little time may be left to build and start
    it (a short limit on a busy server, where the floor sets too ran out of time); with a
    plan held, the run then answers with it rather than with none, and a model that does
    start is warm-started from it.
    """
    if hess_size(inst) > budget.MODEL_MAX_VARIABLES:
        why = "the map is too large for the full model"
    else:
        why = "the floor sets gave no start"
    most = inst.count_hi if inst.count_hi is not None else inst.count_lo
    return grown_in_time(inst, run, target=inst.total / (max(most, 1) + 0.5), why=why)


def _start_from_sets(
    inst: Instance, run: Run, sets: list[frozenset[str]], candidates: list[frozenset[str]]
) -> Plan | None:
    """A plan from the packed floor sets, merged down to the most footprints allowed."""
    plan = attach_leftovers(inst, sets) if sets else None
    if plan is None and sets:  # a node with no room, or in pieces: pack it in a set
        plan = packed_plan(inst, run, bridged_sets(inst, candidates), split=split_nodes(inst))
    if plan is not None and inst.count_hi is not None:
        plan = merge_down(inst, plan, inst.count_hi)
    if plan is None and inst.count_hi is not None and candidates:
        plan = from_many(inst, candidates)
    return plan


def in_people(
    value: float | None,
    bound: float | None,
    *,
    inst: Instance | None,
    assignment: Mapping[str, str],
) -> tuple[float | None, float | None]:
    """Back from the model's thousands of people; a bound of at least 0."""
    value = None if value is None else value * 1000.0
    bound = None if bound is None else bound * 1000.0
    return never_negative(value, bound, inst=inst, assignment=assignment)


OBJECTIVE = Objective(
    "compact", solve=solve, read=in_people, wrong_side=above_plan, settle=plain_gap
)
