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


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
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


# --- Cancel heard inside the run's own loops (constructions, packing, model building) --------


def _cancelled_in_this_thread(test):  # type: ignore[no-untyped-def]
    """Run ``test(event)`` with ``event`` watched as this thread's Cancel, then unwatch it."""
    from footprint import _cancel

    event = threading.Event()
    _cancel.watch(event)
    try:
        return test(event)
    finally:
        _cancel.watch(None)


def _instance(problem: Problem, rules: Constraints):  # type: ignore[no-untyped-def]
    from footprint.feasibility import prepare

    inst, _checks = prepare(problem, rules)
    assert inst is not None
    return inst


def test_growing_footprints_stops_when_the_run_is_cancelled() -> None:
    from footprint.optimiser.construct import grown_plan
    from footprint.optimiser.state import plan_ok

    inst = _instance(grid(10, 10, seed=2), Constraints(min_population=600, la_rule="off"))

    def grow(event: threading.Event) -> tuple[object, object]:
        whole = grown_plan(inst, target=600, until=time.perf_counter() + 600)
        event.set()
        return whole, grown_plan(inst, target=600, until=time.perf_counter() + 600)

    whole, cancelled = _cancelled_in_this_thread(grow)
    assert whole is not None and plan_ok(inst, whole)  # the same call, not cancelled, plans
    assert cancelled is None


def test_attaching_and_merging_stop_when_the_run_is_cancelled() -> None:
    from footprint.optimiser.construct import attach_leftovers, merge_down
    from footprint.optimiser.state import plan_ok

    # 400 units from four seeds in the corners: hundreds of nodes to attach, many merges
    problem = grid(20, 20, seed=4)
    inst = _instance(problem, Constraints(min_population=600, la_rule="off"))
    seeds = [frozenset({inst.node_of[c]}) for c in ("r0c0", "r0c19", "r19c0", "r19c19")]
    singles = {n: k for k, n in enumerate(inst.nodes)}

    def build(event: threading.Event) -> list[object]:
        done = [attach_leftovers(inst, seeds), merge_down(inst, singles, None)]
        event.set()
        return [*done, attach_leftovers(inst, seeds), merge_down(inst, singles, None)]

    attached, merged, attached_cancelled, merged_cancelled = _cancelled_in_this_thread(build)
    assert attached is not None and plan_ok(inst, attached)
    assert merged is not None and plan_ok(inst, merged)
    assert attached_cancelled is None and merged_cancelled is None


def test_a_cancelled_run_does_not_finish_building_a_model_nor_hand_one_over() -> None:
    from footprint.optimiser.budget import Run

    cancel = threading.Event()
    run = Run(STRIP_RULES, lambda _m: None, time.perf_counter() + 600, cancel=cancel)
    # a build 10 % done after 1 s is 10 s in all, and its handover up to 22 s more
    started = time.perf_counter() - 1.0
    assert run.build_fits(started, started, 0.1, available=500.0)
    assert not run.build_fits(started, started, 0.1, available=20.0)
    assert run.projected > 30.0
    # its variables, made first, took half of that second: 5.5 s to build, 12 s to hand over
    assert run.build_fits(started, started + 0.5, 0.1, available=20.0)
    assert 17.0 < run.projected < 19.0
    cancel.set()
    now = time.perf_counter()
    assert not run.build_fits(now, now, 0.5, available=500.0)


def test_a_model_whose_handover_would_pass_the_deadline_is_not_started() -> None:
    from footprint.optimiser.budget import Run

    run = Run(STRIP_RULES, lambda _m: None, time.perf_counter() + 5.0)
    m = Model("slow to build", maximise=True)
    v = m.binary("v")
    m.add([(v, 1.0)], "<=", 1)
    m.objective([(v, 1.0)])
    m.created -= 60.0  # as if building it had taken a minute: its handover needs more than 5 s
    out = run.solve(m, "a model built slowly")
    assert out.status == "no-solution" and not out.values
    assert run.stages[-1]["status"] == "not started"
    assert "handing it over" in str(run.stages[-1]["reason"])
    # the same model built in a moment is solved
    m.created = time.perf_counter()
    assert run.solve(m, "a model built at once").status == "optimal"


