"""How two plans differ: which units moved, once footprints are matched across the plans.

Footprint labels are arbitrary (``F1`` in one plan may be ``North`` in another),
so a unit "moves" only relative to a matching of footprints. This module holds
the one definition of "moved" that the comparison and ``fewest-changes`` share:

* **Matching** (:func:`match_footprints`): each footprint of plan A is paired
  with at most one footprint of plan B, and each of B's with at most one of A's,
  so that the units the paired footprints share weigh as much as possible in
  all (each unit weighs 1, or its population when ``weights`` are given). This
  is the assignment problem, solved exactly by
  :func:`scipy.optimize.linear_sum_assignment`. Ties are broken by the number of
  shared units (when weighing by population), then by pairing footprints of the
  same name, so two plans that keep their names are matched name to name
  whenever no other matching shares more. Footprints that share nothing are
  never paired; they stay unmatched.
* **Moved** (:func:`moved_units`): a unit assigned in both plans moved when its
  footprint in B is not the footprint matched to its footprint in A (including
  when its A footprint has no partner). A unit assigned in only one plan has not
  moved: it was *newly assigned* (only in B) or is *no longer assigned* (only in
  A); the comparison lists those apart. This is what ``fewest-changes`` counts:
  it keeps the current plan's names as far as it can and charges nothing for
  placing a unit the current plan left unassigned.

Two plans that differ only by renaming have no moves at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .errors import PlanError
from .geography import group_names
from .plans import clean_plan

log = logging.getLogger(__name__)

__all__ = ["Comparison", "compare_plans", "match_footprints", "moved_units", "reference_plan"]

MOVE_COLUMNS = (
    "unit_code",
    "name",
    "population",
    "from_footprint",
    "to_footprint",
    "matched_footprint",
    "change",
)
PAIR_COLUMNS = ("footprint_a", "footprint_b", "population_a", "population_b", "shared_population")
FLOW_COLUMNS = (
    "footprint_a",
    "footprint_b",
    "population_a",
    "population_kept",
    "population_lost",
    "population_gained",
    "population_b",
    "lost_to",
    "gained_from",
)
#: how a flow names the units a plan leaves in no footprint
NO_FOOTPRINT = "(no footprint)"
#: What a row of :attr:`Comparison.moves` records.
CHANGES = ("moved", "newly assigned", "no longer assigned")
MatchBy = Literal["units", "population"]

# combined integer weights stay below this, so float64 sums of them are exact
_EXACT = 2**52


@dataclass(frozen=True, eq=False)
class Comparison:
    """The difference between plan A and plan B.

    Attributes
    ----------
    moves
        One row per unit whose footprint changed: ``unit_code, name, population,
        from_footprint, to_footprint, matched_footprint, change``. ``from_footprint``
        is its footprint in A and ``to_footprint`` in B (empty text where a plan leaves
        it unassigned); ``matched_footprint`` is the footprint of B matched to its
        footprint in A (empty when there is none), which is where it would have been
        had it not moved; ``change`` is ``moved``, ``newly assigned`` (only in B) or
        ``no longer assigned`` (only in A). Sorted by change, then unit code.
    matching
        Footprint of A -> the footprint of B it is matched to, or ``None`` when
        it has no counterpart (B has fewer footprints, or nothing overlaps).
    pairs
        Every footprint of A and of B with its partner and populations:
        ``footprint_a, footprint_b, population_a, population_b, shared_population``
        (``None`` for a side without partner).
    share_kept_together
        Population of the units that stayed in matched footprints, divided by the
        population of every unit assigned in A or B. 1.0 means the plans group
        everyone identically (up to the labels).
    n_moved, population_moved
        How many units moved (:func:`moved_units`) and how many people live in them;
        newly and no longer assigned units are not among them.
    newly_assigned, no_longer_assigned
        Unit codes assigned only in B, and only in A.
    total_population
        Population of the units assigned in A or B (the denominator above).
    matched_by
        ``units`` (the matching keeps as many units as possible in place) or
        ``population`` (as many people as possible).
    how
        One sentence saying how footprints were matched and what "moved" means.
    flows
        Footprint to footprint, one row per pair of :attr:`pairs`: ``footprint_a,
        footprint_b, population_a, population_kept, population_lost,
        population_gained, population_b, lost_to, gained_from``. ``kept`` is the
        population the pair shares; ``lost`` what A's footprint holds that its match
        does not (moved away, or in no footprint in B), ``gained`` what B's footprint
        holds that A's did not; ``lost_to`` and ``gained_from`` name where it went and
        came from, largest first ("West (12,000); (no footprint) (3,000)").
    """

    moves: pd.DataFrame
    matching: dict[str, str | None]
    pairs: pd.DataFrame
    share_kept_together: float
    n_moved: int
    population_moved: int
    total_population: int
    newly_assigned: tuple[str, ...] = ()
    no_longer_assigned: tuple[str, ...] = ()
    matched_by: MatchBy = "units"
    how: str = ""
    flows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FLOW_COLUMNS)))

    @property
    def identical(self) -> bool:
        """True when the plans group every unit the same way, whatever the labels."""
        return self.n_moved == 0 and not self.newly_assigned and not self.no_longer_assigned

    @property
    def matching_lines(self) -> list[str]:
        """The matching in words, one line per footprint: ``"Footprint 3 ↔ FP73"``.

        Footprints without a partner read ``"North ↔ (no match in B)"`` or
        ``"(no match in A) ↔ FP12"``. Sorted by A's footprint names, then B's.
        """
        lines = [
            f"{fa} ↔ {fb}" if fb is not None else f"{fa} ↔ (no match in B)"
            for fa, fb in sorted(self.matching.items())
        ]
        matched = {fb for fb in self.matching.values() if fb is not None}
        unmatched_b = sorted(str(f) for f in self.pairs["footprint_b"].dropna() if f not in matched)
        return lines + [f"(no match in A) ↔ {fb}" for fb in unmatched_b]


def _labels(plan: Mapping[str, str], *, which: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(plan, Mapping):
        problems.append(
            f"plan {which}: got {type(plan).__name__}; expected a mapping of unit code to "
            "footprint name"
        )
        return {}
    texts: dict[str, str] = {}
    for code, label in plan.items():
        if label is None or (isinstance(label, str) and label.strip() == ""):
            continue  # unassigned
        if not isinstance(code, str) or not isinstance(label, str):
            problems.append(
                f"plan {which}: unit {code!r} -> {label!r}; unit codes and footprint labels "
                "must be text"
            )
            continue
        texts[code] = label
    return clean_plan(texts)


def _whole_weights(
    units: Iterable[str], weights: Mapping[str, int], *, what: str, problems: list[str]
) -> dict[str, int]:
    """Each unit's weight as a whole number >= 0; every unit without a usable one listed."""
    out: dict[str, int] = {}
    missing: list[str] = []
    bad: list[str] = []
    for u in units:
        if u not in weights:
            missing.append(u)
            continue
        v = weights[u]
        number = not isinstance(v, bool) and isinstance(v, int | float | np.integer | np.floating)
        if not number or not np.isfinite(v) or v < 0 or v != int(v):
            bad.append(f"{u} ({v!r})")
        else:
            out[u] = int(v)
    if missing:
        problems.append(
            f"{len(missing)} unit(s) have no {what}: {', '.join(missing[:15])}"
            + (" …" if len(missing) > 15 else "")
            + f"; pass the {what} of every unit in either plan"
        )
    if bad:
        problems.append(
            f"{len(bad)} unit(s) have a {what} that is not a whole number of 0 or more: "
            + ", ".join(bad[:15])
            + (" …" if len(bad) > 15 else "")
        )
    return out


