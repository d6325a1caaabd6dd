"""Finishing a run: the result, its status, bound, gap, reasons and names."""

from __future__ import annotations

import logging
import math
import platform
import time
from collections.abc import Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ..constraints import Constraints
from ..errors import PlanError, SolverError
from ..feasibility import Check
from ..instance import Instance
from ..problem import Problem
from ..result import OptimiseResult
from ..solver import solver_version
from .budget import Run
from .state import Plan, groups_of

if TYPE_CHECKING:
    from .objectives.base import Objective

log = logging.getLogger(__name__)


def from_current(inst: Instance, current: Mapping[str, str] | None) -> Plan | None:
    """The current plan on the instance's nodes (a warm start), or None if it does not fit."""
    if not current:
        return None
    index: dict[str, int] = {}
    plan: Plan = {}
    for n in inst.nodes:
        names = {current.get(u) for u in inst.members[n]}
        if len(names) != 1 or None in names or "" in names:
            return None
        name = names.pop()
        plan[n] = index.setdefault(str(name), len(index))
    return plan


def too_few(inst: Instance, c: Constraints, most: int, problem: Problem) -> Check:
    return Check(
        "count-unreachable",
        f"at most {most + len(c.locked)} footprints can each reach the floor of "
        f"{c.min_population:,} {problem.population_label} (with the ceiling, apart pairs and "
        f"fixed names), fewer than the {inst.count_lo + len(c.locked)} asked for",
    )


def solver_reasons(status: str, run: Run) -> tuple[str, ...]:
    c = run.constraints
    if status == "infeasible":
        return (
            "the solver proved that no plan meets every constraint together (each "
            "constraint alone passed the checks); relax a ceiling, count, apart pair or "
            "fixed footprint",
        )
    if status == "no-solution" and run.cancelled():
        return ("the run was cancelled before a plan was found",)
    if status == "no-solution" and run.refused:
        return ()  # the model that was not built says why (`finish_result`)
    if status == "no-solution" and run.unstarted is not None:
        # the quick starts found nothing and the model would not have fitted: saying the
        # time ran out would hide that a longer limit lets the solver try at all
        need, left = run.unstarted
        enough = 10 * math.ceil((c.time_limit - left + 2 * need) / 10)
        return (
            f"the quick constructions found no valid plan, and the full districting model "
            f"needs about {need:.0f} s to build and start, more than the {max(left, 0):.1f} s "
            f"left of the time limit of {c.time_limit:g} s; give it at least {enough} s, "
            "or relax a constraint",
        )
    if status == "no-solution":
        return (
            f"no valid plan was found within the time limit of {c.time_limit:g} s; give it "
            "more time or relax a constraint",
        )
    return ()


def _refusals(run: Run, *, with_plan: bool) -> tuple[str, ...]:
    """The models not built for want of memory, and what the answer is instead."""
    out_of_time = any(s.get("status") == "out of time" for s in run.stages)
    if with_plan:
        tail = (
            "; the plan below comes from the quick constructions and local search, with no "
            "bound proven by that model"
        )
    elif out_of_time:  # on a busy server even growing footprints can outlast a short limit
        tail = (
            "; and the quick constructions found no valid plan within the time limit of "
            f"{run.constraints.time_limit:g} s: give it more time, or plan on fewer, larger units"
        )
    else:
        tail = (
            "; and the quick constructions found no valid plan: relax a constraint, or plan "
            "on fewer, larger units"
        )
    return tuple(msg[0].upper() + msg[1:] + tail for msg in run.refused)


