"""What a planner asks of a plan: an immutable, validated, JSON-serialisable object.

A :class:`Constraints` is checked on construction (every problem listed in one
:class:`~footprint.errors.ConstraintsError`), hashable (so an app can cache on
it) and round-trips through :meth:`Constraints.to_json` /
:meth:`Constraints.from_json`, so that a run can be repeated exactly. Checks
that need the units themselves (unknown codes, contradictions with the LA
blocks) happen later, against a :class:`~footprint.problem.Problem`, in
:func:`footprint.feasibility.check_feasibility`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from ._pairs import sorted_pair
from .errors import ConstraintsError

__all__ = ["CLUSTER_RANGE", "LA_RULES", "NESTED_COUNTS", "OBJECTIVES", "SOLVERS", "Constraints"]

Objective = Literal["max-footprints", "compact", "balanced", "fewest-changes", "nested"]
LARule = Literal["whole-la", "off"]
Solver = Literal["highs", "cbc"]
ChangeMeasure = Literal["units", "population"]
NestedCount = Literal["footprints", "clusters"]

#: The largest floor or ceiling accepted: a trillion people, far above any real map.
MAX_POPULATION_SETTING = 10**12

OBJECTIVES: tuple[str, ...] = ("max-footprints", "compact", "balanced", "fewest-changes", "nested")
LA_RULES: tuple[str, ...] = ("whole-la", "off")
SOLVERS: tuple[str, ...] = ("highs", "cbc")
CHANGE_MEASURES: tuple[str, ...] = ("units", "population")
#: What the ``nested`` objective maximises: the top-level footprints or the clusters.
NESTED_COUNTS: tuple[str, ...] = ("footprints", "clusters")

#: The cluster range of the 2013 guidance: the scale of contract negotiation, some medicines
#: management and local IT ("cluster level, 250,000 to 1,000,000").
CLUSTER_RANGE: tuple[int, int] = (250_000, 1_000_000)

#: Rules the ``nested`` objective does not take yet (each would need a meaning at both levels).
_NOT_NESTED = ("keep_together", "keep_apart", "fixed", "locked")

#: Fields left out of :meth:`Constraints.to_dict` while at their defaults, so that the JSON of
#: every other objective (and the digests and caches keyed on it) is as it was before them.
_QUIET_DEFAULTS = {
    "cluster_min_population": CLUSTER_RANGE[0],
    "cluster_max_population": CLUSTER_RANGE[1],
    "nested_maximise": "footprints",
}

_FORMAT = "footprint-constraints/1"


def _whole(name: str, value: Any, *, minimum: int, problems: list[str]) -> int | None:
    """``value`` as a whole number of people from ``minimum`` up, or ``None`` with a problem."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or value != int(value)
    ):
        problems.append(f"{name}: got {value!r}; expected a whole number")
        return None
    if value < minimum:
        problems.append(f"{name}: got {value:,}; expected {minimum:,} or more")
        return None
    if value > MAX_POPULATION_SETTING:
        problems.append(
            f"{name}: got {value:,}; expected at most {MAX_POPULATION_SETTING:,} (more "
            "people than any map holds)"
        )
        return None
    return int(value)


