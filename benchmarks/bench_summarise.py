"""How long the footprint table and the plan check take on the real map: the app runs both
on every click.

Not a test: it prints figures (the tests check what the two return, not how fast). Run
from the project root:

    FOOTPRINT_DATA_DIR=../shared/data python benchmarks/bench_summarise.py --repeat 20

It loads the England 2013 data, takes the 25 Area Teams as the plan (the reference plan
the app offers), and times :func:`footprint.validate.summarise_plan` and
:func:`footprint.validate.validate_plan` under a floor of 300,000 registered patients and
the whole-LA rule. Printed per function: the best, median and worst of ``--repeat`` runs
in milliseconds. Measured at about 8 ms for the table on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from footprint import load_dataset
from footprint.compare import reference_plan
from footprint.constraints import Constraints
from footprint.problem import Problem
from footprint.validate import summarise_plan, validate_plan


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per function")
    args = parser.parse_args()
    dataset = load_dataset()
    problem = Problem.from_dataset(dataset)
    teams = reference_plan(dataset.geography, "area_team_code")
    constraints = Constraints(min_population=300_000, la_rule="whole-la")
    print(f"25 Area Teams on {len(problem.codes)} CCGs, {args.repeat} runs each (ms)")
    print(f"{'function':<16} {'best':>8} {'median':>8} {'worst':>8}")
    for name, fn in (
        ("summarise_plan", lambda: summarise_plan(problem, teams, constraints)),
        ("validate_plan", lambda: validate_plan(problem, teams, constraints)),
    ):
        t = [1000 * s for s in _times(fn, args.repeat)]
        print(f"{name:<16} {min(t):>8.1f} {statistics.median(t):>8.1f} {max(t):>8.1f}")


if __name__ == "__main__":
    main()
