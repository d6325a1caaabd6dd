"""Constructions: plans packed from floor sets, grown from seeds, merged down and repaired."""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterable, Mapping

from .. import _cancel
from .._recombine import three_into_two
from ..instance import Instance
from ..solver import Model
from .bound import apart_map, bridged_sets, greedy_packing, pack_sets, sets_by_node, split_nodes
from .budget import Run
from .state import Plan, PlanState, groups_of, hub_cost, plan_ok

#: nodes attached between two looks at the run's Cancel
_CANCEL_EVERY = 256


def packed_plan(
    inst: Instance, run: Run, candidates: list[frozenset[str]], *, split: frozenset[str]
) -> Plan | None:
    """Pack the most floor sets and attach the rest; nodes left with no room must then be
    packed.

    A node that finds every neighbouring footprint closed to it (above the ceiling, or
    holding a unit it is kept apart from) is put inside a packed set on the next round,
    and so is a node in pieces, which joins a footprint only inside a set that joins them.
    """
    cover: set[str] = set(split)
    candidates = list(candidates)
    for _round in range(6 if candidates else 0):
        if run.cancelled():
            return None
        candidates += _widened(inst, candidates, cover)
        repacked = pack_sets(
            inst, run, candidates, cover=frozenset(cover), small=inst.cap is not None
        )
        if repacked is None:
            return None
        stuck: set[str] = set()
        plan = attach_leftovers(inst, repacked[1], stuck=stuck)
        if plan is not None or not stuck or stuck <= cover:
            return plan
        cover |= stuck
    return None


def from_many(inst: Instance, candidates: list[frozenset[str]]) -> Plan | None:
    """Many small footprints merged down to the count: a start when ``count_hi`` sets fill up.

    Under a ceiling, leftovers attached to only ``count_hi`` floor sets run out of
    room (40 footprints under 2,000,000 at 300,000: six CCGs with nowhere to go);
    around as many disjoint floor sets as a greedy packing finds, they always fit,
    and merging down then balances the footprints as it goes.
    """
    # a node in pieces joins a footprint only inside a set that joins it up: the smallest
    # such set first, then the greedy packing around them
    seeds: list[frozenset[str]] = []
    taken: set[str] = set()
    bridged = bridged_sets(inst, candidates)
    for n in sorted(split_nodes(inst)):
        holding = [s for s in bridged if n in s and not s & taken]
        if not holding:
            return None
        best = min(holding, key=lambda s: (sum(inst.pop[m] for m in s), sorted(s)))
        seeds.append(best)
        taken |= best
    rest = [s for s in bridged if not s & taken]
    seeds += [rest[i] for i in greedy_packing(rest, sets_by_node(rest), most=None)]
    many = attach_leftovers(inst, seeds, check=False)
    return merge_down(inst, many, inst.count_hi) if many is not None else None


def grown_plan(inst: Instance, *, target: float, until: float) -> Plan | None:
    """Footprints grown to ``target``, or failing that to sizes nearer the floor, then merged
    down to the count (see `_grown_once`); None when none of them gives a valid plan."""
    for goal in dict.fromkeys((target, (target + inst.floor) / 2, float(inst.floor))):
        first: list[str] = []
        for _round in range(3):
            # a node left with no footprint (one it is kept apart from took all round it)
            # seeds a footprint of its own on the next round
            stuck: set[str] = set()
            plan = _grown_once(inst, target=goal, until=until, first=first, stuck=stuck)
            if plan is not None or time.perf_counter() > until or _cancel.asked():
                return plan
            if not stuck - set(first):
                break
            first = [*first, *sorted(stuck - set(first))]
    return None


