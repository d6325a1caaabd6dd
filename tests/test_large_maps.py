"""Large maps: when the districting model is too large to build, the result says so (a
reason and a stage) and still reports a bound, from a method linear in the units."""

from __future__ import annotations

import random

import pytest

from footprint.constraints import Constraints
from footprint.feasibility import prepare
from footprint.optimiser import budget, optimise
from footprint.optimiser.districting import floor_ball_bound
from footprint.optimiser.state import hub_cost
from footprint.problem import Problem
from footprint.validate import validate_plan


def _grid(w: int, h: int, *, seed: int) -> Problem:
    rng = random.Random(seed)
    codes = [f"r{j}c{i}" for j in range(h) for i in range(w)]
    edges = [(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(h) for i in range(w - 1)]
    edges += [(f"r{j}c{i}", f"r{j + 1}c{i}") for j in range(h - 1) for i in range(w)]
    return Problem.build(
        populations={c: rng.randint(50, 200) for c in codes},
        edges=edges,
        x={f"r{j}c{i}": i * 1000.0 + rng.uniform(-200, 200) for j in range(h) for i in range(w)},
        y={f"r{j}c{i}": j * 1000.0 + rng.uniform(-200, 200) for j in range(h) for i in range(w)},
        shared_m={e: 1000.0 for e in edges},
        areas=dict.fromkeys(codes, 1e6),
        perimeters=dict.fromkeys(codes, 4000.0),
    )


def _partitions(items: list[str]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]
        yield [[first], *part]


@pytest.mark.parametrize("seed", range(6))
def test_the_floor_ball_bound_never_exceeds_the_brute_force_optimum(seed: int) -> None:
    p = _grid(3, 3, seed=seed)
    count = 2 + seed % 2
    c = Constraints(objective="compact", min_population=250, n_footprints=count, la_rule="off")
    inst, _checks = prepare(p, c)
    assert inst is not None
    best = None
    for part in _partitions(list(p.codes)):
        if len(part) != count:
            continue
        plan = {u: f"P{i}" for i, grp in enumerate(part) for u in grp}
        if validate_plan(p, plan, c):
            continue
        cost = sum(hub_cost(inst, {inst.node_of[u] for u in grp}) for grp in part)
        best = cost if best is None else min(best, cost)
    bound = floor_ball_bound(inst, count, scale=1000.0)
    assert best is not None
    assert 0.0 < bound <= best + 1e-9  # both in the model's thousands of people x km²
    print(f"seed {seed}: bound {bound:.4g} of the optimum {best:.4g}")


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_a_model_too_large_to_build_is_said_and_a_bound_reported(monkeypatch) -> None:
    p = _grid(12, 12, seed=1)
    monkeypatch.setattr(budget, "MODEL_MAX_VARIABLES", 1_000)  # 144 nodes: 20,736 would be built
    c = Constraints(
        objective="compact", min_population=1_500, n_footprints=8, la_rule="off", time_limit=10
    )
    r = optimise(p, c)
    assert r.ok, r.reasons
    assert validate_plan(p, dict(r.assignment), c) == []
    (reason,) = r.reasons
    assert "districting model for 144 units would hold" in reason and "not built" in reason
    stages = {s["stage"]: s for s in r.stages}
    assert stages["compact: model not built"]["status"] == "too large"
    assert "compact: bound without the model" in stages
    assert r.bound is not None and 0 < r.bound <= r.objective_value
    assert r.gap is not None and 0 <= r.gap < 1
    print(
        f"144 units, model refused: value {r.objective_value:.4g}, bound {r.bound:.4g}, "
        f"gap {r.gap:.0%}"
    )
