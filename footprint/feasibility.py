"""Reduce a problem under constraints to the optimiser's instance, or explain why no plan exists.

Before any solver runs, the units are merged into *nodes* that must share a
footprint (an LA block under ``whole-la``, keep-together sets, units fixed to
one footprint name), locked footprints are set aside, and a list of named
checks looks for reasons no plan can exist. Each failed check is reported in
plain words, so a planner sees *why* (a block below the floor with nowhere to
go, keep-together units that cannot be connected, a count the population
cannot reach...) rather than a bare "infeasible".
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import networkx as nx

from .constraints import Constraints
from .errors import ConstraintsError
from .instance import Instance, Pair, partners
from .problem import Problem

__all__ = ["Check", "Instance", "partners", "prepare"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One failed feasibility check: a stable name and a sentence for the planner."""

    name: str
    message: str
    #: the places and figures behind the sentence, for words of another kind (see
    #: :mod:`footprint.reasons`): ``place``, ``population``, ``floor``, ``ceiling``,
    #: ``needed`` (the least ceiling that lets it through), ``footprint``, ``la``
    facts: Mapping[str, Any] = field(default_factory=dict, compare=False)


#: A point of the joining search: a node, or ("piece", k) for the k-th piece of a group.
_Point = str | tuple[str, int]


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


def _fmt(n: float) -> str:
    return f"{round(n):,}"


def _reach_and_gates(
    n: str, nbrs: Mapping[str, set[str]], *, without: set[str], pop: Mapping[str, int], floor: int
) -> tuple[int, dict[str, int]]:
    """What ``n`` reaches leaving out ``without``, and its gateways, in one search.

    A depth-first search from ``n`` with low points: taking away a node ``h`` cuts off the
    subtrees of its children whose low point does not climb above it, and ``n`` keeps
    the rest. The same answer as taking each node away and searching again, which cost
    the square of the map once per node kept apart (69 s for 20 pairs on 40,000 units).
    """
    disc = {n: 0}
    low = {n: 0}
    below: dict[str, int] = {}
    parent: dict[str, str | None] = {n: None}
    cut_off: dict[str, int] = {}
    stack = [(n, iter(nbrs[n]))]
    order = [n]
    while stack:
        v, it = stack[-1]
        for w in it:
            if w in without:
                continue
            if w not in disc:
                disc[w] = low[w] = len(order)
                parent[w] = v
                order.append(w)
                stack.append((w, iter(nbrs[w])))
                break
            if w != parent[v]:
                low[v] = min(low[v], disc[w])
        else:
            stack.pop()
            below[v] = below.get(v, 0) + pop[v]
            up = parent[v]
            if up is not None:
                low[up] = min(low[up], low[v])
                below[up] = below.get(up, 0) + below[v]
                if low[v] >= disc[up]:
                    cut_off[up] = cut_off.get(up, 0) + below[v]
    reach = below[n]
    gates = {}
    for h in order[1:]:
        left = reach - pop[h] - cut_off.get(h, 0)
        if left < floor:
            gates[h] = left
    return reach, gates


def _pieces_without(graph: nx.Graph, pop: Mapping[str, int]) -> dict[str, list[int]]:
    """Each node -> the populations of the parts its part of ``graph`` falls into without it.

    One depth-first search (Hopcroft and Tarjan's low points) instead of taking each
    node away and searching again, which cost the square of the nodes (minutes on a
    map of 40,000 units): a child's subtree whose low point does not climb above the
    node is a part of its own; the rest of the part, if any, is one more.
    """
    out: dict[str, list[int]] = {}
    disc: dict[str, int] = {}
    low: dict[str, int] = {}
    below: dict[str, int] = {}  # population of the DFS subtree
    for root in graph:
        if root in disc:
            continue
        order: list[str] = []
        parent: dict[str, str | None] = {root: None}
        stack = [(root, iter(graph[root]))]
        disc[root] = low[root] = 0
        counter = 1
        order.append(root)
        while stack:
            v, it = stack[-1]
            advanced = False
            for w in it:
                if w not in disc:
                    disc[w] = low[w] = counter
                    counter += 1
                    parent[w] = v
                    order.append(w)
                    stack.append((w, iter(graph[w])))
                    advanced = True
                    break
                if w != parent[v]:
                    low[v] = min(low[v], disc[w])
            if not advanced:
                stack.pop()
                below[v] = below.get(v, 0) + pop[v]
                up = parent[v]
                if up is not None:
                    low[up] = min(low[up], low[v])
                    below[up] = below.get(up, 0) + below[v]
        members_pop = below[root]
        children: dict[str, list[str]] = {}
        for v in order[1:]:
            children.setdefault(parent[v], []).append(v)  # type: ignore[arg-type]
        for v in order:
            parts, cut_off = [], 0
            for c in children.get(v, ()):
                if v == root or low[c] >= disc[v]:
                    parts.append(below[c])
                    cut_off += below[c]
            if v != root:  # the part above v, which holds the root
                parts.append(members_pop - pop[v] - cut_off)
            out[v] = parts
    return out


