"""Fewest changes: repair the current plan moving the fewest units (or people)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise

from ...instance import Instance
from ...problem import Problem
from ...result import OptimiseResult
from ...solver import Model, Outcome
from .. import budget
from ..bound import apart_map, bridge_pieces, bridged_sets, packing_bound, split_nodes
from ..budget import SECONDS_PER_VAR, Run
from ..construct import attach_leftovers, largest_piece, merge_down, packed_plan
from ..districting import Cut, CutLoop, Solved, count_rows, cut_loop, footprint_rows
from ..finish import solver_reasons
from ..local_search import polish
from ..state import Plan, groups_of, plan_ok
from .base import Objective, above_plan, never_negative, plain_gap


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


def _moves(
    inst: Instance, current: Mapping[str, str], labels: list[str], *, by_population: bool
) -> Callable[[int, set[str] | frozenset[str]], float]:
    """What placing nodes in slot k moves: their units (or patients) now in another footprint.

    Slots are the current footprints' names ``labels`` and then new footprints.
    """
    weight = _weigher(inst, by_population=by_population)

    def moved(k: int, nodes: set[str] | frozenset[str]) -> float:
        keep = labels[k] if k < len(labels) else None
        return sum(
            weight(u)
            for n in nodes
            for u in inst.members[n]
            if current.get(u) and current[u] != keep
        )

    return moved


def _changes_start(
    inst: Instance,
    current: Mapping[str, str],
    labels: list[str],
    *,
    sets: list[frozenset[str]],
    by_population: bool,
    repacked: Callable[[], Plan | None],
) -> Plan | None:
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
        return _in_slots(plan, overlap, index)

    cost = _moves(inst, current, labels, by_population=by_population)

    def moved(plan: Plan) -> float:
        return sum(cost(k, g) for k, g in groups_of(plan).items())

    options: list[Plan] = []
    voted = {n: index[max(v, key=lambda f: (v[f], f))] for n in inst.nodes if (v := overlap({n}))}
    pieces, split = _kept_pieces(inst, voted, sets)
    grown = attach_leftovers(inst, pieces, check=False)
    if grown is not None:
        grown = _refill(inst, grown, split)
    lifted = merge_down(inst, grown, None) if grown is not None else None
    if lifted is None and grown is not None and inst.count_hi is not None:
        lifted = merge_down(inst, grown, inst.count_hi)  # split ones: too many to keep
    if lifted is not None:
        options.append(in_slots(lifted))
    packed = attach_leftovers(inst, sets) if sets else None
    if packed is None and not options:
        packed = repacked()
    if packed is not None:
        options.append(in_slots(packed))
    return min(options, key=moved) if options else None


def _in_slots(
    plan: Plan, overlap: Callable[[set[str]], dict[str, float]], index: Mapping[str, int]
) -> Plan:
    """Name each footprint after the current footprint it overlaps most (each name once)."""
    groups = groups_of(plan)
    pairs = sorted(
        ((w, f, k) for k, g in groups.items() for f, w in overlap(g).items()),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    slot: dict[int, int] = {}
    for _w, f, k in pairs:
        if k not in slot and index[f] not in slot.values():
            slot[k] = index[f]
    # a current name no footprint overlaps costs what a new one does: use those first
    n_labels = len(index)
    free = [i for i in range(n_labels) if i not in slot.values()]
    new = iter(free + list(range(n_labels, n_labels + len(groups))))
    for k in sorted(groups):
        if k not in slot:
            slot[k] = next(new)
    return {n: slot[k] for n, k in plan.items()}


def _joined_wholes(inst: Instance, voted: Plan) -> dict[int, frozenset[str]]:
    """Each voted footprint's largest piece, with its nodes in pieces joined up.

    A node in pieces (units fixed to one name far apart) joins its footprint along the
    least-populated path; the footprints that path crosses keep their largest piece.
    """
    wholes = {k: largest_piece(inst, nodes) for k, nodes in groups_of(voted).items()}
    for n in sorted(split_nodes(inst)):
        k = voted.get(n)
        if k is None or any(n in w for w in wholes.values()):
            continue
        joined = bridge_pieces(inst, wholes.get(k, frozenset()) | {n})
        if joined is None:
            continue
        for j in [j for j in wholes if j != k and wholes[j] & joined]:
            wholes[j] = largest_piece(inst, wholes[j] - joined)
        wholes[k] = joined
    return wholes


def _kept_pieces(
    inst: Instance,
    voted: Plan,
    sets: list[frozenset[str]],
) -> tuple[list[frozenset[str]], list[list[int]]]:
    """The pieces of the current plan kept as seeds, and the seeds that split one footprint.

    Each whole footprint is separated where it holds an apart pair; a part above the
    ceiling is replaced by the disjoint floor sets inside it.
    """
    apart_of = apart_map(inst)
    pieces: list[frozenset[str]] = []
    split: list[list[int]] = []  # seeds that split one footprint above the ceiling
    for whole in _joined_wholes(inst, voted).values():
        for piece in separate_parts(inst, whole, apart_of) if whole else ():
            if inst.cap is not None and sum(inst.pop[n] for n in piece) > inst.cap:
                inside = [f for f in sets if f <= piece]
                split.append(list(range(len(pieces), len(pieces) + len(inside))))
                pieces.extend(inside)
            else:
                pieces.append(piece)
    return pieces, split


def separate_parts(
    inst: Instance, nodes: frozenset[str], apart_of: Mapping[str, set[str]]
) -> list[frozenset[str]]:
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
        clash = next(
            ((a, b) for a in sorted(part) for b in sorted(apart_of.get(a, ())) if b in part), None
        )
        if clash is None:
            out.append(part)
            continue
        a, b = clash
        side = min(
            (cut(part, a, b), cut(part, b, a)),
            key=lambda s: (sum(inst.pop[n] for n in s), sorted(s)),
        )
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
            groups = groups_of(plan)
            pops = {k: sum(inst.pop[n] for n in groups[k]) for k in family if k in groups}
            pairs = [
                (pops[a] + pops[b], a, b)
                for a in pops
                for b in pops
                if a < b
                and any(m in groups[b] for n in groups[a] for m in nbrs[n])
                and (inst.cap is None or pops[a] + pops[b] <= inst.cap)
                and inst.footprint_ok(groups[a] | groups[b])
            ]
            if not pairs:
                break
            _, a, b = max(pairs)
            for n in groups[b]:
                plan[n] = a
    return plan


def solve_slots(
    inst: Instance,
    run: Run,
    *,
    current: Mapping[str, str],
    labels: list[str],
    by_population: bool,
    extra: int,
    start: Plan | None = None,
) -> tuple[Solved, list[str]]:
    """Footprints as the current plan's named slots plus ``extra`` new ones; fewest units moved.

    ``start`` (in slot numbers) is a valid plan to beat. The status and bound are for
    these slots only; the caller decides whether more new slots could do better.
    """
    slot_names = labels + [f"__new{i}" for i in range(extra)]
    nodes = inst.nodes
    moves = _moves(inst, current, labels, by_population=by_population)
    size = len(slot_names) * (len(nodes) + 1)
    if size > budget.MODEL_MAX_VARIABLES:  # (slots x nodes): measured before any of it is listed
        run.refuse("fewest changes", size, inst, what="fewest-changes model")
        if start is None or max(start.values(), default=0) >= len(slot_names):
            return Solved("no-solution", None, None, None), slot_names
        return Solved(
            "feasible", dict(start), sum(moves(k, g) for k, g in groups_of(start).items()), None
        ), slot_names
    cost = {n: {s: moves(si, {n}) for si, s in enumerate(slot_names)} for n in nodes}

    def moved(plan: Plan) -> float:
        return sum(cost[n][slot_names[k]] for n, k in plan.items())

    def build(iteration: int, cuts: list[Cut]) -> tuple[Model, Callable[[Outcome], Plan]]:
        return _slots_model(
            inst,
            slot_names=slot_names,
            extra=extra,
            cost=cost,
            iteration=iteration,
            cuts=cuts,
        )

    def warm(plan: Plan) -> dict[str, float]:
        start = {f"x_{n}_{k}": 1.0 for n, k in plan.items()}
        start.update({f"y_{k}": 1.0 for k in set(plan.values())})
        return start

    need = SECONDS_PER_VAR * size + 0.5

    def ready(held: Plan | None) -> bool:
        # a model that cannot be built and solved in the time left would overrun the
        # planner's limit; with a valid plan held, keep it (with no plan, try anyway)
        if held is not None and run.left() < need:
            run.say("Repairing the plan: too little time left for the model; keeping the best.")
            return False
        return True

    best = None
    if start is not None and max(start.values(), default=0) < len(slot_names):
        best = dict(start)
    searched = cut_loop(
        inst,
        run,
        CutLoop(
            label="fewest changes",
            saying="Repairing the plan",
            build=build,
            value=moved,
            proven=lambda val, bound: val - bound <= 1e-6,
            warm=warm,
            ready=ready,
        ),
        best,
    )
    if searched.status == "optimal":
        return Solved("optimal", searched.plan, searched.value, searched.bound), slot_names
    if searched.status == "infeasible" or searched.plan is None:
        return Solved(
            searched.status if searched.status == "infeasible" else "no-solution", None, None, None
        ), slot_names
    bound = searched.bound if searched.bound > -math.inf else None
    return Solved("feasible", searched.plan, searched.value, bound), slot_names


def _slots_model(
    inst: Instance,
    *,
    slot_names: list[str],
    extra: int,
    cost: Mapping[str, Mapping[str, float]],
    iteration: int,
    cuts: list[Cut],
) -> tuple[Model, Callable[[Outcome], Plan]]:
    """The model of named slots with every cut so far, and a reader of its plan."""
    nodes, nbrs = inst.nodes, inst.node_nbrs()
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
        footprint_rows(m, inst, x[s], y[s], 1000.0)
    for i in range(extra - 1):  # new slots are interchangeable: use them in order
        m.add(((y[f"__new{i}"], 1.0), (y[f"__new{i + 1}"], -1.0)), ">=", 0)
    count_rows(m, list(y.values()), inst.count_lo, inst.count_hi)
    for cut in cuts:
        for s in slot_names:
            col = x[s]
            rhs_terms = [(col[c], -1.0) for c in cut.sep]
            for a in cut.a_nodes:
                m.add([(col[a], 1.0), (col[cut.b], 1.0), *rhs_terms], "<=", 1)
    m.objective((x[s][n], cost[n][s]) for s in slot_names for n in nodes if cost[n][s])

    def read(out: Outcome) -> Plan:
        return {
            n: si
            for si, s in enumerate(slot_names)
            for n in nodes
            if out.values.get(x[s][n].name, 0.0) > 0.5
        }

    return m, read


@dataclass
class _Step:
    """One state of :func:`_undo_search`: a plan, its footprints, the broken ones, its cost."""

    plan: dict[str, int]
    groups: dict[int, set[str]]
    bad: set[int]
    moved: float

    def score(self, inst: Instance) -> int:
        return len(self.bad) + sum(1 for n in inst.nodes if n not in self.plan)

    def after(self, n: str, k: int, moved: float, ok: Callable[[set[str], int], bool]) -> _Step:
        """This state with node ``n`` moved to footprint ``k`` (``moved`` units moved then)."""
        groups = {j: set(g) for j, g in self.groups.items()}
        was = self.plan.get(n)
        if was is not None:
            groups[was].discard(n)
            if not groups[was]:
                del groups[was]
        groups.setdefault(k, set()).add(n)
        touched = self.bad | {k} | ({was} if was is not None else set())
        bad = {j for j in touched if j in groups and not ok(groups[j], j)}
        return _Step({**self.plan, n: k}, groups, bad, moved)


def _undo_search(
    inst: Instance,
    current: Mapping[str, str],
    labels: list[str],
    *,
    by_population: bool,
    width: int = 30,
    depth: int = 12,
) -> Plan | None:
    """A valid plan a few single-node moves from the current one (a beam search), or None.

    Each step moves one node of, or next to, a broken footprint (or in no footprint) into a
    neighbouring footprint; the ``width`` states that break fewest footprints at least
    cost are kept. It finds the repairs the restricted model then proves (or betters):
    that model, started without a plan, can chase one plan in pieces after another.
    """
    index = {f: i for i, f in enumerate(labels)}
    cost = _moves(inst, current, labels, by_population=by_population)
    price: dict[tuple[str, int], float] = {}

    def node_cost(n: str, k: int) -> float:
        if (n, k) not in price:
            price[n, k] = cost(k, {n})
        return price[n, k]

    def ok(nodes: set[str], k: int) -> bool:
        fixed = all(index.get(inst.fixed_name.get(n, ""), k) == k for n in nodes)
        return fixed and inst.footprint_ok(nodes)

    plan: dict[str, int] = {}
    for n in inst.nodes:
        names = [current[u] for u in inst.members[n] if current.get(u) in index]
        if names:
            plan[n] = index[max(sorted(set(names)), key=names.count)]
    groups = {k: set(g) for k, g in groups_of(plan).items()}
    beam = [
        _Step(
            plan,
            groups,
            {k for k, g in groups.items() if not ok(g, k)},
            sum(node_cost(n, k) for n, k in plan.items()),
        )
    ]
    best: _Step | None = None
    seen: set[frozenset[tuple[str, int]]] = set()
    for _ in range(depth):
        options = [o for i, st in enumerate(beam) for o in _options(inst, st, i, ok, node_cost)]
        options.sort(key=lambda t: (t[0] + t[1], t[1], t[3], t[4]))
        beam_next: list[_Step] = []
        for _score, moved, i, n, k in options:
            st = beam[i]
            child = {**st.plan, n: k}
            key = frozenset(child.items())
            if key in seen:
                continue
            seen.add(key)
            step = st.after(n, k, moved, ok)
            beam_next.append(step)
            if (
                step.score(inst) == 0
                and _count_ok(inst, len(step.groups))
                and (best is None or moved < best.moved)
            ):
                best = step
            if len(beam_next) >= width:
                break
        if not beam_next or (best is not None and min(st.moved for st in beam_next) >= best.moved):
            break
        beam = beam_next
    return dict(best.plan) if best is not None else None


def _options(
    inst: Instance,
    st: _Step,
    i: int,
    ok: Callable[[set[str], int], bool],
    node_cost: Callable[[str, int], float],
) -> list[tuple[int, float, int, str, int]]:
    """Every single-node move from state ``st`` (number ``i``) near a broken footprint:
    (footprints then broken or nodes in none, units moved, i, node, footprint)."""
    nbrs = inst.node_nbrs()
    loose = sum(1 for m in inst.nodes if m not in st.plan)
    near = {n for n in inst.nodes if n not in st.plan or st.plan[n] in st.bad}
    out = []
    for n in sorted(near | {c for m in near for c in nbrs[m]}):
        was = st.plan.get(n)
        for k in sorted({st.plan[c] for c in nbrs[n] if c in st.plan} - {was}):
            bad = set(st.bad) - {k, was}
            if was is not None and st.groups[was] - {n} and not ok(st.groups[was] - {n}, was):
                bad.add(was)
            if not ok(st.groups[k] | {n}, k):
                bad.add(k)
            before = node_cost(n, was) if was is not None else 0.0
            out.append(
                (len(bad) + loose - (was is None), st.moved + node_cost(n, k) - before, i, n, k)
            )
    return out


def _count_ok(inst: Instance, count: int) -> bool:
    return count >= inst.count_lo and (inst.count_hi is None or count <= inst.count_hi)


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


def must_move(inst: Instance, current: Mapping[str, str], *, by_population: bool) -> float:
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
            over += (
                excess
                if by_population
                else _fewest_reaching((inst.unit_pop[u] for u in units), excess)
            )
    return max(split, over)


# --- small repairs: the model restricted to the footprints near what breaks a rule -------------
#
# Why restricted models prove anything. Take a best repair P of the current plan C when every
# unit has a current footprint, no node is fixed to a name, none is locked and the count has no
# upper limit (nor a lower one above 1). A footprint of P that keeps none of its name's units
# moves all of them whatever its name, so take it to have a new name. Join two current
# footprints when one footprint of P holds units of both; call a class so joined that differs
# from C a *change*. Then:
#
# 1. Every change holds a broken footprint: otherwise putting its footprints back as in C keeps
#    every footprint valid (each footprint's rules are its own) and moves fewer units.
# 2. A change is connected in C's footprint adjacency: a footprint of P joining X and Y is in
#    one piece, and the current footprints of the units along a path inside it link X to Y.
# 3. A change of f current footprints moves at least f - 1 units: a footprint of P meeting t
#    current footprints keeps the units of one at most, so moves a unit of each other one, and
#    joining f footprints into one class takes the t - 1 summed to at least f - 1.
#
# So a change moving m units lies within m steps of a broken footprint in it: the model over
# the footprints within d steps of the broken ones holds every repair moving at most d units
# (with e new footprints; more move at least (e + 1) x `_least_new`), so its optimum v_d bounds
# every plan by min(v_d, d + 1), and is proven when v_d <= d + 1.
#
# Broken footprints are better repaired apart. The changes of a best repair split the broken
# footprints into parts T (each in exactly one change), and the repair moves the sum of what
# its changes move. A change whose broken footprints are exactly T moves at least: 1; |T| - 1,
# the steps between any two of T and half of T's spanning tree (by 2 and 3); there is no such
# change if a node of T's is shared with a broken footprint not in T (it would join it); and
# min(v, d + 1, (e + 1) least) for any d, v the optimum of the model over the footprints within
# d + 1 - |T| steps of T, never through another broken footprint: moving at most d units, the
# change has at most d + 1 footprints, |T| of them broken, so each is that near T along a path
# inside the change. The least sum of such bounds over the ways to split the broken footprints
# bounds every plan; the parts' repairs, in footprints that do not overlap, together make a
# valid plan moving the sum of theirs. (With units in no footprint, names fixed or footprints
# locked, only the model over the footprints within d steps of all broken ones is used.)


def _broken_labels(
    inst: Instance, current: Mapping[str, str]
) -> tuple[set[str], dict[str, set[str]]]:
    """The current footprints that break a rule, and each footprint's nodes.

    A footprint breaks a rule when it is below the floor or above the ceiling, in pieces,
    holds a pair kept apart, holds a node whose units are not all in it (a node stays whole),
    or holds a node fixed to another name.
    """
    nodes_of: dict[str, set[str]] = {}
    broken: set[str] = set()
    for n in inst.nodes:
        names = {current.get(u) or "" for u in inst.members[n]}
        for f in names - {""}:
            nodes_of.setdefault(f, set()).add(n)
        if len(names) > 1:
            broken |= names - {""}
        fixed = inst.fixed_name.get(n)
        if fixed is not None:
            broken |= {f for f in names - {""} if f != fixed}
    for f, nodes in nodes_of.items():
        if f not in broken and not inst.footprint_ok(nodes):
            broken.add(f)
    return broken, nodes_of


def _name_links(inst: Instance, current: Mapping[str, str]) -> dict[str, set[str]]:
    """The current footprints' adjacency: names with neighbouring units, or sharing a node.

    ``""`` stands for the units in no footprint. Linking names that share a node (a node in
    pieces) only shortens steps, which every argument above allows.
    """
    links: dict[str, set[str]] = {}

    def link(a: str, b: str) -> None:
        if a != b:
            links.setdefault(a, set()).add(b)
            links.setdefault(b, set()).add(a)

    for u, nbrs in inst.unit_nbrs.items():
        for v in nbrs:
            link(current.get(u) or "", current.get(v) or "")
    for n in inst.nodes:
        names = sorted({current.get(u) or "" for u in inst.members[n]})
        for a, b in pairwise(names):
            link(a, b)
    return links


def _steps(
    links: Mapping[str, set[str]], sources: Iterable[str], blocked: Iterable[str] = ()
) -> dict[str, int]:
    """Each footprint's steps from the nearest of ``sources``, never through ``blocked``."""
    level = dict.fromkeys(sources, 0)
    avoid = set(blocked)
    queue = deque(level)
    while queue:
        f = queue.popleft()
        for g in sorted(links.get(f, ())):
            if g not in level and g not in avoid:
                level[g] = level[f] + 1
                queue.append(g)
    return level


