"""Nested tiers: footprints divided into clusters, against brute force, the validator at both
levels, the named infeasibilities, the JSON, the plan file and the command line."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tempfile
from pathlib import Path

import networkx as nx
import pyogrio
import pytest
import shapely
import shapely.geometry
from helpers import tiny_dataset

from footprint.cli import main
from footprint.constraints import Constraints
from footprint.errors import ConstraintsError
from footprint.exporters import EXPORT_FORMATS
from footprint.optimiser import optimise
from footprint.plans import read_plan_csv, write_plan_csv
from footprint.problem import Problem
from footprint.validate import CLUSTER_RULES, validate_plan


def grid(w: int, h: int, pops: list[int], *, blocks: dict[str, str] | None = None) -> Problem:
    """A w x h grid of 1 km squares with rook adjacency; codes 'r<row>c<col>'."""
    codes = [f"r{j}c{i}" for j in range(h) for i in range(w)]
    edges = [(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(h) for i in range(w - 1)]
    edges += [(f"r{j}c{i}", f"r{j + 1}c{i}") for j in range(h - 1) for i in range(w)]
    return Problem.build(
        populations=dict(zip(codes, pops, strict=True)),
        edges=edges,
        blocks=blocks,
        x={f"r{j}c{i}": i * 1000.0 for j in range(h) for i in range(w)},
        y={f"r{j}c{i}": j * 1000.0 for j in range(h) for i in range(w)},
        shared_m={e: 1000.0 for e in edges},
        areas=dict.fromkeys(codes, 1e6),
        perimeters=dict.fromkeys(codes, 4000.0),
    )


def partitions(items: list):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]
        yield [[first], *part]


def nested_plans(p: Problem, c: Constraints):
    """Every valid nested plan as (footprints, clusters), each a list of unit lists."""
    g = p.graph()
    pop = p.populations
    whole = c.la_rule == "whole-la"

    def fits(group, lo, hi) -> bool:
        total = sum(pop[u] for u in group)
        return lo <= total <= (hi if hi is not None else total) and nx.is_connected(
            g.subgraph(group)
        )

    for clusters in partitions(list(p.codes)):
        if not all(fits(k, c.cluster_min_population, c.cluster_max_population) for k in clusters):
            continue
        if whole:
            block_of_cluster = {}
            for i, k in enumerate(clusters):
                for u in k:
                    block_of_cluster.setdefault(p.blocks[u], set()).add(i)
            if any(len(ks) > 1 for ks in block_of_cluster.values()):
                continue
        lo, hi = c.count_range
        for grouping in partitions(list(range(len(clusters)))):
            if len(grouping) < lo or (hi is not None and len(grouping) > hi):
                continue
            tops = [[u for i in grp for u in clusters[i]] for grp in grouping]
            if all(fits(t, c.min_population, c.max_population) for t in tops):
                yield tops, clusters


def check_nested(p: Problem, r, c: Constraints) -> None:
    """A nested result: valid at both levels, every cluster inside one footprint."""
    assert r.ok, r.reasons
    assert validate_plan(p, dict(r.assignment), c, clusters=dict(r.clusters)) == []
    assert set(r.clusters) == set(p.codes)
    for name in set(r.clusters.values()):
        units = [u for u, k in r.clusters.items() if k == name]
        tops = {r.assignment[u] for u in units}
        assert len(tops) == 1 and name.startswith(f"{tops.pop()}.")
    assert r.cluster_table is not None
    assert sorted(r.cluster_table["footprint"]) == sorted(set(r.clusters.values()))


# --- known answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("maximise", ["footprints", "clusters"])
def test_a_strip_of_six_hundreds_makes_two_footprints_of_three_clusters(maximise):
    # 100 x 6, floor 300: two footprints at most; clusters of 100 to 150: three in each
    p = grid(6, 1, [100] * 6)
    c = Constraints(
        objective="nested",
        min_population=300,
        cluster_min_population=100,
        cluster_max_population=150,
        la_rule="off",
        nested_maximise=maximise,
        time_limit=20,
    )
    r = optimise(p, c)
    check_nested(p, r, c)
    assert r.status == "optimal" and r.gap == 0
    assert r.footprints == 2 and len(set(r.clusters.values())) == 6
    assert r.objective_value == (2 if maximise == "footprints" else 6)
    assert r.levels[maximise]["proof"] == "proven the most"
    # clusters are named after their footprint, north to south
    assert sorted(set(r.clusters.values())) == [f"FP0{i}.{j}" for i in (1, 2) for j in (1, 2, 3)]


def test_the_most_clusters_can_mean_fewer_footprints_and_the_levels_say_what_is_proven():
    # 100 | 100 | 100 | 100 with a floor of 200 and clusters of 100 to 200: two footprints of
    # two clusters each, or four clusters; both proven, each level read in words
    p = grid(4, 1, [100, 100, 100, 100])
    base = {"min_population": 200, "cluster_min_population": 100, "cluster_max_population": 200}
    c = Constraints(objective="nested", la_rule="off", nested_maximise="clusters", **base)
    r = optimise(p, c)
    check_nested(p, r, c)
    assert (r.status, r.objective_value, r.bound) == ("optimal", 4.0, 4.0)
    top = r.levels["footprints"]
    assert top["bound"] is None and top["bound_for_these_clusters"] == 2
    assert "the most footprints these clusters can be grouped into (proven)" in top["proof"]
    info = json.loads(json.dumps(r.to_dict()))
    assert info["clusters"]["count"] == 4 and info["clusters"]["bound"] == 4
    assert info["clusters"]["by_footprint"] == {
        "FP01": ["FP01.1", "FP01.2"],
        "FP02": ["FP02.1", "FP02.2"],
    }
    assert (info["clusters"]["min_population"], info["clusters"]["max_population"]) == (100, 200)
    assert info["levels"]["clusters"]["proof"] == "proven the most"


# --- brute force ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("maximise", ["footprints", "clusters"])
def test_nested_matches_brute_force(seed, maximise):
    rng = random.Random(seed)
    pops = [rng.randint(50, 200) for _ in range(8)]
    blocks = None
    la_rule = "off"
    if seed % 2:  # LA blocks: two pairs of units that must share a cluster
        blocks = {"r0c0": "L1", "r1c0": "L1", "r0c2": "L2", "r0c3": "L2"}
        la_rule = "whole-la"
    p = grid(4, 2, pops, blocks=blocks)
    c = Constraints(
        objective="nested",
        min_population=350,
        cluster_min_population=150,
        cluster_max_population=350,
        la_rule=la_rule,
        nested_maximise=maximise,
        time_limit=30,
    )
    plans = list(nested_plans(p, c))
    r = optimise(p, c)
    if not plans:
        assert r.status in ("infeasible", "no-solution") and not r.assignment
        return
    best = max(len(tops if maximise == "footprints" else clusters) for tops, clusters in plans)
    check_nested(p, r, c)
    assert r.bound is not None and r.bound >= best
    value = len(set((r.assignment if maximise == "footprints" else r.clusters).values()))
    assert r.objective_value == value <= best
    if maximise == "clusters":
        # the first stage decides the count and any clusters group into footprints here
        assert r.status == "optimal" and value == best
    if r.status == "optimal":
        assert value == best


# --- infeasible, said in words -------------------------------------------------------------------


def test_an_la_block_above_the_cluster_ceiling_is_named_by_its_la():
    p = Problem.build(
        populations={"a": 600, "b": 600, "c": 500},
        edges=[("a", "b"), ("b", "c")],
        names={"a": "NHS A", "b": "NHS B", "c": "NHS C"},
        blocks={"a": "E10000016", "b": "E10000016", "c": "E06000035"},
        la_names={"E10000016": "Kent", "E06000035": "Medway"},
        population_label="registered patients (test)",
    )
    c = Constraints(
        objective="nested",
        min_population=500,
        cluster_min_population=250,
        cluster_max_population=1000,
    )
    r = optimise(p, c)
    assert r.status == "infeasible" and not r.assignment and r.bound is None
    assert [ch.name for ch in r.checks] == ["cluster-block-above-ceiling"]
    assert r.reasons[0] == (
        "LA block Kent (NHS A, NHS B; 1,200 registered patients) is above the cluster ceiling "
        "of 1,000, so it cannot sit inside one cluster; raise the cluster ceiling to at least "
        "1,200 or switch the LA rule off"
    )
    # with the LA rule off the same map divides
    off = c.replace(la_rule="off")
    check_nested(p, optimise(p, off), off)


def test_cluster_level_checks_are_said_as_the_cluster_level():
    p = grid(3, 1, [100, 100, 100])
    c = Constraints(
        objective="nested",
        min_population=200,
        cluster_min_population=400,
        cluster_max_population=800,
        la_rule="off",
    )
    r = optimise(p, c)
    assert r.status == "infeasible"
    assert [ch.name for ch in r.checks] == ["cluster-component-below-floor"]
    assert r.reasons[0].startswith("At the cluster level (400 to 800 population): ")


def test_a_count_the_top_level_cannot_reach_is_refused_with_its_reason():
    p = grid(4, 1, [100] * 4)
    c = Constraints(
        objective="nested",
        min_population=200,
        n_footprints=3,
        cluster_min_population=100,
        cluster_max_population=200,
        la_rule="off",
    )
    r = optimise(p, c)
    assert r.status == "infeasible"
    assert "count-unreachable" in [ch.name for ch in r.checks]


# --- the validator at both levels ----------------------------------------------------------------

STRIP = grid(3, 1, [100, 100, 100], blocks={"r0c0": "L1", "r0c1": "L1", "r0c2": "L2"})
NESTED = Constraints(
    objective="nested", min_population=300, cluster_min_population=100, cluster_max_population=200
)


@pytest.mark.parametrize(
    ("top", "clusters", "rules", "words"),
    [
        (
            {"r0c0": "T", "r0c1": "T", "r0c2": "T"},
            {"r0c0": "T.1", "r0c1": "T.1"},
            ["cluster-unassigned"],
            r"1 unit \(100 population\) has no cluster: r0c2; assign every unit to a cluster",
        ),
        (
            {"r0c0": "T", "r0c1": "T", "r0c2": "U"},
            {"r0c0": "X", "r0c1": "X", "r0c2": "X"},
            ["floor", "floor", "cluster-nesting", "cluster-ceiling"],
            r"cluster 'X' spans 2 footprints: 'T' \(r0c0, r0c1\); 'U' \(r0c2\); put each "
            "cluster inside one footprint",
        ),
        (
            {"r0c0": "T", "r0c1": "T", "r0c2": "T"},
            {"r0c0": "X", "r0c1": "X", "r0c2": "X"},
            ["cluster-ceiling"],
            r"cluster 'X' has 300 population, above the ceiling of 200 \(100 over\); move units "
            "on its edge to a neighbouring cluster",
        ),
        (
            {"r0c0": "T", "r0c1": "T", "r0c2": "T"},
            {"r0c0": "X", "r0c1": "Y", "r0c2": "X"},
            ["cluster-contiguity", "cluster-la-rule"],
            r"cluster 'X' is in 2 separate pieces: \[r0c0\] \(100 population\); \[r0c2\]",
        ),
        (
            {"r0c0": "T", "r0c1": "T", "r0c2": "T"},
            {"r0c0": "X", "r0c1": "Y", "r0c2": "Y"},
            ["cluster-la-rule"],
            r"LA block L1 \(2 units\) is split across 2 clusters: 'X' \(r0c0\); 'Y' \(r0c1\); "
            "put the whole block in one cluster",
        ),
    ],
)
def test_the_validator_checks_the_clusters(top, clusters, rules, words):
    vs = validate_plan(STRIP, top, NESTED, clusters=clusters)
    assert [v.rule for v in vs] == rules
    assert set(rules) - {"floor"} <= set(CLUSTER_RULES)
    assert any(re.search(words, v.message) for v in vs), [v.message for v in vs]


def test_a_cluster_below_its_floor_is_reported_and_without_clusters_only_the_top_is_checked():
    c = NESTED.replace(cluster_min_population=150, cluster_max_population=300)
    top = dict.fromkeys(STRIP.codes, "T")
    clusters = {"r0c0": "X", "r0c1": "X", "r0c2": "Y"}
    vs = validate_plan(STRIP, top, c, clusters=clusters)
    assert [(v.rule, v.footprint) for v in vs] == [("cluster-floor", "Y")]
    assert "cluster 'Y' has 100 population, below the floor of 150 (50 short)" in vs[0].message
    assert validate_plan(STRIP, top, c) == []
    assert validate_plan(STRIP, top, c, clusters=dict.fromkeys(STRIP.codes, "X")) == []


# --- constraints ---------------------------------------------------------------------------------


def test_nested_constraints_round_trip_and_leave_other_objectives_json_as_it_was():
    c = Constraints(
        objective="nested",
        cluster_min_population=200_000,
        cluster_max_population=900_000,
        nested_maximise="clusters",
    )
    assert Constraints.from_json(c.to_json()) == c
    data = c.to_dict()
    assert (data["cluster_min_population"], data["nested_maximise"]) == (200_000, "clusters")
    assert "cluster_min_population" in Constraints(objective="nested").to_dict()
    plain = Constraints().to_dict()
    assert not {"cluster_min_population", "cluster_max_population", "nested_maximise"} & set(plain)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"cluster_min_population": 500, "cluster_max_population": 400},
            "cluster_max_population 400 is below cluster_min_population 500; raise the "
            "cluster ceiling or lower the cluster floor",
        ),
        (
            {"max_population": 200_000},
            "max_population 200,000 is below cluster_min_population 250,000: no footprint "
            "could hold a single cluster",
        ),
        (
            {"keep_apart": [("a", "b")]},
            "keep_apart: the nested objective does not take keep apart rules yet",
        ),
        ({"nested_maximise": "units"}, "nested_maximise: got 'units'; expected one of"),
        ({"cluster_min_population": -1}, "cluster_min_population: got -1; expected 0 or more"),
    ],
)
def test_unusable_nested_constraints_say_why(kwargs, words):
    with pytest.raises(ConstraintsError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Constraints(objective="nested", min_population=100_000, **kwargs)


# --- plan files and the command line -------------------------------------------------------------


def test_a_plan_file_keeps_the_clusters():
    p = grid(6, 1, [100] * 6)
    c = Constraints(
        objective="nested",
        min_population=300,
        cluster_min_population=100,
        cluster_max_population=150,
        la_rule="off",
    )
    r = optimise(p, c)
    data = write_plan_csv(r.assignment, codes=p.codes, clusters=r.clusters)
    assert data.decode().splitlines()[0] == "unit_code,footprint,cluster"
    back = read_plan_csv(data, known_codes=p.codes)
    assert back.assignment == dict(r.assignment) and back.clusters == dict(r.clusters)
    assert validate_plan(p, back.assignment, c, clusters=back.clusters) == []


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run the command line on the 3 x 3 grid of 100,000-patient units."""
    tiny = tiny_dataset()
    monkeypatch.setattr("footprint.loader.load_dataset", lambda data_dir=None: tiny)

    def go(*args: str) -> tuple[int, str, str]:
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    return go


