"""Enumerate the connected node sets that just reach the population floor.

Every valid footprint contains a connected set of nodes that reaches the floor
and none of whose connected proper subsets does (a *minimal* set). Growing
connected sets one neighbour at a time (the ESU scheme of Wernicke, 2006, which
lists each connected set once) and never growing a set that has reached the
floor therefore meets every minimal set; packing the most disjoint ones bounds
the number of footprints from above. Sets that break a ceiling, a keep-apart
pair or two fixed names are skipped: any footprint containing them would too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from . import _cancel
from .instance import partners

__all__ = ["TooManySets", "floor_sets"]


#: the most nodes the found sets may hold in all (about 100 bytes each): 250,000 sets of
#: 150 small units each, as a map of 40,000 units gives, would hold 1.3 GB; England's
#: largest enumeration (14,628 sets, 1,000,000 with the LA rule off) holds about 100,000
MAX_ENTRIES = 3_000_000


class TooManySets(Exception):
    """The enumeration passed its size or time budget (the floor is high for this graph)."""


class _Found:
    """The sets found so far, within the budget of sets and of nodes in all."""

    def __init__(self, *, limit: int, max_entries: int) -> None:
        self.sets: set[frozenset[str]] = set()
        self.entries = 0
        self.limit = limit
        self.max_entries = max_entries

    def add(self, sub: frozenset[str]) -> None:
        if sub not in self.sets:
            self.sets.add(sub)
            self.entries += len(sub)
        if len(self.sets) > self.limit:
            raise TooManySets(f"more than {self.limit:,} sets")
        if self.entries > self.max_entries:
            raise TooManySets(f"sets holding more than {self.max_entries:,} nodes in all")


def floor_sets(
    nodes: tuple[str, ...],
    nbrs: Mapping[str, AbstractSet[str]],
    pop: Mapping[str, int],
    *,
    floor: int,
    cap: int | None = None,
    apart: frozenset[tuple[str, str]] = frozenset(),
    fixed_name: Mapping[str, str] | None = None,
    limit: int = 250_000,
    max_entries: int = MAX_ENTRIES,
    deadline: float | None = None,
) -> list[frozenset[str]]:
    """Connected node sets reaching ``floor`` whose every connected proper prefix did not.

    Raises
    ------
    TooManySets
        When more than ``limit`` sets, or sets holding more than ``max_entries`` nodes in
        all, are found, a set is too deep to grow, or ``deadline`` (perf_counter) passes.
    """
    order = {n: i for i, n in enumerate(nodes)}
    fixed_name = fixed_name or {}
    apart_of = partners(apart)
    found = _Found(limit=limit, max_entries=max_entries)
    checks = 0

    def ok_with(sub: frozenset[str], w: str) -> bool:
        if apart_of.get(w, set()) & sub:
            return False
        fw = fixed_name.get(w)
        return fw is None or all(fixed_name.get(s, fw) == fw for s in sub)

    def extend(sub: frozenset[str], ext: set[str], closed: set[str], p: int, root: int) -> None:
        nonlocal checks
        checks += 1
        if checks % 4096 == 0 and deadline is not None and time.perf_counter() > deadline:
            raise TooManySets("time budget passed")
        if checks % 4096 == 0 and _cancel.asked():
            raise TooManySets("the run was cancelled")
        if p >= floor:
            if cap is None or p <= cap:
                found.add(sub)
            return
        ext = set(ext)
        while ext:
            w = ext.pop()
            if not ok_with(sub, w):
                continue
            new_ext = set(ext)
            for u in nbrs[w]:
                if order[u] > root and u not in closed:
                    new_ext.add(u)
            extend(sub | {w}, new_ext, closed | nbrs[w] | {w}, p + pop[w], root)

    try:
        for v in nodes:
            r = order[v]
            extend(
                frozenset([v]),
                {u for u in nbrs[v] if order[u] > r},
                set(nbrs[v]) | {v},
                pop[v],
                r,
            )
    except RecursionError:  # one level per node: a set of thousands of small nodes
        raise TooManySets("sets of too many nodes to grow one at a time") from None
    return _drop_supersets(found.sets, deadline=deadline)


def _drop_supersets(
    sets: set[frozenset[str]], *, deadline: float | None = None
) -> list[frozenset[str]]:
    """Keep only sets with no other found set inside them (smaller packing, same bound)."""
    by_size = sorted(sets, key=lambda s: (len(s), sorted(s)))
    keep: list[frozenset[str]] = []
    index: dict[str, list[frozenset[str]]] = {}
    for i, s in enumerate(by_size):
        if i % 1024 == 1023 and deadline is not None and time.perf_counter() > deadline:
            raise TooManySets("time budget passed")
        if i % 1024 == 1023 and _cancel.asked():
            raise TooManySets("the run was cancelled")
        first = min(s)
        if any(t <= s for n in s for t in index.get(n, ()) if min(t) == n):
            continue
        keep.append(s)
        index.setdefault(first, []).append(s)
    return keep