def _grow_from(
    inst: Instance, seed: str, plan: Plan, *, goal: float, apart_of: Mapping[str, set[str]]
) -> tuple[list[str], int]:
    """One footprint grown from ``seed``, nearest unplaced nodes first, to ``goal``.

    Returns its nodes and population (below the floor when it ran out of room).
    """
    nbrs = inst.node_nbrs()
    (sx, sy), fn = inst.xy[seed], inst.fixed_name.get(seed)
    members, pop, barred = [seed], inst.pop[seed], set(apart_of.get(seed, ()))
    # a node kept apart from the footprint keeps its neighbours free, so that the
    # footprint never closes round it and leaves it nowhere to go
    moat = {m for b in barred for m in nbrs[b]}
    names = {fn} if fn is not None else set()
    taken = {seed}
    heap = [(0.0, seed)]
    frontier = {seed}
    while heap and pop < goal:
        _, n = heapq.heappop(heap)
        if n not in taken:
            if inst.cap is not None and pop + inst.pop[n] > inst.cap:
                continue
            if n in barred or n in moat:
                continue
            fm = inst.fixed_name.get(n)
            if fm is not None and names - {fm}:
                continue
            taken.add(n)
            members.append(n)
            pop += inst.pop[n]
            fresh = apart_of.get(n, set()) - barred
            barred |= fresh
            moat.update(m for b in fresh for m in nbrs[b])
            if fm is not None:
                names.add(fm)
        for m in nbrs[n]:
            if m not in plan and m not in frontier:
                frontier.add(m)
                heapq.heappush(heap, ((inst.xy[m][0] - sx) ** 2 + (inst.xy[m][1] - sy) ** 2, m))
    return members, pop


def _grown_once(
    inst: Instance,
    *,
    target: float,
    until: float,
    first: Iterable[str] = (),
    stuck: set[str] | None = None,
) -> Plan | None:
    """Footprints grown one at a time, nearest nodes first, to ``target``: a plan for any map.

    The start for maps too large for the floor sets and the districting model. Seeds are
    taken south to north, west to east; each footprint takes the unplaced neighbouring
    node nearest its seed (within the ceiling, never a node kept apart from one it holds
    or fixed to another name) until it reaches ``target`` (at least the floor). A
    footprint that runs out of room below the floor gives its nodes back, and they join
    neighbouring footprints afterwards; footprints are then merged down to the highest
    count allowed. None when a node finds no footprint, the count cannot be met or
    ``until`` (perf_counter) passes.
    """
    apart_of = apart_map(inst)
    goal = max(float(inst.floor), target)
    plan: Plan = {}
    tried: set[str] = set()
    seeds: list[frozenset[str]] = []
    first = list(first)
    for seed in first + sorted(inst.nodes, key=lambda n: (inst.xy[n][1], inst.xy[n][0], n)):
        if seed in plan or seed in tried:
            continue
        if time.perf_counter() > until or _cancel.asked():
            return None
        members, pop = _grow_from(inst, seed, plan, goal=goal, apart_of=apart_of)
        if pop >= inst.floor:
            for n in members:
                plan[n] = len(seeds)
            seeds.append(frozenset(members))
        else:
            tried.add(seed)  # left for its neighbours' footprints to take in
    if not seeds:
        return None
    grown = attach_leftovers(inst, seeds, check=False, stuck=stuck)
    if grown is None or time.perf_counter() > until:
        return None
    if inst.count_hi is not None and len(seeds) > inst.count_hi:
        return merge_down(inst, grown, inst.count_hi)
    return merge_down(inst, grown, None)


def grown_in_time(
    inst: Instance, run: Run, *, target: float, why: str = "the map is too large for the full model"
) -> Plan | None:
    """`grown_plan` within the time left, reported as a stage (``why`` says why it is used)."""
    t = time.perf_counter()
    run.say(f"Growing footprints one at a time ({why})…")
    until = run.deadline - 0.5
    plan = grown_plan(inst, target=target, until=until)
    if plan is not None:
        status = "plan"
    elif run.cancelled():
        status = "cancelled"
    else:  # out of time, or no rule-abiding plan grown
        status = "out of time" if time.perf_counter() > until else "no plan"
    run.stages.append(
        {
            "stage": "footprints grown from seeds",
            "status": status,
            "footprints": len(set(plan.values())) if plan else None,
            "seconds": round(time.perf_counter() - t, 3),
        }
    )
    return plan