def _within(inst: Instance, keep: set[str], outside: int) -> Instance:
    """The instance on the nodes ``keep`` only, the ``outside`` footprints already counted."""
    units = {u for n in keep for u in inst.members[n]}
    return replace(
        inst,
        nodes=tuple(n for n in inst.nodes if n in keep),
        members={n: inst.members[n] for n in keep},
        pop={n: inst.pop[n] for n in keep},
        unit_pop={u: inst.unit_pop[u] for u in units},
        xy={n: inst.xy[n] for n in keep},
        node_of={u: inst.node_of[u] for u in units},
        node_edges=frozenset(e for e in inst.node_edges if e[0] in keep and e[1] in keep),
        unit_nbrs={u: frozenset(v for v in inst.unit_nbrs[u] if v in units) for u in units},
        apart=frozenset(e for e in inst.apart if e[0] in keep and e[1] in keep),
        fixed_name={n: f for n, f in inst.fixed_name.items() if n in keep},
        count_lo=max(0, inst.count_lo - outside),
        count_hi=None if inst.count_hi is None else inst.count_hi - outside,
    )


@dataclass
class _Near:
    """The best repair found near what breaks a rule, and what it proves of every plan."""

    plan: Plan | None = None  # in the caller's slot numbers (labels, then new slots)
    value: float = math.inf
    bound: float = 0.0


