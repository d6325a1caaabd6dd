"""The floor sweep: counts by floor on tiny maps against brute force, and what serves what."""

from __future__ import annotations

import pytest

from footprint import Constraints, Problem, validate_plan
from footprint.errors import ConstraintsError
from footprint.sweep import (
    REFERENCE_COUNTS,
    SweepResult,
    _bisection_order,
    _bound_serves,
    _merged_up,
    _plan_serves,
    parse_floors,
    sweep,
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


def _valid_plans(problem: Problem, la_rule: str, *, cap: int | None = None):
    """Brute force: (smallest footprint population, count) of every valid plan at floor 0."""
    c = Constraints(min_population=0, max_population=cap, la_rule=la_rule)  # type: ignore[arg-type]
    out = []
    for part in _partitions(list(problem.codes)):
        plan = {u: str(i) for i, grp in enumerate(part) for u in grp}
        if not validate_plan(problem, plan, c):
            out.append((min(sum(problem.populations[u] for u in grp) for grp in part), len(part)))
    return out


def _most(plans: list[tuple[int, int]], floor: int) -> int:
    """The most footprints of any valid plan whose footprints all reach ``floor`` (0: none)."""
    return max((n for smallest, n in plans if smallest >= floor), default=0)


def _strip() -> Problem:
    """Six units in a row, two to an LA block: counts by floor are known by hand.

    Every unit holds 10, so a footprint at floor f needs ceil(f / 10) units: with the LA
    rule off the count is 6 // ceil(f / 10); with whole LAs (blocks of 20) it is
    3 // ceil(f / 20).
    """
    codes = [f"u{i}" for i in range(6)]
    return Problem.build(
        populations=dict.fromkeys(codes, 10),
        edges=[(codes[i], codes[i + 1]) for i in range(5)],
        blocks={c: f"la{i // 2}" for i, c in enumerate(codes)},
        x={c: 1000.0 * i for i, c in enumerate(codes)},
        y=dict.fromkeys(codes, 0.0),
    )


def _grid() -> Problem:
    """A 2 x 4 grid with uneven populations and three LA blocks (brute force answers)."""
    pops = [12, 7, 30, 9, 14, 25, 8, 16]
    codes = [f"r{j}c{i}" for j in range(2) for i in range(4)]
    edges = [(f"r{j}c{i}", f"r{j}c{i + 1}") for j in range(2) for i in range(3)]
    edges += [(f"r0c{i}", f"r1c{i}") for i in range(4)]
    blocks = {"r0c0": "A", "r1c0": "A", "r0c1": "B", "r0c2": "B"}
    return Problem.build(
        populations=dict(zip(codes, pops, strict=True)),
        edges=edges,
        blocks={c: blocks.get(c, c) for c in codes},
        x={f"r{j}c{i}": 1000.0 * i for j in range(2) for i in range(4)},
        y={f"r{j}c{i}": 1000.0 * j for j in range(2) for i in range(4)},
    )


def _check_plans(problem: Problem, result: SweepResult) -> None:
    for p in result.points:
        if p.assignment:
            c = Constraints(min_population=p.floor, la_rule=p.la_rule)  # type: ignore[arg-type]
            assert validate_plan(problem, p.assignment, c) == []
            assert len(set(p.assignment.values())) == p.footprints


def test_strip_counts_by_floor_known_by_hand():
    problem = _strip()
    result = sweep(problem, floors=range(5, 75, 5), seconds_per_floor=10, cache=False)
    for p in result.points:
        tens, twenties = -(-p.floor // 10), -(-p.floor // 20)  # units, blocks per footprint
        expected = 6 // tens if p.la_rule == "off" else 3 // twenties
        if expected == 0:
            assert p.status == "infeasible" and p.footprints is None, p
        else:
            assert (p.status, p.footprints, p.bound) == ("optimal", expected, expected), p
    _check_plans(problem, result)
    # the counts only fall as the floor rises, and step where the hand count steps
    assert result.steps("whole-la") == [(25, 3, 1)]
    assert [s[0] for s in result.steps("off")] == [15, 25, 35]


def test_grid_counts_match_brute_force_and_points_serve_each_other():
    problem = _grid()
    floors = list(range(10, 131, 10))
    result = sweep(problem, floors=floors, seconds_per_floor=10, cache=False)
    plans = {rule: _valid_plans(problem, rule) for rule in ("whole-la", "off")}
    for p in result.points:
        expected = _most(plans[p.la_rule], p.floor)
        if expected == 0:
            assert p.status == "infeasible", p
        else:
            assert (p.status, p.footprints) == ("optimal", expected), p
    _check_plans(problem, result)
    # a point between two settled ones with equal counts is settled without a run
    skipped = [p for p in result.points if not p.solved]
    assert skipped, "no point was settled by the others"
    for p in skipped:
        assert p.status in ("optimal", "infeasible")
        if p.plan_from is not None and p.merged:
            assert p.plan_from[0] < p.floor  # a lower floor's plan, merged up
        elif p.plan_from is not None:
            assert p.plan_from != (p.floor, p.la_rule)
            assert _plan_serves(p.plan_from, (p.floor, p.la_rule))
        if p.bound_from is not None:
            assert _bound_serves(p.bound_from, (p.floor, p.la_rule))


def test_points_in_words():
    problem = _strip()
    result = sweep(problem, floors=[10, 30, 70], la_rules=["off"], cache=False)
    assert result.point(10, "off").describe() == (
        "At a floor of 10 registered patients with the LA rule off: 6 footprints, proven the "
        "largest number."
    )
    assert "no plan can meet the rules (proven)" in result.point(70, "off").describe()
    from footprint.sweep import SweepPoint

    open_point = SweepPoint(
        floor=500_000,
        la_rule="off",
        status="feasible",
        footprints=86,
        bound=92,
        plan_from=(550_000, "whole-la"),
        merged=False,
        bound_from=(500_000, "off"),
        solved=True,
        cached=False,
        seconds=9.0,
    )
    assert open_point.describe(population_label="people") == (
        "At a floor of 500,000 people with the LA rule off: 86 footprints found; at most 92 "
        "are possible (the count is not proven; gap 6). The plan is taken from the run at "
        "550,000 with whole LAs."
    )


def test_plans_and_bounds_serve_only_the_right_way():
    # a plan at a higher floor serves lower floors, and whole-la plans serve 'off'
    assert _plan_serves((500, "whole-la"), (300, "off"))
    assert _plan_serves((500, "off"), (500, "off"))
    assert not _plan_serves((300, "whole-la"), (500, "whole-la"))
    assert not _plan_serves((500, "off"), (300, "whole-la"))
    # a bound at a lower floor bounds higher floors, and 'off' bounds bound whole-la
    assert _bound_serves((300, "off"), (500, "whole-la"))
    assert not _bound_serves((300, "whole-la"), (500, "off"))
    assert not _bound_serves((500, "off"), (300, "off"))


def test_a_lower_floors_plan_merged_up_is_valid_at_the_higher_floor():
    problem = _strip()
    # six footprints of 10 at floor 10; at floor 30 the smallest merge into their smallest
    # neighbour until every footprint holds 30: two footprints of 30 (the best is two)
    plan = {f"u{i}": f"F{i}" for i in range(6)}
    merged = _merged_up(problem, plan, floor=30, cap=None)
    assert merged is not None and len(set(merged.values())) == 2
    assert validate_plan(problem, merged, Constraints(min_population=30, la_rule="off")) == []
    # whole footprints merge, so LA blocks stay whole
    pairs = {f"u{i}": f"B{i // 2}" for i in range(6)}
    up = _merged_up(problem, pairs, floor=40, cap=None)
    assert up is not None
    assert validate_plan(problem, up, Constraints(min_population=40, la_rule="whole-la")) == []
    # a ceiling that no merge fits under: no plan; the caller's plan is not changed
    assert _merged_up(problem, plan, floor=30, cap=15) is None
    assert plan == {f"u{i}": f"F{i}" for i in range(6)}


def test_bisection_order_visits_each_floor_once_ends_first():
    floors = list(range(250_000, 1_500_001, 50_000))
    order = _bisection_order(floors)
    assert sorted(order) == floors
    assert order[:3] == [250_000, 1_500_000, 850_000]


def test_second_sweep_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTPRINT_CACHE_DIR", str(tmp_path))
    problem = _grid()
    first = sweep(problem, floors=[20, 40], la_rules=["off"], seconds_per_floor=10)
    seen: list[tuple[str, int, int]] = []
    again = sweep(
        problem,
        floors=[20, 40],
        la_rules=["off"],
        seconds_per_floor=10,
        progress=lambda m, d, t: seen.append((m, d, t)),
    )
    assert [p.row()["footprints"] for p in first.points] == [
        p.row()["footprints"] for p in again.points
    ]
    assert all(p.cached for p in again.points if p.solved)
    assert not any(p.cached for p in first.points)
    assert seen[-1] == ("done", 1, 1)
    assert "solving (1 of 2)" in seen[0][0]
    # another time limit is another question: not answered from the cache
    other = sweep(problem, floors=[20], la_rules=["off"], seconds_per_floor=11)
    assert not other.points[0].cached


def test_a_time_cap_stops_the_sweep_and_says_so():
    problem = _grid()
    result = sweep(
        problem,
        floors=[20, 40, 60],
        la_rules=["off"],
        seconds_per_floor=5,
        max_seconds=4,
        cache=False,
    )
    assert result.stopped
    assert not any(p.solved for p in result.points)
    assert {p.status for p in result.points} == {"no-solution"}
    with pytest.raises(ConstraintsError, match=r"retry_seconds: got -1"):
        sweep(problem, floors=[20], retry_seconds=-1)
    with pytest.raises(ConstraintsError, match=r"max_seconds: got 0"):
        sweep(problem, floors=[20], max_seconds=0)


def test_parse_floors():
    assert parse_floors("250000:1500000:50000")[:2] == (250_000, 300_000)
    assert len(parse_floors("250000:1500000:50000")) == 26
    assert parse_floors("300_000, 500000") == (300_000, 500_000)
    with pytest.raises(ConstraintsError, match=r"got '3e5'.*not a whole number.*START:STOP"):
        parse_floors("3e5")
    with pytest.raises(ConstraintsError, match=r"stops \(100\) below its start \(200\)"):
        parse_floors("200:100:10")
    with pytest.raises(ConstraintsError, match=r"step of 0"):
        parse_floors("100:200:0")
    with pytest.raises(ConstraintsError, match=r"expected at most 200: use a larger step"):
        parse_floors("1:1000:1")
    with pytest.raises(ConstraintsError, match=r"got '1:2'"):
        parse_floors("1:2")
    with pytest.raises(ConstraintsError, match=r"got an empty text"):
        parse_floors("  ")
    with pytest.raises(ConstraintsError, match=r"got '<b>1</b>'"):
        parse_floors("<b>1</b>")


def test_bad_requests_are_refused_in_one_error():
    problem = _grid()
    with pytest.raises(ConstraintsError) as err:
        sweep(
            problem,
            floors=[0, True],
            la_rules=["some"],
            constraints=Constraints(objective="compact", n_footprints=2),
            seconds_per_floor=-1,
        )
    text = str(err.value)
    for part in (
        "floors: got 0, True",
        "la_rules: got ['some']",
        "objective: got 'compact'",
        "seconds_per_floor: got -1",
    ):
        assert part in text
    with pytest.raises(ConstraintsError, match=r"floors: got none"):
        sweep(problem, floors=[])
    with pytest.raises(ConstraintsError, match=r"locked: got 'North'.*drop the locks"):
        sweep(problem, floors=[10], constraints=Constraints(locked=("North",)))


def test_the_shared_rules_apply_at_every_point():
    # a ceiling of 40 on the grid: brute force says what each floor allows under it
    problem = _grid()
    base = Constraints(min_population=10, max_population=40)
    with pytest.raises(ConstraintsError, match=r"floors: got 50 above the ceiling of 40"):
        sweep(problem, floors=[10, 50], constraints=base)
    result = sweep(problem, floors=[10, 20, 30], la_rules=["off"], constraints=base, cache=False)
    plans = _valid_plans(problem, "off", cap=40)
    for p in result.points:
        best = _most(plans, p.floor)
        assert (p.footprints or 0) == best
        assert p.status == ("optimal" if best else "infeasible")
        c = Constraints(min_population=p.floor, max_population=40, la_rule="off")
        assert validate_plan(problem, p.assignment, c) == [] if best else not p.assignment


def test_reference_counts_name_their_source():
    assert [r.count for r in REFERENCE_COUNTS] == [51, 25, 19]
    assert all(r.source for r in REFERENCE_COUNTS)


@pytest.mark.realdata
def test_area_team_reference_is_the_data(dataset):
    assert dataset.geography.units["area_team_code"].nunique() == REFERENCE_COUNTS[1].count


@pytest.mark.realdata
@pytest.mark.slow
def test_england_three_floors(dataset):
    problem = Problem.from_dataset(dataset)
    result = sweep(problem, floors=[300_000, 350_000, 400_000], seconds_per_floor=8, cache=False)
    whole = result.point(300_000, "whole-la")
    assert (whole.status, whole.footprints) == ("optimal", 91)
    assert result.point(300_000, "off").footprints == 125
    counts = [p.footprints for p in result.points if p.la_rule == "whole-la"]
    assert counts == sorted(counts, reverse=True)
    _check_plans(problem, result)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path):
    """Run ``python -m footprint sweep`` on the tiny 3 x 3 grid: (status, stdout, stderr)."""
    from helpers import tiny_dataset

    from footprint import loader
    from footprint.cli import main

    tiny = tiny_dataset()
    monkeypatch.setattr(loader, "load_dataset", lambda data_dir=None: tiny)
    monkeypatch.setenv("FOOTPRINT_CACHE_DIR", str(tmp_path / "cache"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["sweep", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_cli_sweep_writes_the_table_json_and_curve(cli, tmp_path):
    import csv
    import json

    out, png = tmp_path / "sweep.csv", tmp_path / "curve.png"
    code, stdout, err = cli(
        "--floors",
        "100000:1000000:100000",
        "--la-rule",
        "whole-la,off",
        "--json",
        "--out",
        str(out),
        "--png",
        str(png),
    )
    assert code == 0, err
    summary = json.loads(stdout)
    # nine units of 100,000: a footprint at floor f needs ceil(f / 100,000) of them
    by = {(p["floor"], p["la_rule"]): p for p in summary["points"]}
    for f in range(100_000, 1_000_001, 100_000):
        expected = 9 // -(-f // 100_000)
        for rule in ("whole-la", "off"):
            p = by[(f, rule)]
            if expected:
                assert (p["status"], p["footprints"], p["bound"]) == ("optimal", expected, expected)
            else:
                assert p["status"] == "infeasible"
    assert summary["population"] == "registered patients"
    assert [r["count"] for r in summary["references"]] == [51, 25, 19]
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 20 and rows[0]["floor"] == "100000" and rows[0]["la_rule"] == "whole-la"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_sweep_table_and_bad_flags(cli):
    code, stdout, _ = cli("--floors", "300000,450000", "--la-rule", "off")
    assert code == 0
    assert "(registered patients)" in stdout
    assert "300,000  3 proven" in stdout and "450,000  1 proven" in stdout
    code, _, err = cli("--floors", "300000:100000:1000")
    assert code == 2 and "stops (100,000) below its start (300,000)" in err
    code, _, err = cli("--la-rule", "whole")
    assert code == 2 and "expected whole-la, off or whole-la,off" in err
    code, _, err = cli("--floors", "100000", "--max-pop", "50000")
    assert code == 2 and "below min_population" in err