def _matching(
    la: Mapping[str, str], lb: Mapping[str, str], levels: list[Mapping[str, int]]
) -> tuple[dict[str, str], list[str], list[str], np.ndarray]:
    """The matching of A's footprints to B's maximising the shared weight, level by level.

    ``levels`` are per-unit weights in order of importance; after them, pairs of the same
    name win. Returns the matching (matched footprints only), A's and B's footprints
    (sorted) and the shared weight of the first level per pair.
    """
    fa = sorted(set(la.values()))
    fb = sorted(set(lb.values()))
    ia = {f: i for i, f in enumerate(fa)}
    ib = {f: j for j, f in enumerate(fb)}
    both = [u for u in la if u in lb]
    mats = []
    for weight in levels:
        m = np.zeros((len(fa), len(fb)), dtype=np.int64)
        for u in both:
            m[ia[la[u]], ib[lb[u]]] += weight[u]
        mats.append(m)
    touching = np.zeros((len(fa), len(fb)), dtype=bool)
    for u in both:
        touching[ia[la[u]], ib[lb[u]]] = True
    same = np.zeros((len(fa), len(fb)), dtype=np.int64)
    for f, i in ia.items():
        if f in ib:
            same[i, ib[f]] = 1
    mats.append(same)
    if not (fa and fb and touching.any()):
        return {}, fa, fb, mats[0]
    # lexicographic: each level is scaled above the largest total the levels below can reach;
    # levels that would make the sums inexact are dropped (ties then fall to plain order)
    combined = np.zeros_like(mats[0], dtype=np.int64)
    reach = 1
    for used, m in enumerate(mats):
        cap = int(m.sum()) + 1
        if used and reach * cap >= _EXACT:
            log.debug("matching: tie-break levels past %d left out (weights too large)", used)
            break
        combined = combined * cap + m
        reach *= cap
    rows, cols = linear_sum_assignment(combined.astype(float), maximize=True)
    matching = {fa[i]: fb[j] for i, j in zip(rows, cols, strict=True) if touching[i, j]}
    return matching, fa, fb, mats[0]


