"""How the largest number of footprints moves with the floor: one max-footprints run per floor.

A planner asks how many viable footprints a map can support as the floor moves (250,000
to 1,500,000, say), with and without whole LAs, and where the count steps down. Each
point of the sweep is :func:`footprint.optimise` (``max-footprints``) at one floor and
one LA rule; the points then serve one another, because the rules only tighten:

* a plan whose footprints all reach floor ``f`` reaches every lower floor, and a plan
  that keeps LAs whole is also a plan with the LA rule off. So a point's plan is a plan
  of every point at a lower (or equal) floor under the same or a looser rule;
* for the same reason a point's bound (the largest count not ruled out) bounds every
  point at a higher (or equal) floor under the same or a stricter rule, and a point
  proven infeasible makes those infeasible too.

Every point therefore reports the largest count of any plan that serves it (re-checked
by :func:`footprint.validate.validate_plan` at that point's own floor and rule) and the
smallest bound of any point that bounds it; where they meet the count is proven even
when the point's own run ran out of time. Points are solved ends first, then midpoints,
so that a point between two settled ones whose counts meet is settled without a solve,
and each run is warm-started from the best plan that serves it. Each run's answer is
kept in the disk cache (:mod:`footprint._cache`) under the data digest, the problem's
digest, the constraints of the run and a digest of the optimiser's code, so running a
sweep again, or one with floors in common, solves only what is new.

Everything here is plain data in and out: no geometry, no Streamlit.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import logging
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from . import _cache
from .constraints import LA_RULES, MAX_POPULATION_SETTING, Constraints
from .errors import ConstraintsError
from .optimiser import optimise
from .problem import Problem
from .validate import validate_plan

__all__ = [
    "CSV_COLUMNS",
    "MAX_SWEEP_FLOORS",
    "REFERENCE_COUNTS",
    "ReferenceCount",
    "SweepPoint",
    "SweepResult",
    "parse_floors",
    "sweep",
    "sweep_figure",
]

log = logging.getLogger(__name__)

#: The most floors one sweep takes (each is an optimiser run per LA rule).
MAX_SWEEP_FLOORS = 200
#: Stricter first: a whole-LA plan serves the LA rule off at the same floor.
_RULE_ORDER = ("whole-la", "off")
#: Source files whose change changes what a run returns: a cached answer is kept per digest.
_SOLVER_MODULES = ("solver.py", "_sets.py", "_recombine.py", "feasibility.py", "instance.py")

Progress = Callable[[str, int, int], None]

#: Columns of :meth:`SweepResult.to_csv`, in order (a point per row).
CSV_COLUMNS = (
    "floor",
    "la_rule",
    "status",
    "footprints",
    "bound",
    "gap",
    "plan_from_floor",
    "plan_from_la_rule",
    "merged",
    "bound_from_floor",
    "bound_from_la_rule",
    "solved",
    "cached",
    "seconds",
)


@dataclass(frozen=True)
class ReferenceCount:
    """A number of organisations of 2012-14 to read the curve against, with its source."""

    label: str
    count: int
    source: str


#: The 2013 reference points drawn beside the curve. The PCT clusters are counted in the
#: background reading (``../shared/context/``: "fewer in number than PCT clusters – of which
#: there are 51"); the Area Teams are the ``area_team_code`` column of the England 2013 data;
#: the CSUs are issue 20's "about 19" (the background reading gives no count).
REFERENCE_COUNTS: tuple[ReferenceCount, ...] = (
    ReferenceCount(
        "51 PCT clusters (2012)",
        51,
        "the background reading on commissioning support, 2012 (../shared/context/)",
    ),
    ReferenceCount(
        "25 NHS Area Teams (2013)",
        25,
        "the Area Team of each CCG in the England 2013 reference data",
    ),
    ReferenceCount(
        "about 19 CSUs (2013/14)",
        19,
        "issue 20 (about 19 commissioning support units operating in 2013/14; "
        "the background reading gives no count)",
    ),
)


@dataclass(frozen=True, kw_only=True)
class SweepPoint:
    """One floor under one LA rule: the largest count found, its bound, and where they came from.

    Attributes
    ----------
    floor, la_rule
        The point.
    status
        ``optimal`` (the count is proven the largest), ``feasible`` (a valid plan; the
        bound may be higher), ``infeasible`` (proven that no plan exists) or
        ``no-solution`` (no plan found in the time).
    footprints
        The largest number of footprints of a valid plan at this point, or None.
    bound
        The largest count not ruled out at this point (None when nothing bounds it).
    plan_from, bound_from
        The ``(floor, la_rule)`` whose run found the plan, and whose run proved the
        bound: this point itself, or another that serves it.
    merged
        The plan is ``plan_from``'s plan (a lower floor) with its footprints below this
        floor merged into neighbours.
    solved
        Whether this point had a run of its own (False: settled by other points).
    cached
        Whether its run's answer came from the disk cache.
    seconds
        Its own run's wall time (0 when not solved, and as first measured when cached).
    assignment
        Unit code -> footprint name of the plan (empty without one).
    reasons
        Why its own run found no plan, in words.
    """

    floor: int
    la_rule: str
    status: str
    footprints: int | None
    bound: int | None
    plan_from: tuple[int, str] | None
    merged: bool
    bound_from: tuple[int, str] | None
    solved: bool
    cached: bool
    seconds: float
    assignment: Mapping[str, str] = field(default_factory=dict, repr=False)
    reasons: tuple[str, ...] = ()

    @property
    def gap(self) -> int | None:
        """Footprints between the count found and the bound (0 when proven)."""
        if self.footprints is None or self.bound is None:
            return None
        return max(0, self.bound - self.footprints)

    def describe(self, *, population_label: str = "registered patients") -> str:
        """The point in one sentence, as a planner reads it (plain text, no markup)."""
        rule = "whole LAs" if self.la_rule == "whole-la" else "the LA rule off"
        head = f"At a floor of {self.floor:,} {population_label} with {rule}: "
        if self.status == "infeasible":
            return head + "no plan can meet the rules (proven)."
        if self.footprints is None:
            most = "" if self.bound is None else f" (at most {self.bound} are possible)"
            return head + f"no plan was found in the time{most}."
        if self.status == "optimal":
            words = f"{self.footprints} footprints, proven the largest number."
        else:
            words = (
                f"{self.footprints} footprints found; at most {self.bound} are possible "
                f"(the count is not proven; gap {self.gap})."
            )
        src = self.plan_from
        if src is not None and src != (self.floor, self.la_rule):
            how = "merged up from" if self.merged else "taken from"
            where = "whole LAs" if src[1] == "whole-la" else "the LA rule off"
            words += f" The plan is {how} the run at {src[0]:,} with {where}."
        return head + words

    def row(self) -> dict[str, Any]:
        """The point as one flat row (CSV and JSON), without the plan."""
        return {
            "floor": self.floor,
            "la_rule": self.la_rule,
            "status": self.status,
            "footprints": self.footprints,
            "bound": self.bound,
            "gap": self.gap,
            "plan_from_floor": None if self.plan_from is None else self.plan_from[0],
            "plan_from_la_rule": None if self.plan_from is None else self.plan_from[1],
            "merged": self.merged,
            "bound_from_floor": None if self.bound_from is None else self.bound_from[0],
            "bound_from_la_rule": None if self.bound_from is None else self.bound_from[1],
            "solved": self.solved,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """Every point of a sweep, in order of LA rule then floor.

    Attributes
    ----------
    points
        One :class:`SweepPoint` per floor and LA rule.
    constraints
        The rules every point shares (its floor and LA rule set per point).
    seconds
        Wall time of the whole sweep.
    seconds_per_floor, retry_seconds
        The time limit of each point's first run, and of a second run of an unproven point.
    stopped
        Whether ``max_seconds`` stopped the sweep before every unproven point had its runs.
    """

    points: tuple[SweepPoint, ...]
    constraints: Constraints
    seconds: float
    seconds_per_floor: float
    retry_seconds: float = 0.0
    stopped: bool = False

    def point(self, floor: int, la_rule: str) -> SweepPoint:
        """The point at ``floor`` under ``la_rule``; KeyError if the sweep has none."""
        for p in self.points:
            if p.floor == floor and p.la_rule == la_rule:
                return p
        raise KeyError((floor, la_rule))

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per point (see :meth:`SweepPoint.row`)."""
        return [p.row() for p in self.points]

    def to_csv(self) -> bytes:
        """The points as CSV (one row per point, columns as :data:`CSV_COLUMNS`), UTF-8."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in self.rows():
            w.writerow({k: "" if row[k] is None else row[k] for k in CSV_COLUMNS})
        return buf.getvalue().encode("utf-8")

    def steps(self, la_rule: str) -> list[tuple[int, int, int]]:
        """Where the count found falls: (floor, count before, count from this floor on)."""
        pts = [p for p in self.points if p.la_rule == la_rule and p.footprints is not None]
        return [
            (b.floor, int(a.footprints or 0), int(b.footprints or 0))
            for a, b in pairwise(pts)
            if b.footprints != a.footprints
        ]

    @property
    def proven(self) -> int:
        """How many points are settled (optimal or infeasible)."""
        return sum(p.status in ("optimal", "infeasible") for p in self.points)


# --- reading floors -----------------------------------------------------------------------------


def parse_floors(text: str) -> tuple[int, ...]:
    """Floors from ``START:STOP:STEP`` (inclusive) or a comma-separated list.

    ``"250000:1500000:50000"`` is the 26 floors 250,000, 300,000, ... 1,500,000;
    ``"300000,500000"`` two floors. Thousands separators (``300,000`` in a list is
    ambiguous, so use ``_`` or none) and spaces are not accepted inside a number.

    Raises
    ------
    ConstraintsError
        Saying what was received and what is expected.
    """
    raw = str(text).strip()
    example = (
        "expected START:STOP:STEP such as 250000:1500000:50000, or a list such as 300000,500000"
    )
    if not raw:
        raise ConstraintsError("No floors given", problems=[f"got an empty text; {example}"])
    if ":" in raw:
        parts = raw.split(":")
        if len(parts) != 3:
            raise ConstraintsError(
                "The floors are not readable", problems=[f"got {raw!r}; {example}"]
            )
        start, stop, step = (_whole_number(p, raw, example) for p in parts)
        problems = []
        if step <= 0:
            problems.append(f"got a step of {step:,} in {raw!r}; expected a step above 0")
        if stop < start:
            problems.append(f"got {raw!r}, which stops ({stop:,}) below its start ({start:,})")
        if problems:
            raise ConstraintsError("The floors are not usable", problems=problems)
        if (stop - start) // step + 1 > MAX_SWEEP_FLOORS:
            raise ConstraintsError(
                "Too many floors",
                problems=[
                    f"got {raw!r}, {(stop - start) // step + 1:,} floors; expected at most "
                    f"{MAX_SWEEP_FLOORS}: use a larger step"
                ],
            )
        return tuple(range(start, stop + 1, step))
    return tuple(_whole_number(p, raw, example) for p in raw.split(","))


def _whole_number(part: str, raw: str, example: str) -> int:
    s = part.strip().replace("_", "")
    if not s.isascii() or not s.isdigit():
        raise ConstraintsError(
            "The floors are not readable",
            problems=[f"got {part.strip()!r} in {raw!r}, not a whole number; {example}"],
        )
    return int(s)


def _check_request(
    floors: Sequence[int],
    la_rules: Sequence[str],
    base: Constraints,
    seconds: float,
    *,
    name: str = "seconds_per_floor",
) -> None:
    """Every problem with the sweep's own settings, in one error."""
    problems: list[str] = []
    if not floors:
        problems.append("floors: got none; expected at least one floor, e.g. 300000")
    bad: list[object] = [
        f
        for f in floors
        if isinstance(f, bool) or not isinstance(f, int) or not 0 < f <= MAX_POPULATION_SETTING
    ]
    if bad:
        problems.append(
            f"floors: got {', '.join(map(repr, bad[:5]))}; expected whole numbers of people "
            f"from 1 to {MAX_POPULATION_SETTING:,}"
        )
    cap = base.max_population
    above = sorted({f for f in floors if isinstance(f, int) and cap is not None and f > cap})
    if above:
        problems.append(
            f"floors: got {', '.join(f'{f:,}' for f in above[:5])} above the ceiling of "
            f"{cap:,}; drop those floors or raise the ceiling"
        )
    if len(set(floors)) > MAX_SWEEP_FLOORS:
        problems.append(f"floors: got {len(set(floors)):,}; expected at most {MAX_SWEEP_FLOORS}")
    if not la_rules or any(r not in LA_RULES for r in la_rules):
        problems.append(
            f"la_rules: got {list(la_rules)!r}; expected one or both of "
            f"{', '.join(map(repr, LA_RULES))}"
        )
    if base.objective != "max-footprints":
        problems.append(
            f"objective: got {base.objective!r}; a sweep asks for the most footprints at each "
            "floor, so the objective must be 'max-footprints'"
        )
    if base.locked:
        problems.append(
            f"locked: got {', '.join(map(repr, base.locked))}; a sweep has no current plan to "
            "keep footprints from, so drop the locks"
        )
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= 86400
    ):
        problems.append(f"{name}: got {seconds!r}; expected seconds above 0 and at most 86400")
    if problems:
        raise ConstraintsError("The sweep cannot run", problems=problems)