#: pieces x nodes above which `_widest_join` searches from the first piece only (England:
#: 211 nodes and a few pieces; 200 units fixed to 10 names on 40,000 units took 99 s)
_JOIN_WORK = 200_000


def _widest_join(
    n: str,
    pieces: list[list[str]],
    *,
    node_of: Mapping[str, str],
    unit_nbrs: Mapping[str, set[str]],
    node_graph: nx.Graph,
    pop: Mapping[str, int],
    cap: int,
    apart: set[str],
) -> tuple[tuple[str, str], int | None] | None:
    """Two pieces of node ``n`` that no footprint under ``cap`` can join, and the least
    population of the nodes between them (None: no way at all); None when every two can.

    A footprint holding ``n`` holds a chain of other nodes between any two of its
    pieces, so the least-populated chain (nodes weighted by population, leaving out
    those kept apart from ``n`` and those too large to share its footprint) bounds
    the footprint from below: ``pop[n]`` plus that chain.
    """

    def usable(m: str) -> bool:
        return m != n and m not in apart and pop[n] + pop[m] <= cap

    # the pieces are points of their own on the map, entered at no cost
    piece_nbrs = [
        {node_of[v] for u in piece for v in unit_nbrs[u] if usable(node_of[v])} for piece in pieces
    ]
    touch: dict[str, list[int]] = {}
    for k, around in enumerate(piece_nbrs):
        for m in around:
            touch.setdefault(m, []).append(k)

    def reached(i: int, limit: int | None) -> dict[int, int]:
        """Piece -> the least population entered on the way from piece ``i`` (within
        ``limit``: a search bounded by the ceiling stays near the piece, where a search of
        the whole map from every piece cost the pieces times the map)."""
        dist: dict[_Point, int] = {("piece", i): 0}
        heap: list[tuple[int, int, _Point]] = [(0, 0, ("piece", i))]
        count = 1
        while heap:
            d, _, v = heapq.heappop(heap)
            if d > dist[v]:
                continue
            steps: list[tuple[_Point, int]]
            if isinstance(v, tuple):
                steps = [(m, pop[m]) for m in piece_nbrs[v[1]]]
            else:
                steps = [(m, pop[m]) for m in node_graph[v] if usable(m)]
                steps += [(("piece", k), 0) for k in touch.get(v, ())]
            for w, cost in steps:
                nd = d + cost
                if (limit is None or nd <= limit) and nd < dist.get(w, nd + 1):
                    dist[w] = nd
                    heapq.heappush(heap, (nd, count, w))
                    count += 1
        return {v[1]: d for v, d in dist.items() if isinstance(v, tuple)}

    budget = cap - pop[n]
    # every pair of pieces costs a search from each piece: on a large map (more than
    # _JOIN_WORK pieces x nodes) only the first piece is searched from, a weaker check
    # that still names a piece no footprint can join to it
    first = len(pieces) if len(pieces) * node_graph.number_of_nodes() <= _JOIN_WORK else 1
    if first < len(pieces):
        log.info(
            "%s: %d pieces on %d nodes; joining them checked from the first only",
            n,
            len(pieces),
            node_graph.number_of_nodes(),
        )
    for i in range(first):
        near = reached(i, budget)
        for j in range(i + 1, len(pieces)):
            if j not in near:
                return (pieces[i][0], pieces[j][0]), reached(i, None).get(j)
    return None


def _check_request(
    problem: Problem, c: Constraints, current: Mapping[str, str] | None
) -> set[Pair]:
    """Raise ConstraintsError for codes the map does not have, or a plan the request lacks.

    Returns the switched-off adjacencies as sorted pairs.
    """
    known = set(problem.codes)
    unknown = c.code_problems(known) + _plan_problems(known, c, current)
    disabled = {_pair(a, b) for a, b in c.disabled_edges}
    edge_set = set(problem.edges)
    for p in sorted(disabled):
        if p[0] in known and p[1] in known and p not in edge_set:
            unknown.append(
                f"disabled_edges: {p[0]} and {p[1]} are not neighbours, so there is no adjacency "
                "to switch off"
            )
    if unknown:
        raise ConstraintsError("The constraints do not fit this geography", problems=unknown)
    return disabled


