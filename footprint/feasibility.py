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
from collections.abc import Mapping
from dataclasses import dataclass

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


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


def _fmt(n: float) -> str:
    return f"{round(n):,}"


def _reach_and_gates(n: str, nbrs: Mapping[str, set[str]], *, without: set[str],
                     pop: Mapping[str, int], floor: int) -> tuple[int, dict[str, int]]:
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
    n: str, pieces: list[list[str]], *, node_of: Mapping[str, str],
    unit_nbrs: Mapping[str, set[str]], node_graph: nx.Graph, pop: Mapping[str, int],
    cap: int, apart: set[str],
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
    piece_nbrs = [{node_of[v] for u in piece for v in unit_nbrs[u] if usable(node_of[v])}
                  for piece in pieces]
    touch: dict[str, list[int]] = {}
    for k, near in enumerate(piece_nbrs):
        for m in near:
            touch.setdefault(m, []).append(k)

    def reached(i: int, limit: int | None) -> dict[int, int]:
        """Piece -> the least population entered on the way from piece ``i`` (within
        ``limit``: a search bounded by the ceiling stays near the piece, where a search of
        the whole map from every piece cost the pieces times the map)."""
        dist: dict[object, int] = {("piece", i): 0}
        heap: list[tuple[int, int, object]] = [(0, 0, ("piece", i))]
        count = 1
        while heap:
            d, _, v = heapq.heappop(heap)
            if d > dist[v]:
                continue
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
        log.info("%s: %d pieces on %d nodes; joining them checked from the first only",
                 n, len(pieces), node_graph.number_of_nodes())
    for i in range(first):
        near = reached(i, budget)
        for j in range(i + 1, len(pieces)):
            if j not in near:
                return (pieces[i][0], pieces[j][0]), reached(i, None).get(j)
    return None


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
    c = constraints
    known = set(problem.codes)
    label = problem.population_label.split(" (")[0]
    unknown: list[str] = []

    def need(codes: object, where: str) -> None:
        for code in codes:  # type: ignore[attr-defined]
            if code not in known:
                unknown.append(f"{where}: {code!r} is not a unit code of this geography")

    for i, grp in enumerate(c.keep_together, 1):
        need(sorted(grp), f"keep_together group {i}")
    for a, b in c.keep_apart:
        need((a, b), "keep_apart")
    for a, b in c.disabled_edges:
        need((a, b), "disabled_edges")
    need([u for u, _ in c.fixed], "fixed")
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

    checks: list[Check] = []
    fixed = c.fixed_map
    current = dict(current or {})

    # --- locked footprints: set aside, but they must themselves be valid -------------------
    locked_plan = {u: f for u, f in current.items() if f in set(c.locked)}
    free = [u for u in problem.codes if u not in locked_plan]
    graph = problem.graph(without=disabled) if c.locked else nx.Graph()  # for locked only
    for name in c.locked:
        units = sorted(u for u, f in locked_plan.items() if f == name)
        pop = sum(problem.populations[u] for u in units)
        if pop < c.min_population:
            checks.append(Check(
                "locked-below-floor",
                f"locked footprint {name!r} has {_fmt(pop)} {label}, below the floor of "
                f"{_fmt(c.min_population)}; unlock it or lower the floor",
            ))
        if c.max_population is not None and pop > c.max_population:
            checks.append(Check(
                "locked-above-ceiling",
                f"locked footprint {name!r} has {_fmt(pop)} {label}, above the ceiling of "
                f"{_fmt(c.max_population)}; unlock it or raise the ceiling",
            ))
        if units and not nx.is_connected(graph.subgraph(units)):
            pieces = [sorted(p) for p in nx.connected_components(graph.subgraph(units))]
            checks.append(Check(
                "locked-not-contiguous",
                f"locked footprint {name!r} is in {len(pieces)} separate pieces "
                f"({'; '.join(', '.join(p[:4]) for p in pieces[:4])}); unlock it to repair it",
            ))
        for u in units:
            if u in fixed and fixed[u] != name:
                checks.append(Check(
                    "fixed-in-locked",
                    f"unit {u} is fixed to footprint {fixed[u]!r} but lies in locked footprint "
                    f"{name!r}; unlock {name!r} or fix {u} to {name!r}",
                ))
    if c.la_rule == "whole-la":
        for block, units in problem.block_members().items():
            inside = {locked_plan[u] for u in units if u in locked_plan}
            if inside and (len(inside) > 1 or any(u not in locked_plan for u in units)):
                checks.append(Check(
                    "locked-splits-la",
                    f"LA block {block} ({', '.join(units)}) is split by locked footprint(s) "
                    f"{', '.join(map(repr, sorted(inside)))}, but the LA rule keeps it whole; "
                    "unlock them, or switch the LA rule off",
                ))
    for a, b in c.keep_apart:
        if a in locked_plan and b in locked_plan and locked_plan[a] == locked_plan[b]:
            checks.append(Check(
                "apart-in-locked",
                f"{a} and {b} must be kept apart but share locked footprint {locked_plan[a]!r}",
            ))

    # --- merge units that must share a footprint into nodes (union-find) -------------------
    parent = {u: u for u in free}

    def find(u: str) -> str:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    if c.la_rule == "whole-la":
        for units in problem.block_members().values():
            fr = [u for u in units if u in parent]
            for u in fr[1:]:
                union(fr[0], u)
    for i, grp in enumerate(c.keep_together, 1):
        in_locked = sorted({locked_plan[u] for u in grp if u in locked_plan})
        if in_locked:
            if len(in_locked) > 1 or any(u not in locked_plan for u in grp):
                checks.append(Check(
                    "together-vs-locked",
                    f"keep_together group {i} ({', '.join(sorted(grp))}) is split by locked "
                    f"footprint(s) {', '.join(map(repr, in_locked))}",
                ))
            continue
        g = sorted(grp)
        for u in g[1:]:
            union(g[0], u)
    by_name: dict[str, list[str]] = {}
    for u, name in fixed.items():
        if u in parent:
            by_name.setdefault(name, []).append(u)
    for name, units in by_name.items():
        if name in set(c.locked):
            checks.append(Check(
                "fixed-to-locked",
                f"{', '.join(units)} are fixed to {name!r}, a locked footprint that stays as it "
                "is; fix them to another name or unlock it",
            ))
        for u in units[1:]:
            union(units[0], u)

    groups: dict[str, list[str]] = {}
    for u in free:
        groups.setdefault(find(u), []).append(u)
    node_id = {root: f"n{i:03d}" for i, root in enumerate(sorted(groups))}
    members = {node_id[r]: tuple(sorted(us)) for r, us in groups.items()}
    node_of = {u: node_id[find(u)] for u in free}
    pop = {n: sum(problem.populations[u] for u in us) for n, us in members.items()}

    def describe(n: str) -> str:
        us = members[n]
        names = ", ".join(problem.names[u] for u in us[:3]) + (" …" if len(us) > 3 else "")
        return f"{names} ({_fmt(pop[n])} {label})"

    fixed_name: dict[str, str] = {}
    for n, us in members.items():
        names = sorted({fixed[u] for u in us if u in fixed})
        if len(names) > 1:
            why = "an LA block" if c.la_rule == "whole-la" else "a keep-together group"
            checks.append(Check(
                "fixed-contradiction",
                f"{describe(n)} must stay in one footprint ({why}) but its units are fixed to "
                f"different footprints {', '.join(map(repr, names))}",
            ))
        elif names:
            fixed_name[n] = names[0]
    apart: set[Pair] = set()
    asked: set[Pair] = set()  # the planner's own keep-apart pairs (the rest: fixed names)
    for a, b in c.keep_apart:
        if a in locked_plan or b in locked_plan:
            continue  # a locked unit is already in its own footprint
        na, nb = node_of[a], node_of[b]
        if na == nb:
            checks.append(Check(
                "apart-inside-group",
                f"{a} and {b} must be kept apart, but they must also share a footprint "
                f"(same LA block, keep-together group or fixed name: {describe(na)})",
            ))
        else:
            apart.add(_pair(na, nb))
            asked.add(_pair(na, nb))
    names_nodes = sorted(fixed_name.items(), key=lambda kv: kv[1])
    for i, (na, fa) in enumerate(names_nodes):
        for nb, fb in names_nodes[i + 1 :]:
            if fa != fb:
                apart.add(_pair(na, nb))
    if c.max_population is not None:
        for n in sorted(members):
            if pop[n] > c.max_population:
                checks.append(Check(
                    "group-above-ceiling",
                    f"{describe(n)} must stay in one footprint but is above the ceiling of "
                    f"{_fmt(c.max_population)}; raise the ceiling or switch the LA rule off",
                ))

    # --- the usable graph among free units --------------------------------------------------
    unit_nbrs: dict[str, set[str]] = {u: set() for u in free}
    node_edges: set[Pair] = set()
    for a, b in problem.edges:
        if (a, b) in disabled or a in locked_plan or b in locked_plan:
            continue
        unit_nbrs[a].add(b)
        unit_nbrs[b].add(a)
        if node_of[a] != node_of[b]:
            node_edges.add(_pair(node_of[a], node_of[b]))
    ug = nx.Graph()
    ug.add_nodes_from(free)
    ug.add_edges_from((a, b) for a in free for b in unit_nbrs[a] if a < b)
    comps = [set(cc) for cc in nx.connected_components(ug)]
    comp_of = {u: i for i, cc in enumerate(comps) for u in cc}
    for n, us in members.items():
        if len({comp_of[u] for u in us}) > 1:
            checks.append(Check(
                "group-cannot-connect",
                f"{describe(n)} must share one footprint but its units cannot be connected "
                "(they lie in separate parts of the map once locked footprints and switched-off "
                "adjacencies are removed); switch an adjacency back on or unlock a footprint",
            ))
    for cc in sorted(comps, key=lambda s: min(s)):
        cpop = sum(problem.populations[u] for u in cc)
        if cpop < c.min_population and len(comps) == 1 and not locked_plan:
            checks.append(Check(
                "component-below-floor",
                f"the whole map has {_fmt(cpop)} {label}, below the floor of "
                f"{_fmt(c.min_population)}: not even one footprint can reach it; lower the floor",
            ))
        elif cpop < c.min_population:
            us = sorted(cc)
            names = ", ".join(problem.names[u] for u in us[:4]) + (" …" if len(us) > 4 else "")
            checks.append(Check(
                "component-below-floor",
                f"{names} ({_fmt(cpop)} {label}) cannot reach the floor of "
                f"{_fmt(c.min_population)}: no usable adjacency links "
                f"{'it' if len(us) == 1 else 'them'} to the rest of the map (an island bridge "
                "or border switched off, or surrounded by locked footprints); switch a bridge "
                "back on or lower the floor",
            ))

    node_graph = nx.Graph(node_edges)
    node_graph.add_nodes_from(members)
    nn = {n: set(node_graph[n]) for n in members}

    # a footprint never holds a node's apart partners: without them it must still reach the floor
    apart_of = partners(apart)
    # the map each node's footprint may use; left out: nodes no footprint holding them reaches
    # the floor in (named here or above)
    part_pop: dict[str, int] = {}
    if apart_of:
        for part in nx.connected_components(node_graph):
            part_total = sum(pop[m] for m in part)
            part_pop.update(dict.fromkeys(part, part_total))
    # each node's gateways (nodes without which it reaches less than the floor) too
    gates: dict[str, dict[str, int]] = {}
    for n in sorted(apart_of):
        if part_pop[n] < c.min_population:
            continue  # its whole part of the map is below the floor: named above
        reach, gates_n = _reach_and_gates(n, nn, without=apart_of[n], pop=pop,
                                          floor=c.min_population)
        if reach >= c.min_population:
            gates[n] = gates_n
            continue
        away = "; ".join(describe(m) for m in sorted(apart_of[n]))
        fixes = ["drop the keep-apart pair", *(["unlock a neighbouring footprint"]
                                               if locked_plan else []),
                 *(["switch an adjacency back on"] if disabled else [])]
        checks.append(Check(
            "apart-cuts-off",
            f"{describe(n)} can reach only {_fmt(reach)} {label} without passing through "
            f"{away}, which it must be kept apart from, so no footprint holding it can reach "
            f"the floor of {_fmt(c.min_population)}; {', '.join(fixes)} or lower the floor",
        ))

    # two nodes in different footprints cannot both need one node to reach the floor: only
    # one of the two footprints can hold it
    for a, b in sorted(apart):
        if a not in gates or b not in gates:
            continue
        shared = sorted(set(gates[a]) & set(gates[b]) - {a, b})
        if not shared:
            continue
        h = shared[0]
        if (a, b) in asked:
            why, undo = "must be kept apart", "drop the keep-apart pair"
        else:
            why = (f"are fixed to different names ({fixed_name[a]!r} and "
                   f"{fixed_name[b]!r})")
            undo = "fix them to one name"
        fixes = [undo, *(["unlock a neighbouring footprint"] if locked_plan else []),
                 *(["switch an adjacency back on"] if disabled else [])]
        checks.append(Check(
            "apart-share-a-gateway",
            f"{describe(a)} and {describe(b)} {why}, but both reach the floor of "
            f"{_fmt(c.min_population)} only through {describe(h)}: without it the first "
            f"reaches only {_fmt(gates[a][h])} and the second only {_fmt(gates[b][h])} {label}, "
            f"and only one of their footprints can hold it; {', '.join(fixes)}, or lower "
            "the floor",
        ))

    # a node in pieces (fixed to one name, or kept together, far apart) must be joined up:
    # any footprint holding it holds a chain of nodes between each two of its pieces
    if c.max_population is not None:
        for n in sorted(members):
            if len(members[n]) < 2 or len({comp_of[u] for u in members[n]}) > 1:
                continue  # one unit, or pieces that cannot meet at all (named above)
            pieces = sorted((sorted(p) for p in nx.connected_components(
                ug.subgraph(members[n]))), key=lambda p: p[0])
            if len(pieces) < 2:
                continue
            widest = _widest_join(n, pieces, node_of=node_of, unit_nbrs=unit_nbrs,
                                  node_graph=node_graph, pop=pop, cap=c.max_population,
                                  apart=apart_of.get(n, set()))
            if widest is None:
                continue
            (a, b), through = widest
            ends = f"{problem.names[a]} to {problem.names[b]}"
            why = (
                f"every chain of units from {ends} passes through one too large to share "
                "their footprint or kept apart from them"
                if through is None else
                f"a footprint joining {ends} holds at least {_fmt(pop[n] + through)} {label} "
                "(with the least-populated chain of units between them)"
            )
            checks.append(Check(
                "split-above-ceiling",
                f"{describe(n)} must share one footprint, but they lie apart: {why}, "
                f"above the ceiling of {_fmt(c.max_population)}; raise the ceiling, or fix to "
                "one name (or keep together) units that lie closer together",
            ))

    # a node below the floor must share a footprint with a neighbour: one that fits must exist
    if c.max_population is not None:
        no_room: set[str] = set()
        for n in sorted(members):
            if pop[n] >= c.min_population or not nn[n]:
                continue
            if all(pop[n] + pop[m] > c.max_population for m in nn[n]):
                no_room.add(n)
                near = "; ".join(describe(m) for m in sorted(nn[n])[:4])
                checks.append(Check(
                    "no-room-under-ceiling",
                    f"{describe(n)} is below the floor of {_fmt(c.min_population)}, so it must "
                    f"share a footprint with a neighbour, but every neighbour ({near}) would take "
                    f"that footprint above the ceiling of {_fmt(c.max_population)}; raise the "
                    "ceiling or lower the floor",
                ))
        # parts of the map below the floor that reach the rest only through one node can only
        # join that node's footprint: all of them together, so together they must fit (the
        # parts' populations come from one search; the parts are listed only for a check
        # that fails)
        pieces = _pieces_without(node_graph, pop)
        for h in sorted(members):
            few = [p for p in pieces[h] if p < c.min_population]
            if not few or pop[h] + sum(few) <= c.max_population or pop[h] > c.max_population:
                continue
            small = [part for part in nx.connected_components(
                         node_graph.subgraph(node_graph.nodes - {h}))
                     if part & nn[h] and sum(pop[m] for m in part) < c.min_population]
            held = pop[h] + sum(pop[m] for part in small for m in part)
            parts = sorted(m for part in small for m in part)
            if not small or held <= c.max_population or pop[h] > c.max_population \
                    or no_room & set(parts):
                continue  # a node above the ceiling, or with no room at all, is named above
            unblock = (" or switch the LA rule off" if c.la_rule == "whole-la"
                       and len(members[h]) > 1 else "")
            names = ", ".join(n for m in parts[:4] for n in (problem.names[u] for u in members[m]))
            checks.append(Check(
                "satellites-above-ceiling",
                f"{names}{' …' if len(parts) > 4 else ''} ({_fmt(held - pop[h])} {label}) "
                f"cannot reach the floor of {_fmt(c.min_population)} and touch the rest of the "
                f"map only through {describe(h)}, so one footprint must hold them all "
                f"({_fmt(held)}), above the ceiling of {_fmt(c.max_population)}; raise the "
                f"ceiling to at least {_fmt(held)}, lower the floor{unblock}",
            ))

    # --- counts ------------------------------------------------------------------------------
    lo, hi = c.count_range
    n_locked = len(c.locked)
    lo_free = max(0, lo - n_locked)
    hi_free = None if hi is None else hi - n_locked
    free_total = sum(pop.values())
    if hi_free is not None and hi_free < (1 if free else 0):
        checks.append(Check(
            "count-unreachable",
            f"at most {hi} footprint(s) are allowed but {n_locked} are locked and "
            f"{len(free)} unit(s) still need a footprint",
        ))
    if hi_free is not None and len(comps) > hi_free >= 1:
        checks.append(Check(
            "count-unreachable",
            f"the free units form {len(comps)} separate parts of the map, each needing its own "
            f"footprint, but at most {hi_free} more footprint(s) are allowed",
        ))
    if lo_free * c.min_population > free_total and lo_free > 1:
        checks.append(Check(
            "count-unreachable",
            f"{lo} footprints of at least {_fmt(c.min_population)} need "
            f"{_fmt(lo_free * c.min_population)} {label} among the free units, but they have "
            f"only {_fmt(free_total)}",
        ))
    if lo_free > len(members):
        checks.append(Check(
            "count-unreachable",
            f"{lo} footprints asked for, but the units can form at most "
            f"{len(members) + n_locked} (units that must stay together count once)",
        ))
    cap = c.max_population
    if cap is not None and hi_free is not None and hi_free * cap < free_total:
        checks.append(Check(
            "count-unreachable",
            f"at most {hi_free} footprint(s) of at most {_fmt(c.max_population)} hold "
            f"{_fmt(hi_free * c.max_population)} {label}, fewer than the "
            f"{_fmt(free_total)} to place",
        ))

    if checks:
        return None, checks
    xy = {}
    for n, us in members.items():
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
    inst = Instance(
        nodes=tuple(sorted(members)),
        members=members,
        pop=pop,
        unit_pop={u: problem.populations[u] for u in free},
        xy=xy,
        node_of=node_of,
        node_edges=frozenset(node_edges),
        unit_nbrs={u: frozenset(v) for u, v in unit_nbrs.items()},
        apart=frozenset(apart),
        fixed_name=fixed_name,
        locked_plan=locked_plan,
        count_lo=max(lo_free, 1 if free else 0),
        count_hi=hi_free,
        floor=c.min_population,
        cap=c.max_population,
    )
    return inst, []
