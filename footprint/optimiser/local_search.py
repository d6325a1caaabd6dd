"""Local search: moving border nodes between neighbouring footprints while a cost falls."""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import _cancel
from ..instance import Instance
from .bound import apart_map, split_nodes
from .state import Measure, Plan, PlanState, cost_of


def polish(
    inst: Instance,
    plan: Plan,
    *,
    until: float,
    kind: str = "compact",
    slot_cost: Callable[[int, set[str]], float] | None = None,
) -> Plan:
    """Move single nodes to a neighbouring footprint while that improves the plan.

    A first-improvement local search on the districting model's own compactness
    (``kind='compact'``) or, for 'balanced', on the squared distances of the
    footprint populations from their mean (a smooth stand-in for the spread). A
    move is made only when both footprints still meet every rule, so a valid
    plan stays valid (and keeps its count). ``slot_cost(k, nodes)``, when given, is the
    cost instead (for fewest changes, where it depends on which footprint k is). Stops
    at ``until`` (perf_counter).
    """
    nbrs = inst.node_nbrs()
    measure: Measure
    if slot_cost is None:
        of_nodes = cost_of(inst, kind, len(set(plan.values())))

        def measure(_k: int, nodes: set[str]) -> float:
            return of_nodes(nodes)
    else:
        measure = slot_cost
    state = PlanState(inst, plan, measure)
    plan, groups, pops, cost = state.plan, state.groups, state.pops, state.costs
    apart_of = apart_map(inst)
    split = split_nodes(inst)
    improved = True
    while improved and time.perf_counter() < until and not _cancel.asked():
        improved = False
        for step, n in enumerate(inst.nodes):
            if step % 64 == 63 and (time.perf_counter() >= until or _cancel.asked()):
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
                    state.move(n, b, cost_from=ca, cost_to=cb)
                    improved = True
                    break
    return plan
