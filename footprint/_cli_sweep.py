"""``python -m footprint sweep``: the largest number of footprints at each floor.

Registered by :mod:`footprint.cli` (which imports this module); the work is
:func:`footprint.sweep.sweep`. The table goes to standard output (``--json``: one JSON
object), the rows to ``--out`` as CSV and the curve to ``--png``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
from typing import Any

from ._cli_args import (
    _data_arg,
    _geography_args,
    _load,
    _output_file,
    _path,
    _population,
    _seconds,
    _write_output,
    command,
)
from ._text import population_word
from .errors import ConstraintsError

log = logging.getLogger(__name__)


def _rules(text: str) -> tuple[str, ...]:
    """``whole-la,off`` as a tuple of LA rules (argparse turns the error into a usage error)."""
    from .constraints import LA_RULES

    rules = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    if not rules or any(r not in LA_RULES for r in rules):
        raise argparse.ArgumentTypeError(f"got {text!r}; expected whole-la, off or whole-la,off")
    return rules


def _sweep_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    _geography_args(p)
    p.add_argument(
        "--floors",
        default="250000:1500000:50000",
        help="START:STOP:STEP (inclusive) or a list A,B,...; default 250000:1500000:50000",
    )
    p.add_argument(
        "--la-rule",
        type=_rules,
        default=("whole-la", "off"),
        metavar="RULES",
        help="whole-la, off, or both as whole-la,off (the default)",
    )
    p.add_argument(
        "--max-pop", type=_population, default=None, help="population ceiling at every floor"
    )
    p.add_argument(
        "--seconds-per-floor",
        type=_seconds("--seconds-per-floor"),
        default=4.0,
        help="time limit of each point's first run (default 4)",
    )
    p.add_argument(
        "--retry-seconds",
        type=_seconds("--retry-seconds"),
        default=15.0,
        help="time limit of a second run of each point left unproven (default 15)",
    )
    p.add_argument(
        "--max-seconds",
        type=_seconds("--max-seconds"),
        default=None,
        help="start no run that could end later than this into the sweep (default: no cap)",
    )
    p.add_argument("--no-cache", action="store_true", help="solve every point afresh")
    p.add_argument("--out", type=_path, default=None, help="write the points as CSV here")
    p.add_argument("--png", type=_path, default=None, help="write the curve as a PNG here")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _summary(result: Any, label: str) -> dict[str, Any]:
    from .sweep import REFERENCE_COUNTS

    rules = sorted({p.la_rule for p in result.points})
    return {
        "population": label,
        "seconds": round(result.seconds, 1),
        "seconds_per_floor": result.seconds_per_floor,
        "retry_seconds": result.retry_seconds,
        "stopped": result.stopped,
        "points": result.rows(),
        "proven": result.proven,
        "runs": sum(p.solved for p in result.points),
        "steps": {r: [list(s) for s in result.steps(r)] for r in rules},
        "references": [
            {"label": r.label, "count": r.count, "source": r.source} for r in REFERENCE_COUNTS
        ],
        "constraints": json.loads(result.constraints.to_json()),
    }


def _cell(p: Any) -> str:
    mark = ("" if p.solved else " *") + (" m" if p.merged else "")
    if p.footprints is None:
        return p.status + mark
    if p.status == "optimal":
        return f"{p.footprints} proven{mark}"
    return f"{p.footprints} (bound {p.bound}){mark}"


def _print_table(result: Any, label: str) -> None:
    rules = [r for r in ("whole-la", "off") if any(p.la_rule == r for p in result.points)]
    floors = sorted({p.floor for p in result.points})
    print(
        f"largest number of footprints by floor ({label}); * settled by other floors, "
        "m plan merged up from a lower floor's"
    )
    print(f"{'floor':>12}" + "".join(f"  {r:<20}" for r in rules))
    for f in floors:
        print(f"{f:>12,}" + "".join(f"  {_cell(result.point(f, r)):<20}" for r in rules))
    print(
        f"{result.proven} of {len(result.points)} points proven; "
        f"{sum(p.solved for p in result.points)} runs; {result.seconds:.1f} s"
    )


@command("sweep", _sweep_args)
def _sweep(args: argparse.Namespace) -> int:
    """Sweep the floor: the largest number of footprints at each floor, per LA rule."""
    from .constraints import Constraints
    from .problem import Problem
    from .sweep import parse_floors, sweep, sweep_figure

    floors = parse_floors(args.floors)
    _output_file(args.out, flag="--out")
    _output_file(args.png, flag="--png")
    if args.out is not None and args.png is not None and args.out.resolve() == args.png.resolve():
        raise ConstraintsError(
            "Two outputs, one file",
            problems=[f"--out and --png both name {args.out}; give them different files"],
        )
    ds = _load(args)
    if "whole-la" in args.la_rule and ds.audit is None:
        from .problem import NO_LA_LAYER

        raise ConstraintsError(
            "The LA rule cannot be applied",
            problems=[
                f"{NO_LA_LAYER} (--la-boundaries FILE --la-code-column NAME, or --la-rule off)"
            ],
        )
    problem = Problem.from_dataset(ds)
    base = Constraints(max_population=args.max_pop, min_population=min(floors))
    result = sweep(
        problem,
        floors=floors,
        la_rules=args.la_rule,
        constraints=base,
        seconds_per_floor=args.seconds_per_floor,
        retry_seconds=args.retry_seconds,
        max_seconds=args.max_seconds,
        cache=not args.no_cache,
        progress=lambda message, done, total: log.info("%s", message),
    )
    label = population_word(problem.population_label)
    if args.out is not None:
        _write_output(args.out, result.to_csv(), flag="--out", what="sweep table")
    if args.png is not None:
        fig = sweep_figure(result, population_label=label, attribution=ds.geography.attribution)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        _write_output(args.png, buf.getvalue(), flag="--png", what="curve")
    if args.json:
        print(json.dumps(_summary(result, label)))
    else:
        _print_table(result, label)
    # 1 when a point has no plan in its time (an unproven point with a plan is an answer)
    return 1 if any(p.status == "no-solution" for p in result.points) else 0