def _widened(
    inst: Instance, sets: list[frozenset[str]], nodes: Iterable[str]
) -> list[frozenset[str]]:
    """For each of ``nodes`` in no set, every set it touches with that node added (if valid).

    A node that only ever joins a footprint (no minimal floor set holds it: a
    neighbour reaches the floor alone) can still be left with no room when its
    neighbours fill up under a ceiling; inside a packed set it has its place. A
    cancelled run gets the sets found so far.
    """
    held = {n for s in sets for n in s}
    nbrs = inst.node_nbrs()
    out: set[frozenset[str]] = set()
    for n in sorted(set(nodes) - held):
        if _cancel.asked():
            break  # each node reads every set: thousands of them at a high floor
        for s in sets:
            if nbrs[n] & s and inst.footprint_ok(s | {n}):
                out.add(s | {n})
    return sorted(out, key=lambda s: (len(s), sorted(s)))


def compact_seeds(
    inst: Instance, run: Run, sets: list[frozenset[str]], count: int
) -> list[frozenset[str]] | None:
    """``count`` disjoint floor sets that are together as compact as possible (a start plan).

    The count bound's packing is any one of many with that count; this one
    minimises the sets' own compactness, so leftovers attach to tight cores.
    """
    m = Model("compact seeds")
    z = [m.binary(f"z{i}") for i in range(len(sets))]
    for idx in sets_by_node(sets).values():
        if len(idx) > 1:
            m.add(((z[i], 1.0) for i in idx), "<=", 1)
    m.add(((v, 1.0) for v in z), "==", count)
    m.objective((v, hub_cost(inst, set(sets[i]))) for i, v in enumerate(z))
    out = run.solve(m, "compact start (set packing)", share=0.2)
    if out.status not in ("optimal", "feasible"):
        return None
    return [sets[i] for i, v in enumerate(z) if out.values.get(v.name, 0) > 0.5]


def attach_leftovers(
    inst: Instance,
    seeds: list[frozenset[str]],
    *,
    stuck: set[str] | None = None,
    check: bool = True,
) -> Plan | None:
    """Grow the seed sets into a plan, attaching leftover nodes to neighbouring footprints.

    With ``check=False`` a plan whose footprints miss the floor is returned too (for
    `merge_down` to lift); None still means some node found no footprint to join, or
    that the run was cancelled (read every few hundred nodes: each reads the centres of
    the footprints round it, which on a map of tens of thousands of units adds up).
    """
    state = PlanState(inst, {n: k for k, s in enumerate(seeds) for n in s})
    nbrs = inst.node_nbrs()
    apart_of = apart_map(inst)
    names = {
        k: {inst.fixed_name[n] for n in g if n in inst.fixed_name} for k, g in state.groups.items()
    }
    left = dict.fromkeys(n for n in inst.nodes if n not in state.plan)  # in order, O(1) removal
    while left:
        progress = False
        for step, n in enumerate(list(left)):
            if step % _CANCEL_EVERY == _CANCEL_EVERY - 1 and _cancel.asked():
                return None
            options = _attach_options(inst, state, n, apart_of=apart_of, names=names, nbrs=nbrs)
            if options:
                _, k = min(options)
                state.place(n, k)
                if n in inst.fixed_name:
                    names[k].add(inst.fixed_name[n])
                del left[n]
                progress = True
        if not progress:
            if stuck is not None:
                stuck.update(left)
            return None
    return state.plan if not check or plan_ok(inst, state.plan) else None


