"""How two plans differ: which units moved, once footprints are matched across the plans.

Footprint labels are arbitrary (``F1`` in one plan may be ``North`` in another),
so a unit "moves" only relative to a matching of footprints. The matching pairs
each footprint of plan A with at most one footprint of plan B so that the total
population they share is as large as possible (the assignment problem, solved
exactly by :func:`scipy.optimize.linear_sum_assignment`). Two plans that differ
only by renaming have no moves at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .errors import PlanError

log = logging.getLogger(__name__)

__all__ = ["Comparison", "compare_plans", "reference_plan"]

MOVE_COLUMNS = ("unit_code", "name", "population", "from_footprint", "to_footprint")
PAIR_COLUMNS = ("footprint_a", "footprint_b", "population_a", "population_b", "shared_population")


@dataclass(frozen=True, eq=False)
class Comparison:
    """The difference between plan A and plan B.

    Attributes
    ----------
    moves
        One row per unit that is not where the matching expects it:
        ``unit_code, name, population, from_footprint, to_footprint``, where
        ``from_footprint`` is its footprint in A and ``to_footprint`` in B
        (empty text for a unit one plan leaves unassigned). Sorted by unit code.
    matching
        Footprint of A -> the footprint of B it is matched to, or ``None`` when
        it has no counterpart (B has fewer footprints, or nothing overlaps).
    pairs
        Every footprint of A and of B with its partner and populations:
        ``footprint_a, footprint_b, population_a, population_b, shared_population``
        (``None`` for a side without partner).
    share_kept_together
        Population of the units that did not move, divided by the population of
        every unit assigned in A or B. Equivalently: for each matched pair of
        footprints, the population the two share, summed over the pairs, over
        the total. 1.0 means the plans group everyone identically (up to the
        labels); it falls by the share of people whose footprint changed.
    n_moved, population_moved
        How many units moved and how many people live in them.
    total_population
        Population of the units assigned in A or B (the denominator above).
    """

    moves: pd.DataFrame
    matching: dict[str, str | None]
    pairs: pd.DataFrame
    share_kept_together: float
    n_moved: int
    population_moved: int
    total_population: int

    @property
    def identical(self) -> bool:
        """True when the plans group every unit the same way, whatever the labels."""
        return self.n_moved == 0


def _labels(plan: Mapping[str, str], *, which: str, problems: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, label in plan.items():
        if label is None or (isinstance(label, str) and label.strip() == ""):
            continue  # unassigned
        if not isinstance(code, str) or not isinstance(label, str):
            problems.append(
                f"plan {which}: unit {code!r} -> {label!r}; unit codes and footprint labels "
                "must be text"
            )
            continue
        out[code] = label
    return out


def compare_plans(
    a: Mapping[str, str],
    b: Mapping[str, str],
    *,
    populations: Mapping[str, int],
    names: Mapping[str, str] | None = None,
) -> Comparison:
    """Compare plan ``b`` with plan ``a``, matching footprints by shared population.

    Parameters
    ----------
    a, b
        Unit code -> footprint label. A unit missing from a plan, or mapped to
        an empty label or ``None``, is unassigned in that plan.
    populations
        Unit code -> population, for every unit assigned in either plan.
    names
        Unit code -> display name for the moves table (defaults to the code).

    Raises
    ------
    PlanError
        Listing every unit without a population and every non-text code or label.
    """
    problems: list[str] = []
    la = _labels(a, which="A", problems=problems)
    lb = _labels(b, which="B", problems=problems)
    units = sorted(set(la) | set(lb))
    missing = [u for u in units if u not in populations]
    if missing:
        problems.append(
            f"{len(missing)} unit(s) have no population: {', '.join(missing[:15])}"
            + (" …" if len(missing) > 15 else "")
            + "; pass the populations of every unit in either plan"
        )
    if problems:
        raise PlanError("Cannot compare the plans", problems=problems)

    pop = pd.Series({u: int(populations[u]) for u in units}, dtype="int64")
    fa = sorted(set(la.values()))
    fb = sorted(set(lb.values()))
    ia = {f: i for i, f in enumerate(fa)}
    ib = {f: j for j, f in enumerate(fb)}
    shared = np.zeros((len(fa), len(fb)), dtype=np.int64)
    count = np.zeros((len(fa), len(fb)), dtype=np.int64)
    for u in units:
        if u in la and u in lb:
            shared[ia[la[u]], ib[lb[u]]] += pop[u]
            count[ia[la[u]], ib[lb[u]]] += 1

    matching: dict[str, str | None] = dict.fromkeys(fa)
    if fa and fb:
        # population first; the unit count only breaks ties (zero-population units)
        weight = shared.astype(float) * (len(units) + 1) + count
        rows, cols = linear_sum_assignment(weight, maximize=True)
        for i, j in zip(rows, cols, strict=True):
            if count[i, j] > 0:
                matching[fa[i]] = fb[j]

    moved_rows = []
    for u in units:
        src, dst = la.get(u), lb.get(u)
        if src is not None and dst is not None and matching[src] == dst:
            continue
        moved_rows.append(
            {
                "unit_code": u,
                "name": (names or {}).get(u, u),
                "population": int(pop[u]),
                "from_footprint": src or "",
                "to_footprint": dst or "",
            }
        )
    moves = pd.DataFrame(moved_rows, columns=list(MOVE_COLUMNS)).astype(
        {"unit_code": str, "name": str, "population": "int64"}
    )

    pop_a = dict.fromkeys(fa, 0)
    for u, f in la.items():
        pop_a[f] += int(pop[u])
    pop_b = dict.fromkeys(fb, 0)
    for u, g in lb.items():
        pop_b[g] += int(pop[u])
    matched_b = {v for v in matching.values() if v is not None}
    pair_rows = [
        {
            "footprint_a": f,
            "footprint_b": g,
            "population_a": pop_a[f],
            "population_b": pop_b[g] if g is not None else None,
            "shared_population": int(shared[ia[f], ib[g]]) if g is not None else 0,
        }
        for f, g in matching.items()
    ] + [
        {
            "footprint_a": None,
            "footprint_b": g,
            "population_a": None,
            "population_b": pop_b[g],
            "shared_population": 0,
        }
        for g in fb
        if g not in matched_b
    ]
    pairs = pd.DataFrame(pair_rows, columns=list(PAIR_COLUMNS))

    total = int(pop.sum())
    moved_pop = int(moves["population"].sum())
    kept = sum(int(shared[ia[f], ib[g]]) for f, g in matching.items() if g is not None)
    # nobody lives anywhere: judge by units instead of people
    share = kept / total if total else (1.0 - len(moves) / len(units) if units else 1.0)
    log.debug("compared plans: %d units moved (%d people)", len(moves), moved_pop)
    return Comparison(
        moves=moves,
        matching=matching,
        pairs=pairs,
        share_kept_together=float(share),
        n_moved=len(moves),
        population_moved=moved_pop,
        total_population=total,
    )


def reference_plan(geography, column: str) -> dict[str, str]:
    """A reference grouping (Area Teams, Regions...) of a geography as a plan.

    Parameters
    ----------
    geography
        A :class:`~footprint.geography.Geography`.
    column
        A grouping column of ``geography.units``, e.g. ``"area_team_code"``.
        Units with no value in it are left out (unassigned).

    Raises
    ------
    PlanError
        When the geography has no such column; the message lists those it has.
    """
    units = geography.units
    if column not in units.columns or column in ("code", "geometry"):
        options = [c for c in units.columns if c not in ("code", "geometry", "population")]
        raise PlanError(
            f"the geography {geography.name!r} has no grouping column {column!r}; choose one of "
            f"{', '.join(map(repr, options)) or '(none)'}"
        )
    groups = units[["code", column]].dropna()
    groups = groups[groups[column].astype(str).str.strip() != ""]
    return dict(zip(groups["code"].astype(str), groups[column].astype(str), strict=True))