@dataclass(frozen=True)
class _Try:
    """One restricted model round some broken footprints: its repair, what it moves and
    what it proves.

    ``plan`` maps each node of ``nodes`` to a current name or ``"__new<i>"``; ``proves`` is
    min(the model's bound, the cap it was given, (e + 1) least): what a change holding
    exactly those broken footprints moves at least (see the note above).
    """

    plan: dict[str, str] | None
    value: float
    proves: float
    nodes: frozenset[str]


@dataclass(frozen=True)
class _Around:
    """What every restricted model shares: the plan's footprints and what the bound allows."""

    current: Mapping[str, str]
    nodes_of: Mapping[str, set[str]]
    loose: frozenset[str]
    links: Mapping[str, set[str]]
    by_population: bool
    least: float
    provable: bool


def _try_near(
    inst: Instance,
    run: Run,
    near: _Around,
    cluster: frozenset[str],
    *,
    reach: int,
    cap: float,
    blocked: frozenset[str] = frozenset(),
) -> _Try | None:
    """The model over the footprints within ``reach`` steps of ``cluster`` (not through
    ``blocked``), or None when that is the whole map (the full model's job).

    What it proves is min(its bound, ``cap``, (e + 1) least) with e new footprints offered:
    as many as ``cap`` needs (or, with no cap, as could pay for the start), 1 to 4.
    """
    level = _steps(near.links, cluster, blocked)
    inside = sorted(f for f, lv in level.items() if lv <= reach and f)
    keep = set(near.loose if "" in cluster else ()).union(*(near.nodes_of[f] for f in inside))
    outside = len(near.nodes_of) - len(inside)
    if len(keep) == len(inst.nodes) or (near.provable and outside < inst.count_lo):
        return None
    current = near.current
    sub = _within(inst, keep, outside)
    start = _undo_search(sub, current, inside, by_population=near.by_population)
    want = cap
    if start is not None and not math.isfinite(cap):
        cost = _moves(sub, current, inside, by_population=near.by_population)
        want = sum(cost(k, g) for k, g in groups_of(start).items())
    extra = 1
    if near.least > 0 and math.isfinite(want):
        extra = min(4, max(1, math.ceil(want / near.least) - 1))
    solved, slots = solve_slots(
        sub,
        run,
        current={u: current[u] for n in keep for u in inst.members[n] if current.get(u)},
        labels=inside,
        by_population=near.by_population,
        extra=extra,
        start=start,
    )
    run.stages.append(
        {
            "stage": f"fewest changes near {len(cluster)} broken footprint(s): {reach} step(s)",
            "footprints": len(inside),
            "nodes": len(keep),
            "status": solved.status,
            "objective": solved.value,
            "bound": solved.bound,
        }
    )
    proves = 0.0
    if near.provable:
        if solved.status == "infeasible":
            least_v = math.inf
        elif solved.bound is not None and math.isfinite(solved.bound):
            least_v = math.ceil(solved.bound - 1e-6)  # units: a whole number
        elif solved.status == "optimal" and solved.value is not None:
            least_v = solved.value
        else:
            least_v = 0.0
        proves = min(least_v, cap, (extra + 1) * near.least)
    plan = None if solved.plan is None else {n: slots[k] for n, k in solved.plan.items()}
    value = math.inf if solved.value is None or plan is None else solved.value
    return _Try(plan, value, proves, frozenset(keep))