# --- what serves what ---------------------------------------------------------------------------

Key = tuple[int, str]


def _looser_or_same(rule: str, other: str) -> bool:
    """Is every plan under ``rule`` a plan under ``other``? (whole-la plans are 'off' plans)."""
    return rule == other or (rule == "whole-la" and other == "off")


def _plan_serves(src: Key, dst: Key) -> bool:
    """A plan of ``src`` is a plan of ``dst``: a floor no higher, a rule no stricter."""
    return dst[0] <= src[0] and _looser_or_same(src[1], dst[1])


def _bound_serves(src: Key, dst: Key) -> bool:
    """A bound of ``src`` bounds ``dst``: a floor no lower, a rule no looser."""
    return dst[0] >= src[0] and _looser_or_same(dst[1], src[1])


@dataclass
class _Run:
    """One optimiser run's answer, as plain data (what the disk cache keeps)."""

    status: str
    footprints: int | None
    bound: int | None
    assignment: dict[str, str]
    seconds: float
    reasons: tuple[str, ...]
    cached: bool = False


@dataclass
class _Board:
    """The runs so far, and what they settle at each point."""

    problem: Problem
    base: Constraints
    seconds: float
    runs: dict[Key, _Run] = field(default_factory=dict)

    def constraints(self, key: Key, seconds: float | None = None) -> Constraints:
        rule: Any = key[1]  # one of LA_RULES, checked before the sweep starts
        return dataclasses.replace(
            self.base,
            min_population=key[0],
            la_rule=rule,
            time_limit=self.seconds if seconds is None else seconds,
        )

    def record(self, key: Key, run: _Run) -> None:
        """Keep a run's answer; a second run of a point keeps the better plan and bound."""
        old = self.runs.get(key)
        if old is None:
            self.runs[key] = run
            return
        better = run if (run.footprints or 0) > (old.footprints or 0) else old
        bounds = [b for b in (old.bound, run.bound) if b is not None]
        infeasible = "infeasible" in (old.status, run.status)
        self.runs[key] = _Run(
            status="infeasible" if infeasible else better.status,
            footprints=better.footprints,
            bound=min(bounds) if bounds else None,
            assignment=better.assignment,
            seconds=old.seconds + run.seconds,
            reasons=run.reasons,
            cached=old.cached and run.cached,
        )

    def best_plan(self, key: Key) -> tuple[Key, _Run, bool] | None:
        """The most footprints of a plan valid at ``key`` (re-checked), where it came from,
        and whether it was merged up from a lower floor's plan."""
        found = self._as_is(key)
        merged = self._merged(key)
        if merged is not None and (
            found is None or (merged[1].footprints or 0) > (found[1].footprints or 0)
        ):
            return merged[0], merged[1], True
        return None if found is None else (found[0], found[1], False)

    def _as_is(self, key: Key) -> tuple[Key, _Run] | None:
        """The run with the most footprints whose plan is valid at ``key`` as it is."""
        donors = sorted(
            (
                (src, run)
                for src, run in self.runs.items()
                if run.assignment and _plan_serves(src, key)
            ),
            key=lambda sr: (-(sr[1].footprints or 0), sr[0] != key, -sr[0][0], sr[0][1]),
        )
        for src, run in donors:
            if src == key:
                return src, run  # the optimiser validated its own plan
            broken = validate_plan(self.problem, run.assignment, self.constraints(key))
            if not broken:
                return src, run
            # cannot happen when the rules only tighten; say so rather than use the plan
            log.warning(
                "the plan of floor %s (%s) breaks %s at floor %s (%s); not used",
                f"{src[0]:,}",
                src[1],
                broken[0].rule,
                f"{key[0]:,}",
                key[1],
            )
        return None

    def _merged(self, key: Key) -> tuple[Key, _Run] | None:
        """The plan of the nearest lower floor (per rule that serves ``key``) merged up to it."""
        best: tuple[Key, _Run] | None = None
        for rule in _RULE_ORDER:
            if not _looser_or_same(rule, key[1]):
                continue
            lower = [
                s for s, r in self.runs.items() if s[1] == rule and s[0] < key[0] and r.assignment
            ]
            if not lower:
                continue
            src = max(lower)
            c = self.constraints(key)
            plan = _merged_up(
                self.problem, self.runs[src].assignment, floor=key[0], cap=c.max_population
            )
            if plan is None or validate_plan(self.problem, plan, c):
                continue
            n = len(set(plan.values()))
            if best is None or n > (best[1].footprints or 0):
                best = (src, _Run("feasible", n, None, plan, 0.0, ()))
        return best

    def best_bound(self, key: Key) -> tuple[Key, int] | None:
        """The smallest bound of any run that bounds ``key`` (infeasible runs bound it by -1)."""
        found = [
            (src, -1 if run.status == "infeasible" else run.bound)
            for src, run in self.runs.items()
            if _bound_serves(src, key) and (run.status == "infeasible" or run.bound is not None)
        ]
        if not found:
            return None
        src, value = min(found, key=lambda sv: (sv[1], sv[0] != key, sv[0]))
        return src, int(value if value is not None else -1)

    def point(self, key: Key) -> SweepPoint:
        plan = self.best_plan(key)
        bound = self.best_bound(key)
        own = self.runs.get(key)
        count = plan[1].footprints if plan else None
        limit = bound[1] if bound else None
        if limit is not None and limit < 0:
            status, limit = "infeasible", None
        elif count is not None and limit is not None and count >= limit:
            status = "optimal"
        elif count is not None:
            status = "feasible"
        else:
            status = "no-solution"
        return SweepPoint(
            floor=key[0],
            la_rule=key[1],
            status=status,
            footprints=count,
            bound=limit,
            plan_from=plan[0] if plan else None,
            merged=bool(plan and plan[2]),
            bound_from=bound[0] if bound else None,
            solved=own is not None,
            cached=bool(own and own.cached),
            seconds=own.seconds if own else 0.0,
            assignment=dict(plan[1].assignment) if plan else {},
            reasons=own.reasons if own and not plan else (),
        )