@pytest.mark.parametrize("maximise", ["footprints", "clusters"])
def test_the_command_line_plans_both_levels_and_validate_reads_them_back(cli, tmp_path, maximise):
    out = tmp_path / "plan.csv"
    rc, stdout, err = cli(
        "optimise",
        "--objective",
        "nested",
        "--min-pop",
        "300000",
        "--cluster-pop",
        "100000:200000",
        "--maximise",
        maximise,
        "--la-rule",
        "whole-la",
        "--time-limit",
        "30",
        "--json",
        "--out",
        str(out),
    )
    assert rc == 0, err
    info = json.loads(stdout)
    assert (info["status"], info["footprints"], info["clusters"]["count"]) == ("optimal", 3, 9)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 9 and set(rows[0]) == {"unit_code", "footprint", "cluster"}
    assert all(row["cluster"].startswith(row["footprint"] + ".") for row in rows)
    rc, stdout, _ = cli("validate", str(out), "--cluster-pop", "100000:200000")
    assert rc == 0 and "valid: every footprint meets the rules" in stdout
    # a unit put in a cluster of another footprint is caught by the validator
    text = out.read_text(encoding="utf-8").splitlines()
    code, fp, _ = text[1].split(",")
    other = next(row["cluster"] for row in rows if row["footprint"] != fp)
    text[1] = f"{code},{fp},{other}"
    out.write_text("\n".join(text) + "\n", encoding="utf-8")
    rc, stdout, _ = cli("validate", str(out), "--cluster-pop", "100000:200000")
    assert rc == 1 and "[cluster-nesting]" in stdout


