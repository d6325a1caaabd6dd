"""What every objective supplies: how it is solved, and how its value, bound and gap are read.

:func:`footprint.optimiser.finish.finish_result` reads a result through these, so finishing a
run has no branch on the objective. A new objective is one module here with its own
``OBJECTIVE`` and one line in :data:`footprint.optimiser.objectives.OBJECTIVES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...instance import Instance
from ...result import OptimiseResult


def gap_of(value: float | None, bound: float | None) -> float | None:
    """How far a value is from its bound, as a share of the value (never negative)."""
    if value is None or bound is None:
        return None
    return max(0.0, (value - bound) / max(abs(value), 1e-9))


#: (value, bound, *, inst, assignment) -> the value and bound as reported
Read = Callable[..., tuple[float | None, float | None]]
#: (status, value, bound, *, problem, assignment) -> the gap and bound as reported
Settle = Callable[..., tuple[float | None, float | None]]


@dataclass(frozen=True)
class Objective:
    """One objective: its solve and how its value, bound and gap are read.

    ``solve(inst, run, *, problem, current, done)`` returns the result through ``done``;
    ``wrong_side(value, bound)`` says a bound lies beyond a valid plan's value (a misread
    bound, left out).
    """

    name: str
    solve: Callable[..., OptimiseResult]
    read: Read
    wrong_side: Callable[[float, float], bool]
    settle: Settle


def never_negative(
    value: float | None,
    bound: float | None,
    *,
    inst: Instance | None,
    assignment: Mapping[str, str],
) -> tuple[float | None, float | None]:
    """A value as the model gives it; a bound of at least 0.

    Inertia, spread and moves are never negative, whatever a solver stopped early says
    (HiGHS stopped before its first relaxation bounds a spread by its variables' bounds).
    """
    return value, (None if bound is None else max(bound, 0.0))


def above_plan(value: float, bound: float) -> bool:
    """A lower bound above a minimised value."""
    return bound > value + 1e-6 * max(1.0, abs(value))


def plain_gap(
    status: str,
    value: float | None,
    bound: float | None,
    **_: Any,
) -> tuple[float | None, float | None]:
    """The relative gap of a plan (0 when proven optimal without a bound), and the bound."""
    gap = gap_of(value, bound) if status in ("optimal", "feasible") else None
    if status == "optimal" and gap is None:
        gap = 0.0
    return gap, bound