def _plan_problems(known: set[str], c: Constraints, current: Mapping[str, str] | None) -> list[str]:
    """What the current plan lacks for this request (unknown codes, locked names)."""
    unknown: list[str] = []
    if current is not None:
        bad = sorted(u for u in current if u not in known)
        if bad:
            shown = ", ".join(bad[:10]) + (" …" if len(bad) > 10 else "")
            unknown.append(
                f"current plan: {len(bad)} code(s) are not units of this geography: {shown}"
            )
    if c.objective == "fewest-changes" and not current:
        unknown.append(
            "objective 'fewest-changes' needs the current plan to start from; draw or import one"
        )
    if c.locked:
        if not current:
            unknown.append(
                f"locked footprints {', '.join(map(repr, c.locked))} need the current plan they "
                "belong to"
            )
        else:
            names = set(current.values())
            missing = [n for n in c.locked if n not in names]
            if missing:
                unknown.append(
                    f"locked footprint(s) {', '.join(map(repr, missing))} are not in the current "
                    f"plan, whose footprints are {', '.join(map(repr, sorted(names)[:12]))}"
                )
    return unknown


@dataclass(eq=False)
class _Reduction:
    """The problem reduced to nodes, with what every named check reads.

    ``merging`` holds the contradictions found while merging units into nodes (a group
    split by a locked footprint, units fixed to two names...): they are checks too.
    """

    problem: Problem
    c: Constraints
    label: str
    disabled: set[Pair]
    locked_plan: dict[str, str]
    free: list[str]
    members: dict[str, tuple[str, ...]]
    node_of: dict[str, str]
    pop: dict[str, int]
    fixed_name: dict[str, str]
    apart: set[Pair]
    asked: set[Pair]  # the planner's own keep-apart pairs (the rest: fixed names)
    merging: list[Check]
    unit_nbrs: dict[str, set[str]]  # free unit -> its usable neighbours
    node_edges: set[Pair]

    def describe(self, n: str) -> str:
        us = self.members[n]
        names = ", ".join(self.problem.names[u] for u in us[:3]) + (" …" if len(us) > 3 else "")
        return f"{names} ({_fmt(self.pop[n])} {self.label})"

    def place(self, n: str) -> tuple[str, bool]:
        """A node as a planner names it, and whether that is an LA kept whole: the LA's
        name when the node is one LA block under the LA rule, else its units' names."""
        us = self.members[n]
        blocks = {self.problem.blocks.get(u) for u in us}
        if self.c.la_rule == "whole-la" and len(blocks) == 1 and None not in blocks:
            block = str(next(iter(blocks)))
            if block in self.problem.la_names:
                return self.problem.block_label(block), True
        names = ", ".join(self.problem.names[u] for u in us[:3]) + (" …" if len(us) > 3 else "")
        return names, False

    @cached_property
    def ug(self) -> nx.Graph:
        """The usable graph among free units."""
        ug = nx.Graph()
        ug.add_nodes_from(self.free)
        ug.add_edges_from((a, b) for a in self.free for b in self.unit_nbrs[a] if a < b)
        return ug

    @cached_property
    def comps(self) -> list[set[str]]:
        return [set(cc) for cc in nx.connected_components(self.ug)]

    @cached_property
    def comp_of(self) -> dict[str, int]:
        return {u: i for i, cc in enumerate(self.comps) for u in cc}

    @cached_property
    def node_graph(self) -> nx.Graph:
        node_graph = nx.Graph(self.node_edges)
        node_graph.add_nodes_from(self.members)
        return node_graph

    @cached_property
    def nn(self) -> dict[str, set[str]]:
        return {n: set(self.node_graph[n]) for n in self.members}

    @cached_property
    def apart_of(self) -> dict[str, set[str]]:
        return partners(self.apart)

    @cached_property
    def gates_and_cut_off(self) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Each node's gateways (nodes without which it reaches less than the floor), and the
        nodes that reach less than the floor without their apart partners (-> what they reach).
        """
        c, apart_of = self.c, self.apart_of
        # the map each node's footprint may use; left out: nodes no footprint holding them
        # reaches the floor in (named by an earlier check)
        part_pop: dict[str, int] = {}
        if apart_of:
            for part in nx.connected_components(self.node_graph):
                part_total = sum(self.pop[m] for m in part)
                part_pop.update(dict.fromkeys(part, part_total))
        gates: dict[str, dict[str, int]] = {}
        cut_off: dict[str, int] = {}
        for n in sorted(apart_of):
            if part_pop[n] < c.min_population:
                continue  # its whole part of the map is below the floor: named above
            reach, gates_n = _reach_and_gates(
                n, self.nn, without=apart_of[n], pop=self.pop, floor=c.min_population
            )
            if reach >= c.min_population:
                gates[n] = gates_n
            else:
                cut_off[n] = reach
        return gates, cut_off

    def fixes(self, first: str) -> list[str]:
        """``first``, then what else undoes a cut: unlocking, switching an adjacency on."""
        return [
            first,
            *(["unlock a neighbouring footprint"] if self.locked_plan else []),
            *(["switch an adjacency back on"] if self.disabled else []),
        ]

    def instance(self) -> Instance:
        problem, c = self.problem, self.c
        xy = {}
        for n, us in self.members.items():
            w = sum(problem.populations[u] for u in us)
            if w > 0:
                xy[n] = (
                    sum(problem.populations[u] * problem.x[u] for u in us) / w,
                    sum(problem.populations[u] * problem.y[u] for u in us) / w,
                )
            else:
                xy[n] = (
                    sum(problem.x[u] for u in us) / len(us),
                    sum(problem.y[u] for u in us) / len(us),
                )
        lo_free, hi_free = _free_counts(c)
        return Instance(
            nodes=tuple(sorted(self.members)),
            members=self.members,
            pop=self.pop,
            unit_pop={u: problem.populations[u] for u in self.free},
            xy=xy,
            node_of=self.node_of,
            node_edges=frozenset(self.node_edges),
            unit_nbrs={u: frozenset(v) for u, v in self.unit_nbrs.items()},
            apart=frozenset(self.apart),
            fixed_name=self.fixed_name,
            locked_plan=self.locked_plan,
            count_lo=max(lo_free, 1 if self.free else 0),
            count_hi=hi_free,
            floor=c.min_population,
            cap=c.max_population,
        )


def _free_counts(c: Constraints) -> tuple[int, int | None]:
    """The footprints asked for beyond the locked ones: (at least, at most)."""
    lo, hi = c.count_range
    n_locked = len(c.locked)
    return max(0, lo - n_locked), None if hi is None else hi - n_locked


class _UnionFind:
    """Units that must share a footprint, merged (each group named by its least code)."""

    def __init__(self, units: Iterable[str]) -> None:
        self.parent = {u: u for u in units}

    def find(self, u: str) -> str:
        parent = self.parent
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _merged(
    problem: Problem,
    c: Constraints,
    free: list[str],
    locked_plan: dict[str, str],
    merging: list[Check],
) -> dict[str, list[str]]:
    """Root unit -> the free units that must share its footprint (union-find)."""
    uf = _UnionFind(free)
    if c.la_rule == "whole-la":
        for units in problem.block_members().values():
            fr = [u for u in units if u in uf.parent]
            for u in fr[1:]:
                uf.union(fr[0], u)
    for i, grp in enumerate(c.keep_together, 1):
        in_locked = sorted({locked_plan[u] for u in grp if u in locked_plan})
        if in_locked:
            if len(in_locked) > 1 or any(u not in locked_plan for u in grp):
                merging.append(
                    Check(
                        "together-vs-locked",
                        f"keep_together group {i} ({', '.join(sorted(grp))}) is split by locked "
                        f"footprint(s) {', '.join(map(repr, in_locked))}",
                    )
                )
            continue
        g = sorted(grp)
        for u in g[1:]:
            uf.union(g[0], u)
    _merge_fixed(c, uf, merging)
    groups: dict[str, list[str]] = {}
    for u in free:
        groups.setdefault(uf.find(u), []).append(u)
    return groups


def _merge_fixed(c: Constraints, uf: _UnionFind, merging: list[Check]) -> None:
    """Units fixed to one name share a footprint; a locked name cannot take them."""
    by_name: dict[str, list[str]] = {}
    for u, name in c.fixed_map.items():
        if u in uf.parent:
            by_name.setdefault(name, []).append(u)
    for name, units in by_name.items():
        if name in set(c.locked):
            merging.append(
                Check(
                    "fixed-to-locked",
                    f"{', '.join(units)} are fixed to {name!r}, a locked footprint that stays "
                    "as it is; fix them to another name or unlock it",
                )
            )
        for u in units[1:]:
            uf.union(units[0], u)


def _reduce(
    problem: Problem, c: Constraints, current: dict[str, str], disabled: set[Pair]
) -> _Reduction:
    """Merge the free units that must share a footprint into nodes, and what binds the nodes."""
    label = problem.population_label.split(" (")[0]
    locked_plan = {u: f for u, f in current.items() if f in set(c.locked)}
    free = [u for u in problem.codes if u not in locked_plan]
    merging: list[Check] = []
    groups = _merged(problem, c, free, locked_plan, merging)
    node_id = {root: f"n{i:03d}" for i, root in enumerate(sorted(groups))}
    members = {node_id[r]: tuple(sorted(us)) for r, us in groups.items()}
    node_of = {u: node_id[r] for r, us in groups.items() for u in us}
    node_of = {u: node_of[u] for u in free}
    pop = {n: sum(problem.populations[u] for u in us) for n, us in members.items()}
    red = _Reduction(
        problem,
        c,
        label,
        disabled,
        locked_plan,
        free,
        members,
        node_of,
        pop,
        {},
        set(),
        set(),
        merging,
        {},
        set(),
    )
    _bind(red)
    red.unit_nbrs = {u: set() for u in free}
    for a, b in problem.edges:
        if (a, b) in disabled or a in locked_plan or b in locked_plan:
            continue
        red.unit_nbrs[a].add(b)
        red.unit_nbrs[b].add(a)
        if node_of[a] != node_of[b]:
            red.node_edges.add(_pair(node_of[a], node_of[b]))
    return red


def _bind(red: _Reduction) -> None:
    """Each node's fixed name, and the node pairs kept apart (asked, or fixed to two names)."""
    c, fixed = red.c, red.c.fixed_map
    for n, us in red.members.items():
        names = sorted({fixed[u] for u in us if u in fixed})
        if len(names) > 1:
            why = "an LA block" if c.la_rule == "whole-la" else "a keep-together group"
            red.merging.append(
                Check(
                    "fixed-contradiction",
                    f"{red.describe(n)} must stay in one footprint ({why}) but its units are fixed "
                    f"to different footprints {', '.join(map(repr, names))}",
                )
            )
        elif names:
            red.fixed_name[n] = names[0]
    for a, b in c.keep_apart:
        if a in red.locked_plan or b in red.locked_plan:
            continue  # a locked unit is already in its own footprint
        na, nb = red.node_of[a], red.node_of[b]
        if na == nb:
            red.merging.append(
                Check(
                    "apart-inside-group",
                    f"{a} and {b} must be kept apart, but they must also share a footprint "
                    f"(same LA block, keep-together group or fixed name: {red.describe(na)})",
                )
            )
        else:
            red.apart.add(_pair(na, nb))
            red.asked.add(_pair(na, nb))
    names_nodes = sorted(red.fixed_name.items(), key=lambda kv: kv[1])
    for i, (na, fa) in enumerate(names_nodes):
        for nb, fb in names_nodes[i + 1 :]:
            if fa != fb:
                red.apart.add(_pair(na, nb))


