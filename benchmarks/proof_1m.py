"""Measure relaxations of the count bound at 1,000,000 with the LA rule off (issue 20 item 4).

The packing bound (``footprint.optimiser.bound``) takes the connected CCG sets that just
reach the floor and asks for the most disjoint ones. At a floor of 1,000,000 with the LA
rule off its linear relaxation allows 53.68 sets; 52 are found, and proving that 53 cannot
be packed takes HiGHS minutes of branching. A relaxation whose value is below 53 would prove
52 with no branching at all. This script measures, for each strengthening, the value of the
linear relaxation and its size; those values do not depend on the machine's load (the
seconds printed do).

Strengthenings measured:

- rounded capacity cuts: a region W of the map holds at most floor(pop(W) / floor) chosen
  sets lying inside it, for W over Area Teams, NHS regions, upper- and lower-tier LAs, the
  parts of the map cut off by one or two CCGs (cut vertices and 2-vertex separators), each
  part with and without its separator, and regions grown around the sets the relaxation
  uses (separated in rounds until none is violated);
- the slack budget: 53 disjoint sets hold at most 56,324,887 - 53 x 1,000,000 patients above
  the floor; the least excess of any floor set, and the relaxation with that budget row.

This is not a test: it prints figures. Usage::

    python benchmarks/proof_1m.py
    python benchmarks/proof_1m.py --rounds 30
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402

from footprint._sets import floor_sets  # noqa: E402
from footprint.loader import load_dataset  # noqa: E402
from footprint.problem import Problem  # noqa: E402
from footprint.solver import Model  # noqa: E402

FLOOR = 1_000_000

Region = frozenset[str]


def _lp(
    sets: list[frozenset[str]],
    cuts: Mapping[Region, int],
    *,
    budget: int | None = None,
    pop: Mapping[str, int] | None = None,
) -> tuple[float, dict[int, float]]:
    """The packing relaxation with capacity cuts: (value, set index -> LP value > 0)."""
    m = Model("packing-lp", maximise=True)
    z = [m.continuous(f"z{i}", low=0.0, high=1.0) for i in range(len(sets))]
    by_node: dict[str, list[int]] = {}
    for i, s in enumerate(sets):
        for n in s:
            by_node.setdefault(n, []).append(i)
    for idx in by_node.values():
        m.add(((z[i], 1.0) for i in idx), "<=", 1)
    for w, most in cuts.items():
        inside = [z[i] for i, s in enumerate(sets) if s <= w]
        if inside:
            m.add(((v, 1.0) for v in inside), "<=", most)
    if budget is not None and pop is not None:
        excess = [sum(pop[n] for n in s) - FLOOR for s in sets]
        m.add(((v, float(e)) for v, e in zip(z, excess, strict=True)), "<=", budget)
    m.objective((v, 1.0) for v in z)
    out = m.solve(time_limit=600)
    values = {i: out.values.get(v.name, 0.0) for i, v in enumerate(z)}
    return float(out.objective or 0.0), {i: x for i, x in values.items() if x > 1e-7}


def _most(w: Iterable[str], pop: Mapping[str, int]) -> int:
    return sum(pop[n] for n in w) // FLOOR


def _groupings(problem: Problem, ds: object) -> dict[str, list[Region]]:
    """Named reference regions: Area Teams, NHS regions, LAs (upper and lower tier)."""
    geo = ds.geography  # type: ignore[attr-defined]
    out: dict[str, list[Region]] = {}
    for column in ("area_team_code", "region_code"):
        groups: dict[str, set[str]] = {}
        for code, g in geo.reference_groups(column).items():
            groups.setdefault(str(g), set()).add(str(code))
        out[column] = [frozenset(v) for v in groups.values()]
    by_la: dict[str, set[str]] = {}
    for code, las in problem.las.items():
        for la in las:
            by_la.setdefault(la, set()).add(code)
    out["las"] = sorted({frozenset(v) for v in by_la.values()}, key=sorted)
    blocks: dict[str, set[str]] = {}
    for code, block in problem.blocks.items():
        blocks.setdefault(block, set()).add(code)
    out["la blocks"] = sorted({frozenset(v) for v in blocks.values()}, key=sorted)
    return out


def _separated_parts(graph: nx.Graph) -> list[Region]:
    """Parts of the map cut off by one or two CCGs, with and without the separator."""
    out: set[Region] = set()
    nodes = sorted(graph)
    for k in (1, 2):
        for sep in itertools.combinations(nodes, k):
            rest = graph.subgraph(n for n in nodes if n not in sep)
            comps = list(nx.connected_components(rest))
            if len(comps) < 2:
                continue
            for c in comps:
                out.add(frozenset(c))
                out.add(frozenset(c) | frozenset(sep))
    return sorted(out, key=lambda w: (len(w), sorted(w)))


def _grown(
    sets: list[frozenset[str]],
    x: Mapping[int, float],
    nbrs: Mapping[str, frozenset[str]],
    pop: Mapping[str, int],
    *,
    most_nodes: int = 40,
) -> list[Region]:
    """Violated capacity cuts on regions grown around each set the relaxation uses.

    From each set with a positive value, add the neighbouring CCG whose addition keeps
    most LP weight inside per patient added, and test every region on the way.
    """
    weight_in: dict[str, float] = {}
    for i, v in x.items():
        for n in sets[i]:
            weight_in[n] = weight_in.get(n, 0.0) + v
    found: set[Region] = set()
    for i in sorted(x, key=lambda i: -x[i]):
        w = set(sets[i])
        while len(w) < most_nodes:
            frontier = {m for n in w for m in nbrs[n]} - w
            if not frontier:
                break
            best = max(frontier, key=lambda m: (weight_in.get(m, 0.0) / max(pop[m], 1), m))
            w.add(best)
            fw = frozenset(w)
            inside = sum(v for j, v in x.items() if sets[j] <= fw)
            if inside > _most(fw, pop) + 1e-6:
                found.add(fw)
    return sorted(found, key=lambda w: (len(w), sorted(w)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    ds = load_dataset()
    problem = Problem.from_dataset(ds)
    pop = dict(problem.populations)
    nbrs = problem.neighbours()
    nodes = tuple(sorted(problem.codes))
    sets = floor_sets(nodes, nbrs, pop, floor=FLOOR)
    total = sum(pop.values())
    print(
        f"{len(nodes)} CCGs, {total:,} registered patients; {len(sets):,} floor sets "
        f"at {FLOOR:,} with the LA rule off ({time.perf_counter() - t0:.1f} s)"
    )

    base, x = _lp(sets, {})
    print(f"packing relaxation: {base:.4f} ({len(sets):,} columns, {len(nodes)} rows)")

    cuts: dict[Region, int] = {}
    for label, regions in _groupings(problem, ds).items():
        fam = {w: _most(w, pop) for w in regions}
        value, _ = _lp(sets, fam)
        cuts.update(fam)
        print(f"+ capacity cuts on {label}: {len(fam)} regions alone -> {value:.4f}")
    graph = problem.graph()
    t1 = time.perf_counter()
    parts = _separated_parts(graph)
    fam = {w: _most(w, pop) for w in parts}
    value, _ = _lp(sets, fam)
    print(
        f"+ capacity cuts on parts cut off by 1-2 CCGs: {len(fam):,} regions alone -> "
        f"{value:.4f} ({time.perf_counter() - t1:.1f} s)"
    )
    cuts.update(fam)
    value, x = _lp(sets, cuts)
    print(f"all named and separator regions together: {len(cuts):,} cuts -> {value:.4f}")
    for r in range(args.rounds):
        new = [w for w in _grown(sets, x, nbrs, pop) if w not in cuts]
        if not new:
            print(f"round {r + 1}: no violated grown region; stop")
            break
        cuts.update({w: _most(w, pop) for w in new})
        value, x = _lp(sets, cuts)
        print(f"round {r + 1}: +{len(new)} grown regions ({len(cuts):,} cuts) -> {value:.4f}")

    excess = sorted(sum(pop[n] for n in s) - FLOOR for s in sets)
    slack = total - 53 * FLOOR
    print(
        f"slack budget for 53 sets: {slack:,}; least excess of a floor set {excess[0]:,}, "
        f"median {excess[len(excess) // 2]:,}; 53 x least = {53 * excess[0]:,}; "
        f"sum of the 53 least = {sum(excess[:53]):,}"
    )
    value_b, _ = _lp(sets, {}, budget=slack, pop=pop)
    print(f"relaxation with the budget row (implied by the CCG rows): {value_b:.4f}")
    print(
        f"verdict: best relaxation {value:.4f} -> bound {math.floor(value + 1e-6)} "
        f"({time.perf_counter() - t0:.0f} s in all)"
    )


if __name__ == "__main__":
    main()