def match_footprints(
    a: Mapping[str, str], b: Mapping[str, str], *, weights: Mapping[str, int] | None = None
) -> dict[str, str]:
    """Pair plan A's footprints one to one with plan B's, keeping the most in common.

    Parameters
    ----------
    a, b
        Unit code -> footprint name. A unit missing from a plan, or mapped to an
        empty name or ``None``, is unassigned in that plan.
    weights
        Unit code -> whole number (its population) for every unit assigned in both
        plans: the matching then keeps the most people together, ties broken by the
        number of units. ``None``: each unit counts 1 (the most units together).
        Remaining ties go to footprints of the same name.

    Returns
    -------
    dict
        A's footprint -> B's footprint, for matched footprints only: a footprint of
        A with no partner (B has fewer footprints, or it shares no unit with any
        footprint left) is not a key.

    Raises
    ------
    PlanError
        Listing every non-text code or name and every unit without a usable weight.
    """
    problems: list[str] = []
    la = _labels(a, which="A", problems=problems)
    lb = _labels(b, which="B", problems=problems)
    both = sorted(u for u in la if u in lb)
    levels: list[Mapping[str, int]] = [dict.fromkeys(both, 1)]
    if weights is not None:
        w = _whole_weights(both, weights, what="weight", problems=problems)
        levels = [w, *levels]
    if problems:
        raise PlanError("Cannot match the footprints of the two plans", problems=problems)
    return _matching(la, lb, levels)[0]


def moved_units(
    a: Mapping[str, str], b: Mapping[str, str], *, weights: Mapping[str, int] | None = None
) -> list[str]:
    """The units that moved from plan A to plan B: the one meaning of "moved" in the tool.

    A unit moved when it is assigned in both plans and its footprint in B is not
    the footprint :func:`match_footprints` (with the same ``weights``) pairs with
    its footprint in A. A unit assigned in only one plan did not move (it was newly
    assigned, or left unassigned); :func:`compare_plans` lists those apart.

    Count the moved units with ``len()``; with ``weights`` (populations), sum their
    weights for the people moved. ``fewest-changes`` minimises exactly this:
    ``len(moved_units(current, plan))`` with ``change_measure="units"``, and the
    population of ``moved_units(current, plan, weights=populations)`` with
    ``"population"``.

    Returns
    -------
    list of str
        Unit codes, sorted.

    Raises
    ------
    PlanError
        As :func:`match_footprints`.
    """
    matching = match_footprints(a, b, weights=weights)
    la = _labels(a, which="A", problems=[])
    lb = _labels(b, which="B", problems=[])
    return sorted(u for u, f in la.items() if u in lb and matching.get(f) != lb[u])