def _joined(
    inst: Instance, current: Mapping[str, str], labels: list[str], tries: list[_Try]
) -> Plan | None:
    """The current plan with each cluster's repair in place (None if two overlap).

    Each repair's new footprints take slot numbers of their own, after ``labels``.
    """
    index = {f: i for i, f in enumerate(labels)}
    plan: Plan = {}
    fresh = len(labels)
    for t in tries:
        assert t.plan is not None
        if any(n in plan for n in t.plan):
            return None
        new: dict[str, int] = {}
        for n, name in sorted(t.plan.items()):
            if name in index:
                plan[n] = index[name]
            else:
                if name not in new:
                    new[name], fresh = fresh, fresh + 1
                plan[n] = new[name]
    for n in inst.nodes:
        if n not in plan:
            plan[n] = index[current[inst.members[n][0]]]
    return plan


def _first_bounds(inst: Instance, broken: list[str], near: _Around) -> list[float]:
    """What a change holding exactly the broken footprints of each bit mask moves at least.

    It is connected and holds them (2 in the note above), so it moves at least (3) their
    number less one, the steps between any two, and half their spanning tree's steps; and
    it cannot hold them without a broken footprint sharing a node with one of them.
    """
    n = len(broken)
    far = [_steps(near.links, [b]) for b in broken]
    dist = [[far[i].get(b, math.inf) for b in broken] for i in range(n)]
    pos = {b: i for i, b in enumerate(broken)}
    shared = {
        frozenset(pos[f] for f in names)
        for names in ({near.current.get(u) or "" for u in inst.members[m]} for m in inst.nodes)
        if len(names) > 1 and names <= set(pos)
    }
    out = [0.0]
    for mask in range(1, 1 << n):
        members = [i for i in range(n) if mask >> i & 1]
        if any(not group <= set(members) and group & set(members) for group in shared):
            out.append(math.inf)
            continue
        widest = max(dist[i][j] for i in members for j in members)
        if widest == math.inf:  # no change reaches from one to another
            out.append(math.inf)
            continue
        tree, reached, left = 0.0, {members[0]}, set(members[1:])
        while left:  # Prim's spanning tree over the steps between them
            j = min(left, key=lambda j: (min(dist[i][j] for i in reached), j))
            tree += min(dist[i][j] for i in reached)
            reached.add(j)
            left.discard(j)
        out.append(max(1.0, len(members) - 1.0, widest, math.ceil(tree / 2)))
    return out


