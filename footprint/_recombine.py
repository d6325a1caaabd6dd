"""Even out footprint populations by recombining neighbouring footprints.

The 'balanced' model's linear relaxation can share every unit out evenly, so
its bound stays at 0 and branch and bound finds only poor plans on the England
data. This local search works on whole plans instead. One move merges two
neighbouring footprints, draws a random spanning tree of the merged area and
cuts the tree edge that splits it most evenly (the ReCom move of DeFord, Duchin
and Solomon, 2021). Both parts are connected by construction, so only the
floor, ceiling and keep-apart pairs need checking (and each part's units, in
case a node's units touch only through another node).

Descent makes every pair of neighbouring footprints as even as its trees allow;
random recombinations ("kicks") then leave the local optimum, and the best plan
by spread (then by squared deviation from the mean) is kept.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping

from .feasibility import Instance

__all__ = ["balance"]

log = logging.getLogger(__name__)

Plan = Mapping[str, int]

#: spanning trees tried per pair in descent (more find better cuts, each costs time)
_TREES = 4
#: tree edges tried per tree, most even first, before the tree is given up
_CUTS = 8
#: random recombinations per kick, and tries to find a valid one for each
_KICKS = 3
_KICK_TRIES = 10


class _State:
    """A plan being changed in place: footprint -> nodes and -> population."""

    def __init__(self, inst: Instance, nbrs: Mapping[str, tuple[str, ...]], plan: Plan) -> None:
        self.inst = inst
        self.nbrs = nbrs
        self.plan = dict(plan)
        self.groups: dict[int, set[str]] = {}
        for n, k in self.plan.items():
            self.groups.setdefault(k, set()).add(n)
        self.pops = {k: sum(inst.pop[n] for n in g) for k, g in self.groups.items()}
        self.apart: dict[str, set[str]] = {}
        for a, b in inst.apart:
            self.apart.setdefault(a, set()).add(b)
            self.apart.setdefault(b, set()).add(a)

    def copy(self) -> _State:
        return _State(self.inst, self.nbrs, self.plan)

    def key(self) -> tuple[int, float]:
        """(spread, squared deviation from the mean): smaller is better."""
        ps = list(self.pops.values())
        mean = sum(ps) / len(ps)
        return max(ps) - min(ps), sum((p - mean) ** 2 for p in ps)

    def pairs(self) -> list[tuple[int, int]]:
        return sorted({
            (min(self.plan[a], self.plan[b]), max(self.plan[a], self.plan[b]))
            for a, b in self.inst.node_edges if self.plan[a] != self.plan[b]
        })

    def valid_part(self, part: set[str]) -> bool:
        inst = self.inst
        p = sum(inst.pop[n] for n in part)
        if p < inst.floor or (inst.cap is not None and p > inst.cap):
            return False
        if any(self.apart.get(n, set()) & part for n in part):
            return False
        return len(inst.unit_components(part)) == 1

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


def _tree(nbrs: Mapping[str, tuple[str, ...]], nodes: set[str],
          rng: random.Random) -> dict[str, list[str]]:
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


def _even_split(state: _State, a: int, b: int, rng: random.Random) -> set[str] | None:
    """The most even valid split of footprints a and b found on a few random trees."""
    merged = state.groups[a] | state.groups[b]
    total = state.pops[a] + state.pops[b]
    best_diff = abs(state.pops[a] - state.pops[b])
    best: set[str] | None = None
    for _ in range(_TREES):
        sides = _sides(_tree(state.nbrs, merged, rng), state.inst.pop)
        sides.sort(key=lambda s: abs(total - 2 * s[0]))
        for p, part in sides[:_CUTS]:
            diff = abs(total - 2 * p)
            if diff >= best_diff:
                break
            if state.valid_part(part) and state.valid_part(merged - part):
                best, best_diff = part, diff
                break
    return best


def _descend(state: _State, rng: random.Random, until: float) -> None:
    """Even out neighbouring pairs (most uneven first) until no pair improves."""
    improved = True
    while improved and time.perf_counter() < until:
        improved = False
        pairs = state.pairs()
        rng.shuffle(pairs)
        pairs.sort(key=lambda ab: -abs(state.pops[ab[0]] - state.pops[ab[1]]))
        for a, b in pairs:
            if time.perf_counter() >= until:
                return
            part = _even_split(state, a, b, rng)
            if part is not None:
                state.split(a, b, part)
                improved = True


def _kick(state: _State, rng: random.Random) -> None:
    """A few random (not necessarily better) valid recombinations."""
    for _ in range(_KICKS):
        a, b = rng.choice(state.pairs())
        merged = state.groups[a] | state.groups[b]
        for _try in range(_KICK_TRIES):
            _, part = rng.choice(_sides(_tree(state.nbrs, merged, rng), state.inst.pop))
            if state.valid_part(part) and state.valid_part(merged - part):
                state.split(a, b, part)
                break


def balance(inst: Instance, plan: Plan, *, until: float, seed: int = 0,
            stall: int = 400) -> dict[str, int]:
    """A valid plan with the same footprints whose populations are as even as found.

    Parameters
    ----------
    inst
        The optimiser's instance (nodes, populations, adjacency, rules).
    plan
        A valid plan (node -> footprint number); it is not changed.
    until
        Stop at this ``time.perf_counter()`` value.
    seed
        Seed of the random trees and kicks: the same seed and enough time give
        the same plan.
    stall
        Stop after this many kicks without a better plan.

    Returns
    -------
    dict
        Node -> footprint number, never less even than ``plan`` (by spread,
        then squared deviation) and with the same number of footprints.
    """
    rng = random.Random(seed)
    nbrs = {n: tuple(sorted(m)) for n, m in inst.node_nbrs().items()}
    state = _State(inst, nbrs, plan)
    if len(state.groups) < 2:
        return dict(state.plan)
    _descend(state, rng, until)
    best = state.copy()
    kicks = since = 0
    while since < stall and time.perf_counter() < until:
        kicks += 1
        since += 1
        trial = state.copy()
        _kick(trial, rng)
        _descend(trial, rng, until)
        if trial.key() < best.key():
            best, since = trial.copy(), 0
        # walk on from plans about as even as the current one, else restart from the best
        if trial.key()[1] <= 1.02 * state.key()[1] or rng.random() < 0.1:
            state = trial
        else:
            state = best.copy()
    log.info("balance: %d kicks, spread %s", kicks, f"{best.key()[0]:,}")
    return dict(best.plan)