def compare_plans(
    a: Mapping[str, str],
    b: Mapping[str, str],
    *,
    populations: Mapping[str, int],
    names: Mapping[str, str] | None = None,
    match_by: MatchBy = "units",
    unit_label: str = "unit",
    unit_label_plural: str | None = None,
) -> Comparison:
    """Compare plan ``b`` with plan ``a``, after matching their footprints.

    Parameters
    ----------
    a, b
        Unit code -> footprint label. A unit missing from a plan, or mapped to
        an empty label or ``None``, is unassigned in that plan.
    populations
        Unit code -> population, for every unit assigned in either plan.
    names
        Unit code -> display name for the moves table (defaults to the code).
    match_by
        ``units`` (default, as ``fewest-changes`` counts by default): footprints are
        matched to keep the most units in place; ``population``: the most people.
        Pass the ``change_measure`` of a ``fewest-changes`` run to report the number
        it reported.
    unit_label, unit_label_plural
        What the units are called (``geography.unit_label``), for :attr:`Comparison.how`.

    Raises
    ------
    PlanError
        Listing every unit without a population, every non-text code or label and
        an unknown ``match_by``.
    """
    problems: list[str] = []
    if match_by not in ("units", "population"):
        problems.append(f"match_by: got {match_by!r}; expected 'units' or 'population'")
    la = _labels(a, which="A", problems=problems)
    lb = _labels(b, which="B", problems=problems)
    units = sorted(set(la) | set(lb))
    pop = _whole_weights(units, populations, what="population", problems=problems)
    if problems:
        raise PlanError("Cannot compare the plans", problems=problems)

    # exactly the levels of match_footprints(weights=None or populations): one definition
    ones = dict.fromkeys(units, 1)
    levels: list[Mapping[str, int]] = [pop, ones] if match_by == "population" else [ones]
    matched, fa, fb, _ = _matching(la, lb, levels)
    matching: dict[str, str | None] = {f: matched.get(f) for f in fa}
    moved = {u for u, f in la.items() if u in lb and matched.get(f) != lb[u]}

    moves = _moves_table(units, la, lb, moved=moved, matched=matched, pop=pop, names=names)
    shared: dict[tuple[str, str], int] = {}
    for u, f in la.items():
        if u in lb:
            shared[f, lb[u]] = shared.get((f, lb[u]), 0) + pop[u]
    pairs = _pairs_table(la, lb, fa=fa, fb=fb, matching=matching, shared=shared, pop=pop)
    flows = _flows_table(pairs, la, lb, pop=pop)

    total = sum(pop.values())
    moved_pop = sum(pop[u] for u in moved)
    kept = sum(shared.get((f, g), 0) for f, g in matched.items())
    changed = len(moves)
    # nobody lives anywhere: judge by units instead of people
    share = kept / total if total else (1.0 - changed / len(units) if units else 1.0)
    plural = unit_label_plural or f"{unit_label}s"
    what = f"{plural}" if match_by == "units" else "people"
    how = (
        f"Footprints were matched one to one, A to B, so that as many {what} as possible stay "
        "in matched footprints (ties go to footprints of the same name); a "
        f"{unit_label} moved when its footprint in B is not the one matched to its footprint "
        f"in A. {plural[:1].upper() + plural[1:]} assigned in only one plan are listed as "
        "newly or no longer assigned, not as moved."
    )
    log.debug("compared plans: %d units moved (%d people)", len(moved), moved_pop)
    return Comparison(
        moves=moves,
        matching=matching,
        pairs=pairs,
        share_kept_together=float(share),
        n_moved=len(moved),
        population_moved=moved_pop,
        total_population=total,
        newly_assigned=tuple(u for u in units if u in lb and u not in la),
        no_longer_assigned=tuple(u for u in units if u in la and u not in lb),
        matched_by=match_by,
        how=how,
        flows=flows,
    )


def _moves_table(
    units: list[str],
    la: Mapping[str, str],
    lb: Mapping[str, str],
    *,
    moved: set[str],
    matched: Mapping[str, str],
    pop: Mapping[str, int],
    names: Mapping[str, str] | None,
) -> pd.DataFrame:
    """One row per unit that moved, or is assigned in one plan only (``MOVE_COLUMNS``)."""
    rows = []
    for u in units:
        src, dst = la.get(u), lb.get(u)
        if src is not None and dst is not None:
            if u not in moved:
                continue
            change = "moved"
        else:
            change = "newly assigned" if src is None else "no longer assigned"
        rows.append(
            {
                "unit_code": u,
                "name": (names or {}).get(u, u),
                "population": pop[u],
                "from_footprint": src or "",
                "to_footprint": dst or "",
                "matched_footprint": (matched.get(src) or "") if src is not None else "",
                "change": change,
            }
        )
    rows.sort(key=lambda r: (CHANGES.index(r["change"]), r["unit_code"]))
    return pd.DataFrame(rows, columns=list(MOVE_COLUMNS)).astype(
        {"unit_code": str, "name": str, "population": "int64"}
    )