def _merged_up(
    problem: Problem, assignment: Mapping[str, str], *, floor: int, cap: int | None
) -> dict[str, str] | None:
    """A plan made to reach ``floor``: each footprint below it, smallest first, merged into
    a neighbouring footprint (see :func:`_merge_target`); None when a ceiling stops every
    merge.

    Merging whole neighbouring footprints keeps them connected and keeps LA blocks whole,
    so a plan at a lower floor gives a plan here without a solve; the caller validates it.
    """
    where = dict(assignment)
    groups: dict[str, set[str]] = {}
    for unit, name in where.items():
        groups.setdefault(name, set()).add(unit)
    pop = {k: sum(problem.populations[u] for u in g) for k, g in groups.items()}
    nbrs = problem.neighbours()
    while True:
        small = [k for k in groups if pop[k] < floor]
        if not small:
            return where
        k = min(small, key=lambda x: (pop[x], x))
        touching = {where[v] for u in groups[k] for v in nbrs[u] if v in where} - {k}
        options = [g for g in touching if cap is None or pop[g] + pop[k] <= cap]
        if not options:
            return None
        into = _merge_target(options, pop, pop[k], floor)
        for u in groups[k]:
            where[u] = into
        groups[into] |= groups.pop(k)
        pop[into] += pop.pop(k)


