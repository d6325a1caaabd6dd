"""Balanced: the least spread between the largest and the smallest footprint population.

Formulation: the districting model of :mod:`footprint.optimiser.districting` with two
continuous variables, high >= every footprint's population and low <= every used
footprint's, minimising high - low. Its relaxation shares population out evenly, so its
bound is 0 and most of the time goes to recombining neighbouring footprints
(:func:`footprint._recombine.recombine`); the gap is read against the mean footprint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ...instance import Instance
from ...problem import Problem
from ...result import OptimiseResult
from ..budget import Run
from .base import Objective, above_plan, plain_gap
from .compact import in_people, solve_districting


def solve(
    inst: Instance,
    run: Run,
    *,
    problem: Problem,
    current: Mapping[str, str] | None,
    done: Callable[..., OptimiseResult],
) -> OptimiseResult:
    """The plan with the most even footprint populations, with a count the constraints allow."""
    return solve_districting(
        inst, run, kind="balanced", problem=problem, current=current, done=done
    )


def settle(
    status: str,
    value: float | None,
    bound: float | None,
    *,
    problem: Problem,
    assignment: Mapping[str, str],
) -> tuple[float | None, float | None]:
    """A spread's gap is read against the mean footprint (a spread can be near 0)."""
    gap, bound = plain_gap(status, value, bound)
    if status == "feasible" and assignment and value is not None:
        bound = 0.0 if bound is None else bound  # no solve finished: a spread is never negative
        mean = sum(problem.populations[u] for u in assignment) / len(set(assignment.values()))
        gap = max(0.0, value - bound) / mean
    return gap, bound


OBJECTIVE = Objective("balanced", solve=solve, read=in_people, wrong_side=above_plan, settle=settle)