# --- the named checks: each reads the reduction and yields what fails, in words ------------


def _locked_footprints(r: _Reduction) -> Iterator[Check]:
    """Locked footprints are set aside, but they must themselves be valid."""
    c, problem, label, fixed = r.c, r.problem, r.label, r.c.fixed_map
    graph = problem.graph(without=r.disabled) if c.locked else nx.Graph()  # for locked only
    for name in c.locked:
        units = sorted(u for u, f in r.locked_plan.items() if f == name)
        pop = sum(problem.populations[u] for u in units)
        if pop < c.min_population:
            yield Check(
                "locked-below-floor",
                f"locked footprint {name!r} has {_fmt(pop)} {label}, below the floor of "
                f"{_fmt(c.min_population)}; unlock it or lower the floor",
                {"footprint": name, "population": pop, "floor": c.min_population},
            )
        if c.max_population is not None and pop > c.max_population:
            yield Check(
                "locked-above-ceiling",
                f"locked footprint {name!r} has {_fmt(pop)} {label}, above the ceiling of "
                f"{_fmt(c.max_population)}; unlock it or raise the ceiling",
                {"footprint": name, "population": pop, "ceiling": c.max_population},
            )
        if units and not nx.is_connected(graph.subgraph(units)):
            pieces = sorted(sorted(p) for p in nx.connected_components(graph.subgraph(units)))
            yield Check(
                "locked-not-contiguous",
                f"locked footprint {name!r} is in {len(pieces)} separate pieces "
                f"({'; '.join(', '.join(p[:4]) for p in pieces[:4])}); unlock it to repair it",
            )
        for u in units:
            if u in fixed and fixed[u] != name:
                yield Check(
                    "fixed-in-locked",
                    f"unit {u} is fixed to footprint {fixed[u]!r} but lies in locked footprint "
                    f"{name!r}; unlock {name!r} or fix {u} to {name!r}",
                )