def test_the_command_line_refuses_a_cluster_range_without_a_colon(cli):
    rc, out, err = cli("optimise", "--objective", "nested", "--cluster-pop", "250000")
    assert rc == 2 and out == ""
    assert (
        "argument --cluster-pop: got '250000'; expected LOW:HIGH in people, e.g. 250000:1000000"
        in err
    )


# --- England -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def england(dataset):
    return Problem.from_dataset(dataset)


@pytest.mark.realdata
def test_england_with_whole_las_has_no_clusters_of_at_most_a_million(england):
    c = Constraints(objective="nested", min_population=300_000, la_rule="whole-la")
    r = optimise(england, c)
    assert r.status == "infeasible" and not r.assignment
    named = [x for x in r.reasons if x.startswith("LA block ")]
    assert [x.split(" (")[0] for x in named] == [
        f"LA block {la}"
        for la in (
            "Derbyshire",
            "Devon",
            "Essex",
            "Hampshire",
            "Hertfordshire",
            "Kent",
            "Lancashire",
            "Surrey",
        )
    ]
    assert any("1,514,902 registered patients" in x for x in named)


@pytest.mark.realdata
@pytest.mark.slow
def test_england_with_the_la_rule_off_is_planned_and_checked_at_both_levels(england):
    c = Constraints(objective="nested", min_population=300_000, la_rule="off", time_limit=120)
    r = optimise(england, c)
    check_nested(england, r, c)
    assert r.footprints is not None and r.bound is not None and r.footprints <= r.bound <= 125
    assert r.cluster_table is not None
    assert r.cluster_table["population"].between(250_000, 1_000_000).all()