def _pairs_table(
    la: Mapping[str, str],
    lb: Mapping[str, str],
    *,
    fa: Iterable[str],
    fb: Iterable[str],
    matching: Mapping[str, str | None],
    shared: Mapping[tuple[str, str], int],
    pop: Mapping[str, int],
) -> pd.DataFrame:
    """Each footprint of A with its match in B, then B's unmatched ones (``PAIR_COLUMNS``)."""
    pop_a = dict.fromkeys(fa, 0)
    for u, f in la.items():
        pop_a[f] += pop[u]
    pop_b = dict.fromkeys(fb, 0)
    for u, g in lb.items():
        pop_b[g] += pop[u]
    matched_b = set(matching.values())
    pair_rows = [
        {
            "footprint_a": f,
            "footprint_b": g,
            "population_a": pop_a[f],
            "population_b": pop_b[g] if g is not None else None,
            "shared_population": shared.get((f, g), 0) if g is not None else 0,
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
        for g in pop_b
        if g not in matched_b
    ]
    return pd.DataFrame(pair_rows, columns=list(PAIR_COLUMNS))


def _where(counts: Mapping[str | None, int]) -> str:
    """'West (12,000); (no footprint) (3,000)': largest first, then by name (None: the
    units a plan leaves in no footprint, kept apart from a footprint of that name)."""
    ranked = sorted((-n, f is None, f or "") for f, n in counts.items() if n)
    return "; ".join(f"{NO_FOOTPRINT if none else f} ({-n:,})" for n, none, f in ranked)


def _flows_table(
    pairs: pd.DataFrame, la: Mapping[str, str], lb: Mapping[str, str], *, pop: Mapping[str, int]
) -> pd.DataFrame:
    """Each pair of :func:`_pairs_table` with what it kept, lost and gained (``FLOW_COLUMNS``)."""
    # A's footprint -> B's footprint -> population, and back; None: in no footprint
    went: dict[str | None, dict[str | None, int]] = {}
    came: dict[str | None, dict[str | None, int]] = {}
    for u in set(la) | set(lb):
        f, g = la.get(u), lb.get(u)
        went.setdefault(f, {}).setdefault(g, 0)
        went[f][g] += pop[u]
        came.setdefault(g, {}).setdefault(f, 0)
        came[g][f] += pop[u]
    rows = []
    for fa, fb in zip(pairs["footprint_a"], pairs["footprint_b"], strict=True):
        f = None if pd.isna(fa) else str(fa)  # a side without partner, however pandas keeps it
        g = None if pd.isna(fb) else str(fb)
        out = {k: n for k, n in went.get(f, {}).items() if k != g} if f is not None else {}
        into = {k: n for k, n in came.get(g, {}).items() if k != f} if g is not None else {}
        kept = went.get(f, {}).get(g, 0) if f is not None and g is not None else 0
        rows.append(
            {
                "footprint_a": f,
                "footprint_b": g,
                "population_a": sum(went[f].values()) if f is not None else 0,
                "population_kept": kept,
                "population_lost": sum(out.values()),
                "population_gained": sum(into.values()),
                "population_b": sum(came[g].values()) if g is not None else 0,
                "lost_to": _where(out),
                "gained_from": _where(into),
            }
        )
    return pd.DataFrame(rows, columns=list(FLOW_COLUMNS))


def reference_plan(
    geography, column: str, *, labels: Literal["name", "code"] = "name"
) -> dict[str, str]:
    """A reference grouping (Area Teams, Regions...) of a geography as a plan.

    Parameters
    ----------
    geography
        A :class:`~footprint.geography.Geography`.
    column
        A grouping column of ``geography.units``, e.g. ``"area_team_code"``.
        Units with no value in it are left out (unassigned).
    labels
        ``name`` (default): each group is labelled by its name where the geography
        has one (``area_team`` for ``area_team_code``, ``region`` for ``region_code``:
        "Cumbria, Northumberland, Tyne and Wear", not E39000001), so comparisons and
        maps read as a planner reads them; ``code``: by the column's own values.

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
    if labels not in ("name", "code"):
        raise PlanError(f"labels: got {labels!r}; expected 'name' or 'code'")
    groups = units[["code", column]].dropna()
    groups = groups[groups[column].astype(str).str.strip() != ""]
    plan = dict(zip(groups["code"].astype(str), groups[column].astype(str), strict=True))
    if labels == "name":
        names = group_names(units, column)
        if names:
            plan = {u: names.get(g, g) for u, g in plan.items()}
    return plan
