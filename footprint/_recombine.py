"""Improve a valid plan by recombining neighbouring footprints.

One move merges two neighbouring footprints, draws a random spanning tree of
the merged area and cuts the tree edge that gives the two cheapest parts (the
ReCom move of DeFord, Duchin and Solomon, 2021). Both parts are connected by
construction, so only the floor, ceiling and keep-apart pairs need checking
(and each part's units, in case a node's units touch only through another
node). Unlike moving one CCG at a time, a move can redraw a whole border.

Descent applies improving moves until no neighbouring pair improves; random
recombinations ("kicks") then leave the local optimum, and the best plan seen
is kept. The 'balanced' objective needs this most: its model's relaxation
shares every unit out evenly, so its bound stays at 0 and branch and bound
finds only poor plans on the England data.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping

from . import _cancel
from .instance import Instance
from .optimiser.state import PlanState

__all__ = ["recombine", "three_into_two"]

log = logging.getLogger(__name__)

Plan = Mapping[str, int]

#: spanning trees tried per pair in descent (more find better cuts, each costs time)
_TREES = 4
#: random recombinations per kick, and tries to find a valid one for each
_KICKS = 3
_KICK_TRIES = 10


Cost = Callable[[set[str]], float]


class _State(PlanState):
    """A plan being recombined in place: the plan state, plus the graph and the order of merit."""

    def __init__(
        self,
        inst: Instance,
        nbrs: Mapping[str, tuple[str, ...]],
        plan: Plan,
        cost: Cost,
        spread_first: bool,
    ) -> None:
        super().__init__(inst, dict(plan), lambda _k, nodes: cost(nodes))
        self.nbrs = nbrs
        self.cost = cost
        self.spread_first = spread_first

    def key(self) -> tuple[int, float]:
        """(spread if it comes first, else 0; total cost): smaller is better."""
        spread = max(self.pops.values()) - min(self.pops.values()) if self.spread_first else 0
        return spread, self.total()

    def pairs(self) -> list[tuple[int, int]]:
        return sorted(
            {
                (min(self.plan[a], self.plan[b]), max(self.plan[a], self.plan[b]))
                for a, b in self.inst.node_edges
                if self.plan[a] != self.plan[b]
            }
        )


def _tree(
    nbrs: Mapping[str, tuple[str, ...]], nodes: set[str], rng: random.Random
) -> dict[str, list[str]]:
    """A random spanning tree of ``nodes`` (Kruskal under random edge order, as GerryChain).

    Written out rather than built with networkx: a descent draws thousands of
    trees of a dozen nodes, and building a graph object for each was ten times
    slower than the tree itself.
    """
    edges = [(u, v) for u in sorted(nodes) for v in nbrs[u] if u < v and v in nodes]
    rng.shuffle(edges)
    root = {n: n for n in nodes}

    def find(n: str) -> str:
        while root[n] != n:
            root[n] = root[root[n]]
            n = root[n]
        return n

    adj: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            root[ru] = rv
            adj[u].append(v)
            adj[v].append(u)
    return adj


def _sides(tree: Mapping[str, list[str]], pop: Mapping[str, int]) -> list[tuple[int, set[str]]]:
    """(population, nodes) below each tree edge, with the tree rooted at its smallest node."""
    start = min(tree)
    parent: dict[str, str | None] = {start: None}
    order = [start]
    for n in order:  # breadth first: parents before children
        for m in tree[n]:
            if m not in parent:
                parent[m] = n
                order.append(m)
    below = {n: {n} for n in order}
    for n in reversed(order):
        up = parent[n]
        if up is not None:
            below[up] |= below[n]
    return [(sum(pop[m] for m in below[n]), below[n]) for n in order[1:]]


def _best_split(state: _State, a: int, b: int, rng: random.Random) -> set[str] | None:
    """The cheapest valid split of footprints a and b found on a few random trees."""
    merged = state.groups[a] | state.groups[b]
    total = state.pops[a] + state.pops[b]
    floor, cap = state.inst.floor, state.inst.cap
    best_cost = state.costs[a] + state.costs[b]
    best: set[str] | None = None
    for _ in range(_TREES):
        priced = []
        for p, part in _sides(_tree(state.nbrs, merged, rng), state.inst.pop):
            if min(p, total - p) < floor or (cap is not None and max(p, total - p) > cap):
                continue
            c = state.cost(part) + state.cost(merged - part)
            if c < best_cost - 1e-9 * max(1.0, abs(best_cost)):
                priced.append((c, part))
        priced.sort(key=lambda cp: cp[0])
        for c, part in priced:  # cheapest first; the first valid one is this tree's best
            if state.inst.footprint_ok(part) and state.inst.footprint_ok(merged - part):
                best, best_cost = part, c
                break
    return best


def _descend(state: _State, rng: random.Random, until: float) -> None:
    """Improve neighbouring pairs (most uneven first) until no pair improves."""
    improved = True
    while improved and time.perf_counter() < until and not _cancel.asked():
        improved = False
        pairs = state.pairs()
        rng.shuffle(pairs)
        pairs.sort(key=lambda ab: -abs(state.pops[ab[0]] - state.pops[ab[1]]))
        for a, b in pairs:
            if time.perf_counter() >= until or _cancel.asked():
                return
            part = _best_split(state, a, b, rng)
            if part is not None:
                state.split(a, b, part)
                improved = True


def _kick(state: _State, rng: random.Random) -> None:
    """A few random (not necessarily better) valid recombinations."""
    for _ in range(_KICKS):
        pairs = state.pairs()
        if not pairs:  # every footprint is a separate piece of the map
            return
        a, b = rng.choice(pairs)
        merged = state.groups[a] | state.groups[b]
        for _try in range(_KICK_TRIES):
            _, part = rng.choice(_sides(_tree(state.nbrs, merged, rng), state.inst.pop))
            if state.inst.footprint_ok(part) and state.inst.footprint_ok(merged - part):
                state.split(a, b, part)
                break


def _better(a: tuple[int, float], b: tuple[int, float]) -> bool:
    """Is key ``a`` better than ``b``? Costs summed in another order differ in the last
    bits, and counting that as progress would keep the search going forever."""
    if a[0] != b[0]:
        return a[0] < b[0]
    return a[1] < b[1] - 1e-9 * max(1.0, abs(b[1]))


def recombine(
    inst: Instance,
    plan: Plan,
    *,
    cost: Cost,
    until: float,
    spread_first: bool = False,
    seed: int = 0,
    stall: int = 400,
) -> dict[str, int]:
    """A valid plan with the same number of footprints and a total cost as low as found.

    Parameters
    ----------
    inst
        The optimiser's instance (nodes, populations, adjacency, rules).
    plan
        A valid plan (node -> footprint number); it is not changed.
    cost
        The cost of one footprint (its nodes); the plan's cost is the sum.
    until
        Stop at this ``time.perf_counter()`` value.
    spread_first
        Rank plans by the spread of footprint populations first, then by cost
        (for 'balanced', with a cost that grows with the distance from the mean).
    seed
        Seed of the random trees and kicks: the same seed and enough time give
        the same plan.
    stall
        Stop after this many kicks without a better plan (0: descent only).

    Returns
    -------
    dict
        Node -> footprint number, never worse than ``plan`` by the same ranking.
    """
    rng = random.Random(seed)
    nbrs = {n: tuple(sorted(m)) for n, m in inst.node_nbrs().items()}
    state = _State(inst, nbrs, plan, cost, spread_first)
    if len(state.groups) < 2:
        return dict(state.plan)
    first = state.key()
    _descend(state, rng, until)
    best = (
        state.copy()
        if not _better(first, state.key())
        else _State(inst, nbrs, plan, cost, spread_first)
    )
    kicks = since = 0
    while since < stall and time.perf_counter() < until and not _cancel.asked():
        kicks += 1
        since += 1
        trial = state.copy()
        _kick(trial, rng)
        _descend(trial, rng, until)
        if _better(trial.key(), best.key()):
            best, since = trial.copy(), 0
        # walk on from plans about as good as the current one, else restart from the best
        if trial.total() <= state.total() + 0.02 * abs(state.total()) or rng.random() < 0.1:
            state = trial
        else:
            state = best.copy()
    log.info("recombine: %d kicks, from %s to %s", kicks, first, best.key())
    return dict(best.plan)


#: random spanning trees drawn for each triple of footprints in `three_into_two`, and the
#: seconds one call may spend looking before it gives up
_SPLIT_TRIES = 20
_SPLIT_SECONDS = 1.0


def three_into_two(
    inst: Instance, plan: Plan, *, among: list[int], rng: random.Random
) -> dict[str, int] | None:
    """One footprint fewer: three neighbouring footprints redrawn as two valid ones.

    Merging two neighbours is the plain way down to a count, but under a ceiling
    it stalls once every pair of neighbours is together above it, long before
    the count is reached. Three neighbours together are below twice the ceiling
    far more often, and a cut of a random spanning tree of the three splits them
    into two connected parts, each checked against every rule.

    Parameters
    ----------
    inst
        The optimiser's instance.
    plan
        A plan (node -> footprint number); it is not changed.
    among
        The footprints to start from, in order (the smallest first, say): each
        triple holds one of them and two neighbours.
    rng
        Source of the random trees (seed it for a repeatable answer).

    Returns
    -------
    dict or None
        The new plan, or None when no triple gave a valid split within a second.
    """
    nbrs = {n: tuple(sorted(m)) for n, m in inst.node_nbrs().items()}
    state = PlanState(inst, plan)
    groups, pops = state.groups, state.pops
    touching: dict[int, set[int]] = {k: set() for k in groups}
    for u, v in inst.node_edges:
        if plan[u] != plan[v]:
            touching[plan[u]].add(plan[v])
            touching[plan[v]].add(plan[u])
    limit = None if inst.cap is None else 2 * inst.cap
    give_up = time.perf_counter() + _SPLIT_SECONDS
    for a in among:
        triples: set[tuple[int, ...]] = {
            tuple(sorted((a, b, c)))
            for b in touching[a]
            for c in (touching[a] | touching[b]) - {a, b}
        }
        for t in sorted(triples, key=lambda t: (sum(pops[k] for k in t), t)):
            total = sum(pops[k] for k in t)
            if total < 2 * inst.floor or (limit is not None and total > limit):
                continue
            if time.perf_counter() > give_up:
                return None
            merged = groups[t[0]] | groups[t[1]] | groups[t[2]]
            best: tuple[int, set[str]] | None = None
            for _ in range(_SPLIT_TRIES):
                for p, part in _sides(_tree(nbrs, merged, rng), inst.pop):
                    if min(p, total - p) < inst.floor:
                        continue
                    if inst.cap is not None and max(p, total - p) > inst.cap:
                        continue
                    # the most uneven split leaves the most room beside the smaller part
                    if best is not None and max(p, total - p) <= best[0]:
                        continue
                    if inst.footprint_ok(part) and inst.footprint_ok(merged - part):
                        best = (max(p, total - p), part)
            if best is not None:
                out = dict(plan)
                out.update({n: t[0] for n in best[1]})
                out.update({n: t[1] for n in merged - best[1]})
                return out
    return None