def _locked_splits_la(r: _Reduction) -> Iterator[Check]:
    if r.c.la_rule != "whole-la":
        return
    locked_plan = r.locked_plan
    for block, units in r.problem.block_members().items():
        inside = {locked_plan[u] for u in units if u in locked_plan}
        if inside and (len(inside) > 1 or any(u not in locked_plan for u in units)):
            yield Check(
                "locked-splits-la",
                f"LA block {block} ({', '.join(units)}) is split by locked footprint(s) "
                f"{', '.join(map(repr, sorted(inside)))}, but the LA rule keeps it whole; "
                "unlock them, or switch the LA rule off",
                {"place": r.problem.block_label(block), "la": True, "footprints": sorted(inside)},
            )


def _apart_in_locked(r: _Reduction) -> Iterator[Check]:
    locked_plan = r.locked_plan
    for a, b in r.c.keep_apart:
        if a in locked_plan and b in locked_plan and locked_plan[a] == locked_plan[b]:
            yield Check(
                "apart-in-locked",
                f"{a} and {b} must be kept apart but share locked footprint {locked_plan[a]!r}",
            )


def _merging(r: _Reduction) -> Iterator[Check]:
    """Contradictions found while merging units into nodes (see `_merged` and `_bind`)."""
    yield from r.merging