def _cheapest_split(n: int, lb: list[float]) -> tuple[float, list[int]]:
    """The least sum of ``lb`` over the ways to split n broken footprints (bit masks)."""
    full = (1 << n) - 1
    best = [0.0] + [math.inf] * full
    pick = [0] * (full + 1)
    for s in range(1, full + 1):
        low = s & -s
        rest = s ^ low
        sub = rest
        while True:
            t = sub | low
            v = lb[t] + best[s ^ t]
            if v < best[s]:
                best[s], pick[s] = v, t
            if sub == 0:
                break
            sub = (sub - 1) & rest
    parts, s = [], full
    while s and pick[s]:
        parts.append(pick[s])
        s ^= pick[s]
    return best[full], parts


#: the most broken footprints split into parts (3^n sums over the ways to split them)
MOST_SPLIT = 9


@dataclass
class _Split:
    """The split search: each part's bound, deepest model, best repair, and whether settled."""

    lb: list[float]
    depth: dict[int, int]
    tries: dict[int, _Try]
    settled: set[int]


def _split_repair(
    inst: Instance, run: Run, near: _Around, broken: list[str], stop: float
) -> tuple[float, list[_Try] | None]:
    """Bound every plan by splitting the broken footprints into parts, each repaired alone.

    A best repair's changes split the broken footprints into parts, each moving at least
    what a change holding exactly that part must (see the note above): the least sum over
    the ways to split bounds every plan. The split reaching that least is looked at again,
    each unsettled part's model widened just enough to raise its bound by one, until a
    repair made of its parts' repairs meets the bound, or time is short.
    """
    n = len(broken)
    sp = _Split(_first_bounds(inst, broken, near), {}, {}, set())
    bound, best, best_value = 0.0, None, math.inf
    while True:
        least, parts = _cheapest_split(n, sp.lb)
        if math.isfinite(least):  # (some split is always finite: a guard)
            bound = max(bound, least)
        tries = [sp.tries.get(p) for p in parts]
        nodes = [m for t in tries if t is not None for m in t.nodes]
        if all(tries) and len(nodes) == len(set(nodes)):
            value = sum(t.value for t in tries if t is not None)
            if value < best_value:
                best, best_value = [t for t in tries if t is not None], value
        todo = [p for p in parts if p not in sp.settled]
        if best_value - bound <= 1e-6 or not todo or time.perf_counter() >= stop or run.cancelled():
            return bound, best
        for p in sorted(todo, key=lambda p: (p.bit_count(), p)):
            if time.perf_counter() >= stop or run.cancelled():
                break
            _widen(inst, run, near, broken, sp, p)


