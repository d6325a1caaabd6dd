"""The optimiser run in the background: started, polled, cancelled, one per owner."""

from __future__ import annotations

import random
import threading
import time

import pytest

from footprint.background import SolveRegistry, start_solve
from footprint.constraints import Constraints
from footprint.errors import ConstraintsError, SolverError
from footprint.optimiser import optimise
from footprint.optimiser.budget import Snapshot
from footprint.problem import Problem
from footprint.solver import Model
from footprint.validate import validate_plan


def grid(w: int, h: int, *, seed: int = 0) -> Problem:
    """A w x h grid of 1 km squares with rook adjacency and random populations 50-200."""
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


#: a strip of four units of 100: two footprints of 200 at a floor of 200, proven at once
STRIP = Problem.build(
    populations={"a": 100, "b": 100, "c": 100, "d": 100},
    edges=[("a", "b"), ("b", "c"), ("c", "d")],
)
STRIP_RULES = Constraints(min_population=200, la_rule="off", time_limit=20)

#: a compact run that HiGHS takes many seconds to prove (37 s here on a busy server, after
#: 4 s of floor sets): long enough to cancel in the middle of its search, with a limit far
#: above what any cancelled run should reach
LONG = grid(12, 12, seed=3)
LONG_RULES = Constraints(
    objective="compact", n_footprints=24, min_population=500, la_rule="off", time_limit=300
)


def until(condition, *, what: str, seconds: float = 120.0) -> None:
    """Wait for ``condition()`` (a generous bound: a hung run fails instead of hanging)."""
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_background_run_gives_what_the_optimiser_gives() -> None:
    direct = optimise(STRIP, STRIP_RULES)
    run = start_solve(STRIP, STRIP_RULES, meta={"name": "strip"})
    got = run.wait(60)
    assert got.state == "finished" and got.done and not got.cancelled
    assert got.result is not None
    assert (got.result.status, got.result.footprints) == (direct.status, direct.footprints)
    assert got.result.status == "optimal" and got.result.footprints == 2
    assert got.meta == {"name": "strip"}
    assert got.limit == 20 and 0 < got.elapsed <= got.result.seconds + 1
    assert got.fraction == pytest.approx(got.elapsed / 20)
    assert got.stage.startswith("Finished: optimal")


def test_the_callers_plan_and_meta_are_copied_not_shared() -> None:
    current = {"a": "North", "b": "North", "c": "South", "d": "South"}
    meta = {"name": "mine"}
    run = start_solve(STRIP, STRIP_RULES, current=current, meta=meta)
    current["a"] = "changed"
    meta["name"] = "changed"
    got = run.wait(60)
    assert got.meta == {"name": "mine"}
    assert got.result is not None and got.result.status == "optimal"


def test_cancel_stops_a_long_solve_with_its_best_plan_and_an_honest_status() -> None:
    run = start_solve(LONG, LONG_RULES)
    until(lambda: run.poll().stage.startswith("compact: solve"), what="the model's first solve")
    time.sleep(1.0)  # into the search
    run.cancel()
    assert run.poll().state in ("cancelling", "finished")
    got = run.wait(120)
    assert got.state == "finished" and got.cancelled
    res = got.result
    assert res is not None
    # it stopped well before its limit, and says what it had
    assert res.seconds < LONG_RULES.time_limit / 2
    assert res.status in ("optimal", "feasible", "no-solution")
    if res.status == "feasible":  # with the bound proven by then, if any, and its gap
        assert (res.bound is None) == (res.gap is None)
        assert res.gap is None or res.gap >= 0
        assert not validate_plan(LONG, res.assignment, LONG_RULES)
    if res.status == "no-solution":
        assert not res.assignment
    print(f"\ncancelled compact run: {res.status} after {res.seconds:.1f} s, gap {res.gap}")


def test_a_run_cancelled_before_its_first_step_says_none_was_found() -> None:
    cancel = threading.Event()
    cancel.set()
    res = optimise(LONG, LONG_RULES, cancel=cancel)
    assert res.status == "no-solution" and not res.assignment
    assert res.reasons == ("the run was cancelled before a plan was found",)


def test_the_watcher_sees_each_step_and_the_solvers_value_and_bound() -> None:
    seen: list[Snapshot] = []
    res = optimise(
        grid(4, 4, seed=1),
        Constraints(
            objective="compact", n_footprints=3, min_population=400, la_rule="off", time_limit=30
        ),
        watcher=seen.append,
    )
    assert res.status == "optimal"
    stages = [s.stage for s in seen]
    assert stages[0] == "Checking the constraints against the map…"
    assert stages[-1].startswith("Finished: optimal")
    assert any(s.value is not None and s.bound is not None for s in seen)
    assert all(s.limit == 30 and not s.cancelled for s in seen)
    assert [s.elapsed for s in seen] == sorted(s.elapsed for s in seen)