def _group_above_ceiling(r: _Reduction) -> Iterator[Check]:
    cap = r.c.max_population
    if cap is None:
        return
    for n in sorted(r.members):
        if r.pop[n] > cap:
            place, la = r.place(n)
            yield Check(
                "group-above-ceiling",
                f"{r.describe(n)} must stay in one footprint but is above the ceiling of "
                f"{_fmt(cap)}; raise the ceiling or switch the LA rule off",
                {"place": place, "la": la, "population": r.pop[n], "ceiling": cap},
            )


def _group_cannot_connect(r: _Reduction) -> Iterator[Check]:
    for n, us in r.members.items():
        if len({r.comp_of[u] for u in us}) > 1:
            yield Check(
                "group-cannot-connect",
                f"{r.describe(n)} must share one footprint but its units cannot be connected "
                "(they lie in separate parts of the map once locked footprints and switched-off "
                "adjacencies are removed); switch an adjacency back on or unlock a footprint",
            )


def _component_below_floor(r: _Reduction) -> Iterator[Check]:
    c, problem, label, comps = r.c, r.problem, r.label, r.comps
    for cc in sorted(comps, key=lambda s: min(s)):
        cpop = sum(problem.populations[u] for u in cc)
        if cpop < c.min_population and len(comps) == 1 and not r.locked_plan:
            yield Check(
                "component-below-floor",
                f"the whole map has {_fmt(cpop)} {label}, below the floor of "
                f"{_fmt(c.min_population)}: not even one footprint can reach it; lower the floor",
                {"place": "the whole map", "population": cpop, "floor": c.min_population},
            )
        elif cpop < c.min_population:
            us = sorted(cc)
            names = ", ".join(problem.names[u] for u in us[:4]) + (" …" if len(us) > 4 else "")
            yield Check(
                "component-below-floor",
                f"{names} ({_fmt(cpop)} {label}) cannot reach the floor of "
                f"{_fmt(c.min_population)}: no usable adjacency links "
                f"{'it' if len(us) == 1 else 'them'} to the rest of the map (an island bridge "
                "or border switched off, or surrounded by locked footprints); switch a bridge "
                "back on or lower the floor",
                {"place": names, "population": cpop, "floor": c.min_population},
            )


def _apart_cuts_off(r: _Reduction) -> Iterator[Check]:
    """A footprint never holds a node's apart partners: without them it must reach the floor."""
    _gates, cut_off = r.gates_and_cut_off
    for n, reach in cut_off.items():
        away = "; ".join(r.describe(m) for m in sorted(r.apart_of[n]))
        fixes = r.fixes("drop the keep-apart pair")
        yield Check(
            "apart-cuts-off",
            f"{r.describe(n)} can reach only {_fmt(reach)} {r.label} without passing through "
            f"{away}, which it must be kept apart from, so no footprint holding it can reach "
            f"the floor of {_fmt(r.c.min_population)}; {', '.join(fixes)} or lower the floor",
        )


def _apart_share_a_gateway(r: _Reduction) -> Iterator[Check]:
    """Two nodes in different footprints cannot both need one node to reach the floor."""
    gates, _cut_off = r.gates_and_cut_off
    describe = r.describe
    for a, b in sorted(r.apart):
        if a not in gates or b not in gates:
            continue
        shared = sorted(set(gates[a]) & set(gates[b]) - {a, b})
        if not shared:
            continue
        h = shared[0]
        if (a, b) in r.asked:
            why, undo = "must be kept apart", "drop the keep-apart pair"
        else:
            why = f"are fixed to different names ({r.fixed_name[a]!r} and {r.fixed_name[b]!r})"
            undo = "fix them to one name"
        yield Check(
            "apart-share-a-gateway",
            f"{describe(a)} and {describe(b)} {why}, but both reach the floor of "
            f"{_fmt(r.c.min_population)} only through {describe(h)}: without it the first "
            f"reaches only {_fmt(gates[a][h])} and the second only {_fmt(gates[b][h])} "
            f"{r.label}, and only one of their footprints can hold it; "
            f"{', '.join(r.fixes(undo))}, or lower the floor",
        )