def _widen(inst: Instance, run: Run, near: _Around, broken: list[str], sp: _Split, p: int) -> None:
    """Solve part ``p``'s model deep enough to raise its bound by one (or settle it).

    A change holding exactly the part's t broken footprints and moving at most d units has
    at most d + 1 footprints, so it lies within d + 1 - t steps of them, never through
    another broken one: that model's optimum v bounds the part by min(v, d + 1).
    """
    size = p.bit_count()
    d = max(sp.depth.get(p, -1) + 1, size - 1, int(sp.lb[p]))
    part = frozenset(b for i, b in enumerate(broken) if p >> i & 1)
    t = _try_near(
        inst,
        run,
        near,
        part,
        reach=d + 1 - size,
        cap=d + 1,
        blocked=frozenset(broken) - part,
    )
    if t is None:
        sp.settled.add(p)
        return
    sp.depth[p] = d
    sp.lb[p] = max(sp.lb[p], t.proves)
    if t.plan is not None and (p not in sp.tries or t.value < sp.tries[p].value):
        sp.tries[p] = t
    if t.value - sp.lb[p] <= 1e-6 or t.proves < d + 1:
        sp.settled.add(p)  # proven for the part, or its model could not prove more


def _near_repair(
    inst: Instance,
    run: Run,
    *,
    current: Mapping[str, str],
    labels: list[str],
    by_population: bool,
    least: float,
) -> _Near:
    """Repairs near what breaks a rule, and the bound their models prove, in at most 80%
    of the time left (the rest is the full model's).

    With at most `MOST_SPLIT` broken footprints and the conditions of the note above, the
    broken footprints are split into parts; otherwise (or when that finds no plan) the model
    over the footprints within d steps of all of them is widened, d = 1, 2, ...
    """
    broken, nodes_of = _broken_labels(inst, current)
    loose = frozenset(n for n in inst.nodes if not any(current.get(u) for u in inst.members[n]))
    if not broken and not loose:
        return _Near(
            plan={n: labels.index(current[inst.members[n][0]]) for n in inst.nodes},
            value=0.0,
            bound=0.0,
        )
    provable = not by_population and inst.count_hi is None
    around = _Around(
        current, nodes_of, loose, _name_links(inst, current), by_population, least, provable
    )
    stop = time.perf_counter() + 0.8 * max(run.left(), 0.0)
    sub_run = replace(run, deadline=stop)
    near = _Near()
    tries: list[_Try] | None = None
    if (
        provable
        and not loose
        and not inst.fixed_name
        and not inst.locked_plan
        and inst.count_lo <= 1
        and len(broken) <= MOST_SPLIT
    ):
        near.bound, tries = _split_repair(inst, sub_run, around, sorted(broken), stop)
    if tries is None:
        everything = frozenset(broken | ({""} if loose else set()))
        d = 1
        while time.perf_counter() < stop and not run.cancelled():
            t = _try_near(inst, sub_run, around, everything, reach=d, cap=d + 1)
            if t is None:
                break
            near.bound = max(near.bound, t.proves)
            if t.plan is not None and (tries is None or t.value < tries[0].value):
                tries = [t]
            if tries is not None and tries[0].value - near.bound <= 1e-6:
                break
            d += 1
    if tries:
        plan = _joined(inst, current, labels, tries)
        if plan is not None and (len(tries) == 1 or plan_ok(inst, plan)):
            near.plan, near.value = plan, sum(t.value for t in tries)
    return near


