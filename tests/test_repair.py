"""fewest-changes repairs plans broken by a few moves: proven plans broken by k random
border moves (k = 1..8) are repaired moving at most k units in most cases, and never with
more claimed than the plan and the brute force show."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from footprint.constraints import Constraints
from footprint.optimiser import optimise
from footprint.problem import Problem
from footprint.validate import validate_plan


def _grid(w: int, h: int, *, seed: int) -> Problem:
    """A w x h grid of 1 km squares (rook adjacency), 50 to 200 people each."""
    rng = random.Random(seed)
    codes = [f"r{j}c{i}" for j in range(h) for i in range(w)]
    edges = [(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(h) for i in range(w - 1)]
    edges += [(f"r{j}c{i}", f"r{j + 1}c{i}") for j in range(h - 1) for i in range(w)]
    return Problem.build(
        populations={c: rng.randint(50, 200) for c in codes},
        edges=edges,
        x={f"r{j}c{i}": i * 1000.0 for j in range(h) for i in range(w)},
        y={f"r{j}c{i}": j * 1000.0 for j in range(h) for i in range(w)},
        shared_m={e: 1000.0 for e in edges},
        areas=dict.fromkeys(codes, 1e6),
        perimeters=dict.fromkeys(codes, 4000.0),
    )


def _neighbours(p: Problem) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {u: set() for u in p.codes}
    for a, b in p.edges:
        out[a].add(b)
        out[b].add(a)
    return out


def break_plan(p: Problem, plan: Mapping[str, str], k: int, rng: random.Random) -> dict[str, str]:
    """``plan`` with k distinct units each moved into a neighbouring footprint."""
    nbrs, out, moved = _neighbours(p), dict(plan), set()
    while len(moved) < k:
        border = [u for u in p.codes if u not in moved and {out[v] for v in nbrs[u]} - {out[u]}]
        if not border:
            break
        u = rng.choice(border)
        out[u] = rng.choice(sorted({out[v] for v in nbrs[u]} - {out[u]}))
        moved.add(u)
    return out


def _partitions(items: list[str]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]
        yield [[first], *part]


def valid_parts(p: Problem, c: Constraints) -> list[list[list[str]]]:
    """Brute force: every valid partition of the units."""
    out = []
    for part in _partitions(list(p.codes)):
        plan = {u: f"P{i}" for i, grp in enumerate(part) for u in grp}
        if not validate_plan(p, plan, c):
            out.append(part)
    return out


def least_moves(parts: list[list[list[str]]], current: Mapping[str, str]) -> int:
    """The fewest units any of these partitions moves (each part keeps at most one name)."""
    import networkx as nx

    best = len(current)
    for part in parts:
        g = nx.Graph()
        for i, grp in enumerate(part):
            for name in {current[u] for u in grp}:
                g.add_edge(("p", i), ("n", name), weight=sum(current[u] == name for u in grp))
        kept = sum(g.edges[e]["weight"] for e in nx.max_weight_matching(g))
        best = min(best, len(current) - kept)
    return best


def strip_parts(p: Problem, c: Constraints, codes: list[str]) -> list[list[list[str]]]:
    """Brute force on a strip (``codes`` in a row): every valid split into runs.

    On a path every footprint in one piece is a run of neighbours, so the 2^(n-1) ways to
    cut the row are every plan there is.
    """
    out = []
    for cuts in range(1 << (len(codes) - 1)):
        part, run = [], [codes[0]]
        for i, u in enumerate(codes[1:]):
            if cuts >> i & 1:
                part.append(run)
                run = []
            run.append(u)
        part.append(run)
        plan = {u: f"P{i}" for i, grp in enumerate(part) for u in grp}
        if not validate_plan(p, plan, c):
            out.append(part)
    return out


def moved(result, current: Mapping[str, str]) -> int:
    return sum(1 for u, f in current.items() if result.assignment[u] != f)


def _proven(p: Problem, floor: int) -> dict[str, str]:
    r = optimise(p, Constraints(min_population=floor, la_rule="off", time_limit=30))
    assert r.status == "optimal", r.reasons
    return dict(r.assignment)


def _repaired_honestly(p: Problem, c: Constraints, current, parts):
    """The repair of ``current``, held to brute force over the valid ``parts``: valid, what it
    reports is what its plan moves, its bound never above the truth, optimal only when it is."""
    r = optimise(p, c, current=current)
    best = least_moves(parts, current)
    assert r.ok, r.reasons
    assert validate_plan(p, dict(r.assignment), c, current=current) == []
    assert r.objective_value == moved(r, current)
    assert r.bound is not None and r.bound <= best + 1e-6
    if r.status == "optimal":
        assert r.objective_value == best
    return r


@pytest.mark.slow
def test_small_repairs_on_tiny_grids_match_brute_force() -> None:
    within, cases = 0, 0
    for seed in range(3):
        p = _grid(3, 3, seed=seed)
        plan = _proven(p, 250)
        rng = random.Random(seed)
        c = Constraints(
            objective="fewest-changes", min_population=250, la_rule="off", time_limit=10
        )
        parts = valid_parts(p, c)
        for k in range(1, 9):
            current = break_plan(p, plan, k, rng)
            r = _repaired_honestly(p, c, current, parts)
            cases += 1
            within += r.objective_value <= k
    assert within >= 0.9 * cases, f"tiny grids: {within} of {cases} repairs move at most k units"


@pytest.mark.slow
def test_repairs_of_far_apart_breaks_on_a_strip_match_brute_force() -> None:
    """A 1 x 12 strip broken in several places far apart: each place is repaired and
    bounded on its own, so the bound adds up; never above what brute force finds."""
    proven, cases = 0, 0
    for seed in range(4):
        p = _grid(12, 1, seed=10 + seed)
        codes = [f"r0c{i}" for i in range(12)]
        plan = _proven(p, 250)
        c = Constraints(
            objective="fewest-changes", min_population=250, la_rule="off", time_limit=10
        )
        parts = strip_parts(p, c, codes)
        rng = random.Random(seed)
        for k in (2, 3, 4, 5):
            current = break_plan(p, plan, k, rng)
            r = _repaired_honestly(p, c, current, parts)
            cases += 1
            proven += r.status == "optimal"
    assert proven >= 0.75 * cases, f"strips: {proven} of {cases} repairs proven"


@pytest.mark.realdata
@pytest.mark.slow
def test_small_repairs_of_the_300k_la_off_optimum(dataset) -> None:
    p = Problem.from_dataset(dataset)
    r0 = optimise(p, Constraints(min_population=300_000, la_rule="off", time_limit=180))
    assert r0.status == "optimal" and r0.objective_value == 125
    plan = dict(r0.assignment)
    within, proven, seen = 0, 0, []
    for k in range(1, 9):
        current = break_plan(p, plan, k, random.Random(k))
        c = Constraints(
            objective="fewest-changes", min_population=300_000, la_rule="off", time_limit=10
        )
        r = optimise(p, c, current=current)
        assert r.ok, r.reasons
        assert validate_plan(p, dict(r.assignment), c, current=current) == []
        assert r.objective_value == moved(r, current)
        assert r.bound is not None and r.bound <= r.objective_value + 1e-6
        within += r.objective_value <= k
        proven += r.status == "optimal"
        seen.append(f"k={k}: {r.objective_value:g} moved, bound {r.bound:g}, {r.status}")
    assert within >= 6, seen
    assert proven >= 6, seen  # the broken footprints repaired and bounded part by part
