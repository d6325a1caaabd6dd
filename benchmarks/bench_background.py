"""How a background solve shares the process, and how soon Cancel ends it (England, 2013).

Prints figures, asserts nothing. Two measures:

1. A page that draws while the optimiser runs in a thread of the same process: a loop
   sleeping 10 ms beside a compact solve (50 footprints, 20 s) records how late each wake
   is. HiGHS releases the GIL while it searches, so the delays stay small; the pure Python
   steps (building the model, recombining) share the GIL by the interpreter's switch
   interval. This decides thread against process (footprint.background uses a thread).
2. Cancel: runs started in the background and cancelled after 2, 5 and 10 s; the seconds
   from Cancel to the result, and what the result was (status, footprints, gap).

Run it alone (the machine's other work changes every figure):

    flock /tmp/footprint-bench.lock python benchmarks/bench_background.py
"""

from __future__ import annotations

import os
import statistics
import threading
import time

from footprint import Constraints, Problem, load_dataset, optimise
from footprint.background import start_solve


def wake_delays(problem: Problem, rules: Constraints) -> list[float]:
    done = threading.Event()
    worker = threading.Thread(target=lambda: (optimise(problem, rules), done.set()))
    late: list[float] = []
    worker.start()
    last = time.perf_counter()
    while not done.is_set():
        time.sleep(0.01)
        now = time.perf_counter()
        late.append(now - last - 0.01)
        last = now
    worker.join()
    return sorted(late)


def cancel_after(problem: Problem, rules: Constraints, seconds: float) -> str:
    run = start_solve(problem, rules)
    time.sleep(seconds)
    t0 = time.perf_counter()
    run.cancel()
    got = run.wait()
    took = time.perf_counter() - t0
    res = got.result
    if res is None:
        return f"cancel at {seconds:g} s: no result ({got.state}) after {took:.1f} s"
    gap = f"{res.gap:.1%}" if res.gap is not None else "none"
    return (
        f"cancel at {seconds:g} s: result {took:.1f} s later, {res.status}, "
        f"{res.footprints} footprints, gap {gap}, run {res.seconds:.1f} s"
    )


def main() -> None:
    problem = Problem.from_dataset(load_dataset())
    rules = Constraints(objective="compact", n_footprints=50, time_limit=20.0)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"England 2013, {len(problem.codes)} CCGs; {os.cpu_count()} cores; load {load}")
    late = wake_delays(problem, rules)
    print(
        f"10 ms sleeps beside a 20 s compact solve in a thread: {len(late)} wakes, late by "
        f"median {statistics.median(late) * 1000:.1f} ms, 99th percentile "
        f"{late[int(len(late) * 0.99)] * 1000:.1f} ms, worst {late[-1] * 1000:.0f} ms"
    )
    long_rules = Constraints(objective="compact", n_footprints=50, time_limit=60.0)
    for seconds in (2.0, 5.0, 10.0):
        print(cancel_after(problem, long_rules, seconds))


if __name__ == "__main__":
    main()
