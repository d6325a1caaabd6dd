"""Firm and arbitrary groupings: sampled plans against every optimal plan found by brute force."""

from __future__ import annotations

import folium
import pytest

from footprint import Constraints, Problem, validate_plan
from footprint.errors import ConstraintsError
from footprint.groupings import (
    BORDER_COLOURS,
    _signature,
    groupings_geojson,
    groupings_layer,
    sample_groupings,
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


def _optimal_plans(problem: Problem, c: Constraints) -> set[frozenset[frozenset[str]]]:
    """Brute force: every valid plan with the largest count."""
    valid = []
    for part in _partitions(list(problem.codes)):
        plan = {u: str(i) for i, grp in enumerate(part) for u in grp}
        if not validate_plan(problem, plan, c):
            valid.append(part)
    most = max(len(p) for p in valid)
    return {frozenset(frozenset(g) for g in p) for p in valid if len(p) == most}


def _grid(w: int, h: int, pops: list[int], blocks: dict[str, str] | None = None) -> Problem:
    codes = [f"r{j}c{i}" for j in range(h) for i in range(w)]
    edges = [(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(h) for i in range(w - 1)]
    edges += [(f"r{j}c{i}", f"r{j + 1}c{i}") for j in range(h - 1) for i in range(w)]
    return Problem.build(
        populations=dict(zip(codes, pops, strict=True)),
        edges=edges,
        blocks={c: (blocks or {}).get(c, c) for c in codes},
        names={c: f"<b>{c}</b> & co" for c in codes},
        x={f"r{j}c{i}": 1000.0 * i for j in range(h) for i in range(w)},
        y={f"r{j}c{i}": 1000.0 * j for j in range(h) for i in range(w)},
    )


def test_dominoes_always_sometimes_never():
    # a 3 x 2 grid of 10s at floor 20: three footprints of two squares. With the left
    # column one LA block, two tilings are left: the middle and right columns stand
    # (vertical dominoes) or lie (two horizontal ones)
    problem = _grid(3, 2, [10] * 6, blocks={"r0c0": "L", "r1c0": "L"})
    c = Constraints(min_population=20, la_rule="whole-la")
    g = sample_groupings(problem, c, plans=10, seconds=4, resolves=2)
    assert {_signature(p) for p in g.sampled} == _optimal_plans(problem, c)
    assert (g.plans, g.footprints, g.status) == (2, 3, "optimal")
    share = {(p.a, p.b): p for p in g.pairs}
    assert share[("r0c0", "r1c0")].kind == "always" and share[("r0c0", "r1c0")].forced
    assert share[("r0c0", "r0c1")].kind == "never"
    assert share[("r0c1", "r1c1")].share == 0.5 and share[("r0c1", "r1c1")].kind == "sometimes"
    assert share[("r0c1", "r0c2")].kind == "sometimes"
    assert set(g.open_units()) == {"r0c1", "r0c2", "r1c1", "r1c2"}
    assert g.open_units()["r0c1"] == ("r0c2", "r1c1")
    assert g.rejected == 0
    assert g.kinds() == {"always": 1, "sometimes": 4, "never": 2}
    text = g.how_drawn()
    assert "2 distinct valid plans of 3 footprints" in text
    assert "not the probability that a plan is right" in text


def test_walk_finds_every_optimal_plan_of_a_small_grid():
    problem = _grid(4, 2, [12, 7, 30, 9, 14, 25, 8, 16])
    c = Constraints(min_population=20, la_rule="off")
    best = _optimal_plans(problem, c)
    g = sample_groupings(problem, c, plans=len(best) + 5, seconds=6, resolves=0)
    assert {_signature(p) for p in g.sampled} == best
    assert g.drawn["recombination walk"] == len(best) - 1
    for p in g.sampled:
        assert validate_plan(problem, p, c) == []
    # each share is the brute-force share: every optimal plan was drawn once
    for p in g.pairs:
        n = sum(any(p.a in f and p.b in f for f in plan) for plan in best)
        assert p.together == n and p.plans == len(best)


def test_re_solves_prove_a_pair_firm_or_split_it():
    # with the rule off, 2 x 2 squares of 10 at floor 20 tile two ways; the walk is given
    # no time, so each always-together pair of the first plan is re-solved kept apart
    problem = _grid(2, 2, [10, 10, 10, 30])
    c = Constraints(min_population=20, la_rule="off")
    best = _optimal_plans(problem, c)
    g = sample_groupings(problem, c, plans=2, seconds=30, resolves=4)
    for p in g.pairs:
        n = sum(any(p.a in f and p.b in f for f in plan) for plan in best)
        if p.proven_firm:
            assert n == len(best), p  # proven firm: together in every optimal plan
        if p.kind == "never":
            assert n < len(best)


def test_no_plan_to_sample_says_why():
    problem = _grid(2, 1, [10, 10])
    g = sample_groupings(problem, Constraints(min_population=50, la_rule="off"), seconds=5)
    assert g.plans == 0 and g.pairs == () and g.reasons
    assert g.status == "infeasible"


def test_bad_requests_in_one_error():
    problem = _grid(2, 1, [10, 10])
    with pytest.raises(ConstraintsError) as err:
        sample_groupings(
            problem,
            Constraints(objective="compact", n_footprints=1, locked=("A",)),
            plans=1,
            seconds=0,
        )
    text = str(err.value)
    for part in ("objective: got 'compact'", "locked: got 'A'", "plans: got 1", "seconds: got 0"):
        assert part in text


def test_layer_escapes_names_and_colours_each_kind(geography):
    # the real CCG shapes carry the layer; a plan of their own names
    from footprint.groupings import Groupings, PairShare

    codes = list(geography.units["code"])[:3]
    pairs = (
        PairShare(codes[0], codes[1], together=2, plans=2),
        PairShare(codes[1], codes[2], together=1, plans=2),
        PairShare(codes[0], codes[2], together=0, plans=2),
    )
    g = Groupings(
        constraints=Constraints(),
        footprints=2,
        status="optimal",
        bound=2,
        plans=2,
        drawn={"optimiser": 1, "recombination walk": 1},
        walk_steps=10,
        rejected=0,
        resolves=0,
        proven_firm=0,
        pairs=pairs,
    )
    data = groupings_geojson(geography, g)
    assert [f["properties"]["kind"] for f in data["features"]] == ["always", "sometimes", "never"]
    assert "1 of 2 plans (50%)" in data["features"][1]["properties"]["tooltip"]
    m = folium.Map()
    groupings_layer(geography, g).add_to(m)
    page = m.get_root().render()
    assert all(colour in page for colour in BORDER_COLOURS.values())


def test_markup_in_names_is_escaped_in_the_layer(monkeypatch):
    import geopandas as gpd
    from shapely.geometry import box

    from footprint.groupings import Groupings, PairShare

    class _Geo:
        units = gpd.GeoDataFrame(
            {"code": ["a", "b"], "name": ["<script>x</script>", "B & co"]},
            geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
            crs=27700,
        )

    g = Groupings(
        constraints=Constraints(),
        footprints=1,
        status="optimal",
        bound=1,
        plans=1,
        drawn={},
        walk_steps=0,
        rejected=0,
        resolves=0,
        proven_firm=0,
        pairs=(PairShare("a", "b", together=1, plans=1),),
    )
    m = folium.Map()
    groupings_layer(_Geo(), g).add_to(m)
    page = m.get_root().render()
    assert "<script>x</script>" not in page
    # escaped as text, then written into the page as JSON
    assert "\\u0026lt;script\\u0026gt;x\\u0026lt;/script\\u0026gt; \\u2013 B \\u0026amp; co" in page


@pytest.mark.realdata
def test_every_real_border_is_a_line_and_the_map_measures_its_extent(dataset):
    # two CCG boundaries often meet in an edge and a stray point (a GeometryCollection, which
    # has no coordinates): folium's get_bounds, which st_folium calls, failed on them
    from footprint.groupings import Groupings, PairShare

    problem = Problem.from_dataset(dataset)
    pairs = tuple(
        PairShare(a, b, together=i % 3, plans=2) for i, (a, b) in enumerate(problem.edges)
    )
    g = Groupings(
        constraints=Constraints(),
        footprints=1,
        status="optimal",
        bound=1,
        plans=2,
        drawn={"optimiser": 2},
        walk_steps=0,
        rejected=0,
        resolves=0,
        proven_firm=0,
        pairs=pairs,
    )
    data = groupings_geojson(dataset.geography, g)
    assert len(data["features"]) == len(pairs) == 540
    kinds = {f["geometry"]["type"] for f in data["features"]}
    assert kinds <= {"LineString", "MultiLineString"}
    m = folium.Map()
    groupings_layer(dataset.geography, g).add_to(m)
    (south, west), (north, east) = m.get_bounds()
    assert 49.8 < south < north < 55.9 and -6.5 < west < east < 1.8  # England


@pytest.mark.realdata
@pytest.mark.slow
def test_england_300000_whole_la(dataset):
    problem = Problem.from_dataset(dataset)
    c = Constraints(min_population=300_000, la_rule="whole-la", time_limit=20)
    g = sample_groupings(problem, c, plans=60, seconds=60, resolves=2)
    assert g.footprints == 91 and g.status == "optimal"
    assert g.plans >= 60 and g.rejected == 0
    kinds = g.kinds()
    assert kinds["always"] and kinds["sometimes"] and kinds["never"]
    for p in g.sampled[:5]:
        assert validate_plan(problem, p, g.constraints) == []
