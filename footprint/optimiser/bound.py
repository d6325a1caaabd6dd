"""The count bound: connected node sets that just reach the floor, and the most disjoint of them."""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Mapping

from .. import _cancel
from .._sets import TooManySets, floor_sets
from ..instance import Instance, partners
from ..solver import Model
from . import budget
from .budget import SECONDS_PER_VAR, Run, hess_size

# --- step 2: the bound from packing floor sets, and a plan built from it -----------------------


def sets_by_node(sets: list[frozenset[str]]) -> dict[str, list[int]]:
    """Node -> indices of the sets holding it (one disjointness row per node)."""
    by_node: dict[str, list[int]] = {}
    for i, s in enumerate(sets):
        for n in s:
            by_node.setdefault(n, []).append(i)
    return by_node


def apart_map(inst: Instance) -> dict[str, set[str]]:
    """Node -> the nodes it must be kept apart from."""
    return partners(inst.apart)


def split_nodes(inst: Instance) -> frozenset[str]:
    """Nodes whose units do not touch (fixed to one name, or kept together, far apart)."""
    return frozenset(n for n in inst.nodes if len(inst.unit_components({n})) > 1)


def bridge_pieces(inst: Instance, nodes: frozenset[str]) -> frozenset[str] | None:
    """``nodes`` joined into one piece by the least-populated paths between its pieces.

    The paths never pass through a node kept apart from one already held (such as
    a CCG fixed to another name).
    """
    have = set(nodes)
    apart_of = apart_map(inst)
    while True:
        comps = inst.unit_components(have)
        if len(comps) == 1:
            return frozenset(have)
        # Dijkstra over units from the first piece; entering another node costs its population
        source, targets = comps[0], set().union(*comps[1:])
        dist = dict.fromkeys(source, 0)
        back: dict[str, str] = {}
        heap = [(0, u) for u in sorted(source)]
        end = None
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            if u in targets:
                end = u
                break
            for v in inst.unit_nbrs[u]:
                if apart_of.get(inst.node_of[v], set()) & have:
                    continue
                step = 0 if inst.node_of[v] in have else inst.pop[inst.node_of[v]]
                if d + step < dist.get(v, math.inf):
                    dist[v], back[v] = d + step, u
                    heapq.heappush(heap, (d + step, v))
        if end is None:
            return None
        while end in back:
            have.add(inst.node_of[end])
            end = back[end]


def bridged_sets(inst: Instance, sets: list[frozenset[str]]) -> list[frozenset[str]]:
    """Floor sets whose nodes are in pieces replaced by the same sets joined up (if valid).

    The sets bound the count as they are (every footprint holds one); to build
    plans from them a set holding a node in pieces needs the path between them. A
    cancelled run gets those joined so far (fewer starts for a plan, never a wrong one).
    """
    split = split_nodes(inst)
    if not split:
        return sets
    out: set[frozenset[str]] = set()
    for i, s in enumerate(sets):
        if i % 256 == 255 and _cancel.asked():
            break  # each set in pieces costs a search over the units: those done so far
        if s & split and len(inst.unit_components(s)) > 1:
            joined = bridge_pieces(inst, s)
            if joined is not None and inst.footprint_ok(joined):
                out.add(joined)
        else:
            out.add(s)
    return sorted(out, key=lambda s: (len(s), sorted(s)))