def _split_above_ceiling(r: _Reduction) -> Iterator[Check]:
    """A node in pieces must be joined up: a chain of nodes between each two of its pieces."""
    cap = r.c.max_population
    if cap is None:
        return
    problem, members = r.problem, r.members
    for n in sorted(members):
        if len(members[n]) < 2 or len({r.comp_of[u] for u in members[n]}) > 1:
            continue  # one unit, or pieces that cannot meet at all (named above)
        pieces = sorted(
            (sorted(p) for p in nx.connected_components(r.ug.subgraph(members[n]))),
            key=lambda p: p[0],
        )
        if len(pieces) < 2:
            continue
        widest = _widest_join(
            n,
            pieces,
            node_of=r.node_of,
            unit_nbrs=r.unit_nbrs,
            node_graph=r.node_graph,
            pop=r.pop,
            cap=cap,
            apart=r.apart_of.get(n, set()),
        )
        if widest is None:
            continue
        (a, b), through = widest
        ends = f"{problem.names[a]} to {problem.names[b]}"
        why = (
            f"every chain of units from {ends} passes through one too large to share "
            "their footprint or kept apart from them"
            if through is None
            else f"a footprint joining {ends} holds at least {_fmt(r.pop[n] + through)} {r.label} "
            "(with the least-populated chain of units between them)"
        )
        yield Check(
            "split-above-ceiling",
            f"{r.describe(n)} must share one footprint, but they lie apart: {why}, "
            f"above the ceiling of {_fmt(cap)}; raise the ceiling, or fix to "
            "one name (or keep together) units that lie closer together",
        )


def _no_room(r: _Reduction) -> list[str]:
    """Nodes below the floor whose every neighbour would take a footprint above the ceiling."""
    cap, pop, nn = r.c.max_population, r.pop, r.nn
    assert cap is not None
    return [
        n
        for n in sorted(r.members)
        if pop[n] < r.c.min_population and nn[n] and all(pop[n] + pop[m] > cap for m in nn[n])
    ]


def _no_room_under_ceiling(r: _Reduction) -> Iterator[Check]:
    """A node below the floor must share a footprint with a neighbour: one that fits must exist."""
    c = r.c
    if c.max_population is None:
        return
    for n in _no_room(r):
        near = "; ".join(r.describe(m) for m in sorted(r.nn[n])[:4])
        place, la = r.place(n)
        yield Check(
            "no-room-under-ceiling",
            f"{r.describe(n)} is below the floor of {_fmt(c.min_population)}, so it must "
            f"share a footprint with a neighbour, but every neighbour ({near}) would take "
            f"that footprint above the ceiling of {_fmt(c.max_population)}; raise the "
            "ceiling or lower the floor",
            {
                "place": place,
                "la": la,
                "population": r.pop[n],
                "floor": c.min_population,
                "ceiling": c.max_population,
                "needed": min(r.pop[n] + r.pop[m] for m in r.nn[n]),
            },
        )


def _satellites_above_ceiling(r: _Reduction) -> Iterator[Check]:
    """Parts below the floor reaching the rest only through one node must fit in its footprint.

    The parts' populations come from one search; the parts are listed only for a check
    that fails.
    """
    c, pop, problem, node_graph = r.c, r.pop, r.problem, r.node_graph
    cap = c.max_population
    if cap is None:
        return
    no_room = set(_no_room(r))
    pieces = _pieces_without(node_graph, pop)
    for h in sorted(r.members):
        few = [p for p in pieces[h] if p < c.min_population]
        if not few or pop[h] + sum(few) <= cap or pop[h] > cap:
            continue
        small = [
            part
            for part in nx.connected_components(node_graph.subgraph(node_graph.nodes - {h}))
            if part & r.nn[h] and sum(pop[m] for m in part) < c.min_population
        ]
        held = pop[h] + sum(pop[m] for part in small for m in part)
        parts = sorted(m for part in small for m in part)
        if not small or held <= cap or pop[h] > cap or no_room & set(parts):
            continue  # a node above the ceiling, or with no room at all, is named above
        unblock = (
            " or switch the LA rule off"
            if c.la_rule == "whole-la" and len(r.members[h]) > 1
            else ""
        )
        names = ", ".join(n for m in parts[:4] for n in (problem.names[u] for u in r.members[m]))
        words = _satellite_words(r, small)
        many = {1: "it", 2: "both"}.get(len(small), f"all {len(small)}")
        yield Check(
            "satellites-above-ceiling",
            f"{words} the rest of the map only through {r.describe(h)}, so one footprint "
            f"must hold {many} and {r.place(h)[0]} ({_fmt(held)}), above the ceiling of "
            f"{_fmt(cap)}; raise the ceiling to at least {_fmt(held)}, lower the floor{unblock}",
            {
                "place": f"{names}{' …' if len(parts) > 4 else ''}",
                "through": r.place(h)[0],
                "population": held - pop[h],
                "floor": c.min_population,
                "ceiling": cap,
                "needed": held,
                "parts": [
                    {
                        "place": _part_names(r, part),
                        "population": sum(pop[m] for m in part),
                    }
                    for part in _in_order(small)
                ],
            },
        )