def test_every_export_carries_the_clusters():
    geo = tiny_dataset().geography
    codes = list(geo.units["code"])
    plan = {c: f"FP0{int(c[1]) + 1}" for c in codes}
    clusters = {c: f"{plan[c]}.{1 if c.endswith('c0') else 2}" for c in codes}
    for key, fmt in EXPORT_FORMATS.items():
        assert fmt.function(geo, plan, clusters=clusters), key
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.gpkg"
        path.write_bytes(EXPORT_FORMATS["gpkg"].function(geo, plan, clusters=clusters))
        layer = pyogrio.read_dataframe(path, layer="clusters")
        units = pyogrio.read_dataframe(path, layer="assignment")
    assert sorted(layer["cluster"]) == sorted(set(clusters.values()))
    assert dict(zip(layer["cluster"], layer["footprint"], strict=True))["FP02.2"] == "FP02"
    assert list(layer.loc[layer["cluster"] == "FP01.2", "population"]) == [200_000]
    assert dict(zip(units["unit_code"], units["cluster"], strict=True)) == clusters

    def made(key: str) -> bytes:
        return EXPORT_FORMATS[key].function(geo, plan, clusters=clusters)

    assert read_plan_csv(made("csv"), known_codes=codes).clusters == clusters
    features = json.load(io.BytesIO(made("geojson")))
    assert {f["properties"]["clusters"] for f in features["features"]} == {
        f"FP0{i}.1; FP0{i}.2" for i in (1, 2, 3)
    }


