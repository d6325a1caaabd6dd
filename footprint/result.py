"""What an optimiser run returns: the plan, how good it is proven to be, and how to repeat it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .constraints import Constraints
from .feasibility import Check

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = ["STATUSES", "OptimiseResult", "nested_verdict"]

#: ``optimal``: proven best; ``feasible``: a valid plan, with the best bound and gap;
#: ``infeasible``: proven that no plan meets every constraint (``reasons`` says why);
#: ``no-solution``: the time limit passed before any valid plan was found.
STATUSES = ("optimal", "feasible", "infeasible", "no-solution")


@dataclass(frozen=True, eq=False)
class OptimiseResult:
    """One optimiser run.

    Attributes
    ----------
    status
        One of :data:`STATUSES`.
    objective
        The objective's name (``max-footprints``, ``compact``, ``balanced``,
        ``fewest-changes``).
    assignment
        Unit code -> footprint name (empty without a plan).
    footprints
        Number of footprints in the plan (None without a plan).
    objective_value, bound, gap
        The objective of the plan, the best bound proven and their relative
        gap (0 when optimal). For ``max-footprints`` these are the number of
        footprints; the compactness among plans with that many is reported in
        ``compactness`` with its own ``compactness_gap``. For ``compact`` they are
        the districting model's measure: population x squared km to each
        footprint's best centre, where units that must share a footprint (an LA
        block, keep-together sets, fixed names) count as one point at their
        population centre.
    compactness
        Sum over footprints of the population-weighted moment of inertia about
        each footprint's population centre (person-km²; smaller is more compact).
    compactness_gap
        How far the compactness may be from the best among plans with this
        count (``max-footprints``) or None when not measured.
    seconds
        Wall time of the whole run.
    solver, solver_version
        What solved it.
    log
        The solver's own log, every solve in order.
    reasons, checks
        Why there is no plan: plain sentences, and the named checks they came from.
        With a plan, ``reasons`` can still say what limited it: a model too large for
        this server that was not built, so the plan has no bound from it.
    table
        Per-footprint table (population, units, LAs, area, Polsby-Popper,
        inertia, contiguity, problems), or None without a plan.
    constraints
        The constraints of the run.
    reproduce
        What is needed to repeat the run: data and problem digests, the
        constraints as JSON, solver and versions.
    clusters
        For ``nested``: unit code -> cluster name, each cluster inside one footprint
        and named after it (``FP01.1``, ``FP01.2``…); empty otherwise.
    cluster_table
        For ``nested``: the per-cluster table (the columns of ``table``), or None.
    levels
        For ``nested``: ``{"footprints": ..., "clusters": ...}``, each level's
        ``count``, ``bound`` (valid over every nested plan, or None where only the
        other level's plan bounds it) and ``proof``, a sentence saying what is proven.
    stages
        One dictionary per step (preparation, floor sets, constructions, solves, and a
        ``"status": "too large"`` entry for each model not built), for the curious.
    """

    status: str
    objective: str
    assignment: Mapping[str, str]
    footprints: int | None
    objective_value: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str
    solver_version: str
    constraints: Constraints
    log: str = field(default="", repr=False)
    reasons: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    compactness: float | None = None
    compactness_gap: float | None = None
    table: pd.DataFrame | None = field(default=None, repr=False)
    reproduce: Mapping[str, Any] = field(default_factory=dict, repr=False)
    stages: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    clusters: Mapping[str, str] = field(default_factory=dict, repr=False)
    cluster_table: pd.DataFrame | None = field(default=None, repr=False)
    levels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when there is a valid plan (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    @property
    def smallest_population(self) -> int | None:
        if self.table is None or len(self.table) == 0:
            return None
        return int(self.table["population"].min())

    @property
    def largest_population(self) -> int | None:
        if self.table is None or len(self.table) == 0:
            return None
        return int(self.table["population"].max())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no log, no table, no assignment).

        A ``nested`` run adds ``clusters``: their count, bound and proof, the cluster
        range, the smallest and largest cluster, and each footprint's clusters.
        """
        out: dict[str, Any] = {
            "status": self.status,
            "objective": self.objective,
            "footprints": self.footprints,
            "objective_value": self.objective_value,
            "bound": self.bound,
            "gap": self.gap,
            "compactness": self.compactness,
            "compactness_gap": self.compactness_gap,
            "seconds": round(self.seconds, 3),
            "smallest_population": self.smallest_population,
            "largest_population": self.largest_population,
            "min_population": self.constraints.min_population,
            "max_population": self.constraints.max_population,
            "solver": self.solver,
            "solver_version": self.solver_version,
            "reasons": list(self.reasons),
            "checks": [c.name for c in self.checks],
            "reproduce": dict(self.reproduce),
        }
        if self.objective == "nested":
            out["clusters"] = self._clusters_dict()
            out["levels"] = {k: dict(v) for k, v in self.levels.items()}
        return out

    def _clusters_dict(self) -> dict[str, Any]:
        level = dict(self.levels.get("clusters", {}))
        by_footprint: dict[str, set[str]] = {}
        for unit, cluster in self.clusters.items():
            by_footprint.setdefault(self.assignment[unit], set()).add(cluster)
        pops = [] if self.cluster_table is None else list(self.cluster_table["population"])
        return {
            "count": len(set(self.clusters.values())) if self.clusters else None,
            "bound": level.get("bound"),
            "proof": level.get("proof"),
            "min_population": self.constraints.cluster_min_population,
            "max_population": self.constraints.cluster_max_population,
            "smallest_population": int(min(pops)) if pops else None,
            "largest_population": int(max(pops)) if pops else None,
            "by_footprint": {fp: sorted(cs) for fp, cs in sorted(by_footprint.items())},
        }


def nested_verdict(result: Mapping[str, Any], *, population_label: str) -> tuple[str, str]:
    """(kind of message, one plain sentence) for a nested run's summary with a plan.

    ``result`` holds ``status`` and ``levels`` (:attr:`OptimiseResult.levels`) and the
    ``cluster_range``; the maximised level is read first with what is proven of it, then
    the other level with what is proven of it given the first. ``kind`` is ``"success"``
    when the maximised count is proven the most, else ``"warning"``.
    """
    levels = result["levels"]
    first = next((k for k, v in levels.items() if v.get("maximised")), "footprints")
    second = "clusters" if first == "footprints" else "footprints"
    lo, hi = result.get("cluster_range") or (None, None)
    people = str(population_label or "population").split(" (", 1)[0].strip()
    sized = f" of {lo:,} to {hi:,} {people}" if lo is not None else ""

    def said(level: str) -> str:
        n = levels[level]["count"]
        word = level if n != 1 else level[:-1]
        return f"{n:,} {word}" + (sized if level == "clusters" else "")

    optimal = result["status"] == "optimal"
    head = "Proven best (optimal)" if optimal else "Feasible"
    join = "divided into" if first == "footprints" else "grouped into"
    sentence = (
        f"{head}: {said(first)}, {levels[first]['proof']}; {join} {said(second)} "
        f"({levels[second]['proof']})."
    )
    return ("success" if optimal else "warning"), sentence