def _merge_target(options: list[str], pop: Mapping[str, int], size: int, floor: int) -> str:
    """Where a footprint of ``size`` below the floor goes: a neighbour below the floor too
    (the one that then reaches it with least to spare, else the one nearest it), and only
    when none is below, the smallest neighbour."""
    below = [g for g in options if pop[g] < floor]
    if not below:
        return min(options, key=lambda x: (pop[x], x))
    reaching = [g for g in below if pop[g] + size >= floor]
    if reaching:
        return min(reaching, key=lambda x: (pop[x], x))
    return max(below, key=lambda x: (pop[x], x))


# --- the order of the runs ----------------------------------------------------------------------


def _bisection_order(floors: Sequence[int]) -> list[int]:
    """The floors ends first, then midpoints of the widest unvisited stretches."""
    fl = sorted(set(floors))
    if len(fl) <= 2:
        return fl
    order = [fl[0], fl[-1]]
    stretches = [(0, len(fl) - 1)]
    while stretches:
        nxt = []
        for lo, hi in stretches:
            if hi - lo < 2:
                continue
            mid = (lo + hi) // 2
            order.append(fl[mid])
            nxt += [(lo, mid), (mid, hi)]
        stretches = nxt
    return order


@lru_cache(maxsize=1)
def _solver_code() -> str:
    """A digest of the optimiser's source: a cached answer is reused only by the same code."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = sorted((here / "optimiser").rglob("*.py")) + [here / m for m in _SOLVER_MODULES]
    for path in files:
        h.update(path.name.encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"(unreadable)")
    return h.hexdigest()[:16]


def _cache_key(problem: Problem, constraints: Constraints) -> str:
    text = constraints.to_json()
    rules = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    data = "".join(ch for ch in (problem.data_digest or "none") if ch.isalnum())[:32]
    return f"sweep-{data}-{problem.digest()}-{rules}-{_solver_code()}"


def _solve(board: _Board, key: Key, *, seconds: float, cache: bool) -> _Run:
    """One optimiser run at ``key``, warm-started from the best plan that serves it."""
    c = board.constraints(key, seconds)
    start = board.best_plan(key)
    current = dict(start[1].assignment) if start else None

    def build() -> _Run:
        result = optimise(board.problem, c, current=current)
        return _Run(
            status=result.status,
            footprints=result.footprints if result.assignment else None,
            bound=None if result.bound is None else int(result.bound + 1e-6),
            assignment=dict(result.assignment),
            seconds=float(result.seconds),
            reasons=tuple(result.reasons),
        )

    fresh: list[bool] = []

    def built() -> _Run:
        fresh.append(True)
        return build()

    run = _cache.cached(_cache_key(board.problem, c), built, enabled=cache)
    run = dataclasses.replace(run, cached=not fresh)
    return run


def sweep(
    problem: Problem,
    *,
    floors: Iterable[int],
    la_rules: Iterable[str] = ("whole-la", "off"),
    constraints: Constraints | None = None,
    seconds_per_floor: float = 4.0,
    retry_seconds: float | None = 15.0,
    max_seconds: float | None = None,
    cache: bool = True,
    progress: Progress | None = None,
) -> SweepResult:
    """The largest number of footprints at each floor under each LA rule.

    Parameters
    ----------
    problem
        The units, populations and adjacency.
    floors
        The floors (whole numbers of people), in any order; repeats are dropped.
    la_rules
        ``whole-la``, ``off`` or both.
    constraints
        The rules every point shares (a ceiling, keep-apart pairs...): ``max-footprints``;
        its floor, LA rule and time limit are replaced per point. Default: no other rule.
    seconds_per_floor
        The time limit of each point's first run (points settled by others take none).
        Most points are proven in a few seconds; the rest of a short run would only make
        the plan more compact.
    retry_seconds
        The time limit of a second run for each point still unproven after the first
        pass (its better plan and lower bound are kept); None or 0: no second pass.
    max_seconds
        Start no run that could end after this many seconds of the sweep (None: no cap);
        points not reached keep what the runs so far settle, and ``stopped`` says so.
    cache
        Keep each run's answer in the disk cache and reuse it (``False``: always solve).
    progress
        Called before each point with a sentence, the points done and the points in all.

    Returns
    -------
    SweepResult
        One point per floor and rule; every plan in it passes the validator at its point.

    Raises
    ------
    ConstraintsError
        When the floors, rules, time or shared constraints cannot make a sweep.
    """
    base = constraints or Constraints()
    floor_list = list(floors)
    rules = list(dict.fromkeys(la_rules))
    _check_request(floor_list, rules, base, seconds_per_floor)
    _check_request(floor_list, rules, base, retry_seconds or 1.0, name="retry_seconds")
    if max_seconds is not None:
        _check_request(floor_list, rules, base, max_seconds, name="max_seconds")
    say = progress or (lambda _m, _d, _t: None)
    t0 = time.perf_counter()
    board = _Board(problem, base, float(seconds_per_floor))
    order = [(f, r) for r in _RULE_ORDER if r in rules for f in _bisection_order(floor_list)]
    passes = [(float(seconds_per_floor), "solving")]
    if retry_seconds:
        passes.append((float(retry_seconds), "more time for an unproven count"))
    stopped = False
    for limit, doing in passes:
        todo = [k for k in order if board.point(k).status not in ("optimal", "infeasible")]
        for i, key in enumerate(todo):
            where = f"floor {key[0]:,}, {RULE_NAMES[key[1]]}"
            if board.point(key).status in ("optimal", "infeasible"):
                say(
                    f"{where}: settled by the points around it ({i + 1} of {len(todo)})",
                    i,
                    len(todo),
                )
                continue
            if max_seconds is not None and time.perf_counter() - t0 + limit > max_seconds:
                stopped = True
                break
            say(f"{where}: {doing} ({i + 1} of {len(todo)})…", i, len(todo))
            board.record(key, _solve(board, key, seconds=limit, cache=cache))
        if stopped:
            break
    say("done", 1, 1)
    points = tuple(
        board.point((f, r)) for r in _RULE_ORDER if r in rules for f in sorted(set(floor_list))
    )
    return SweepResult(
        points=points,
        constraints=base,
        seconds=time.perf_counter() - t0,
        seconds_per_floor=float(seconds_per_floor),
        retry_seconds=float(retry_seconds or 0.0),
        stopped=stopped,
    )


# --- the curve as a figure ----------------------------------------------------------------------

#: Line colours of the two LA rules (the app's chart uses the same).
RULE_COLOURS = {"whole-la": "#1f5fa8", "off": "#e67e22"}
RULE_NAMES = {"whole-la": "whole LAs", "off": "LA rule off"}


def sweep_figure(
    result: SweepResult,
    *,
    population_label: str = "registered patients",
    attribution: Sequence[str] = (),
) -> Any:
    """The sweep as a step curve per LA rule, bounds above unproven points, references marked.

    A :class:`matplotlib.figure.Figure` (no pyplot, no global state), for a PNG beside the
    app's interactive chart. Proven points are filled, unproven ones open with a bar up to
    their bound; the 2013 reference counts are dotted lines. ``attribution`` (the
    geography's licence lines) is printed under the axes.
    """
    from matplotlib.figure import Figure

    from ._text import clean_text

    fig = Figure(figsize=(9, 5.2), dpi=110)
    ax = fig.add_subplot()
    for rule in _RULE_ORDER:
        pts = [p for p in result.points if p.la_rule == rule and p.footprints is not None]
        if not pts:
            continue
        xs = [p.floor / 1e6 for p in pts]
        ys = [int(p.footprints or 0) for p in pts]
        colour = RULE_COLOURS[rule]
        ax.step(xs, ys, where="post", color=colour, label=RULE_NAMES[rule], linewidth=1.8)
        proven = [p for p in pts if p.status == "optimal"]
        ax.scatter(
            [p.floor / 1e6 for p in proven],
            [int(p.footprints or 0) for p in proven],
            color=colour,
            s=18,
            zorder=3,
        )
        for p in pts:
            if p.status != "optimal" and p.bound is not None:
                x = p.floor / 1e6
                y = int(p.footprints or 0)
                ax.scatter([x], [y], facecolor="white", edgecolor=colour, s=22, zorder=3)
                ax.plot([x, x], [y, p.bound], color=colour, linewidth=1, linestyle=":")
    for ref in REFERENCE_COUNTS:
        ax.axhline(ref.count, color="#555555", linewidth=0.8, linestyle="--")
        ax.annotate(
            ref.label,
            xy=(1.0, ref.count),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color="#333333",
        )
    ax.set_xlabel(f"floor (million {population_label} per footprint)")
    ax.set_ylabel("largest number of footprints")
    ax.set_title(
        "Largest number of footprints by floor (filled: proven; open: dotted up to the bound)",
        fontsize=10,
    )
    ax.grid(True, linewidth=0.4, alpha=0.5)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.86), fontsize=9)
    credit = " | ".join(clean_text(a) for a in attribution if clean_text(a))
    if credit:  # wrapped, so that the whole licence line shows
        fig.text(0.01, 0.01, textwrap.fill(credit[:600], 150), fontsize=6.5, color="#555555")
    fig.tight_layout(rect=(0, 0.09 if credit else 0.0, 1, 1))
    return fig