#: max-footprints on a grid: 351 floor sets packed (5 footprints, proven), then the
#: compactness model
GRID_MOST = grid(5, 5, seed=5)
GRID_MOST_RULES = Constraints(min_population=500, la_rule="off", time_limit=300)


def _cancel_at(words: str):  # type: ignore[no-untyped-def]
    """A Cancel and a progress callback that sets it when the run says ``words``."""
    cancel = threading.Event()
    said: list[str] = []

    def progress(message: str) -> None:
        said.append(message)
        if message.startswith(words):
            cancel.set()

    return cancel, progress, said


def test_cancel_during_the_packing_keeps_its_start_and_starts_no_model() -> None:
    cancel, progress, said = _cancel_at("Bounding the number of footprints")
    res = optimise(GRID_MOST, GRID_MOST_RULES, progress=progress, cancel=cancel)
    assert cancel.is_set()
    # HiGHS stopped at its first look (measured: at once, keeping the greedy packing it was
    # started from, unproven) and nothing else was started: a valid plan of 5 footprints,
    # the most the population allows, called optimal only if the packing was proven
    packing = next(s for s in res.stages if s["stage"] == "count bound (set packing)")
    assert packing["status"] in ("feasible", "optimal")
    assert res.status == packing["status"] and res.footprints == 5
    assert not validate_plan(GRID_MOST, res.assignment, GRID_MOST_RULES)
    assert not any("solve 1" in str(s["stage"]) for s in res.stages)
    assert "too little time left for the model; keeping the best plan." in said[-2]


def test_a_run_cancelled_with_no_plan_says_it_was_cancelled_not_out_of_time() -> None:
    from footprint.optimiser.budget import Run
    from footprint.optimiser.finish import solver_reasons

    cancel = threading.Event()
    run = Run(STRIP_RULES, lambda _m: None, time.perf_counter() + 600, cancel=cancel)
    assert "within the time limit of 20 s" in solver_reasons("no-solution", run)[0]
    cancel.set()
    assert solver_reasons("no-solution", run) == ("the run was cancelled before a plan was found",)


def test_cancel_once_a_plan_is_held_keeps_it_and_starts_no_model() -> None:
    full = optimise(GRID_MOST, GRID_MOST_RULES)
    assert full.status == "optimal" and full.footprints == 5
    assert any("solve 1" in str(s["stage"]) for s in full.stages)
    cancel, progress, _said = _cancel_at("5 footprints is the proven largest number")
    res = optimise(GRID_MOST, GRID_MOST_RULES, progress=progress, cancel=cancel)
    assert cancel.is_set()
    # the packed plan, checked by the validator: its count is proven, its compactness not
    assert res.status == "optimal" and res.footprints == 5
    assert not validate_plan(GRID_MOST, res.assignment, GRID_MOST_RULES)
    assert res.compactness_gap is None
    assert not any("solve 1" in str(s["stage"]) for s in res.stages)


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_a_nested_run_cancelled_between_its_levels_says_so_and_tries_no_other_route() -> None:
    p = grid(6, 6, seed=1)
    c = Constraints(
        objective="nested",
        min_population=1500,
        cluster_min_population=300,
        cluster_max_population=1000,
        la_rule="off",
        time_limit=60,
    )
    assert optimise(p, c).status == "optimal"
    cancel, progress, said = _cancel_at("Top level: Finished")
    res = optimise(p, c, progress=progress, cancel=cancel)
    assert cancel.is_set()
    assert res.status == "no-solution" and not res.assignment
    assert res.reasons == ("the run was cancelled before a plan was found",)
    # the level's own run heard the Cancel, and the clusters-first route was not started
    assert any(m.startswith("Clusters in FP01: Finished: no-solution") for m in said)
    assert not any(m.startswith(("A footprint of that plan", "Clusters:")) for m in said)