def _attach_options(
    inst: Instance,
    state: PlanState,
    n: str,
    *,
    apart_of: Mapping[str, set[str]],
    names: Mapping[int, set[str]],
    nbrs: Mapping[str, frozenset[str]],
) -> list[tuple[float, int]]:
    """The neighbouring footprints node ``n`` may join, each with its preference (lowest
    first): under a ceiling the one with most room, else the one whose population centre
    is nearest."""
    options = []
    for k in {state.plan[m] for m in nbrs[n] if m in state.plan}:
        pop_k, group = state.pops[k], state.groups[k]
        if inst.cap is not None and pop_k + inst.pop[n] > inst.cap:
            continue
        if apart_of.get(n, set()) & group:
            continue
        fn = inst.fixed_name.get(n)
        if fn is not None and names[k] - {fn}:
            continue
        if inst.cap is not None:
            options.append((float(pop_k), k))
            continue
        cx = sum(inst.pop[m] * inst.xy[m][0] for m in group) / max(pop_k, 1)
        cy = sum(inst.pop[m] * inst.xy[m][1] for m in group) / max(pop_k, 1)
        options.append(((inst.xy[n][0] - cx) ** 2 + (inst.xy[n][1] - cy) ** 2, k))
    return options


def merge_down(inst: Instance, plan: Plan, target: int | None) -> Plan | None:
    """Merge neighbouring footprints, smallest first, until there are ``target`` (None: until
    every footprint reaches the floor); None if stuck or the result breaks a rule.

    When no two neighbours may merge, three are redrawn as two (`three_into_two`).
    None too when the run is cancelled (a merge at a time: on a large map thousands).
    """
    state = PlanState(inst, plan)
    nbrs = inst.node_nbrs()
    apart_of = apart_map(inst)
    rng = random.Random(0)
    while True:
        if _cancel.asked():
            return None
        groups, pops = state.groups, state.pops
        if target is None:
            small = [k for k in groups if pops[k] < inst.floor]
        else:
            small = list(groups) if len(groups) > target else []
        if not small:
            return state.plan if plan_ok(inst, state.plan) else None
        pair = _merge_pair(inst, state, sorted(small, key=lambda k: (pops[k], k)), nbrs, apart_of)
        if pair is not None:
            state.merge(*pair)
            continue
        # every pair of neighbours is together above the ceiling (or holds an apart pair):
        # redraw three neighbours as two instead, around the few smallest (each costs up to
        # a few hundred random trees)
        redrawn = three_into_two(
            inst, state.plan, rng=rng, among=sorted(small, key=lambda k: (pops[k], k))[:5]
        )
        if redrawn is None:
            return None
        state = PlanState(inst, redrawn)


def _merge_pair(
    inst: Instance,
    state: PlanState,
    small: list[int],
    nbrs: Mapping[str, frozenset[str]],
    apart_of: Mapping[str, set[str]],
) -> tuple[int, int] | None:
    """The first of the ``small`` footprints (in order) that may join a neighbour, with the
    least populated such neighbour; None when no two may merge."""
    groups, pops = state.groups, state.pops
    for k in small:
        adj = {state.plan[m] for n in groups[k] for m in nbrs[n]} - {k}
        for j in sorted(adj, key=lambda j: pops[j]):
            if inst.cap is not None and pops[k] + pops[j] > inst.cap:
                continue
            both = groups[k] | groups[j]
            # through each node's partners: every pair would cost the square of the units
            # fixed to names, once per merge tried
            if any(apart_of[n] & both for n in both if n in apart_of):
                continue
            return k, j
    return None


def largest_piece(inst: Instance, nodes: Iterable[str]) -> frozenset[str]:
    """The nodes of the most populated connected piece (unit level) of ``nodes``."""
    nodes = set(nodes)
    if not nodes:
        return frozenset()
    main = max(
        inst.unit_components(nodes), key=lambda c: (sum(inst.unit_pop[u] for u in c), min(c))
    )
    return frozenset(n for n in nodes if set(inst.members[n]) <= main)


def repair_pieces(inst: Instance, plan: Plan) -> Plan | None:
    """A contiguous plan near a solution in pieces: keep each footprint's largest piece, re-attach
    the other pieces to neighbouring footprints; None when a floor or rule then fails."""
    seeds: dict[int, frozenset[str]] = {}
    for k, nodes in groups_of(plan).items():
        seeds[k] = largest_piece(inst, nodes)
        if not seeds[k]:
            return None
    order = sorted(seeds)
    repaired = attach_leftovers(inst, [seeds[k] for k in order])
    if repaired is None:
        return None
    return {n: order[i] for n, i in repaired.items()}