def packing_bound(
    inst: Instance, run: Run
) -> tuple[int, list[frozenset[str]], bool, list[frozenset[str]]] | None:
    """(most disjoint floor sets, the chosen sets, proven, all sets); None if too many sets."""
    nbrs = inst.node_nbrs()
    t0 = time.perf_counter()
    # on a map too large for the districting model the plan is grown from seeds instead,
    # which needs the time more than the count bound does: the sets get a smaller share
    huge = hess_size(inst) > budget.MODEL_MAX_VARIABLES
    seconds = max(0.0, 0.15 * run.left()) if huge else max(1.0, 0.3 * run.left())
    try:
        sets = floor_sets(
            inst.nodes,
            nbrs,
            inst.pop,
            floor=inst.floor,
            cap=inst.cap,
            apart=inst.apart,
            fixed_name=inst.fixed_name,
            deadline=t0 + seconds,
        )
    except TooManySets as exc:
        if run.cancelled():
            run.say("Cancelled while listing the candidate sets.")
        else:
            run.say(
                f"Too many candidate sets to bound the count exactly ({exc}); solving directly."
            )
        run.stages.append(
            {
                "stage": "floor sets",
                "status": "too many",
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
        return None
    run.stages.append(
        {"stage": "floor sets", "sets": len(sets), "seconds": round(time.perf_counter() - t0, 3)}
    )
    if not sets:
        return 0, [], True, []
    if run.cancelled():
        return None
    if huge and SECONDS_PER_VAR * len(sets) > 0.5 * run.left():
        # one variable per set: on a large map a packing that cannot be built in the time
        # left would overrun the limit (the plan is grown from seeds instead)
        run.say(
            f"Too many candidate sets ({len(sets):,}) to pack in the time left; solving directly."
        )
        run.stages[-1]["status"] = "too many to pack"
        return None
    run.say(f"Bounding the number of footprints: packing {len(sets):,} candidate sets…")
    packed = pack_sets(inst, run, sets, cover=frozenset())
    if packed is None:
        return None
    return (*packed, sets)


def pack_sets(
    inst: Instance,
    run: Run,
    sets: list[frozenset[str]],
    *,
    cover: frozenset[str],
    small: bool = False,
) -> tuple[int, list[frozenset[str]], bool] | None:
    """Pack the most disjoint sets (each ``cover`` node inside one)."""
    m = Model("packing", maximise=True)
    z = [m.binary(f"z{i}") for i in range(len(sets))]
    by_node = sets_by_node(sets)
    for n, idx in by_node.items():
        if len(idx) > 1 or n in cover:
            m.add(((z[i], 1.0) for i in idx), "==" if n in cover else "<=", 1)
    if any(n not in by_node for n in cover):
        return None
    if inst.count_hi is not None:
        m.add(((v, 1.0) for v in z), "<=", inst.count_hi)
    if small:
        # among the largest packings prefer small sets (more room under a ceiling); disjoint
        # sets hold at most the total, so the penalty stays below 1/2 and never costs a set
        total = max(inst.total, 1)
        m.objective(
            (v, 1.0 - 0.5 * sum(inst.pop[n] for n in sets[i]) / total) for i, v in enumerate(z)
        )
    else:
        m.objective((v, 1.0) for v in z)
    warm = None
    if not cover:
        greedy = greedy_packing(sets, by_node, most=inst.count_hi)
        warm = {z[i].name: 1.0 for i in greedy}
    out = run.solve(
        m,
        "count bound (set packing)"
        if not cover
        else f"set packing, covering {len(cover)} stuck node(s)",
        share=0.5,
        start=warm,
    )
    if out.status not in ("optimal", "feasible"):
        return None
    chosen = [sets[i] for i, v in enumerate(z) if out.values.get(v.name, 0) > 0.5]
    if out.status == "optimal":
        return len(chosen), chosen, True
    if out.bound is None:  # a plan but no bound from the solver: only the population bounds it
        most = inst.total // max(inst.floor, 1)
        if inst.count_hi is not None:
            most = min(most, inst.count_hi)
        return max(len(chosen), most), chosen, False
    # the small-set penalty is below 1/2, so the count is at most the weighted bound + 1/2
    slack = 0.5 if small else 0.0
    return max(len(chosen), math.floor(out.bound + slack + 1e-6)), chosen, False


def greedy_packing(
    sets: list[frozenset[str]], by_node: Mapping[str, list[int]], *, most: int | None
) -> list[int]:
    """Disjoint sets, those meeting fewest others first: a start for the packing model.

    With a short time limit the solver may stop at its first incumbent (39 sets at
    800,000 in a 6 s run, where 64 exist); the greedy packing is found in milliseconds.
    """
    overlap = [sum(len(by_node[n]) for n in s) for s in sets]
    taken: set[str] = set()
    chosen: list[int] = []
    for i in sorted(range(len(sets)), key=lambda i: (overlap[i], len(sets[i]), sorted(sets[i]))):
        if most is not None and len(chosen) >= most:
            break
        if not sets[i] & taken:
            chosen.append(i)
            taken |= sets[i]
    return chosen