def test_a_solver_watch_that_asks_to_stop_keeps_the_plan_found_and_its_bound() -> None:
    # a knapsack with twenty rows: HiGHS finds plans long before it proves the best one
    rng = random.Random(1)
    m = Model("knapsack", maximise=True)
    xs = [m.binary(f"x{i}") for i in range(150)]
    for _ in range(20):
        w = [rng.randint(1000, 100000) for _ in xs]
        m.add(list(zip(xs, w, strict=True)), "<=", sum(w) // 2)
    m.objective([(x, rng.randint(1000, 100000)) for x in xs])
    reports: list[tuple[float | None, float | None]] = []

    def watch(value: float | None, bound: float | None) -> bool:
        reports.append((value, bound))
        return value is not None  # stop at the first plan

    out = m.solve(time_limit=60, mip_gap=0.0, watch=watch)
    assert out.status == "feasible" and out.objective is not None and out.bound is not None
    assert out.bound >= out.objective > 0  # a maximisation: the bound is above the plan
    assert out.gap == pytest.approx((out.bound - out.objective) / out.objective)
    assert any(v is not None for v, _b in reports)


def test_a_run_waits_for_a_free_slot_and_gives_it_back() -> None:
    slots = threading.BoundedSemaphore(1)
    assert slots.acquire(blocking=False)  # another planner's run holds the only slot
    run = start_solve(STRIP, STRIP_RULES, slots=slots)
    until(lambda: "Waiting for a free solver" in run.poll().stage, what="the wait")
    got = run.poll()
    assert got.state == "waiting" and got.elapsed == 0
    slots.release()
    got = run.wait(60)
    assert got.result is not None and got.result.status == "optimal"
    assert slots.acquire(blocking=False)  # given back


def test_a_run_cancelled_while_it_waits_never_runs() -> None:
    slots = threading.BoundedSemaphore(1)
    assert slots.acquire(blocking=False)
    run = start_solve(STRIP, STRIP_RULES, slots=slots)
    run.cancel()
    got = run.wait(30)
    assert got.state == "finished" and got.cancelled and got.result is None
    slots.release()
    assert slots.acquire(blocking=False)  # it took none


def test_no_slot_in_time_fails_in_words() -> None:
    slots = threading.BoundedSemaphore(1)
    assert slots.acquire(blocking=False)
    got = start_solve(STRIP, STRIP_RULES, slots=slots, slot_wait=0.3).wait(30)
    assert got.state == "failed" and got.result is None
    assert isinstance(got.error, SolverError)
    with pytest.raises(SolverError, match=r"No solver came free in 0\.3 s: .*Try again"):
        raise got.error


def test_a_request_error_ends_the_run_as_failed_with_the_error_and_frees_the_slot() -> None:
    slots = threading.BoundedSemaphore(1)
    bad = Constraints(min_population=200, la_rule="off", keep_apart=(("a", "nowhere"),))
    got = start_solve(STRIP, bad, slots=slots).wait(30)
    assert got.state == "failed" and isinstance(got.error, ConstraintsError)
    with pytest.raises(ConstraintsError, match="nowhere"):
        raise got.error
    assert slots.acquire(blocking=False)


def test_an_unexpected_failure_is_said_without_internals(monkeypatch, caplog) -> None:
    import footprint.background as background

    def broken(*args, **kwargs):
        raise RuntimeError("boom: internals")

    monkeypatch.setattr(background, "optimise", broken)
    got = start_solve(STRIP, STRIP_RULES).wait(30)
    assert got.state == "failed" and isinstance(got.error, SolverError)
    assert "boom" not in str(got.error)
    with pytest.raises(SolverError, match=r"unexpected problem .*your drawing is unchanged"):
        raise got.error
    assert "boom: internals" in caplog.text  # the server's log has it


def test_one_run_per_owner_found_again_and_collected_once() -> None:
    reg = SolveRegistry()
    first, new = reg.start("browser-1", LONG, LONG_RULES)
    assert new
    again, new = reg.start("browser-1", STRIP, STRIP_RULES)  # a second Run while it runs
    assert again is first and not new
    other, new = reg.start("browser-2", STRIP, STRIP_RULES)  # another planner's own
    assert new and other is not first
    assert reg.get("browser-1") is first  # a reloaded page finds it
    assert not reg.collect("browser-1", first)  # not while it runs
    first.cancel()
    first.wait(120)
    assert reg.collect("browser-1", first)
    assert not reg.collect("browser-1", first)  # once only
    assert reg.get("browser-1") is None
    other.wait(60)
    third, new = reg.start("browser-1", STRIP, STRIP_RULES)
    assert new and third is not first
    third.wait(60)