def _in_order(parts: list[set[str]]) -> list[set[str]]:
    return sorted(parts, key=lambda part: min(part))


def _part_names(r: _Reduction, part: set[str]) -> str:
    """The units of one part by name (the first three and how many more)."""
    units = sorted(u for m in part for u in r.members[m])
    names = [r.problem.names[u] for u in units[:3]]
    more = f" and {len(units) - 3} more" if len(units) > 3 else ""
    return ", ".join(names) + more


def _satellite_words(r: _Reduction, small: list[set[str]]) -> str:
    """Parts below the floor, said so that each one's own population is what falls short.

    Three parts that do not touch one another can add up to more than the floor; the point
    is that none of them reaches it alone, so each must join the one node they all touch.
    """
    floor = _fmt(r.c.min_population)
    said = [
        f"{_part_names(r, part)} ({_fmt(sum(r.pop[m] for m in part))} {r.label})"
        for part in _in_order(small)
    ]
    if len(said) == 1:
        return f"{said[0]} is below the floor of {floor} and touches"
    listed = ", ".join(said[:-1]) + f" and {said[-1]}"
    return (
        f"{listed} do not touch one another and each is below the floor of {floor}, so "
        "none reaches it alone; each touches"
    )


def _count_unreachable(r: _Reduction) -> Iterator[Check]:
    c, label = r.c, r.label
    lo, hi = c.count_range
    n_locked = len(c.locked)
    lo_free, hi_free = _free_counts(c)
    free_total = sum(r.pop.values())
    if hi_free is not None and hi_free < (1 if r.free else 0):
        yield Check(
            "count-unreachable",
            f"at most {hi} footprint(s) are allowed but {n_locked} are locked and "
            f"{len(r.free)} unit(s) still need a footprint",
        )
    if hi_free is not None and len(r.comps) > hi_free >= 1:
        yield Check(
            "count-unreachable",
            f"the free units form {len(r.comps)} separate parts of the map, each needing its "
            f"own footprint, but at most {hi_free} more footprint(s) are allowed",
        )
    if lo_free * c.min_population > free_total and lo_free > 1:
        besides = f" besides the {n_locked} locked" if n_locked else ""
        yield Check(
            "count-unreachable",
            f"{lo} footprints asked for need {lo_free}{besides} of at least "
            f"{_fmt(c.min_population)}, {_fmt(lo_free * c.min_population)} {label} among the "
            f"free units, but they have only {_fmt(free_total)}",
        )
    if lo_free > len(r.members):
        yield Check(
            "count-unreachable",
            f"{lo} footprints asked for, but the units can form at most "
            f"{len(r.members) + n_locked} (units that must stay together count once)",
        )
    cap = c.max_population
    if cap is not None and hi_free is not None and hi_free * cap < free_total:
        yield Check(
            "count-unreachable",
            f"at most {hi_free} footprint(s) of at most {_fmt(cap)} hold "
            f"{_fmt(hi_free * cap)} {label}, fewer than the "
            f"{_fmt(free_total)} to place",
        )


#: every named check, in the order its explanations are given (GerryChain's validator
#: shape: each a small function of the reduced problem, yielding what fails in words)
CHECKS: tuple[Callable[[_Reduction], Iterable[Check]], ...] = (
    _locked_footprints,
    _locked_splits_la,
    _apart_in_locked,
    _merging,
    _group_above_ceiling,
    _group_cannot_connect,
    _component_below_floor,
    _apart_cuts_off,
    _apart_share_a_gateway,
    _split_above_ceiling,
    _no_room_under_ceiling,
    _satellites_above_ceiling,
    _count_unreachable,
)


def prepare(
    problem: Problem,
    constraints: Constraints,
    *,
    current: Mapping[str, str] | None = None,
) -> tuple[Instance | None, list[Check]]:
    """Merge units into nodes and run every feasibility check.

    Returns
    -------
    (instance, checks)
        ``instance`` is None when a check failed; ``checks`` lists every failed
        check (empty when the instance is ready for a solver).

    Raises
    ------
    ConstraintsError
        When the constraints name unit codes the problem does not have, or
        ``fewest-changes``/``locked`` is asked for without a current plan:
        these are mistakes in the request, not properties of the map.
    """
    disabled = _check_request(problem, constraints, current)
    reduced = _reduce(problem, constraints, dict(current or {}), disabled)
    checks = [failed for check in CHECKS for failed in check(reduced)]
    if checks:
        return None, checks
    return reduced.instance(), []