def _offer_slots(
    inst: Instance,
    run: Run,
    *,
    current: Mapping[str, str],
    labels: list[str],
    by_population: bool,
    start: Plan | None,
    known: float,
    least: float,
    room: int,
) -> tuple[Solved, list[str], float]:
    """The full model, new slots offered a few at a time (see `_fewest_changes`): its answer,
    the slots' names, and the best bound proven on every plan."""
    used = max(start.values()) + 1 - len(labels) if start else 0
    extra = min(room, max(used, inst.count_lo - len(labels), 0) + 1)
    while True:
        solved, slots = solve_slots(
            inst,
            run,
            current=current,
            labels=labels,
            by_population=by_population,
            extra=extra,
            start=start,
        )
        if extra >= room or solved.status == "no-solution":
            break
        if solved.status == "infeasible":  # with these slots only: offer every one
            extra = room
            continue
        assert solved.plan is not None and solved.value is not None
        start, value = solved.plan, solved.value
        if solved.bound is not None:
            # plans in these slots move at least solved.bound; plans in more, at least
            # (extra + 1) * least. With no bound (the solver gave no answer) nothing is
            # known of plans in these slots, so only the earlier bound stands
            known = max(known, min(solved.bound, (extra + 1) * least))
        bound = known
        if value - bound <= 1e-6:
            solved = Solved("optimal", solved.plan, value, bound)
            break
        if not run.room_for_another():
            solved = Solved("feasible", solved.plan, value, bound)
            break
        extra = room if least <= 0 else min(room, max(extra + 1, math.ceil(value / least) - 1))
    return solved, slots, known


