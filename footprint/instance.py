"""The optimiser's instance: the units merged into nodes that stay whole, and what binds them.

:func:`footprint.feasibility.prepare` builds it from a problem and its constraints (or
explains, in named checks, why no plan exists); every stage of the optimiser reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

__all__ = ["Instance", "Pair", "partners"]

Pair = tuple[str, str]


@dataclass(frozen=True, eq=False)
class Instance:
    """The optimiser's reduced input: nodes that stay whole, and what binds them.

    Attributes
    ----------
    nodes
        Node ids, sorted. A node is a set of units that must share a footprint.
    members
        Node -> its unit codes.
    pop
        Node -> population.
    unit_pop
        Unit -> population (free units).
    xy
        Node -> population-weighted centre (metres).
    node_of
        Unit -> node (free units only; locked units are absent).
    node_edges
        Node pairs with at least one usable unit adjacency between them.
    unit_nbrs
        Unit -> usable neighbouring free units (disabled edges removed).
    apart
        Node pairs that may not share a footprint.
    fixed_name
        Node -> the footprint name it is fixed to.
    locked_plan
        Unit -> footprint name for the locked footprints, kept as they are.
    count_lo, count_hi
        Footprints to make among the free nodes (locked ones already counted);
        ``count_hi`` is None for no upper limit.
    floor, cap
        Population floor and optional ceiling.
    """

    nodes: tuple[str, ...]
    members: Mapping[str, tuple[str, ...]]
    pop: Mapping[str, int]
    unit_pop: Mapping[str, int]
    xy: Mapping[str, tuple[float, float]]
    node_of: Mapping[str, str]
    node_edges: frozenset[Pair]
    unit_nbrs: Mapping[str, frozenset[str]]
    apart: frozenset[Pair]
    fixed_name: Mapping[str, str]
    locked_plan: Mapping[str, str]
    count_lo: int
    count_hi: int | None
    floor: int
    cap: int | None

    @property
    def total(self) -> int:
        return sum(self.pop.values())

    def node_nbrs(self) -> Mapping[str, frozenset[str]]:
        """Node -> its neighbouring nodes (built once: on a large map every stage asks)."""
        return self._node_nbrs

    @cached_property
    def _node_nbrs(self) -> Mapping[str, frozenset[str]]:
        nb: dict[str, set[str]] = {n: set() for n in self.nodes}
        for a, b in self.node_edges:
            nb[a].add(b)
            nb[b].add(a)
        return MappingProxyType({n: frozenset(m) for n, m in nb.items()})

    def footprint_ok(self, nodes: set[str] | frozenset[str]) -> bool:
        """Do these nodes make a valid footprint: floor, ceiling, apart pairs, one piece?"""
        p = sum(self.pop[n] for n in nodes)
        if p < self.floor or (self.cap is not None and p > self.cap):
            return False
        if self.apart:
            # through each node's partners, not every pair: units fixed to different names
            # are pairs too, and their number grows with the square of the fixed units
            apart_of = self._apart_of
            if any(apart_of[n] & nodes for n in nodes if n in apart_of):
                return False
        return len(self.unit_components(nodes)) == 1

    @cached_property
    def _apart_of(self) -> dict[str, frozenset[str]]:
        return {n: frozenset(m) for n, m in partners(self.apart).items()}

    def unit_components(self, nodes: set[str] | frozenset[str]) -> list[set[str]]:
        """Connected pieces (unit level) of the units of some nodes."""
        units = {u for n in nodes for u in self.members[n]}
        seen: set[str] = set()
        out = []
        for start in sorted(units):
            if start in seen:
                continue
            comp = {start}
            stack = [start]
            while stack:
                u = stack.pop()
                for v in self.unit_nbrs[u]:
                    if v in units and v not in comp:
                        comp.add(v)
                        stack.append(v)
            seen |= comp
            out.append(comp)
        return out


def partners(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Each member of some pair -> the members it is paired with (both ways)."""
    out: dict[str, set[str]] = {}
    for a, b in pairs:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out