@dataclass(frozen=True, kw_only=True)
class Constraints:
    """The rules and the objective of one optimiser run.

    Parameters
    ----------
    objective
        ``max-footprints`` (the most footprints, ties broken by compactness),
        ``compact`` (a given number of footprints, smallest population-weighted
        moment of inertia), ``balanced`` (a given number, smallest spread
        between the largest and smallest population) or ``fewest-changes``
        (repair a current plan moving as few units, or as little population,
        as possible).
    min_population
        The floor every footprint must reach (300,000 by default: below that a
        commissioning support footprint was not viable in 2013).
    max_population
        Optional ceiling for every footprint.
    n_footprints
        Optional number of footprints: exact (``25``) or an inclusive range
        (``(20, 30)``). ``compact`` and ``balanced`` need it.
    la_rule
        ``whole-la`` keeps every LA block (the units sharing a home LA) in one
        footprint; ``off`` ignores LAs.
    keep_together
        Sets of unit codes that must share a footprint.
    keep_apart
        Pairs of unit codes that must be in different footprints.
    fixed
        Unit code -> footprint name. Units fixed to one name share a
        footprint; different names are different footprints.
    locked
        Names of footprints of the current plan that stay exactly as they are.
    disabled_edges
        Adjacency pairs (borders or island bridges) the footprints may not use.
    time_limit
        Seconds the solver may spend in all.
    solver
        ``highs`` (default, through highspy) or ``cbc`` (bundled with PuLP).
    change_measure
        For ``fewest-changes``: count moved ``units`` or moved ``population``.
    mip_gap
        Relative gap at which the solver may stop and call a plan optimal.
    cluster_min_population, cluster_max_population
        For ``nested``: the population range of the clusters every top-level
        footprint is divided into (250,000 to 1,000,000 by default, the 2013
        cluster level). Clusters keep LA blocks whole under ``whole-la`` too.
    nested_maximise
        For ``nested``: maximise the number of top-level ``footprints`` (each
        then divided into as many clusters as it can hold) or of ``clusters``
        (then grouped into as many footprints as they allow).

    Raises
    ------
    ConstraintsError
        Listing every value that is out of range or of the wrong kind.
    """

    objective: Objective = "max-footprints"
    min_population: int = 300_000
    max_population: int | None = None
    n_footprints: int | tuple[int, int] | None = None
    la_rule: LARule = "whole-la"
    keep_together: tuple[frozenset[str], ...] = ()
    keep_apart: tuple[tuple[str, str], ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    locked: tuple[str, ...] = ()
    disabled_edges: tuple[tuple[str, str], ...] = ()
    time_limit: float = 60.0
    solver: Solver = "highs"
    change_measure: ChangeMeasure = "units"
    mip_gap: float = 1e-4
    cluster_min_population: int = CLUSTER_RANGE[0]
    cluster_max_population: int = CLUSTER_RANGE[1]
    nested_maximise: NestedCount = "footprints"

    def __post_init__(self) -> None:
        problems: list[str] = []
        put = object.__setattr__
        for name, allowed in (
            ("objective", OBJECTIVES),
            ("la_rule", LA_RULES),
            ("solver", SOLVERS),
            ("change_measure", CHANGE_MEASURES),
            ("nested_maximise", NESTED_COUNTS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                problems.append(
                    f"{name}: got {value!r}; expected one of {', '.join(map(repr, allowed))}"
                )
        self._populations(problems)
        put(self, "n_footprints", self._count(self.n_footprints, problems))
        put(self, "keep_together", self._groups(self.keep_together, problems))
        put(self, "keep_apart", self._pairs("keep_apart", self.keep_apart, problems))
        put(self, "disabled_edges", self._pairs("disabled_edges", self.disabled_edges, problems))
        put(self, "fixed", self._fixed(self.fixed, problems))
        locked = self.locked
        if isinstance(locked, str):
            locked = (locked,)
        put(self, "locked", tuple(sorted({str(x).strip() for x in locked if str(x).strip()})))
        self._solver_settings(problems)
        self._clusters(problems)
        if self.objective in ("compact", "balanced") and self.n_footprints is None:
            problems.append(
                f"objective {self.objective!r} needs n_footprints (a number or a range); "
                "use 'max-footprints' to let the optimiser choose how many"
            )
        if problems:
            raise ConstraintsError("The constraints are not usable", problems=problems)

    def _populations(self, problems: list[str]) -> None:
        """The floor and ceiling as whole numbers, the ceiling not below the floor."""
        floor = _whole("min_population", self.min_population, minimum=0, problems=problems)
        if floor is not None:
            object.__setattr__(self, "min_population", floor)
        if self.max_population is None:
            return
        cap = _whole("max_population", self.max_population, minimum=1, problems=problems)
        if cap is None:
            return
        object.__setattr__(self, "max_population", cap)
        if floor is not None and cap < floor:
            problems.append(
                f"max_population {cap:,} is below min_population {floor:,}; "
                "raise the ceiling or lower the floor"
            )

    def _clusters(self, problems: list[str]) -> None:
        """The cluster range as whole numbers, low <= high; rules ``nested`` does not take."""
        lo = _whole(
            "cluster_min_population", self.cluster_min_population, minimum=0, problems=problems
        )
        hi = _whole(
            "cluster_max_population", self.cluster_max_population, minimum=1, problems=problems
        )
        if lo is not None:
            object.__setattr__(self, "cluster_min_population", lo)
        if hi is not None:
            object.__setattr__(self, "cluster_max_population", hi)
        if lo is not None and hi is not None and hi < lo:
            problems.append(
                f"cluster_max_population {hi:,} is below cluster_min_population {lo:,}; "
                "raise the cluster ceiling or lower the cluster floor"
            )
        if self.objective != "nested":
            return
        cap = self.max_population
        if lo is not None and isinstance(cap, int) and cap < lo:
            problems.append(
                f"max_population {cap:,} is below cluster_min_population {lo:,}: no footprint "
                "could hold a single cluster; raise the ceiling or lower the cluster floor"
            )
        for name in _NOT_NESTED:
            if getattr(self, name):
                problems.append(
                    f"{name}: the nested objective does not take {name.replace('_', ' ')} "
                    "rules yet (they would need a meaning at both levels); remove them, or "
                    "choose another objective"
                )

    def _solver_settings(self, problems: list[str]) -> None:
        """The time limit in seconds (at most a day) and the relative gap, as floats."""
        t = self.time_limit
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t <= 24 * 3600:
            problems.append(f"time_limit: got {t!r}; expected seconds above 0 and at most 86400")
        else:
            object.__setattr__(self, "time_limit", float(t))
        g = self.mip_gap
        if isinstance(g, bool) or not isinstance(g, int | float) or not 0 <= g < 1:
            problems.append(f"mip_gap: got {g!r}; expected a fraction from 0 up to (not) 1")
        else:
            object.__setattr__(self, "mip_gap", float(g))

    # --- normalisation ------------------------------------------------------------------

    @staticmethod
    def _count(value: Any, problems: list[str]) -> int | tuple[int, int] | None:
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value != int(value) or value < 1:
                problems.append(f"n_footprints: got {value!r}; expected a whole number, 1 or more")
                return None
            return int(value)
        try:
            lo, hi = value
            lo_i, hi_i = int(lo), int(hi)
        except (TypeError, ValueError):
            problems.append(
                f"n_footprints: got {value!r}; expected a number such as 25 or a range (20, 30)"
            )
            return None
        if lo_i < 1 or hi_i < lo_i:
            problems.append(
                f"n_footprints: got the range ({lo_i}, {hi_i}); expected 1 <= lowest <= highest"
            )
            return None
        return lo_i if lo_i == hi_i else (lo_i, hi_i)

    @staticmethod
    def _groups(value: Any, problems: list[str]) -> tuple[frozenset[str], ...]:
        out = []
        for i, grp in enumerate(value or (), start=1):
            if isinstance(grp, str):
                problems.append(
                    f"keep_together group {i}: got the single string {grp!r}; expected a set of "
                    "two or more unit codes"
                )
                continue
            codes = frozenset(str(c).strip() for c in grp if str(c).strip())
            if len(codes) < 2:
                problems.append(
                    f"keep_together group {i}: got {sorted(codes)}; expected two or more codes"
                )
                continue
            out.append(codes)
        return tuple(sorted(set(out), key=sorted))

    @staticmethod
    def _pairs(name: str, value: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
        out = set()
        for i, p in enumerate(value or (), start=1):
            items = [str(c).strip() for c in p] if not isinstance(p, str) else [p]
            if len(items) != 2 or not all(items):
                problems.append(f"{name} {i}: got {p!r}; expected a pair of unit codes")
                continue
            if items[0] == items[1]:
                problems.append(f"{name} {i}: got {items[0]!r} twice; expected two different codes")
                continue
            out.add(sorted_pair(items[0], items[1]))
        return tuple(sorted(out))

    @staticmethod
    def _fixed(value: Any, problems: list[str]) -> tuple[tuple[str, str], ...]:
        items: Iterable[Any] = value.items() if isinstance(value, Mapping) else (value or ())
        out: dict[str, str] = {}
        for entry in items:
            try:
                code, name = (str(v).strip() for v in entry)
            except (TypeError, ValueError):
                problems.append(f"fixed: got {entry!r}; expected (unit code, footprint name)")
                continue
            if not code or not name:
                problems.append(f"fixed: got {entry!r}; the code and the footprint name are needed")
                continue
            if code in out and out[code] != name:
                problems.append(
                    f"fixed: unit {code!r} is fixed to both {out[code]!r} and {name!r}; keep one"
                )
                continue
            out[code] = name
        return tuple(sorted(out.items()))

    # --- views ------------------------------------------------------------------------

    @property
    def fixed_map(self) -> dict[str, str]:
        """Unit code -> footprint name, as a new dictionary."""
        return dict(self.fixed)

    @property
    def count_range(self) -> tuple[int, int | None]:
        """(lowest, highest or None) number of footprints allowed."""
        n = self.n_footprints
        if n is None:
            return 1, None
        if isinstance(n, int):
            return n, n
        return n

    def cluster_level(self) -> Constraints:
        """The rules every cluster of a nested plan meets, as ``max-footprints`` rules.

        The cluster range as floor and ceiling, the LA rule, the disabled borders and the
        solver settings: what the optimiser plans clusters with and the validator checks
        them against, so the two read the range alike.
        """
        return Constraints(
            min_population=self.cluster_min_population,
            max_population=self.cluster_max_population,
            la_rule=self.la_rule,
            disabled_edges=self.disabled_edges,
            time_limit=self.time_limit,
            solver=self.solver,
            mip_gap=self.mip_gap,
        )

    def code_problems(self, known: Collection[str]) -> list[str]:
        """What the rules name that is not a unit of the map (``known``): one line per rule.

        The one check of constraint codes against a map, used by the optimiser before it
        prepares and by the validator before it checks a plan, so both say it alike.
        """
        problems: list[str] = []

        def check(what: str, codes: Iterable[str]) -> None:
            bad = sorted(code for code in set(codes) if code not in known)
            if bad:
                one = len(bad) == 1
                shown = ", ".join(bad[:15]) + (
                    f" and {len(bad) - 15} more" if len(bad) > 15 else ""
                )
                problems.append(
                    f"{what} names {len(bad):,} code{'' if one else 's'} that "
                    f"{'is' if one else 'are'} not a unit of this geography: {shown}; correct or "
                    f"remove {'it' if one else 'them'}"
                )

        for i, group in enumerate(self.keep_together, start=1):
            check(f"keep_together group {i}", group)
        for i, pair in enumerate(self.keep_apart, start=1):
            check(f"keep_apart pair {i}", pair)
        check("fixed", (code for code, _ in self.fixed))
        for i, pair in enumerate(self.disabled_edges, start=1):
            check(f"disabled_edges pair {i}", pair)
        return problems

    def replace(self, **changes: Any) -> Constraints:
        """A copy with some fields changed (validated again)."""
        data = self.to_dict()
        data.update(changes)
        return Constraints.from_dict(data)

    # --- JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (lists for tuples and sets, sorted)."""
        out: dict[str, Any] = {"format": _FORMAT}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            if (
                self.objective != "nested"
                and f.name in _QUIET_DEFAULTS
                and v == _QUIET_DEFAULTS[f.name]
            ):
                continue
            if f.name == "keep_together":
                v = [sorted(g) for g in v]
            elif f.name == "fixed":
                v = dict(v)
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[f.name] = v
        return out

    def to_json(self) -> str:
        """One JSON object that :meth:`from_json` turns back into equal constraints."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Constraints:
        """Constraints from :meth:`to_dict` output; unknown keys are refused by name."""
        known = {f.name for f in fields(cls) if not f.name.startswith("_")}
        extra = sorted(set(data) - known - {"format"})
        if extra:
            raise ConstraintsError(
                "The constraints are not usable",
                problems=[
                    f"unknown setting(s) {', '.join(map(repr, extra))}; known settings are "
                    + ", ".join(sorted(known))
                ],
            )
        kwargs = {k: v for k, v in data.items() if k in known}
        if isinstance(kwargs.get("n_footprints"), list):
            kwargs["n_footprints"] = tuple(kwargs["n_footprints"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Constraints:
        """Constraints from :meth:`to_json` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConstraintsError(
                "The constraints are not usable",
                problems=[f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"],
            ) from None
        if not isinstance(data, dict):
            raise ConstraintsError(
                "The constraints are not usable",
                problems=[f"expected a JSON object, got {type(data).__name__}"],
            )
        return cls.from_dict(data)