def _fewest_changes(
    inst: Instance,
    run: Run,
    *,
    current: Mapping[str, str],
    by_population: bool,
    done: Callable[..., OptimiseResult],
) -> OptimiseResult:
    """Repair the current plan moving the fewest units (or people).

    New footprints are slots of their own. Offering every slot the count allows makes
    a model of (footprints x nodes) variables that could not be solved in a minute on
    England, so slots are offered a few at a time: a plan using more new slots than
    offered moves at least that many times `_least_new`, which bounds what they could
    gain, and more are offered only when that bound does not already prove the plan.
    """
    packed = packing_bound(inst, run)
    most = packed[0] if packed else inst.total // max(inst.floor, 1)
    labels = sorted({f for u, f in current.items() if u in inst.node_of and f})
    want = most if inst.count_hi is None else min(most, inst.count_hi)
    room = max(0, want - len(labels))

    def repacked() -> Plan | None:
        if not packed or not packed[1]:
            return None
        return packed_plan(inst, run, bridged_sets(inst, packed[3]), split=split_nodes(inst))

    start = _changes_start(
        inst,
        current,
        labels,
        sets=packed[1] if packed else [],
        by_population=by_population,
        repacked=repacked,
    )
    if start is not None:
        run.say("Found a valid plan close to the current one; moving fewer units…")
        start = polish(
            inst,
            start,
            until=time.perf_counter() + 0.1 * run.left(),
            slot_cost=_moves(inst, current, labels, by_population=by_population),
        )
    least = _least_new(inst, current, by_population=by_population)
    must = must_move(inst, current, by_population=by_population)
    near = _near_repair(
        inst, run, current=current, labels=labels, by_population=by_population, least=least
    )
    cost = _moves(inst, current, labels, by_population=by_population)
    held = math.inf if start is None else sum(cost(k, g) for k, g in groups_of(start).items())
    if near.plan is not None and near.value < held:
        start, held = near.plan, near.value
    known = max(must, near.bound)  # the best bound proven so far on every plan
    if (
        start is not None
        and held - known <= 1e-6
        and (start is near.plan or (not inst.fixed_name and plan_ok(inst, start)))
    ):  # proven already: the full model could not move fewer (a current plan that keeps
        # every rule is returned at once, moving nothing)
        names = labels + [f"__new{i}" for i in range(max(start.values(), default=0) + 1)]
        return done("optimal", start, value=held, bound=known, slot_names=names)
    solved, slots, known = _offer_slots(
        inst,
        run,
        current=current,
        labels=labels,
        by_population=by_population,
        start=start,
        known=known,
        least=least,
        room=room,
    )
    if solved.plan is None:
        return done(
            solved.status, None, bound=solved.bound, reasons=solver_reasons(solved.status, run)
        )
    if solved.status == "feasible" and solved.value is not None:
        bound = max(known, solved.bound if solved.bound is not None else known)
        solved = Solved(
            "optimal" if solved.value - bound <= 1e-6 else "feasible",
            solved.plan,
            solved.value,
            bound,
        )
    return done(
        solved.status, solved.plan, value=solved.value, bound=solved.bound, slot_names=slots
    )


def solve(
    inst: Instance,
    run: Run,
    *,
    problem: Problem,
    current: Mapping[str, str] | None,
    done: Callable[..., OptimiseResult],
) -> OptimiseResult:
    """The valid plan that moves the fewest units (or people) from the current one."""
    assert current is not None
    return _fewest_changes(
        inst,
        run,
        current=current,
        done=done,
        by_population=run.constraints.change_measure == "population",
    )


OBJECTIVE = Objective(
    "fewest-changes", solve=solve, read=never_negative, wrong_side=above_plan, settle=plain_gap
)