# --- in words and on the map ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximise", "status", "kind", "sentence"),
    [
        (
            "footprints",
            "optimal",
            "success",
            "Proven best (optimal): 2 footprints, proven the most; divided into 6 clusters of "
            "100 to 150 population (the most clusters each footprint can be divided into "
            "(proven footprint by footprint)).",
        ),
        (
            "clusters",
            "optimal",
            "success",
            "Proven best (optimal): 6 clusters of 100 to 150 population, proven the most; "
            "grouped into 2 footprints (the most footprints these clusters can be grouped "
            "into (proven); other clusters of the same number might allow more).",
        ),
    ],
)
def test_a_nested_result_in_words(maximise, status, kind, sentence):
    from footprint.form import verdict

    p = grid(6, 1, [100] * 6)
    c = Constraints(
        objective="nested",
        min_population=300,
        cluster_min_population=100,
        cluster_max_population=150,
        la_rule="off",
        nested_maximise=maximise,
    )
    r = optimise(p, c)
    assert r.status == status
    summary = {
        "status": r.status,
        "footprints": r.footprints,
        "levels": r.levels,
        "cluster_range": (100, 150),
    }
    assert verdict(summary, population_label=p.population_label) == (kind, sentence)


def test_cluster_borders_divide_footprints_and_never_follow_their_outline():
    from footprint.nested_map import cluster_borders, cluster_layer

    geo = tiny_dataset().geography
    codes = list(geo.units["code"])
    plan = {c: f"FP0{int(c[1]) + 1}" for c in codes}  # one footprint per row
    clusters = {c: f"{plan[c]}.{1 if c.endswith('c0') else 2}" for c in codes}
    drawn = shapely.geometry.shape(json.loads(cluster_borders(geo, plan, clusters))["geometry"])
    # in each row the border between column 0 and column 1, and nothing along an outline
    shape = dict(zip(geo.display_units["code"], geo.display_units.geometry, strict=True))
    shared = shapely.union_all(
        [shape[f"r{j}c0"].boundary.intersection(shape[f"r{j}c1"].boundary) for j in range(3)]
    )
    assert len(shapely.get_parts(drawn)) == 3
    assert drawn.hausdorff_distance(shared) < 5e-5  # ends trimmed by about a metre
    assert json.loads(cluster_borders(geo, plan, plan))["geometry"]["coordinates"] == []
    hostile = tiny_dataset()
    object.__setattr__(hostile.geography, "population_label", "<b>patients</b> (test)")
    layer = cluster_layer(hostile.geography, plan, clusters, cluster_range=(1, 2))
    assert layer.layer_name == "Clusters (1 to 2 &lt;b&gt;patients&lt;/b&gt;)"


def test_hostile_cluster_names_stay_text_in_the_plan_file():
    p = grid(2, 1, [100, 100])
    clusters = {"r0c0": '=HYPERLINK("http://x")', "r0c1": "@SUM(1)"}
    data = write_plan_csv({"r0c0": "A", "r0c1": "A"}, codes=p.codes, clusters=clusters)
    assert "'=HYPERLINK" in data.decode() and "'@SUM" in data.decode()
    assert read_plan_csv(data, known_codes=p.codes).clusters == clusters
