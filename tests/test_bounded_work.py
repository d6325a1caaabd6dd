"""Work that must stay bounded on large maps: model sizes, deadlines, near-linear passes.

No timings here: each test counts what was built or called, or stops a stage with a
limit, and checks that the answer stays valid and says in words what happened.
"""

from __future__ import annotations

import random
import re
import time

import networkx as nx
import pytest

import footprint.feasibility as feasibility
import footprint.rule_text as rule_text
from footprint._sets import TooManySets, floor_sets
from footprint.constraints import Constraints
from footprint.feasibility import prepare
from footprint.optimiser import budget, construct, districting, optimise, state
from footprint.problem import Problem
from footprint.rule_text import read_rule, unit_lookup
from footprint.validate import validate_plan


def grid(w: int, h: int, pop: int = 1_000) -> Problem:
    """A w x h grid of 1 km squares, each holding ``pop`` people; codes 'r<row>c<col>'."""
    codes = [f"r{j}c{i}" for j in range(h) for i in range(w)]
    edges = [(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(h) for i in range(w - 1)]
    edges += [(f"r{j}c{i}", f"r{j + 1}c{i}") for j in range(h - 1) for i in range(w)]
    return Problem.build(
        populations=dict.fromkeys(codes, pop),
        edges=edges,
        x={f"r{j}c{i}": i * 1000.0 for j in range(h) for i in range(w)},
        y={f"r{j}c{i}": j * 1000.0 for j in range(h) for i in range(w)},
    )


@pytest.fixture
def tiny_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that builds models of at most 1,000 variables, and never lists model pairs."""
    monkeypatch.setattr(budget, "MODEL_MAX_VARIABLES", 1_000)

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("the districting model's pairs were listed")

    monkeypatch.setattr(districting, "allowed_partners", never)


def assert_valid(p: Problem, result, c: Constraints, current=None) -> None:
    assert result.ok, result.reasons
    assert set(result.assignment) == set(p.codes)
    assert validate_plan(p, dict(result.assignment), c, current=current) == []


# --- the districting model is not built when it would not fit ---------------------------------


@pytest.mark.slow  # each runs to its 3 s limit
@pytest.mark.parametrize("objective", ["compact", "balanced"])
def test_a_short_limit_with_no_floor_sets_still_answers_with_a_grown_plan(
    monkeypatch: pytest.MonkeyPatch, objective: str
) -> None:
    """On a busy server a short limit can run out during the floor sets, leaving too little
    time to build and start the model (England at 1,000,000 with the LA rule off, 40
    footprints, 5 to 15 s: no plan at all before); a plan grown from seeds is then the
    answer, valid and honestly only feasible."""
    from footprint.optimiser.objectives import compact

    monkeypatch.setattr(compact, "packing_bound", lambda *_a, **_k: None)  # out of time
    p = grid(15, 15)  # 225 units: 50,400 model variables, about 9 s to build and start
    c = Constraints(
        objective=objective, n_footprints=6, min_population=30_000, la_rule="off", time_limit=3
    )
    r = optimise(p, c)
    assert_valid(p, r, c)
    assert r.status == "feasible" and r.footprints == 6
    grown = [s for s in r.stages if s["stage"] == "footprints grown from seeds"]
    assert grown and grown[0]["status"] == "plan"


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_compact_on_a_map_too_large_for_the_model_says_so_and_still_plans(tiny_cap) -> None:
    p = grid(60, 60)  # 3,600 units: 1.3e7 node x centre pairs
    c = Constraints(
        objective="compact", n_footprints=12, min_population=200_000, la_rule="off", time_limit=4
    )
    r = optimise(p, c)
    assert_valid(p, r, c)
    assert r.footprints == 12
    # no bound from the model, but one from the floor's nearest people (linear in the units)
    assert r.status == "feasible" and r.bound is not None and 0 < r.bound <= r.objective_value
    assert any(s["stage"] == "compact: bound without the model" for s in r.stages)
    assert any(
        re.search(
            r"districting model for 3,600 units would hold 1\.3e7 variables, more than the 1,000 "
            r"this server builds, so it was not built; the plan below comes from the quick "
            r"constructions and local search",
            why,
        )
        for why in r.reasons
    )
    refused = [s for s in r.stages if s.get("status") == "too large"]
    assert refused and refused[0]["variables"] == 3_600 * 3_600
    assert refused[0]["reason"].startswith("the districting model for 3,600 units")


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_max_footprints_on_a_map_too_large_for_the_model_is_proven_by_population() -> None:
    p = grid(60, 60)
    c = Constraints(min_population=200_000, la_rule="off", time_limit=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(budget, "MODEL_MAX_VARIABLES", 1_000)
        r = optimise(p, c)
    assert_valid(p, r, c)
    # 3,600,000 people in footprints of at least 200,000: at most 18, and 18 were found
    assert r.footprints == 18 and r.bound == 18 and r.status == "optimal"
    assert any("would hold 1.3e7 variables" in why for why in r.reasons)


def test_no_plan_on_a_map_too_large_for_the_model_says_why_in_words(tiny_cap, monkeypatch):
    monkeypatch.setattr(construct, "grown_plan", lambda *_a, **_k: None)  # constructions fail
    p = grid(40, 40)
    c = Constraints(
        objective="compact", n_footprints=2, min_population=600_000, la_rule="off", time_limit=3
    )
    r = optimise(p, c)
    # no plan; what any plan would cost at least is still said (the floor's nearest people)
    assert r.status == "no-solution" and not r.assignment and r.bound is not None and r.bound > 0
    assert any(
        re.search(
            r"would hold 2\.6e6 variables, more than the 1,000 this server "
            r"builds, so it was not built; and the quick constructions found "
            r"no valid plan",
            why,
        )
        for why in r.reasons
    ), r.reasons


def test_fewest_changes_on_a_map_too_large_for_its_model_says_so(tiny_cap) -> None:
    p = grid(30, 30)
    current = {u: f"band{int(u.split('c')[0][1:]) // 5}" for u in p.codes}  # six of 150,000
    # a square of the top band drawn into the bottom one puts that footprint in pieces; with
    # a cap on the count the repair cannot be proven near it, so the full model is needed
    current["r29c0"] = "band0"
    c = Constraints(
        objective="fewest-changes",
        min_population=100_000,
        la_rule="off",
        n_footprints=(1, 6),
        time_limit=4,
    )
    r = optimise(p, c, current=current)
    assert_valid(p, r, c, current=current)
    assert r.objective_value == 1
    assert any("fewest-changes model for 900 units would hold" in why for why in r.reasons)


def test_a_current_plan_that_keeps_every_rule_is_returned_at_once_moving_nothing() -> None:
    p = grid(30, 30)
    current = {u: f"band{int(u.split('c')[0][1:]) // 5}" for u in p.codes}
    c = Constraints(objective="fewest-changes", min_population=100_000, la_rule="off")
    r = optimise(p, c, current=current)
    assert_valid(p, r, c, current=current)
    assert r.status == "optimal" and r.objective_value == 0 and r.bound == 0
    assert r.assignment == current
    assert [s["stage"] for s in r.stages] == ["preparation", "floor sets"]  # no model solved


def test_the_model_size_is_counted_exactly_without_listing_it() -> None:
    rng = random.Random(3)
    for _ in range(30):
        w, h = rng.randint(2, 6), rng.randint(1, 5)
        p = Problem.build(
            populations={f"r{j}c{i}": rng.randint(0, 50) for j in range(h) for i in range(w)},
            edges=[(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(h) for i in range(w - 1)]
            + [(f"r{j}c{i}", f"r{j + 1}c{i}") for j in range(h - 1) for i in range(w)],
        )
        apart = [tuple(rng.sample(p.codes, 2)) for _ in range(rng.randint(0, 3))]
        c = Constraints(
            min_population=0,
            la_rule="off",
            keep_apart=apart,
            max_population=rng.choice([None, 40, 60, 100]),
        )
        inst, _ = prepare(p, c)
        if inst is None:
            continue
        assert budget.hess_size(inst) == sum(
            len(v) for v in districting.allowed_partners(inst).values()
        )


# --- deadlines and counts stop long stages honestly -------------------------------------------


def test_floor_sets_stop_at_their_deadline_and_at_their_size() -> None:
    p = grid(20, 20)
    nbrs = {u: set(v) for u, v in p.neighbours().items()}
    with pytest.raises(TooManySets, match="time budget passed"):
        floor_sets(p.codes, nbrs, p.populations, floor=40_000, deadline=time.perf_counter())
    with pytest.raises(TooManySets, match="sets holding more than 1,000 nodes in all"):
        floor_sets(p.codes, nbrs, p.populations, floor=40_000, max_entries=1_000)


def test_a_tiny_time_limit_stops_the_floor_sets_and_the_answer_stays_honest() -> None:
    # 400 units with footprints of 40: far too many floor sets to list in a second
    p = grid(20, 20)
    c = Constraints(min_population=40_000, la_rule="off", time_limit=1)
    r = optimise(p, c)
    floor = [s for s in r.stages if s["stage"] == "floor sets"]
    assert floor and floor[0]["status"] == "too many"
    if r.ok:
        assert_valid(p, r, c)
        assert r.bound is not None and r.footprints <= r.bound <= 10
    else:
        assert r.status == "no-solution"
        assert r.reasons and re.search(r"time limit of 1 s", " ".join(r.reasons))


def test_a_grown_plan_keeps_every_rule() -> None:
    p = grid(12, 12)
    apart = [("r0c0", "r11c11"), ("r2c3", "r9c8")]
    c = Constraints(
        objective="compact",
        n_footprints=4,
        min_population=30_000,
        max_population=60_000,
        la_rule="off",
        keep_apart=apart,
    )
    inst, checks = prepare(p, c)
    assert inst is not None, checks
    plan = construct.grown_plan(inst, target=inst.total / 4.5, until=time.perf_counter() + 60)
    assert plan is not None and state.plan_ok(inst, plan)
    assert len(set(plan.values())) == 4


# --- passes that were quadratic or cubic ------------------------------------------------------


def test_a_keep_together_line_of_1600_codes_reads_in_linear_work(monkeypatch) -> None:
    codes = [f"E38{i:06d}" for i in range(2_000)]
    lookup = unit_lookup(codes, names=[f"NHS North, East, Place {i}" for i in range(2_000)])
    calls = 0
    key = rule_text._key

    def counted(text: str) -> str:
        nonlocal calls
        calls += 1
        return key(text)

    monkeypatch.setattr(rule_text, "_key", counted)
    rule, problem = read_rule(", ".join(codes[:1_600]), kind="group", lookup=lookup)
    assert problem is None and rule == tuple(codes[:1_600])
    # each item tries at most as many items as the longest name spans (3 here), and the key
    # found is made once more to look it up; trying every
    # run to the end of the line made 1,281,200 keys of up to 1,600 items each
    assert calls <= 4 * 1_600


def test_a_name_with_commas_is_still_read_within_a_long_line() -> None:
    lookup = unit_lookup(["E1", "E2"], names=["NHS North, East, West Devon", "NHS Kernow"])
    line = ", ".join(["E2"] * 500 + ["NHS North, East, West Devon"] + ["E2"] * 500)
    rule, problem = read_rule(line, kind="group", lookup=lookup)
    assert problem is None and rule.count("E1") == 1 and len(rule) == 1_001


def test_keep_together_of_1600_units_under_a_ceiling_prepares_in_linear_work(monkeypatch):
    p = grid(60, 60)
    group = frozenset(f"r{j}c{i}" for j in range(40) for i in range(40))  # 1,600 units
    c = Constraints(
        min_population=100_000, max_population=2_000_000, la_rule="off", keep_together=(group,)
    )
    calls = 0
    components = nx.connected_components

    def counted(g):
        nonlocal calls
        calls += 1
        return components(g)

    monkeypatch.setattr(feasibility.nx, "connected_components", counted)
    inst, checks = prepare(p, c)
    assert inst is not None, checks
    assert len(inst.nodes) == 3_600 - 1_600 + 1
    # the check for parts of the map reaching the rest through one node searched the map
    # again without each node (2,001 searches); one search gives every node's parts now
    assert calls <= 5


def test_keep_together_of_1600_units_under_a_ceiling_still_names_the_satellites() -> None:
    # a 1,600-unit block with a strip of 40 units along one side: the strip reaches the rest
    # only through the block, so the block and the strip must fit under the ceiling together
    p = grid(40, 41)
    group = frozenset(f"r{j}c{i}" for j in range(40) for i in range(40))
    c = Constraints(
        min_population=100_000, max_population=1_620_000, la_rule="off", keep_together=(group,)
    )
    inst, checks = prepare(p, c)
    assert inst is None
    assert [ch.name for ch in checks] == ["satellites-above-ceiling"]
    assert "one footprint must hold it and " in checks[0].message
    assert "(1,640,000), above the ceiling" in checks[0].message


@pytest.mark.parametrize("seed", range(40))
def test_the_parts_without_each_node_match_taking_it_away(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 14)
    g = nx.relabel_nodes(
        nx.gnp_random_graph(n, rng.uniform(0.05, 0.5), seed=seed), {i: f"v{i}" for i in range(n)}
    )
    pop = {v: rng.randint(0, 5) for v in g}
    got = feasibility._pieces_without(g, pop)
    for h in g:
        rest = nx.node_connected_component(g, h) - {h}
        want = sorted(
            sum(pop[m] for m in part) for part in nx.connected_components(g.subgraph(rest))
        )
        assert sorted(got[h]) == want


def gateways_by_taking_each_away(g: nx.Graph, n: str, pop, floor: int) -> dict[str, int]:
    part = g.subgraph(nx.node_connected_component(g, n))
    out = {}
    for h in part:
        if h != n:
            left = sum(
                pop[m] for m in nx.node_connected_component(part.subgraph(part.nodes - {h}), n)
            )
            if left < floor:
                out[h] = left
    return out


@pytest.mark.parametrize("seed", range(80))
def test_gateways_from_one_search_match_taking_each_node_away(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 14)
    g = nx.relabel_nodes(
        nx.gnp_random_graph(n, rng.uniform(0.1, 0.6), seed=seed), {i: f"v{i}" for i in range(n)}
    )
    pop = {v: rng.randint(0, 5) for v in g}
    start, *rest = sorted(g)
    without = set(rng.sample(rest, rng.randint(0, min(2, len(rest)))))
    floor = rng.randint(0, 25)
    nbrs = {v: set(g[v]) for v in g}
    kept = g.subgraph(set(g) - without)
    whole = sum(pop[m] for m in nx.node_connected_component(kept, start))
    want = gateways_by_taking_each_away(kept, start, pop, floor)
    reach, gates = feasibility._reach_and_gates(start, nbrs, without=without, pop=pop, floor=floor)
    assert reach == whole and gates == want


def test_pairs_kept_apart_on_a_large_map_prepare_in_linear_work(monkeypatch) -> None:
    p = grid(60, 60)
    rng = random.Random(0)
    apart = [tuple(rng.sample(p.codes, 2)) for _ in range(20)]
    c = Constraints(min_population=100_000, max_population=900_000, la_rule="off", keep_apart=apart)
    searches = 0
    search = feasibility._reach_and_gates

    def counted(*a, **k):
        nonlocal searches
        searches += 1
        return search(*a, **k)

    def never(*_a, **_k):
        raise AssertionError("a part of the map was searched again for one node")

    monkeypatch.setattr(feasibility, "_reach_and_gates", counted)
    monkeypatch.setattr(feasibility.nx, "node_connected_component", never)
    inst, checks = prepare(p, c)
    assert inst is not None, checks
    # one search per node kept apart, none per articulation point or per node taken away
    # (each node took two searches of the map and one more per articulation point)
    assert searches <= 2 * len(apart)


def widest_join_by_networkx(n, pieces, *, node_of, unit_nbrs, node_graph, pop, cap, apart):
    """The check as it was: a search of the whole map from every piece."""
    usable = {m for m in node_graph if m != n and m not in apart and pop[n] + pop[m] <= cap}
    g = nx.Graph(node_graph.subgraph(usable))
    for i, piece in enumerate(pieces):
        g.add_node(("piece", i))
        for u in piece:
            g.add_edges_from(
                (("piece", i), node_of[v]) for v in unit_nbrs[u] if node_of[v] in usable
            )

    def entering(_u, v, _d):
        return 0 if isinstance(v, tuple) else pop[v]

    for i in range(len(pieces)):
        dist = nx.single_source_dijkstra_path_length(g, ("piece", i), weight=entering)
        for j in range(i + 1, len(pieces)):
            through = dist.get(("piece", j))
            if through is None or pop[n] + through > cap:
                return (pieces[i][0], pieces[j][0]), through
    return None


@pytest.mark.parametrize("seed", range(60))
def test_joining_pieces_under_a_ceiling_searches_near_them_with_the_same_answer(seed):
    rng = random.Random(seed)
    w, h = rng.randint(3, 6), rng.randint(3, 6)
    units = [f"u{j}_{i}" for j in range(h) for i in range(w)]
    unit_nbrs = {u: set() for u in units}
    for j in range(h):
        for i in range(w):
            for dj, di in ((0, 1), (1, 0)):
                if j + dj < h and i + di < w and rng.random() < 0.85:
                    a, b = f"u{j}_{i}", f"u{j + dj}_{i + di}"
                    unit_nbrs[a].add(b)
                    unit_nbrs[b].add(a)
    held = set(rng.sample(units, rng.randint(2, 4)))  # the units of node X, maybe apart
    node_of = {u: ("X" if u in held else u) for u in units}
    node_graph = nx.Graph()
    node_graph.add_nodes_from(set(node_of.values()))
    node_graph.add_edges_from(
        (node_of[a], node_of[b]) for a in units for b in unit_nbrs[a] if node_of[a] != node_of[b]
    )
    sub = nx.Graph()
    sub.add_nodes_from(held)
    sub.add_edges_from((a, b) for a in held for b in unit_nbrs[a] if b in held)
    pieces = sorted((sorted(p) for p in nx.connected_components(sub)), key=lambda p: p[0])
    pop = {m: rng.randint(0, 9) for m in node_graph}
    kw = dict(
        node_of=node_of,
        unit_nbrs=unit_nbrs,
        node_graph=node_graph,
        pop=pop,
        cap=rng.randint(5, 40),
        apart=set(rng.sample(sorted(node_graph), 2)) - {"X"},
    )
    assert feasibility._widest_join("X", pieces, **kw) == widest_join_by_networkx("X", pieces, **kw)
    # on a large map only the first piece is searched from: what it names is still named
    old = widest_join_by_networkx("X", pieces, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feasibility, "_JOIN_WORK", 0)
        got = feasibility._widest_join("X", pieces, **kw)
    if old is not None and old[0][0] == pieces[0][0]:
        assert got == old
    assert got is None or got[0][0] == pieces[0][0]
