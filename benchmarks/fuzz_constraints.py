"""Random constraint sets on the real England 2013 data: does every run end well and in time?

Each case draws an objective, a floor, maybe a ceiling, a count, keep-together and
keep-apart pairs of neighbouring CCGs, CCGs fixed to a name, locked Area Teams,
borders switched off, a short time limit and a solver, all from its own seed, so a
case can be run again alone (``--case 30``). The drawing a repair starts from, and
the plan locks refer to, is the 25 NHS Area Teams.

For each case it prints the status, the count, the objective and bound, the wall
time and, where it went wrong, why: a plan that the independent validator rejects,
an infeasible answer without a reason, a run more than 3 s over its limit, a bound on
the wrong side of its plan (the optimiser leaves such a bound out and logs it) or
below 0 for a measure that never is, or any exception from the optimiser
(footprint's own errors too: constraints it accepted must get an answer, and a plan
it refuses to hand out is a bug). It exits 1 if any case did.
"No solution within the time limit" is not counted as wrong (short limits are part
of the draw), but it is printed, so that it can be looked into.

    export FOOTPRINT_DATA_DIR=../shared/data
    python benchmarks/fuzz_constraints.py --cases 40
    python benchmarks/fuzz_constraints.py --case 30 --time-limit 60
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
import traceback
import warnings
from typing import Any

from footprint import (
    Constraints,
    FootprintError,
    Problem,
    load_dataset,
    optimise,
    reference_plan,
    validate_plan,
)

#: seconds past its limit that count as a run that did not stop in time
OVERRUN = 3.0


def draw(
    seed: int, problem: Problem, area_teams: dict[str, str], time_limit: float | None
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The constraints (as keyword arguments) and the current plan of case ``seed``."""
    r = random.Random(seed)
    codes, edges = list(problem.codes), list(problem.edges)
    objective = r.choice(
        ["max-footprints", "max-footprints", "compact", "balanced", "fewest-changes"]
    )
    kw: dict[str, Any] = {
        "objective": objective,
        "min_population": r.choice([200_000, 300_000, 300_000, 500_000, 800_000]),
        "la_rule": r.choice(["whole-la", "off"]),
        "time_limit": r.choice([6.0, 10.0]),
        "solver": r.choice(["highs"] * 4 + ["cbc"]),
    }
    if r.random() < 0.3:
        kw["max_population"] = r.choice([900_000, 1_200_000, 2_000_000, 3_500_000])
    if objective in ("compact", "balanced") or r.random() < 0.2:
        kw["n_footprints"] = r.choice([10, 20, 25, 40, (15, 30), (50, 80)])
    if r.random() < 0.3:
        kw["keep_together"] = [list(e) for e in r.sample(edges, r.randint(1, 2))]
    if r.random() < 0.3:
        kw["keep_apart"] = [tuple(e) for e in r.sample(edges, r.randint(1, 3))]
    if r.random() < 0.2:
        kw["fixed"] = {c: r.choice(["A", "B"]) for c in r.sample(codes, r.randint(1, 3))}
    current = None
    if objective == "fewest-changes" or r.random() < 0.3:
        current = area_teams
        if r.random() < 0.5:
            kw["locked"] = r.sample(sorted(set(area_teams.values())), r.randint(1, 2))
    if r.random() < 0.2:
        kw["disabled_edges"] = [tuple(e) for e in r.sample(edges, r.randint(1, 3))]
    if time_limit is not None:
        kw["time_limit"] = time_limit
    return kw, current


class _Misread(logging.Handler):
    """Collects the optimiser's note that a bound was on the wrong side of its plan."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "on the wrong side of the plan" in message:
            self.messages.append(message)


def run_case(
    seed: int, problem: Problem, area_teams: dict[str, str], time_limit: float | None
) -> tuple[str, list[str]]:
    """(one line about the case, what went wrong)."""
    kw, current = draw(seed, problem, area_teams, time_limit)
    asked = json.dumps(
        {k: v if isinstance(v, str | int | float) else str(v) for k, v in kw.items()}
    )
    try:
        c = Constraints(**kw)
    except FootprintError as exc:  # a contradiction in the draw, said in words
        return f"{seed:4d} refused: {exc}  {asked}", []
    t0 = time.perf_counter()
    misread = _Misread()
    logging.getLogger("footprint").addHandler(misread)
    try:
        res = optimise(problem, c, current=current)
        wall = time.perf_counter() - t0
    except Exception:  # a crash is what this looks for
        return f"{seed:4d} CRASH  {asked}\n{traceback.format_exc()}", ["crash"]
    finally:
        logging.getLogger("footprint").removeHandler(misread)
    wrong = [f"misread bound: {m}" for m in misread.messages]
    if res.status in ("optimal", "feasible"):
        broken = validate_plan(problem, dict(res.assignment), c, current=current)
        if broken:
            wrong.append(f"invalid plan: {broken[0].message}")
    elif res.status == "infeasible" and not res.reasons:
        wrong.append("infeasible without a reason")
    if res.objective != "max-footprints" and res.bound is not None and res.bound < 0:
        wrong.append(f"a bound of {res.bound:,.0f} on a measure that is never negative")
    if wall > c.time_limit + OVERRUN:
        wrong.append(f"{wall - c.time_limit:.1f} s over its limit")
    reason = f" — {res.reasons[0][:140]}" if res.reasons else ""
    line = (
        f"{seed:4d} {res.status:11s} footprints={res.footprints} "
        f"value={res.objective_value} bound={res.bound} {wall:5.1f}s{reason}  {asked}"
    )
    return line, wrong


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=40, help="how many cases (default 40)")
    ap.add_argument("--first", type=int, default=0, help="seed of the first case")
    ap.add_argument(
        "--case", type=int, action="append", default=[], help="run only this case (repeatable)"
    )
    ap.add_argument("--time-limit", type=float, help="the same time limit for every case")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # soft warnings about the data are not what is looked at
    ds = load_dataset()
    problem = Problem.from_dataset(ds)
    area_teams = reference_plan(ds.geography, "area_team_code")
    seeds = args.case or range(args.first, args.first + args.cases)
    counts: dict[str, int] = {}
    bad = 0
    for seed in seeds:
        line, wrong = run_case(seed, problem, area_teams, args.time_limit)
        status = line.split()[1]
        counts[status] = counts.get(status, 0) + 1
        print(line + "".join(f"\n     WRONG: {w}" for w in wrong), flush=True)
        bad += bool(wrong)
    print(
        "cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; wrong: {bad}",
        flush=True,
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