def finish_result(
    problem: Problem,
    c: Constraints,
    run: Run,
    t0: float,
    *,
    status: str,
    objective: Objective,
    inst: Instance | None = None,
    plan: Plan | None = None,
    current: Mapping[str, str] | None = None,
    value: float | None = None,
    bound: float | None = None,
    checks: list[Check] | None = None,
    reasons: tuple[str, ...] = (),
    compactness_gap: float | None = None,
    slot_names: list[str] | None = None,
) -> OptimiseResult:
    assignment: dict[str, str] = {}
    table = None
    compactness = None
    if plan is not None and inst is not None:
        assignment = name_footprints(problem, inst, plan, current=current, slot_names=slot_names)
        from ..validate import summarise_plan, validate_plan

        broken = validate_plan(problem, assignment, c, current=current)
        if broken:  # a bug, never a planner's problem: refuse to hand out a bad plan
            raise SolverError(
                "The optimiser produced a plan that breaks a rule; please report this",
                problems=[f"{v.footprint}: {v.message}" for v in broken],
            )
        table = summarise_plan(problem, assignment, c)
        compactness = float(table["inertia"].sum())
    checks = checks or []
    # each objective reads its own value, bound and gap
    value, bound = objective.read(value, bound, inst=inst, assignment=assignment)
    if (
        assignment
        and value is not None
        and bound is not None
        and objective.wrong_side(value, bound)
    ):
        # a bound on the wrong side of a valid plan is a misread bound, never the plan's fault
        log.warning(
            "the bound %s is on the wrong side of the plan's %s; it is left out", bound, value
        )
        bound = None
        status = "feasible"
    gap, bound = objective.settle(status, value, bound, problem=problem, assignment=assignment)
    seconds = time.perf_counter() - t0
    reproduce: dict[str, Any] = {
        "data_digest": problem.data_digest,
        "problem_digest": problem.digest(),
        "constraints": c.to_json(),
        "solver": c.solver,
        "solver_version": solver_version(c.solver),
        "footprint_version": code_version(),
        "python": platform.python_version(),
    }
    if current:
        reproduce["current_plan"] = sorted(current.items())
    run.say(f"Finished: {status} in {seconds:.1f} s.")
    return OptimiseResult(
        status=status,
        objective=c.objective,
        assignment=assignment,
        footprints=len(set(assignment.values())) if assignment else None,
        objective_value=value if assignment else None,
        bound=bound,
        gap=gap,
        seconds=seconds,
        solver=c.solver,
        solver_version=solver_version(c.solver),
        constraints=c,
        log="\n".join(run.logs),
        reasons=_refusals(run, with_plan=bool(assignment))
        + tuple(reasons)
        + tuple(ch.message for ch in checks),
        checks=tuple(checks),
        compactness=compactness,
        compactness_gap=compactness_gap,
        table=table,
        reproduce=reproduce,
        stages=tuple(run.stages),
    )


def name_footprints(
    problem: Problem,
    inst: Instance,
    plan: Plan,
    *,
    current: Mapping[str, str] | None,
    slot_names: list[str] | None,
) -> dict[str, str]:
    """Unit -> footprint name: fixed names first, then the current plan's names, then FP01…"""
    groups = groups_of(plan)
    names: dict[int, str] = {}
    taken = set(inst.locked_plan.values())
    for k, nodes in groups.items():
        fixed = {inst.fixed_name[n] for n in nodes if n in inst.fixed_name}
        if fixed:
            names[k] = fixed.pop()
        elif slot_names is not None and not slot_names[k].startswith("__new"):
            names[k] = slot_names[k]
    taken |= set(names.values())

    def north(k: int) -> float:
        w = sum(inst.pop[n] for n in groups[k]) or 1
        return -sum(inst.pop[n] * inst.xy[n][1] for n in groups[k]) / w

    i = 0
    for k in sorted((k for k in groups if k not in names), key=north):
        while True:
            i += 1
            name = f"FP{i:02d}"
            if name not in taken:
                break
        names[k] = name
    out = dict(inst.locked_plan)
    for n, k in plan.items():
        for u in inst.members[n]:
            out[u] = names[k]
    if set(out) != set(problem.codes):  # pragma: no cover - guarded by plan_ok
        raise PlanError("internal: the plan does not place every unit")
    return out


def code_version() -> str:
    try:
        return metadata.version("footprint")
    except metadata.PackageNotFoundError:
        return "source checkout"
