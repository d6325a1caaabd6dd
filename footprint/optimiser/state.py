"""Plans on the instance (node -> footprint index): groups, validity, centres and costs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Self

from ..instance import Instance

Plan = dict[str, int]  # node -> footprint index


# --- plans on the instance ---------------------------------------------------------------------


def groups_of(plan: Mapping[str, int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for n, k in plan.items():
        out.setdefault(k, set()).add(n)
    return out


def plan_ok(inst: Instance, plan: Plan) -> bool:
    """Every node placed and every footprint valid (the optimiser's own quick check)."""
    if set(plan) != set(inst.nodes):
        return False
    groups = groups_of(plan)
    if len(groups) < inst.count_lo or (inst.count_hi is not None and len(groups) > inst.count_hi):
        return False
    return all(inst.footprint_ok(nodes) for nodes in groups.values())


def d2(inst: Instance, a: str, b: str) -> float:
    (xa, ya), (xb, yb) = inst.xy[a], inst.xy[b]
    return ((xa - xb) ** 2 + (ya - yb) ** 2) / 1e6  # km²


def _inertia(inst: Instance, nodes: set[str]) -> float:
    """Population-weighted moment of inertia of some nodes about their centre (person-km²)."""
    w = sum(inst.pop[n] for n in nodes)
    if w <= 0:
        return 0.0
    cx = sum(inst.pop[n] * inst.xy[n][0] for n in nodes) / w
    cy = sum(inst.pop[n] * inst.xy[n][1] for n in nodes) / w
    return (
        sum(inst.pop[n] * ((inst.xy[n][0] - cx) ** 2 + (inst.xy[n][1] - cy) ** 2) for n in nodes)
        / 1e6
    )


#: footprints of more nodes than this find their best centre as the node nearest their
#: population centre (the same node, since the sum of population x squared distance to a
#: point is the inertia plus the population x the point's squared distance from the
#: centre), not by trying every node: that cost the square of the footprint's size per
#: call, and local search calls it for every move (England's footprints are far smaller)
_EXACT_CENTRE_NODES = 64


def best_centre(inst: Instance, nodes: set[str]) -> str:
    if len(nodes) <= _EXACT_CENTRE_NODES:
        return min(sorted(nodes), key=lambda j: sum(inst.pop[i] * d2(inst, i, j) for i in nodes))
    w = sum(inst.pop[n] for n in nodes)
    if w <= 0:
        return min(nodes)
    cx = sum(inst.pop[n] * inst.xy[n][0] for n in nodes) / w
    cy = sum(inst.pop[n] * inst.xy[n][1] for n in nodes) / w
    return min(sorted(nodes), key=lambda j: (inst.xy[j][0] - cx) ** 2 + (inst.xy[j][1] - cy) ** 2)


def hub_cost(inst: Instance, nodes: set[str]) -> float:
    """The districting model's compactness of one footprint (thousands of people x km²)."""
    j = best_centre(inst, nodes)
    return sum(inst.pop[i] / 1000.0 * d2(inst, i, j) for i in nodes)


def plan_compactness(inst: Instance, plan: Plan) -> float:
    return sum(hub_cost(inst, g) for g in groups_of(plan).values())


def cost_of(inst: Instance, kind: str, n_footprints: int) -> Callable[[set[str]], float]:
    """One footprint's cost for local search: the districting model's compactness, or for
    'balanced' the squared distance of its population from the mean (a smooth stand-in for
    the spread)."""
    if kind == "compact":
        return lambda nodes: hub_cost(inst, nodes)
    mean = inst.total / max(n_footprints, 1)
    return lambda nodes: ((sum(inst.pop[n] for n in nodes) - mean) / 1000.0) ** 2


#: (footprint, its nodes) -> its cost; the footprint matters only for fewest changes
Measure = Callable[[int, set[str]], float]


class PlanState:
    """A plan changed in place, with each footprint's nodes, population and cost kept up to date.

    GerryChain's partition keeps its tallies from each move instead of counting them
    again; so does this. Constructions attach unplaced nodes (:meth:`place`) and merge
    footprints (:meth:`merge`), local search moves single nodes (:meth:`move`),
    recombination re-cuts two footprints (:meth:`split`); all read ``groups`` and ``pops``,
    and ``costs`` when a ``measure`` is given (constructions need none). The plan may
    start partial: nodes not in it are simply not placed yet.
    """

    def __init__(
        self, inst: Instance, plan: Mapping[str, int], measure: Measure | None = None
    ) -> None:
        self.inst = inst
        self.measure = measure
        self.plan = dict(plan)
        self.groups = groups_of(self.plan)
        self.pops = {k: sum(inst.pop[n] for n in g) for k, g in self.groups.items()}
        self.costs = {} if measure is None else {k: measure(k, g) for k, g in self.groups.items()}

    def copy(self) -> Self:
        """An independent copy (costs copied, not computed again)."""
        out = copy.copy(self)
        out.plan = dict(self.plan)
        out.groups = {k: set(g) for k, g in self.groups.items()}
        out.pops = dict(self.pops)
        out.costs = dict(self.costs)
        return out

    def total(self) -> float:
        return sum(self.costs.values())

    def move(self, n: str, b: int, *, cost_from: float, cost_to: float) -> None:
        """Node ``n`` joins footprint ``b``; the two footprints' new costs are given."""
        a = self.plan[n]
        self.plan[n] = b
        self.groups[a].discard(n)
        self.groups[b].add(n)
        self.pops[a] -= self.inst.pop[n]
        self.pops[b] += self.inst.pop[n]
        self.costs[a], self.costs[b] = cost_from, cost_to

    def place(self, n: str, k: int) -> None:
        """Unplaced node ``n`` joins footprint ``k``."""
        self.plan[n] = k
        self.groups[k].add(n)
        self.pops[k] += self.inst.pop[n]
        self._recost(k)

    def merge(self, a: int, b: int) -> None:
        """Footprint ``a`` joins footprint ``b`` and is gone."""
        for n in self.groups[a]:
            self.plan[n] = b
        self.groups[b] |= self.groups.pop(a)
        self.pops[b] += self.pops.pop(a)
        self.costs.pop(a, None)
        self._recost(b)

    def _recost(self, k: int) -> None:
        if self.measure is not None:
            self.costs[k] = self.measure(k, self.groups[k])

    def split(self, a: int, b: int, part: set[str]) -> None:
        """Footprint ``a`` becomes ``part`` and ``b`` the rest of the two."""
        both = self.groups[a] | self.groups[b]
        rest = both - part
        for n in part:
            self.plan[n] = a
        for n in rest:
            self.plan[n] = b
        self.groups[a], self.groups[b] = set(part), rest
        self.pops[a] = sum(self.inst.pop[n] for n in part)
        self.pops[b] = sum(self.inst.pop[n] for n in rest)
        self._recost(a)
        self._recost(b)
