"""The footprint optimiser: exact integer programs over plain data, with honest statuses.

Pipeline for one call of :func:`optimise`:

1. :func:`footprint.feasibility.prepare` merges units that must stay together
   into nodes and explains, in named checks, any reason no plan can exist.
2. ``max-footprints``: the connected node sets that just reach the floor are
   enumerated and the most disjoint ones packed (a small set-packing program):
   that count is a proven upper bound. With only a floor, leftover units can
   always join a neighbouring footprint, so a plan with that many footprints is
   built directly and the count is proven optimal; otherwise (ceilings, apart
   pairs, counts) the districting model below proves or refutes each count.
3. The districting model (Hess et al., 1965): each footprint has a centre node
   and every node is assigned to one centre; it minimises the population-
   weighted squared distance to the centres (``compact``), the spread between
   the largest and smallest footprint (``balanced``), or, with footprints as
   the current plan's named slots, the units or population moved
   (``fewest-changes``). Contiguity is imposed by cutting planes: whenever a
   solution has a footprint in pieces, a separator inequality (each piece must
   reach the rest through its boundary) is added and the model solved again,
   warm-started from the best contiguous plan. The bound of every relaxed
   solve is a valid bound of the full problem, so the reported gap is honest.
4. ``balanced``: that model's relaxation shares population out evenly, so its
   bound is 0 and its search finds poor plans; most of the time therefore goes
   to :func:`footprint._recombine.recombine`, which merges neighbouring
   footprints and re-cuts them along random spanning trees, and the model is
   warm-started from its plan.

Only :mod:`footprint.solver` talks to PuLP.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import platform
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from ._recombine import recombine, three_into_two
from ._sets import TooManySets, floor_sets
from .constraints import Constraints
from .errors import PlanError, SolverError
from .feasibility import Check, Instance, partners, prepare
from .problem import Problem
from .result import OptimiseResult
from .solver import Model, Outcome, Var, solver_version

__all__ = ["optimise"]

log = logging.getLogger(__name__)

Plan = dict[str, int]  # node -> footprint index
Progress = Callable[[str], None]


@dataclass
class _Run:
    """Bookkeeping shared by the stages of one run."""

    constraints: Constraints
    progress: Progress
    deadline: float
    logs: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    #: (variables, constraints) -> most seconds a solve of that size spent outside the solver
    overheads: dict[tuple[int, int], float] = field(default_factory=dict)
    #: seconds the last solve spent building and handing over its model
    last_cost: float = 0.0
    #: (seconds needed, seconds left) when a districting model was not started for want
    #: of time and no plan was held
    unstarted: tuple[float, float] | None = None
    #: models not built because they would not fit in memory, each said in words
    refused: list[str] = field(default_factory=list)

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def room_for_another(self) -> bool:
        """Whether another model like the last one can be built, handed over and solved."""
        return self.left() > 2.0 * self.last_cost + 1.0

    def handover(self, model: Model) -> float:
        """Seconds to keep back for PuLP to hand ``model`` over and read the answer.

        Measured: up to three times as long as building it; once a model of about the
        same size has been solved, what that solve really spent outside the solver.
        """
        guess = 3.0 * (time.perf_counter() - model.created) + 1.5
        nv, nc = model.size
        seen = [o for (v, c), o in self.overheads.items()
                if abs(v - nv) <= 0.1 * nv and abs(c - nc) <= 0.2 * max(nc, 1)]
        return max(guess, 1.25 * max(seen) + 0.5) if seen else guess

    def say(self, message: str) -> None:
        log.info(message)
        self.progress(message)

    def refuse(self, label: str, size: int, inst: Instance, *,
               what: str = "districting model") -> None:
        """Record, in words and as a stage, that a model of ``size`` variables is not built."""
        units, nodes = len(inst.node_of), len(inst.nodes)
        of = f"{units:,} units" + (f" ({nodes:,} groups that stay whole)" if nodes != units
                                     else "")
        msg = (f"the {what} for {of} would hold {_sci(size)} variables, more than the "
               f"{_sci(MODEL_MAX_VARIABLES)} this server builds, so it was not built")
        self.say(f"{label}: {msg}.")
        if msg not in self.refused:
            self.refused.append(msg)
        self.stages.append({"stage": f"{label}: model not built", "status": "too large",
                            "variables": size, "most variables": MODEL_MAX_VARIABLES,
                            "reason": msg})

    def solve(self, model: Model, what: str, *, start: Mapping[str, float] | None = None,
              share: float = 1.0, abs_gap: float | None = None) -> Outcome:
        limit = max(0.5, self.left() * share - self.handover(model))
        built = time.perf_counter() - model.created
        out = model.solve(
            solver=self.constraints.solver, time_limit=limit,
            mip_gap=self.constraints.mip_gap, start=start, abs_gap=abs_gap,
        )
        self.overheads[model.size] = max(self.overheads.get(model.size, 0.0), out.overhead)
        self.last_cost = built + out.overhead
        nv, nc = model.size
        self.logs.append(f"===== {what} ({nv:,} variables, {nc:,} constraints) =====\n{out.log}")
        self.stages.append({
            "stage": what, "status": out.status, "objective": out.objective,
            "bound": out.bound, "seconds": round(out.seconds, 3), "variables": nv,
            "constraints": nc,
        })
        return out


def _sci(n: float) -> str:
    """A count for a sentence: 250,000 as is, 1,599,960,000 as 1.6e9."""
    if n < 1e6:
        return f"{round(n):,}"
    mantissa, exponent = f"{n:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


# --- plans on the instance ---------------------------------------------------------------------


def _groups(plan: Plan) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for n, k in plan.items():
        out.setdefault(k, set()).add(n)
    return out


def _plan_ok(inst: Instance, plan: Plan) -> bool:
    """Every node placed and every footprint valid (the optimiser's own quick check)."""
    if set(plan) != set(inst.nodes):
        return False
    groups = _groups(plan)
    if len(groups) < inst.count_lo or (inst.count_hi is not None and len(groups) > inst.count_hi):
        return False
    return all(inst.footprint_ok(nodes) for nodes in groups.values())


def _d2(inst: Instance, a: str, b: str) -> float:
    (xa, ya), (xb, yb) = inst.xy[a], inst.xy[b]
    return ((xa - xb) ** 2 + (ya - yb) ** 2) / 1e6  # km²


def _inertia(inst: Instance, nodes: set[str]) -> float:
    """Population-weighted moment of inertia of some nodes about their centre (person-km²)."""
    w = sum(inst.pop[n] for n in nodes)
    if w <= 0:
        return 0.0
    cx = sum(inst.pop[n] * inst.xy[n][0] for n in nodes) / w
    cy = sum(inst.pop[n] * inst.xy[n][1] for n in nodes) / w
    return sum(
        inst.pop[n] * ((inst.xy[n][0] - cx) ** 2 + (inst.xy[n][1] - cy) ** 2) for n in nodes
    ) / 1e6


#: footprints of more nodes than this find their best centre as the node nearest their
#: population centre (the same node, since the sum of population x squared distance to a
#: point is the inertia plus the population x the point's squared distance from the
#: centre), not by trying every node: that cost the square of the footprint's size per
#: call, and local search calls it for every move (England's footprints are far smaller)
_EXACT_CENTRE_NODES = 64


def _best_centre(inst: Instance, nodes: set[str]) -> str:
    if len(nodes) <= _EXACT_CENTRE_NODES:
        return min(sorted(nodes), key=lambda j: sum(inst.pop[i] * _d2(inst, i, j) for i in nodes))
    w = sum(inst.pop[n] for n in nodes)
    if w <= 0:
        return min(nodes)
    cx = sum(inst.pop[n] * inst.xy[n][0] for n in nodes) / w
    cy = sum(inst.pop[n] * inst.xy[n][1] for n in nodes) / w
    return min(sorted(nodes), key=lambda j: (inst.xy[j][0] - cx) ** 2 + (inst.xy[j][1] - cy) ** 2)


# --- step 2: the bound from packing floor sets, and a plan built from it -----------------------


def _sets_by_node(sets: list[frozenset[str]]) -> dict[str, list[int]]:
    """Node -> indices of the sets holding it (one disjointness row per node)."""
    by_node: dict[str, list[int]] = {}
    for i, s in enumerate(sets):
        for n in s:
            by_node.setdefault(n, []).append(i)
    return by_node


def _apart_of(inst: Instance) -> dict[str, set[str]]:
    """Node -> the nodes it must be kept apart from."""
    return partners(inst.apart)


def _split_nodes(inst: Instance) -> frozenset[str]:
    """Nodes whose units do not touch (fixed to one name, or kept together, far apart)."""
    return frozenset(n for n in inst.nodes if len(inst.unit_components({n})) > 1)


def _bridge(inst: Instance, nodes: frozenset[str]) -> frozenset[str] | None:
    """``nodes`` joined into one piece by the least-populated paths between its pieces.

    The paths never pass through a node kept apart from one already held (such as
    a CCG fixed to another name).
    """
    have = set(nodes)
    apart_of = _apart_of(inst)
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


def _bridged(inst: Instance, sets: list[frozenset[str]]) -> list[frozenset[str]]:
    """Floor sets whose nodes are in pieces replaced by the same sets joined up (if valid).

    The sets bound the count as they are (every footprint holds one); to build
    plans from them a set holding a node in pieces needs the path between them.
    """
    split = _split_nodes(inst)
    if not split:
        return sets
    out: set[frozenset[str]] = set()
    for s in sets:
        if s & split and len(inst.unit_components(s)) > 1:
            joined = _bridge(inst, s)
            if joined is not None and inst.footprint_ok(joined):
                out.add(joined)
        else:
            out.add(s)
    return sorted(out, key=lambda s: (len(s), sorted(s)))


def _packing_bound(
    inst: Instance, run: _Run
) -> tuple[int, list[frozenset[str]], bool, list[frozenset[str]]] | None:
    """(most disjoint floor sets, the chosen sets, proven, all sets); None if too many sets."""
    nbrs = inst.node_nbrs()
    t0 = time.perf_counter()
    # on a map too large for the districting model the plan is grown from seeds instead,
    # which needs the time more than the count bound does: the sets get a smaller share
    huge = _hess_size(inst) > MODEL_MAX_VARIABLES
    budget = max(0.0, 0.15 * run.left()) if huge else max(1.0, 0.3 * run.left())
    try:
        sets = floor_sets(
            inst.nodes, nbrs, inst.pop, floor=inst.floor, cap=inst.cap, apart=inst.apart,
            fixed_name=inst.fixed_name, deadline=t0 + budget,
        )
    except TooManySets as exc:
        run.say(f"Too many candidate sets to bound the count exactly ({exc}); solving directly.")
        run.stages.append({"stage": "floor sets", "status": "too many", "seconds":
                           round(time.perf_counter() - t0, 3)})
        return None
    run.stages.append({"stage": "floor sets", "sets": len(sets),
                       "seconds": round(time.perf_counter() - t0, 3)})
    if not sets:
        return 0, [], True, []
    if huge and _SECONDS_PER_VAR * len(sets) > 0.5 * run.left():
        # one variable per set: on a large map a packing that cannot be built in the time
        # left would overrun the limit (the plan is grown from seeds instead)
        run.say(f"Too many candidate sets ({len(sets):,}) to pack in the time left; "
                "solving directly.")
        run.stages[-1]["status"] = "too many to pack"
        return None
    run.say(f"Bounding the number of footprints: packing {len(sets):,} candidate sets…")
    packed = _pack(inst, run, sets, cover=frozenset())
    if packed is None:
        return None
    return (*packed, sets)


def _pack(
    inst: Instance, run: _Run, sets: list[frozenset[str]], *, cover: frozenset[str],
    small: bool = False,
) -> tuple[int, list[frozenset[str]], bool] | None:
    """Pack the most disjoint sets (each ``cover`` node inside one)."""
    m = Model("packing", maximise=True)
    z = [m.binary(f"z{i}") for i in range(len(sets))]
    by_node = _sets_by_node(sets)
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
        greedy = _greedy_packing(sets, by_node, most=inst.count_hi)
        warm = {z[i].name: 1.0 for i in greedy}
    out = run.solve(m, "count bound (set packing)" if not cover else "set packing, covering "
                    f"{len(cover)} stuck node(s)", share=0.5, start=warm)
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


def _greedy_packing(sets: list[frozenset[str]], by_node: Mapping[str, list[int]], *,
                    most: int | None) -> list[int]:
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


#: seconds the districting model costs per variable at the least: measured on England,
#: 44,523 variables took 1.3 s to build and 3 s more to hand to HiGHS and read back, and
#: HiGHS then spent 2 to 4 s more on its first round of cuts whatever its limit (a compact
#: run of 6 s ended after 8.2 to 10.3 s); a model started with less time left than that
#: overruns the run's limit, and in such short runs recombining the plan does better
_SECONDS_PER_VAR = 1.7e-4

#: share of the time left that the compactness stage of max-footprints gives its model
_COMPACT_MODEL_SHARE = 0.7

#: share of a 'balanced' run spent recombining footprints before the model is solved
_BALANCE_SHARE = 0.75

#: above this many floor sets the compact start's packing costs more time than it saves
#: (14,273 sets at 1,000,000 with the LA rule off: HiGHS's presolve alone overran 20 s)
_COMPACT_SEEDS_MAX = 5_000

#: the most variables a districting model (or the fewest-changes model) is built with.
#: Its variables are node x centre pairs, so it grows with the square of the nodes: 211
#: CCGs make 44,523, 40,000 units 1.6e9 (a 10 s run of that reached 13.6 GB before this
#: cap). Measured here, 200,000 binaries with one two-term row each took 0.3 GB and 21 s
#: to build in PuLP; the districting model has about three rows per variable, so this many
#: take about 1 GB and a minute to build before the solver starts. Above it the model is
#: not built, the result says so, and the plan comes from the constructions and local
#: search, with no bound from the model
MODEL_MAX_VARIABLES = 250_000

#: seconds per unit kept back at the end of a run on a map too large for the model, for
#: checking the plan and tabulating it: measured on 40,000 units on this 2-core server while
#: busy (load 16), the validator took 1.5 s, the summary table 2.3 s and the last checks of
#: the plan 1 s
_FINISH_SECONDS_PER_UNIT = 1.2e-4

#: footprints of more nodes than this are not recombined: one move prices every cut of a
#: spanning tree of two footprints, the square of their size, and on a map of 40,000
#: units a single move outlasted a 10 s limit; moving single nodes (`_polish`) is used alone
_RECOMBINE_MAX_NODES = 300


def _packed_plan(inst: Instance, run: _Run, candidates: list[frozenset[str]], *,
                 split: frozenset[str]) -> Plan | None:
    """Pack the most floor sets and attach the rest; nodes left with no room must then be
    packed.

    A node that finds every neighbouring footprint closed to it (above the ceiling, or
    holding a unit it is kept apart from) is put inside a packed set on the next round,
    and so is a node in pieces, which joins a footprint only inside a set that joins them.
    """
    cover: set[str] = set(split)
    candidates = list(candidates)
    for _round in range(6 if candidates else 0):
        candidates += _widened(inst, candidates, cover)
        repacked = _pack(inst, run, candidates, cover=frozenset(cover),
                         small=inst.cap is not None)
        if repacked is None:
            return None
        stuck: set[str] = set()
        plan = _attach(inst, repacked[1], stuck=stuck)
        if plan is not None or not stuck or stuck <= cover:
            return plan
        cover |= stuck
    return None


def _from_many(inst: Instance, candidates: list[frozenset[str]]) -> Plan | None:
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
    bridged = _bridged(inst, candidates)
    for n in sorted(_split_nodes(inst)):
        holding = [s for s in bridged if n in s and not s & taken]
        if not holding:
            return None
        best = min(holding, key=lambda s: (sum(inst.pop[m] for m in s), sorted(s)))
        seeds.append(best)
        taken |= best
    rest = [s for s in bridged if not s & taken]
    seeds += [rest[i] for i in _greedy_packing(rest, _sets_by_node(rest), most=None)]
    many = _attach(inst, seeds, check=False)
    return _merge_down(inst, many, inst.count_hi) if many is not None else None


def _grown_plan(inst: Instance, *, target: float, until: float) -> Plan | None:
    """Footprints grown to ``target``, or failing that to sizes nearer the floor, then merged
    down to the count (see `_grown_once`); None when none of them gives a valid plan."""
    for goal in dict.fromkeys((target, (target + inst.floor) / 2, float(inst.floor))):
        first: list[str] = []
        for _round in range(3):
            # a node left with no footprint (one it is kept apart from took all round it)
            # seeds a footprint of its own on the next round
            stuck: set[str] = set()
            plan = _grown_once(inst, target=goal, until=until, first=first, stuck=stuck)
            if plan is not None or time.perf_counter() > until:
                return plan
            if not stuck - set(first):
                break
            first = [*first, *sorted(stuck - set(first))]
    return None


def _grown_once(inst: Instance, *, target: float, until: float, first: Iterable[str] = (),
                stuck: set[str] | None = None) -> Plan | None:
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
    nbrs = inst.node_nbrs()
    apart_of = _apart_of(inst)
    goal = max(float(inst.floor), target)
    plan: Plan = {}
    tried: set[str] = set()
    seeds: list[frozenset[str]] = []
    first = list(first)
    for seed in first + sorted(inst.nodes, key=lambda n: (inst.xy[n][1], inst.xy[n][0], n)):
        if seed in plan or seed in tried:
            continue
        if time.perf_counter() > until:
            return None
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
                    heapq.heappush(heap, ((inst.xy[m][0] - sx) ** 2 + (inst.xy[m][1] - sy) ** 2,
                                          m))
        if pop >= inst.floor:
            for n in members:
                plan[n] = len(seeds)
            seeds.append(frozenset(members))
        else:
            tried.add(seed)  # left for its neighbours' footprints to take in
    if not seeds:
        return None
    grown = _attach(inst, seeds, check=False, stuck=stuck)
    if grown is None or time.perf_counter() > until:
        return None
    if inst.count_hi is not None and len(seeds) > inst.count_hi:
        return _merge_down(inst, grown, inst.count_hi)
    return _merge_down(inst, grown, None)


def _grown(inst: Instance, run: _Run, *, target: float) -> Plan | None:
    """`_grown_plan` within the time left, reported as a stage."""
    t = time.perf_counter()
    run.say("Growing footprints one at a time (the map is too large for the full model)…")
    plan = _grown_plan(inst, target=target, until=run.deadline - 0.5)
    run.stages.append({"stage": "footprints grown from seeds", "status": "plan" if plan
                       else "no plan", "footprints": len(set(plan.values())) if plan else None,
                       "seconds": round(time.perf_counter() - t, 3)})
    return plan


def _widened(inst: Instance, sets: list[frozenset[str]],
             nodes: Iterable[str]) -> list[frozenset[str]]:
    """For each of ``nodes`` in no set, every set it touches with that node added (if valid).

    A node that only ever joins a footprint (no minimal floor set holds it: a
    neighbour reaches the floor alone) can still be left with no room when its
    neighbours fill up under a ceiling; inside a packed set it has its place.
    """
    held = {n for s in sets for n in s}
    nbrs = inst.node_nbrs()
    out: set[frozenset[str]] = set()
    for n in sorted(set(nodes) - held):
        for s in sets:
            if nbrs[n] & s and inst.footprint_ok(s | {n}):
                out.add(s | {n})
    return sorted(out, key=lambda s: (len(s), sorted(s)))


def _compact_seeds(inst: Instance, run: _Run, sets: list[frozenset[str]],
                   count: int) -> list[frozenset[str]] | None:
    """``count`` disjoint floor sets that are together as compact as possible (a start plan).

    The count bound's packing is any one of many with that count; this one
    minimises the sets' own compactness, so leftovers attach to tight cores.
    """
    m = Model("compact seeds")
    z = [m.binary(f"z{i}") for i in range(len(sets))]
    for idx in _sets_by_node(sets).values():
        if len(idx) > 1:
            m.add(((z[i], 1.0) for i in idx), "<=", 1)
    m.add(((v, 1.0) for v in z), "==", count)
    m.objective((v, _hub_cost(inst, set(sets[i]))) for i, v in enumerate(z))
    out = run.solve(m, "compact start (set packing)", share=0.2)
    if out.status not in ("optimal", "feasible"):
        return None
    return [sets[i] for i, v in enumerate(z) if out.values.get(v.name, 0) > 0.5]


def _attach(inst: Instance, seeds: list[frozenset[str]], *,
            stuck: set[str] | None = None, check: bool = True) -> Plan | None:
    """Grow the seed sets into a plan, attaching leftover nodes to neighbouring footprints.

    With ``check=False`` a plan whose footprints miss the floor is returned too (for
    `_merge_down` to lift); None still means some node found no footprint to join.
    """
    plan: Plan = {n: k for k, s in enumerate(seeds) for n in s}
    nbrs = inst.node_nbrs()
    pops = {k: sum(inst.pop[n] for n in s) for k, s in enumerate(seeds)}
    groups = {k: set(s) for k, s in enumerate(seeds)}
    apart_of = _apart_of(inst)
    names = {k: {inst.fixed_name[n] for n in s if n in inst.fixed_name} for k, s in groups.items()}
    left = dict.fromkeys(n for n in inst.nodes if n not in plan)  # in order, O(1) removal
    while left:
        progress = False
        for n in list(left):
            options = []
            for k in {plan[m] for m in nbrs[n] if m in plan}:
                if inst.cap is not None and pops[k] + inst.pop[n] > inst.cap:
                    continue
                if apart_of.get(n, set()) & groups[k]:
                    continue
                fn = inst.fixed_name.get(n)
                if fn is not None and names[k] - {fn}:
                    continue
                if inst.cap is not None:  # under a ceiling, the footprint with most room
                    options.append((float(pops[k]), k))
                    continue
                cx = sum(inst.pop[m] * inst.xy[m][0] for m in groups[k]) / max(pops[k], 1)
                cy = sum(inst.pop[m] * inst.xy[m][1] for m in groups[k]) / max(pops[k], 1)
                d = (inst.xy[n][0] - cx) ** 2 + (inst.xy[n][1] - cy) ** 2
                options.append((d, k))
            if options:
                _, k = min(options)
                plan[n] = k
                groups[k].add(n)
                pops[k] += inst.pop[n]
                if n in inst.fixed_name:
                    names[k].add(inst.fixed_name[n])
                del left[n]
                progress = True
        if not progress:
            if stuck is not None:
                stuck.update(left)
            return None
    return plan if not check or _plan_ok(inst, plan) else None


def _merge_down(inst: Instance, plan: Plan, target: int | None) -> Plan | None:
    """Merge neighbouring footprints, smallest first, until there are ``target`` (None: until
    every footprint reaches the floor); None if stuck or the result breaks a rule.

    When no two neighbours may merge, three are redrawn as two (`three_into_two`).
    """
    plan = dict(plan)
    nbrs = inst.node_nbrs()
    apart_of = _apart_of(inst)
    rng = random.Random(0)
    while True:
        groups = _groups(plan)
        pops = {k: sum(inst.pop[n] for n in g) for k, g in groups.items()}
        if target is None:
            small = [k for k in groups if pops[k] < inst.floor]
        else:
            small = list(groups) if len(groups) > target else []
        if not small:
            return plan if _plan_ok(inst, plan) else None
        merged = False
        for k in sorted(small, key=lambda k: (pops[k], k)):
            adj = {plan[m] for n in groups[k] for m in nbrs[n]} - {k}
            for j in sorted(adj, key=lambda j: pops[j]):
                if inst.cap is not None and pops[k] + pops[j] > inst.cap:
                    continue
                both = groups[k] | groups[j]
                # through each node's partners: every pair would cost the square of the
                # units fixed to names, once per merge tried
                if any(apart_of[n] & both for n in both if n in apart_of):
                    continue
                for n in groups[k]:
                    plan[n] = j
                merged = True
                break
            if merged:
                break
        if not merged:
            # every pair of neighbours is together above the ceiling (or holds an apart
            # pair): redraw three neighbours as two instead, around the few smallest (each
            # costs up to a few hundred random trees)
            redrawn = three_into_two(inst, plan, rng=rng,
                                     among=sorted(small, key=lambda k: (pops[k], k))[:5])
            if redrawn is None:
                return None
            plan = redrawn


def _largest_piece(inst: Instance, nodes: Iterable[str]) -> frozenset[str]:
    """The nodes of the most populated connected piece (unit level) of ``nodes``."""
    nodes = set(nodes)
    if not nodes:
        return frozenset()
    main = max(inst.unit_components(nodes), key=lambda c: (sum(inst.unit_pop[u] for u in c),
                                                            min(c)))
    return frozenset(n for n in nodes if set(inst.members[n]) <= main)


def _repair(inst: Instance, plan: Plan) -> Plan | None:
    """A contiguous plan near a solution in pieces: keep each footprint's largest piece, re-attach
    the other pieces to neighbouring footprints; None when a floor or rule then fails."""
    seeds: dict[int, frozenset[str]] = {}
    for k, nodes in _groups(plan).items():
        seeds[k] = _largest_piece(inst, nodes)
        if not seeds[k]:
            return None
    order = sorted(seeds)
    repaired = _attach(inst, [seeds[k] for k in order])
    if repaired is None:
        return None
    return {n: order[i] for n, i in repaired.items()}


def _hub_cost(inst: Instance, nodes: set[str]) -> float:
    """The districting model's compactness of one footprint (thousands of people x km²)."""
    j = _best_centre(inst, nodes)
    return sum(inst.pop[i] / 1000.0 * _d2(inst, i, j) for i in nodes)


def _compactness(inst: Instance, plan: Plan) -> float:
    return sum(_hub_cost(inst, g) for g in _groups(plan).values())


def _cost_of(inst: Instance, kind: str, n_footprints: int) -> Callable[[set[str]], float]:
    """One footprint's cost for local search: the districting model's compactness, or for
    'balanced' the squared distance of its population from the mean (a smooth stand-in for
    the spread)."""
    if kind == "compact":
        return lambda nodes: _hub_cost(inst, nodes)
    mean = inst.total / max(n_footprints, 1)
    return lambda nodes: ((sum(inst.pop[n] for n in nodes) - mean) / 1000.0) ** 2


def _polish(inst: Instance, plan: Plan, *, until: float, kind: str = "compact",
            slot_cost: Callable[[int, set[str]], float] | None = None) -> Plan:
    """Move single nodes to a neighbouring footprint while that improves the plan.

    A first-improvement local search on the districting model's own compactness
    (``kind='compact'``) or, for 'balanced', on the squared distances of the
    footprint populations from their mean (a smooth stand-in for the spread). A
    move is made only when both footprints still meet every rule, so a valid
    plan stays valid (and keeps its count). ``slot_cost(k, nodes)``, when given, is the
    cost instead (for fewest changes, where it depends on which footprint k is). Stops
    at ``until`` (perf_counter).
    """
    plan = dict(plan)
    groups = _groups(plan)
    nbrs = inst.node_nbrs()
    pops = {k: sum(inst.pop[n] for n in g) for k, g in groups.items()}
    if slot_cost is None:
        of_nodes = _cost_of(inst, kind, len(groups))

        def measure(_k: int, nodes: set[str]) -> float:
            return of_nodes(nodes)
    else:
        measure = slot_cost
    cost = {k: measure(k, g) for k, g in groups.items()}
    apart_of = _apart_of(inst)
    split = _split_nodes(inst)
    improved = True
    while improved and time.perf_counter() < until:
        improved = False
        for step, n in enumerate(inst.nodes):
            if step % 64 == 63 and time.perf_counter() >= until:
                break  # one pass over a large map can outlast the time left
            a = plan[n]
            if len(groups[a]) == 1 or pops[a] - inst.pop[n] < inst.floor:
                continue
            rest = groups[a] - {n}
            if len(inst.unit_components(rest)) != 1:
                continue
            fn = inst.fixed_name.get(n)
            for b in sorted({plan[m] for m in nbrs[n]} - {a}):
                if inst.cap is not None and pops[b] + inst.pop[n] > inst.cap:
                    continue
                if apart_of.get(n, set()) & groups[b]:
                    continue
                if fn is not None and any(inst.fixed_name.get(m, fn) != fn for m in groups[b]):
                    continue
                grown = groups[b] | {n}
                if n in split and len(inst.unit_components(grown)) != 1:
                    continue  # touching b through one of its units leaves another cut off
                ca, cb = measure(a, rest), measure(b, grown)
                if ca + cb < cost[a] + cost[b] - 1e-9 * max(1.0, cost[a] + cost[b]):
                    plan[n] = b
                    groups[a], groups[b] = rest, grown
                    pops[a] -= inst.pop[n]
                    pops[b] += inst.pop[n]
                    cost[a], cost[b] = ca, cb
                    improved = True
                    break
    return plan


# --- step 3: the districting model with contiguity cuts ------------------------------------------


@dataclass
class _Cut:
    """A separator inequality for every footprint k at once.

    A piece ``inside`` of a footprint reaches the rest only through the nodes
    ``sep`` on its boundary, so for any footprint k: x[a,k] + x[b,k] - 1 <= sum of
    x[c,k] over ``sep`` (a in the piece, b outside it), and, when k's centre lies
    outside the piece, the stronger x[a,k] <= sum of x[c,k].
    """

    inside: frozenset[str]
    a_nodes: tuple[str, ...]
    b: str
    sep: tuple[str, ...]


def _cuts_for(inst: Instance, plan: Plan) -> list[_Cut]:
    """Separator cuts for every footprint of ``plan`` that is in pieces (unit level)."""
    cuts = []
    for nodes in _groups(plan).values():
        comps = inst.unit_components(nodes)
        if len(comps) <= 1:
            continue
        main = max(comps, key=lambda c: (sum(inst.unit_pop[u] for u in c), min(c)))
        b = inst.node_of[min(main)]
        for piece in comps:
            if piece is main:
                continue
            sep_units = {v for u in piece for v in inst.unit_nbrs[u]} - piece
            inside = frozenset(inst.node_of[u] for u in piece)
            a_nodes = tuple(sorted(inside))[:6]
            sep = tuple(sorted({inst.node_of[v] for v in sep_units} - inside))
            cuts.append(_Cut(inside, a_nodes, b, sep))
    return cuts


@dataclass
class _Solved:
    status: str  # optimal | feasible | infeasible | no-solution
    plan: Plan | None
    value: float | None
    bound: float | None


def _footprint_rows(m: Model, inst: Instance, col: Mapping[str, Var], used: Var,
                    scale: float) -> None:
    """Floor, ceiling and apart pairs for one footprint whose node variables are ``col``."""
    terms = [(v, inst.pop[n] / scale) for n, v in col.items()]
    m.add([*terms, (used, -inst.floor / scale)], ">=", 0)
    if inst.cap is not None:
        m.add([*terms, (used, -inst.cap / scale)], "<=", 0)
    for a, b in inst.apart:
        if a in col and b in col:
            m.add(((col[a], 1.0), (col[b], 1.0)), "<=", 1)


def _count_rows(m: Model, used: list[Var], lo: int, hi: int | None) -> None:
    """Between ``lo`` and ``hi`` footprints in use."""
    m.add(((v, 1.0) for v in used), ">=", lo)
    if hi is not None:
        m.add(((v, 1.0) for v in used), "<=", hi)


def _hess_size(inst: Instance) -> int:
    """Variables of the districting model, counted without listing them.

    One per (node, centre) pair that may share a footprint: every node with itself,
    and two different nodes unless kept apart or together above the ceiling. Counted
    from the sorted populations, so that even a map far too large for the model is
    measured in n log n steps.
    """
    n = len(inst.nodes)
    cap = inst.cap
    if cap is None:
        pairs = n * (n - 1)
    else:
        pops = sorted(inst.pop.values())
        pairs = 0
        for p in pops:
            pairs += bisect.bisect_right(pops, cap - p) - (1 if 2 * p <= cap else 0)
    for a, b in inst.apart:
        if cap is None or inst.pop[a] + inst.pop[b] <= cap:
            pairs -= 2
    return n + pairs


def _allowed(inst: Instance) -> dict[str, list[str]]:
    """Centre -> the nodes that may share its footprint (not apart, not above the ceiling)."""
    pop = inst.pop
    apart = inst.apart
    allowed: dict[str, list[str]] = {}
    for j in inst.nodes:
        col = []
        for i in inst.nodes:
            if i != j and ((i, j) in apart or (j, i) in apart):
                continue
            if i != j and inst.cap is not None and pop[i] + pop[j] > inst.cap:
                continue
            col.append(i)
        allowed[j] = col
    return allowed


def _hess(inst: Instance, run: _Run, *, kind: str, count: tuple[int, int | None],
          start: Plan | None, label: str, share: float = 1.0,
          also: Plan | None = None) -> _Solved:
    """Centre-based districting model, solved with contiguity cuts until the plan is whole.

    ``kind`` is 'compact' (population x squared distance to the centre) or
    'balanced' (largest minus smallest footprint population).
    """
    nodes = inst.nodes
    pop = inst.pop
    total = inst.total
    scale = 1000.0  # thousands of people keep the coefficients modest
    nbrs = inst.node_nbrs()
    # its size is known before any of it is listed: the pairs that may share a footprint
    # (not apart, not together above the ceiling) are the square of the nodes
    size = _hess_size(inst)
    allowed: dict[str, list[str]] | None = None
    cuts: list[_Cut] = []
    best: Plan | None = None
    best_val: float | None = None
    best_bound = -math.inf
    lo, hi = count
    # a spread can be near 0, so 'balanced' measures its gap against the mean footprint
    abs_gap = None
    if kind == "balanced":
        abs_gap = run.constraints.mip_gap * total / scale / (hi if hi is not None else lo)

    def value_of(plan: Plan) -> float:
        if kind == "compact":
            return _compactness(inst, plan)  # in thousands of people x km², as ``scale``
        ps = [sum(pop[n] for n in g) for g in _groups(plan).values()]
        return (max(ps) - min(ps)) / scale

    def tolerance_of(val: float) -> float:
        return abs_gap if abs_gap is not None else run.constraints.mip_gap * abs(val)

    lo_hi_ok = [
        p for p in (start, also)
        if p is not None and _plan_ok(inst, p)
        and lo <= len(set(p.values())) and (hi is None or len(set(p.values())) <= hi)
    ]
    def polished(plan: Plan, seconds: float) -> Plan:
        better = _polish(inst, plan, until=time.perf_counter() + max(0.0, seconds), kind=kind)
        if not _plan_ok(inst, better) or value_of(better) > value_of(plan):
            return plan  # the stand-in for the spread can disagree with it
        return better

    def recombined(plan: Plan, seconds: float, *, stall: int) -> Plan:
        if max(len(g) for g in _groups(plan).values()) > _RECOMBINE_MAX_NODES:
            return plan  # one move would cost more than the time left (see the constant)
        cost = _cost_of(inst, kind, len(set(plan.values())))
        better = recombine(inst, plan, cost=cost, until=time.perf_counter() + max(0.0, seconds),
                           spread_first=kind == "balanced", stall=stall)
        return better if _plan_ok(inst, better) and value_of(better) <= value_of(plan) else plan

    if lo_hi_ok:  # the better of the built plan and the planner's current one
        best = polished(min(lo_hi_ok, key=value_of), min(2.0, 0.05 * run.left()))
        if kind == "balanced":
            # the model's bound is weak here, so most of the time goes to recombining plans
            run.say("Evening out footprint populations by recombining neighbouring footprints…")
            best = recombined(best, _BALANCE_SHARE * run.left(), stall=400)
        best_val = value_of(best)
    iteration = 0
    need = _SECONDS_PER_VAR * size + 0.5
    too_large = size > MODEL_MAX_VARIABLES
    if too_large:
        run.refuse(label, size, inst)
    while not too_large:
        if best is not None and run.left() * share < need:
            run.say(f"{label}: too little time left for the model; keeping the best plan.")
            break
        if best is None and run.left() < need:
            # with no plan to keep, the model is the last chance, but one that cannot even be
            # built and handed over in the time left would only overrun the planner's limit
            run.say(f"{label}: too little time left to build the model.")
            run.unstarted = (need, run.left())
            break
        iteration += 1
        if allowed is None:
            allowed = _allowed(inst)
        m = Model(f"{label}-{iteration}")
        x = {j: {i: m.binary(f"x_{i}_{j}") for i in allowed[j]} for j in nodes}
        for i in nodes:
            m.add(((x[j][i], 1.0) for j in nodes if i in x[j]), "==", 1)
        for j in nodes:
            y = x[j][j]
            for i, v in x[j].items():
                if i != j:
                    m.add(((v, 1.0), (y, -1.0)), "<=", 0)
                    # a non-centre node needs a neighbour in its footprint
                    near = [(x[j][c], -1.0) for c in nbrs[i] if c in x[j]]
                    m.add([(v, 1.0), *near], "<=", 0)
            _footprint_rows(m, inst, x[j], y, scale)
        _count_rows(m, [x[j][j] for j in nodes], lo, hi)
        for cut in cuts:
            for j in nodes:
                col = x[j]
                rhs_terms = [(col[c], -1.0) for c in cut.sep if c in col]
                for a in cut.a_nodes:
                    if a not in col:
                        continue
                    if j not in cut.inside:
                        m.add([(col[a], 1.0), *rhs_terms], "<=", 0)
                    elif cut.b in col:
                        m.add([(col[a], 1.0), (col[cut.b], 1.0), *rhs_terms], "<=", 1)
        if kind == "compact":
            m.objective(
                (v, pop[i] / scale * _d2(inst, i, j)) for j in nodes for i, v in x[j].items()
            )
        else:
            hi_v = m.continuous("p_high")
            lo_v = m.continuous("p_low")
            for j in nodes:
                terms = [(v, pop[i] / scale) for i, v in x[j].items()]
                m.add([(hi_v, 1.0), *[(v, -c) for v, c in terms]], ">=", 0)
                m.add([(lo_v, 1.0), *[(v, -c) for v, c in terms],
                       (x[j][j], total / scale)], "<=", total / scale)
            # the largest is at least the mean, the smallest at most the mean
            m.add([(hi_v, 1.0)], ">=", total / scale / (hi if hi is not None else len(nodes)))
            m.add([(lo_v, 1.0)], "<=", total / scale / max(lo, 1))
            # with a range of counts those two leave room for a negative spread, and the
            # relaxation took it: a bound of -2,014,255 was reported for 15 to 30 footprints
            m.add([(hi_v, 1.0), (lo_v, -1.0)], ">=", 0)
            m.objective(((hi_v, 1.0), (lo_v, -1.0)))
        warm = None
        if best is not None:
            warm = _hess_start(inst, best, kind, scale)
        run.say(f"{label}: solve {iteration} ({len(cuts)} contiguity cuts so far)…")
        out = run.solve(m, f"{label}, solve {iteration}", start=warm, abs_gap=abs_gap,
                        share=share)
        if out.bound is not None:
            best_bound = max(best_bound, out.bound)
        if out.status == "infeasible":
            if best is not None:  # a valid plan is held: the solver is wrong, not the plan
                log.warning("%s: the solver called the model infeasible, but a valid plan "
                            "is held; keeping it", label)
                break
            return _Solved("infeasible", None, None, None)
        if out.status == "no-solution":
            break
        plan: Plan = {}
        for jx, j in enumerate(nodes):
            for i, v in x[j].items():
                if out.values.get(v.name, 0.0) > 0.5:
                    plan[i] = jx
        new = _cuts_for(inst, plan)
        if not new:
            val = value_of(plan)
            if best is None or best_val is None or val <= best_val:
                best, best_val = plan, val
            if out.status == "optimal":
                return _Solved("optimal", best, best_val, best_bound)
            break
        cuts.extend(new)
        fixed_up = _repair(inst, plan)
        if fixed_up is not None:
            fixed_up = polished(fixed_up, min(2.0, 0.05 * run.left()))
            val = value_of(fixed_up)
            if best is None or best_val is None or val < best_val:
                best, best_val = fixed_up, val
        if best_val is not None and best_val - best_bound <= tolerance_of(best_val) + 1e-9:
            return _Solved("optimal", best, best_val, best_bound)
        if not run.room_for_another():
            break
    if best is None:
        return _Solved("no-solution", None, None, best_bound if best_bound > -math.inf else None)
    # what is left of the time goes to recombining and polishing the best plan (all of it
    # to polishing when the model was too large and footprints too large to recombine)
    reserve = _FINISH_SECONDS_PER_UNIT * len(inst.node_of) if too_large else 0.0
    best = recombined(best, run.left() - 1.2 - reserve, stall=400)
    best = polished(best, run.left() - 1.0 - reserve if too_large
                    else min(1.0, run.left() - 0.2))
    best_val = value_of(best)
    bound = best_bound if best_bound > -math.inf else None
    if bound is not None and best_val is not None and best_val - bound <= tolerance_of(best_val):
        return _Solved("optimal", best, best_val, bound)
    return _Solved("feasible", best, best_val, bound)


def _hess_start(inst: Instance, plan: Plan, kind: str, scale: float) -> dict[str, float]:
    start: dict[str, float] = {}
    groups = _groups(plan)
    ps = []
    for g in groups.values():
        j = _best_centre(inst, g)
        for i in g:
            start[f"x_{i}_{j}"] = 1.0
        ps.append(sum(inst.pop[n] for n in g))
    if kind == "balanced":
        start["p_high"] = max(ps) / scale
        start["p_low"] = min(ps) / scale
    return start


def _weigher(inst: Instance, *, by_population: bool) -> Callable[[str], float]:
    """What moving one unit costs: 1, or its registered patients."""
    if by_population:
        return lambda u: float(inst.unit_pop[u])
    return lambda _u: 1.0


def _fewest_reaching(pops: Iterable[int], amount: float) -> int:
    """The fewest of these populations, largest first, that add up to ``amount``."""
    total, count = 0, 0
    for p in sorted(pops, reverse=True):
        if total >= amount:
            break
        total, count = total + p, count + 1
    return count


def _moves(inst: Instance, current: Mapping[str, str], labels: list[str], *,
           by_population: bool) -> Callable[[int, set[str] | frozenset[str]], float]:
    """What placing nodes in slot k moves: their units (or patients) now in another footprint.

    Slots are the current footprints' names ``labels`` and then new footprints.
    """
    weight = _weigher(inst, by_population=by_population)

    def moved(k: int, nodes: set[str] | frozenset[str]) -> float:
        keep = labels[k] if k < len(labels) else None
        return sum(weight(u) for n in nodes for u in inst.members[n]
                   if current.get(u) and current[u] != keep)
    return moved


def _changes_start(inst: Instance, current: Mapping[str, str], labels: list[str], *,
                   sets: list[frozenset[str]], by_population: bool,
                   repacked: Callable[[], Plan | None]) -> Plan | None:
    """A valid plan that moves few units, in slot numbers (``labels`` first, then new slots).

    Two candidates, the one moving fewer kept: the current plan repaired (each node
    takes the name most of its units, or patients, have; each footprint keeps its largest
    piece, or, above the ceiling, splits into the disjoint floor sets ``sets`` inside
    it; the rest join neighbours, and footprints below the floor merge into a
    neighbour), and the plan grown from ``sets``; only when neither is valid,
    ``repacked()``, a packing that places the units that found no room. Each
    footprint is given the current name it overlaps most.
    """
    index = {f: i for i, f in enumerate(labels)}
    weight = _weigher(inst, by_population=by_population)

    def overlap(nodes: set[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for n in nodes:
            for u in inst.members[n]:
                f = current.get(u)
                if f in index:
                    out[f] = out.get(f, 0.0) + weight(u)
        return out

    def in_slots(plan: Plan) -> Plan:
        """Name each footprint after the current footprint it overlaps most (each name once)."""
        groups = _groups(plan)
        pairs = sorted(((w, f, k) for k, g in groups.items() for f, w in overlap(g).items()),
                       key=lambda t: (-t[0], t[1], t[2]))
        slot: dict[int, int] = {}
        for _w, f, k in pairs:
            if k not in slot and index[f] not in slot.values():
                slot[k] = index[f]
        # a current name no footprint overlaps costs what a new one does: use those first
        free = [i for i in range(len(labels)) if i not in slot.values()]
        new = iter(free + list(range(len(labels), len(labels) + len(groups))))
        for k in sorted(groups):
            if k not in slot:
                slot[k] = next(new)
        return {n: slot[k] for n, k in plan.items()}

    cost = _moves(inst, current, labels, by_population=by_population)

    def moved(plan: Plan) -> float:
        return sum(cost(k, g) for k, g in _groups(plan).items())

    options: list[Plan] = []
    apart_of = _apart_of(inst)
    voted = {n: index[max(v, key=lambda f: (v[f], f))]
             for n in inst.nodes if (v := overlap({n}))}
    pieces: list[frozenset[str]] = []
    split: list[list[int]] = []  # seeds that split one footprint above the ceiling
    wholes = {k: _largest_piece(inst, nodes) for k, nodes in _groups(voted).items()}
    # a node in pieces (units fixed to one name far apart) joins its footprint along the
    # least-populated path; the footprints that path crosses keep their largest piece
    for n in sorted(_split_nodes(inst)):
        k = voted.get(n)
        if k is None or any(n in w for w in wholes.values()):
            continue
        joined = _bridge(inst, wholes.get(k, frozenset()) | {n})
        if joined is None:
            continue
        for j in [j for j in wholes if j != k and wholes[j] & joined]:
            wholes[j] = _largest_piece(inst, wholes[j] - joined)
        wholes[k] = joined
    for whole in wholes.values():
        for piece in _separate(inst, whole, apart_of) if whole else ():
            if inst.cap is not None and sum(inst.pop[n] for n in piece) > inst.cap:
                inside = [f for f in sets if f <= piece]
                split.append(list(range(len(pieces), len(pieces) + len(inside))))
                pieces.extend(inside)
            else:
                pieces.append(piece)
    grown = _attach(inst, pieces, check=False)
    if grown is not None:
        grown = _refill(inst, grown, split)
    lifted = _merge_down(inst, grown, None) if grown is not None else None
    if lifted is None and grown is not None and inst.count_hi is not None:
        lifted = _merge_down(inst, grown, inst.count_hi)  # split ones: too many to keep
    if lifted is not None:
        options.append(in_slots(lifted))
    packed = _attach(inst, sets) if sets else None
    if packed is None and not options:
        packed = repacked()
    if packed is not None:
        options.append(in_slots(packed))
    return min(options, key=moved) if options else None


def _separate(inst: Instance, nodes: frozenset[str],
              apart_of: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """Connected parts of ``nodes`` with no pair kept apart (nor two fixed names) in one part.

    A current footprint holding a pair a planner now keeps apart is split in two: a
    part grown breadth first from one end of the pair until it reaches the floor (with
    any piece it cuts off from the other end), and the rest. The smaller such part,
    over both ends, is taken, so most units keep a footprint that overlaps their
    current one. Repeated while some part still holds a pair.
    """
    nbrs = inst.node_nbrs()

    def reach(start: str, within: frozenset[str] | set[str]) -> set[str]:
        seen, queue = {start}, deque([start])
        while queue:
            for m in sorted(nbrs[queue.popleft()]):
                if m in within and m not in seen:
                    seen.add(m)
                    queue.append(m)
        return seen

    def cut(part: frozenset[str], end: str, other: str) -> frozenset[str]:
        side, pop, queue = {end}, inst.pop[end], deque([end])
        while queue and pop < inst.floor:
            for m in sorted(nbrs[queue.popleft()]):
                if m in part and m not in side and m != other and pop < inst.floor:
                    side.add(m)
                    pop += inst.pop[m]
                    queue.append(m)
        return frozenset(part - reach(other, part - side))

    todo, out = [nodes], []
    while todo:
        part = todo.pop()
        clash = next(((a, b) for a in sorted(part) for b in sorted(apart_of.get(a, ()))
                      if b in part), None)
        if clash is None:
            out.append(part)
            continue
        a, b = clash
        side = min((cut(part, a, b), cut(part, b, a)),
                   key=lambda s: (sum(inst.pop[n] for n in s), sorted(s)))
        todo.extend((side, part - side))
    return out


def _refill(inst: Instance, plan: Plan, families: list[list[int]]) -> Plan:
    """Merge neighbouring footprints of one family, fullest pair first, while under the ceiling.

    A footprint above the ceiling is split into all its disjoint floor sets; the
    fewer parts it keeps, the fewer units leave their current footprint.
    """
    plan = dict(plan)
    nbrs = inst.node_nbrs()
    for family in families:
        while True:
            groups = _groups(plan)
            pops = {k: sum(inst.pop[n] for n in groups[k]) for k in family if k in groups}
            pairs = [(pops[a] + pops[b], a, b) for a in pops for b in pops if a < b
                     and any(m in groups[b] for n in groups[a] for m in nbrs[n])
                     and (inst.cap is None or pops[a] + pops[b] <= inst.cap)
                     and inst.footprint_ok(groups[a] | groups[b])]
            if not pairs:
                break
            _, a, b = max(pairs)
            for n in groups[b]:
                plan[n] = a
    return plan


def _slots(inst: Instance, run: _Run, *, current: Mapping[str, str], labels: list[str],
           by_population: bool, extra: int,
           start: Plan | None = None) -> tuple[_Solved, list[str]]:
    """Footprints as the current plan's named slots plus ``extra`` new ones; fewest units moved.

    ``start`` (in slot numbers) is a valid plan to beat. The status and bound are for
    these slots only; the caller decides whether more new slots could do better.
    """
    slot_names = labels + [f"__new{i}" for i in range(extra)]
    nodes = inst.nodes
    moves = _moves(inst, current, labels, by_population=by_population)
    size = len(slot_names) * (len(nodes) + 1)
    if size > MODEL_MAX_VARIABLES:  # (slots x nodes): measured before any of it is listed
        run.refuse("fewest changes", size, inst, what="fewest-changes model")
        if start is None or max(start.values(), default=0) >= len(slot_names):
            return _Solved("no-solution", None, None, None), slot_names
        return _Solved("feasible", dict(start), sum(
            moves(k, g) for k, g in _groups(start).items()), None), slot_names
    cost = {n: {s: moves(si, {n}) for si, s in enumerate(slot_names)} for n in nodes}
    cuts: list[_Cut] = []
    lo, hi = inst.count_lo, inst.count_hi
    nbrs = inst.node_nbrs()

    def moved(plan: Plan) -> float:
        return sum(cost[n][slot_names[k]] for n, k in plan.items())

    best: Plan | None = None
    best_val: float | None = None
    if start is not None and max(start.values(), default=0) < len(slot_names):
        best, best_val = dict(start), moved(start)
    best_bound = -math.inf

    iteration = 0
    while True:
        iteration += 1
        m = Model(f"fewest-changes-{iteration}")
        x = {s: {n: m.binary(f"x_{n}_{si}") for n in nodes} for si, s in enumerate(slot_names)}
        y = {s: m.binary(f"y_{si}") for si, s in enumerate(slot_names)}
        for n in nodes:
            m.add(((x[s][n], 1.0) for s in slot_names), "==", 1)
        for s in slot_names:
            for n in nodes:
                m.add(((x[s][n], 1.0), (y[s], -1.0)), "<=", 0)
                if inst.pop[n] < inst.floor:
                    # below the floor a unit needs a neighbour in its footprint: without
                    # this row the separator cuts chased lone units from slot to slot
                    m.add([(x[s][n], 1.0), *((x[s][c], -1.0) for c in nbrs[n])], "<=", 0)
            _footprint_rows(m, inst, x[s], y[s], 1000.0)
        for i in range(extra - 1):  # new slots are interchangeable: use them in order
            m.add(((y[f"__new{i}"], 1.0), (y[f"__new{i + 1}"], -1.0)), ">=", 0)
        _count_rows(m, list(y.values()), lo, hi)
        for cut in cuts:
            for s in slot_names:
                col = x[s]
                rhs_terms = [(col[c], -1.0) for c in cut.sep]
                for a in cut.a_nodes:
                    m.add([(col[a], 1.0), (col[cut.b], 1.0), *rhs_terms], "<=", 1)
        m.objective((x[s][n], cost[n][s]) for s in slot_names for n in nodes if cost[n][s])
        warm = None
        if best is not None:
            warm = {f"x_{n}_{k}": 1.0 for n, k in best.items()}
            warm.update({f"y_{k}": 1.0 for k in set(best.values())})
        run.say(f"Repairing the plan: solve {iteration} ({len(cuts)} contiguity cuts so far)…")
        out = run.solve(m, f"fewest changes, solve {iteration}", start=warm)
        if out.bound is not None:
            best_bound = max(best_bound, out.bound)
        if out.status == "infeasible":
            return _Solved("infeasible", None, None, None), slot_names
        if out.status == "no-solution":
            break
        plan = {n: si for si, s in enumerate(slot_names) for n in nodes
                if out.values.get(x[s][n].name, 0.0) > 0.5}
        new = _cuts_for(inst, plan)
        if not new:
            val = moved(plan)
            if best is None or best_val is None or val <= best_val:
                best, best_val = plan, val
            if out.status == "optimal":
                return _Solved("optimal", best, best_val, best_bound), slot_names
            break
        cuts.extend(new)
        fixed_up = _repair(inst, plan)
        if fixed_up is not None and (best_val is None or moved(fixed_up) < best_val):
            best, best_val = fixed_up, moved(fixed_up)
        if best_val is not None and best_val - best_bound <= 1e-6:
            return _Solved("optimal", best, best_val, best_bound), slot_names
        if not run.room_for_another():
            break
    if best is None:
        return _Solved("no-solution", None, None, None), slot_names
    bound = best_bound if best_bound > -math.inf else None
    return _Solved("feasible", best, best_val, bound), slot_names


def _least_new(inst: Instance, current: Mapping[str, str], *, by_population: bool) -> float:
    """The least a footprint under a new name moves: all its units were somewhere else.

    Units: the fewest units that reach the floor; population: the floor. Zero when
    some unit has no current footprint (a new one could hold only such units).
    """
    units = [u for n in inst.nodes for u in inst.members[n]]
    if any(not current.get(u) for u in units):
        return 0.0
    if by_population:
        return float(max(inst.floor, min(inst.unit_pop[u] for u in units)))
    return float(max(_fewest_reaching((inst.unit_pop[u] for u in units), inst.floor), 1))


def _must_move(inst: Instance, current: Mapping[str, str], *, by_population: bool) -> float:
    """A lower bound on what any valid plan moves, from two plain facts.

    A node's units share one footprint, so all but one current name among them
    move; and a current footprint above the ceiling must shed at least its excess
    (at least the fewest of its units that add up to it). Either bound may count a
    unit the other counts too, so the larger of the two is the bound.
    """
    weight = _weigher(inst, by_population=by_population)
    split = 0.0
    members_of: dict[str, list[str]] = {}
    for n in inst.nodes:
        by_name: dict[str, float] = {}
        for u in inst.members[n]:
            if current.get(u):
                by_name[current[u]] = by_name.get(current[u], 0.0) + weight(u)
                members_of.setdefault(current[u], []).append(u)
        split += sum(by_name.values()) - max(by_name.values(), default=0.0)
    over = 0.0
    if inst.cap is not None:
        for units in members_of.values():
            excess = sum(inst.unit_pop[u] for u in units) - inst.cap
            if excess <= 0:
                continue
            over += excess if by_population else _fewest_reaching(
                (inst.unit_pop[u] for u in units), excess)
    return max(split, over)


def _fewest_changes(inst: Instance, run: _Run, *, current: Mapping[str, str],
                    by_population: bool, done: Callable[..., OptimiseResult]) -> OptimiseResult:
    """Repair the current plan moving the fewest units (or people).

    New footprints are slots of their own. Offering every slot the count allows makes
    a model of (footprints x nodes) variables that could not be solved in a minute on
    England, so slots are offered a few at a time: a plan using more new slots than
    offered moves at least that many times `_least_new`, which bounds what they could
    gain, and more are offered only when that bound does not already prove the plan.
    """
    packed = _packing_bound(inst, run)
    most = packed[0] if packed else inst.total // max(inst.floor, 1)
    labels = sorted({f for u, f in current.items() if u in inst.node_of and f})
    want = most if inst.count_hi is None else min(most, inst.count_hi)
    room = max(0, want - len(labels))

    def repacked() -> Plan | None:
        if not packed or not packed[1]:
            return None
        return _packed_plan(inst, run, _bridged(inst, packed[3]), split=_split_nodes(inst))

    start = _changes_start(inst, current, labels, sets=packed[1] if packed else [],
                           by_population=by_population, repacked=repacked)
    if start is not None:
        run.say("Found a valid plan close to the current one; moving fewer units…")
        start = _polish(inst, start, until=time.perf_counter() + 0.1 * run.left(),
                        slot_cost=_moves(inst, current, labels, by_population=by_population))
    used = max(start.values()) + 1 - len(labels) if start else 0
    extra = min(room, max(used, inst.count_lo - len(labels), 0) + 1)
    least = _least_new(inst, current, by_population=by_population)
    must = _must_move(inst, current, by_population=by_population)
    known = must  # the best bound proven so far on every plan, whatever slots it uses
    while True:
        solved, slots = _slots(inst, run, current=current, labels=labels,
                               by_population=by_population, extra=extra, start=start)
        if extra >= room or solved.status == "no-solution":
            break
        if solved.status == "infeasible":  # with these slots only: offer every one
            extra = room
            continue
        assert solved.plan is not None and solved.value is not None
        start = solved.plan
        if solved.bound is not None:
            # plans in these slots move at least solved.bound; plans in more, at least
            # (extra + 1) * least. With no bound (the solver gave no answer) nothing is
            # known of plans in these slots, so only the earlier bound stands
            known = max(known, min(solved.bound, (extra + 1) * least))
        bound = known
        if solved.value - bound <= 1e-6:
            solved = _Solved("optimal", solved.plan, solved.value, bound)
            break
        if not run.room_for_another():
            solved = _Solved("feasible", solved.plan, solved.value, bound)
            break
        extra = room if least <= 0 else min(room, max(extra + 1,
                                                      math.ceil(solved.value / least) - 1))
    if solved.plan is None:
        return done(solved.status, None, bound=solved.bound,
                    reasons=_solver_reasons(solved.status, run))
    if solved.status == "feasible" and solved.value is not None:
        bound = max(known, solved.bound if solved.bound is not None else known)
        solved = _Solved("optimal" if solved.value - bound <= 1e-6 else "feasible",
                         solved.plan, solved.value, bound)
    return done(solved.status, solved.plan, value=solved.value, bound=solved.bound,
                slot_names=slots)


# --- orchestration --------------------------------------------------------------------------------


def optimise(
    problem: Problem,
    constraints: Constraints | None = None,
    *,
    current: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> OptimiseResult:
    """Group the problem's units into footprints that meet every constraint.

    Parameters
    ----------
    problem
        The units, populations and adjacency (see :class:`~footprint.problem.Problem`).
    constraints
        Rules and objective; the defaults are the 2013 rules (300,000 floor, LA
        blocks whole, the most footprints).
    current
        A current plan (unit -> footprint name): needed for ``fewest-changes``
        and for locked footprints, and used as a warm start otherwise.
    progress
        Called with one plain sentence at each step (for a progress display).

    Returns
    -------
    OptimiseResult
        Never a plan that breaks a rule: every plan is checked by the
        independent validator before it is returned.

    Raises
    ------
    ConstraintsError
        When the constraints name codes the problem does not have.
    SolverError
        When the solver cannot run.
    """
    c = constraints or Constraints()
    t0 = time.perf_counter()
    run = _Run(c, progress or (lambda _m: None), t0 + c.time_limit)
    run.say("Checking the constraints against the map…")
    inst, checks = prepare(problem, c, current=current)
    if inst is None:
        return _finish(problem, c, run, t0, status="infeasible", checks=checks, current=current)

    def done(status: str, plan: Plan | None, **kw: Any) -> OptimiseResult:
        return _finish(problem, c, run, t0, status=status, inst=inst, plan=plan,
                       current=current, **kw)

    if not inst.nodes:  # everything is locked
        return done("optimal", {}, value=0.0, bound=0.0)
    run.stages.append({"stage": "preparation", "nodes": len(inst.nodes),
                       "seconds": round(time.perf_counter() - t0, 3)})
    if run.left() <= 0:
        # merging units and checking the rules is linear in the map, but a large map on a
        # busy server can still use the whole limit: say so rather than overrun it
        return done("no-solution", None, reasons=(
            f"checking the constraints against the map of {len(problem.codes):,} units took "
            f"{time.perf_counter() - t0:.1f} s, the whole time limit of {c.time_limit:g} s; "
            "give it more time, or plan on fewer, larger units",))

    if c.objective == "fewest-changes":
        assert current is not None
        return _fewest_changes(inst, run, current=current, done=done,
                               by_population=c.change_measure == "population")

    if c.objective in ("compact", "balanced"):
        start = None
        packed = _packing_bound(inst, run) if inst.floor > 0 else None
        if packed is not None:
            most, sets, proven, candidates = packed
            if proven and most < inst.count_lo:
                return done("infeasible", None, checks=[_too_few(inst, c, most, problem)])
            plan = _attach(inst, sets) if sets else None
            if plan is None and sets:  # a node with no room, or in pieces: pack it in a set
                plan = _packed_plan(inst, run, _bridged(inst, candidates),
                                    split=_split_nodes(inst))
            if plan is not None and inst.count_hi is not None:
                plan = _merge_down(inst, plan, inst.count_hi)
            if plan is None and inst.count_hi is not None and candidates:
                plan = _from_many(inst, candidates)
            start = plan
        if start is None and _hess_size(inst) > MODEL_MAX_VARIABLES:
            # the model will not be built (`_hess` says so): a plan grown to the mean size
            most = inst.count_hi if inst.count_hi is not None else inst.count_lo
            start = _grown(inst, run, target=inst.total / (max(most, 1) + 0.5))
        solved = _hess(inst, run, kind=c.objective, count=(inst.count_lo, inst.count_hi),
                       start=start, label=c.objective, also=_from_current(inst, current))
        if solved.plan is None:
            return done(solved.status, None, bound=solved.bound,
                        reasons=_solver_reasons(solved.status, run))
        return done(solved.status, solved.plan, value=solved.value, bound=solved.bound)

    # max-footprints
    packed = _packing_bound(inst, run)
    if packed is not None:
        most, sets, proven, candidates = packed
        candidates = _bridged(inst, candidates)
        if proven and most < inst.count_lo:
            return done("infeasible", None, checks=[_too_few(inst, c, most, problem)])
        plan = _attach(inst, sets)
        if plan is not None:
            k_plan = len(set(plan.values()))
            if (inst.cap is None and not inst.apart and not inst.fixed_name
                    and proven and len(candidates) <= _COMPACT_SEEDS_MAX):
                # with only a floor any k disjoint floor sets grow into a plan: start from
                # the most compact ones (too slow to be worth it with very many sets)
                seeds = _compact_seeds(inst, run, candidates, k_plan)
                tight = _attach(inst, seeds) if seeds else None
                if tight is not None and _compactness(inst, tight) < _compactness(inst, plan):
                    plan = tight
            if proven and k_plan == most:
                run.say(f"{most} footprints is the proven largest number; "
                        "making them as compact as possible…")
            else:
                run.say(f"Found {k_plan} footprints; at most {most} are possible. Making them "
                        "as compact as possible…")
            # the model gets part of the time: HiGHS reads its clock only between rounds of
            # cuts, and a round on England's 88,202 rows once ran 12 s past it, so what is
            # left goes to recombination, which stops when asked
            solved = _hess(inst, run, kind="compact", count=(k_plan, k_plan), start=plan,
                           label="most compact plan with the largest count",
                           also=_from_current(inst, current), share=_COMPACT_MODEL_SHARE)
            final = solved.plan if solved.plan is not None else plan
            cgap = _gap(solved.value, solved.bound) if solved.plan is not None else None
            return done("optimal" if proven and k_plan == most else "feasible", final,
                        value=float(k_plan), bound=float(most), compactness_gap=cgap)
        top = most
    else:
        top = inst.count_hi or max(1, inst.total // max(inst.floor, 1))
        # no packing, but footprints of at least the floor number at most total // floor
        # (and the count allowed bounds it too), so a plan of that many is still proven
        proven = inst.floor > 0 or inst.count_hi is not None
        candidates = []
    # counts from the bound downwards: the first count with a plan is the answer
    upper = top
    split = _split_nodes(inst)
    k_top = top if inst.count_hi is None else min(top, inst.count_hi)

    # the most sets that can be packed with every stuck node inside one: a plan to start from
    fallback: tuple[int, Plan] | None = None
    plan = _packed_plan(inst, run, candidates, split=split)
    if plan is not None and len(set(plan.values())) >= inst.count_lo:
        fallback = (len(set(plan.values())), plan)
    size = _hess_size(inst)
    huge = size > MODEL_MAX_VARIABLES
    if huge:
        run.refuse("max-footprints", size, inst)
    if fallback is None and huge:
        # no model will be built for any count (`_hess` says so): footprints grown to the floor
        grown = _grown(inst, run, target=inst.floor)
        if grown is not None:
            fallback = (len(set(grown.values())), grown)
    k = k_top
    while k >= inst.count_lo and run.left() > 0.5:
        if huge and (fallback is None or k > fallback[0]):
            # each count would need the model: go straight to the plan in hand, if any
            if fallback is None:
                break
            k = fallback[0]
        if fallback is not None and k <= fallback[0]:
            k, start = fallback
            run.say(f"Found a plan with {k} footprints; making it as compact as possible…")
        else:
            run.say(f"Looking for a plan with {k} footprints…")
            start = None
        solved = _hess(inst, run, kind="compact", count=(k, k), start=start,
                       label=f"plan with {k} footprints", share=1.0 if start else 0.3)
        if solved.status == "infeasible":
            # exactly k is impossible; that bounds the count only if every count above k
            # was proven impossible too (a ceiling can rule out k and allow k + 1)
            if k == upper:
                upper = k - 1
            k -= 1
            continue
        if solved.plan is None:
            k -= 1  # no plan in this count's share of the time: look for one with fewer
            continue
        status = "optimal" if k == upper and (proven or upper < top) else "feasible"
        cgap = _gap(solved.value, solved.bound)
        return done(status, solved.plan, value=float(k), bound=float(upper),
                    compactness_gap=cgap)
    if fallback is not None and k >= fallback[0]:
        # the time ran out before the packed plan was reached: it is still valid
        run.say(f"No time left for more than {fallback[0]} footprints; keeping that plan.")
        status = "optimal" if fallback[0] == upper and proven else "feasible"
        return done(status, fallback[1], value=float(fallback[0]), bound=float(upper))
    if upper < inst.count_lo:
        return done("infeasible", None, reasons=(
            f"no plan with at least {inst.count_lo} footprints meets every constraint together "
            "(each count was proven impossible by the solver)",))
    return done("no-solution", None, bound=float(upper),
                reasons=_solver_reasons("no-solution", run))


def _from_current(inst: Instance, current: Mapping[str, str] | None) -> Plan | None:
    """The current plan on the instance's nodes (a warm start), or None if it does not fit."""
    if not current:
        return None
    index: dict[str, int] = {}
    plan: Plan = {}
    for n in inst.nodes:
        names = {current.get(u) for u in inst.members[n]}
        if len(names) != 1 or None in names or "" in names:
            return None
        name = names.pop()
        plan[n] = index.setdefault(str(name), len(index))
    return plan


def _gap(value: float | None, bound: float | None) -> float | None:
    if value is None or bound is None:
        return None
    return max(0.0, (value - bound) / max(abs(value), 1e-9))


def _too_few(inst: Instance, c: Constraints, most: int, problem: Problem) -> Check:
    return Check(
        "count-unreachable",
        f"at most {most + len(c.locked)} footprints can each reach the floor of "
        f"{c.min_population:,} {problem.population_label} (with the ceiling, apart pairs and "
        f"fixed names), fewer than the {inst.count_lo + len(c.locked)} asked for",
    )


def _solver_reasons(status: str, run: _Run) -> tuple[str, ...]:
    c = run.constraints
    if status == "infeasible":
        return ("the solver proved that no plan meets every constraint together (each "
                "constraint alone passed the checks); relax a ceiling, count, apart pair or "
                "fixed footprint",)
    if status == "no-solution" and run.refused:
        return ()  # the model that was not built says why (`_finish`)
    if status == "no-solution" and run.unstarted is not None:
        # the quick starts found nothing and the model would not have fitted: saying the
        # time ran out would hide that a longer limit lets the solver try at all
        need, left = run.unstarted
        enough = 10 * math.ceil((c.time_limit - left + 2 * need) / 10)
        return (f"the quick constructions found no valid plan, and the full districting model "
                f"needs about {need:.0f} s to build and start, more than the {max(left, 0):.1f} s "
                f"left of the time limit of {c.time_limit:g} s; give it at least {enough} s, "
                "or relax a constraint",)
    if status == "no-solution":
        return (f"no valid plan was found within the time limit of {c.time_limit:g} s; give it "
                "more time or relax a constraint",)
    return ()


def _refusals(run: _Run, *, with_plan: bool) -> tuple[str, ...]:
    """The models not built for want of memory, and what the answer is instead."""
    tail = ("; the plan below comes from the quick constructions and local search, with no "
            "bound proven by that model" if with_plan else
            "; and the quick constructions found no valid plan: relax a constraint, or plan "
            "on fewer, larger units")
    return tuple(msg[0].upper() + msg[1:] + tail for msg in run.refused)


def _finish(problem: Problem, c: Constraints, run: _Run, t0: float, *, status: str,
            inst: Instance | None = None, plan: Plan | None = None,
            current: Mapping[str, str] | None = None, value: float | None = None,
            bound: float | None = None, checks: list[Check] | None = None,
            reasons: tuple[str, ...] = (), compactness_gap: float | None = None,
            slot_names: list[str] | None = None) -> OptimiseResult:
    assignment: dict[str, str] = {}
    table = None
    compactness = None
    if plan is not None and inst is not None:
        assignment = _name(problem, inst, plan, current=current, slot_names=slot_names)
        from .validate import summarise_plan, validate_plan

        broken = validate_plan(problem, assignment, c, current=current)
        if broken:  # a bug, never a planner's problem: refuse to hand out a bad plan
            raise SolverError(
                "The optimiser produced a plan that breaks a rule; please report this",
                problems=[f"{v.footprint}: {v.message}" for v in broken],
            )
        table = summarise_plan(problem, assignment, c)
        compactness = float(table["inertia"].sum())
    checks = checks or []
    if c.objective == "max-footprints" and inst is not None and bound is not None:
        # the model counts only the free footprints; the plan's count has the locked ones too
        bound += len(set(inst.locked_plan.values()))
    if c.objective == "max-footprints" and assignment:
        value = float(len(set(assignment.values())))
    if c.objective in ("compact", "balanced"):  # back from thousands of people
        value = None if value is None else value * 1000.0
        bound = None if bound is None else bound * 1000.0
    if c.objective != "max-footprints" and bound is not None:
        # inertia, spread and moves are never negative, whatever a solver stopped early says
        # (HiGHS stopped before its first relaxation bounds a spread by its variables' bounds)
        bound = max(bound, 0.0)
    if assignment and value is not None and bound is not None and (
            bound < value - 1e-6 * max(1.0, abs(value)) if c.objective == "max-footprints"
            else bound > value + 1e-6 * max(1.0, abs(value))):
        # a bound on the wrong side of a valid plan is a misread bound, never the plan's fault
        log.warning("the bound %s is on the wrong side of the plan's %s; it is left out",
                    bound, value)
        bound = None
        status = "feasible"
    gap = _gap(value, bound) if status in ("optimal", "feasible") else None
    if status == "optimal" and gap is None:
        gap = 0.0
    if c.objective == "balanced" and status == "feasible" and assignment and value is not None:
        bound = 0.0 if bound is None else bound  # no solve finished: a spread is never negative
        mean = sum(problem.populations[u] for u in assignment) / len(set(assignment.values()))
        gap = max(0.0, value - bound) / mean
    if c.objective == "max-footprints" and status == "feasible" and value and bound:
        gap = (bound - value) / bound
    seconds = time.perf_counter() - t0
    reproduce = {
        "data_digest": problem.data_digest,
        "problem_digest": problem.digest(),
        "constraints": c.to_json(),
        "solver": c.solver,
        "solver_version": solver_version(c.solver),
        "footprint_version": _version(),
        "python": platform.python_version(),
    }
    if current:
        reproduce["current_plan"] = sorted(current.items())
    run.say(f"Finished: {status} in {seconds:.1f} s.")
    return OptimiseResult(
        status=status,
        objective=c.objective,
        assignment=assignment,
        footprints=len(set(assignment.values())) if assignment else None,
        objective_value=value if assignment else None,
        bound=bound,
        gap=gap,
        seconds=seconds,
        solver=c.solver,
        solver_version=solver_version(c.solver),
        constraints=c,
        log="\n".join(run.logs),
        reasons=_refusals(run, with_plan=bool(assignment)) + tuple(reasons)
        + tuple(ch.message for ch in checks),
        checks=tuple(checks),
        compactness=compactness,
        compactness_gap=compactness_gap,
        table=table,
        reproduce=reproduce,
        stages=tuple(run.stages),
    )


def _name(problem: Problem, inst: Instance, plan: Plan, *, current: Mapping[str, str] | None,
          slot_names: list[str] | None) -> dict[str, str]:
    """Unit -> footprint name: fixed names first, then the current plan's names, then FP01…"""
    groups = _groups(plan)
    names: dict[int, str] = {}
    taken = set(inst.locked_plan.values())
    for k, nodes in groups.items():
        fixed = {inst.fixed_name[n] for n in nodes if n in inst.fixed_name}
        if fixed:
            names[k] = fixed.pop()
        elif slot_names is not None and not slot_names[k].startswith("__new"):
            names[k] = slot_names[k]
    taken |= set(names.values())

    def north(k: int) -> float:
        w = sum(inst.pop[n] for n in groups[k]) or 1
        return -sum(inst.pop[n] * inst.xy[n][1] for n in groups[k]) / w

    i = 0
    for k in sorted((k for k in groups if k not in names), key=north):
        while True:
            i += 1
            name = f"FP{i:02d}"
            if name not in taken:
                break
        names[k] = name
    out = dict(inst.locked_plan)
    for n, k in plan.items():
        for u in inst.members[n]:
            out[u] = names[k]
    if set(out) != set(problem.codes):  # pragma: no cover - guarded by _plan_ok
        raise PlanError("internal: the plan does not place every unit")
    return out


def _version() -> str:
    try:
        return metadata.version("footprint")
    except metadata.PackageNotFoundError:
        return "source checkout"
