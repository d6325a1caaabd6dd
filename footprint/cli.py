"""Command line: ``python -m footprint <command>``.

Output meant for other tools (``--json``, ``--csv``) has stable keys; errors go
to standard error as one plain message and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cli_args import (
    _COMMANDS,
    MAX_PLAN_BYTES,
    _count,
    _data_arg,
    _fraction,
    _geography_args,
    _input_file,
    _load,
    _output_file,
    _Parser,
    _path,
    _population,
    _population_range,
    _read_constraints,
    _require_la_layer,
    _say,
    _seconds,
    _UsageError,
    _write_output,
    command,
)
from ._text import population_word
from .constraints import CLUSTER_RANGE, NESTED_COUNTS
from .errors import ConstraintsError, FootprintError, InputFileError

if TYPE_CHECKING:
    from .constraints import Constraints
    from .plans import PlanImport
    from .validate import Violation

log = logging.getLogger(__name__)


def _info_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    _geography_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("info", _info_args)
def _info(args: argparse.Namespace) -> int:
    """Say what the geography holds: units, population, LAs, adjacency, data digest."""
    ds = _load(args)
    geo = ds.geography
    audit = ds.audit  # None for a geography without LAs (the planner's own)
    info = {
        "name": geo.name,
        "units": len(geo.units),
        "population_total": geo.population_total,
        "population_label": geo.population_label,
        "unit_label": geo.unit_label,
        "la_upper": len(geo.la_upper) if geo.la_upper is not None else 0,
        "la_lower": len(geo.la_lower) if geo.la_lower is not None else 0,
        "adjacency_edges": len(ds.adjacency.edges),
        "adjacency_components": len(ds.adjacency.components()),
        "bridges": [list(b) for b in ds.adjacency.bridges],
        "river_crossings": [list(b) for b in ds.adjacency.river_crossings],
        "crossing_units": len(audit.crossing_units) if audit is not None else None,
        "crossing_tolerance": audit.tolerance if audit is not None else None,
        "la_blocks": audit.n_blocks if audit is not None else None,
        "data_digest": geo.source_digest,
    }
    if args.json:
        print(json.dumps(info))
    else:
        width = max(map(len, info))
        for k, v in info.items():
            print(f"{k:<{width}}  {v}")
    return 0


def _audit_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    _geography_args(p)
    p.add_argument("--csv", type=_path, required=True, metavar="FILE", help="write the shares here")
    p.add_argument("--tier", choices=("upper", "lower"), default="upper")
    p.add_argument(
        "--tolerance",
        type=_fraction("--tolerance", "0.01"),
        default=0.01,
        help="share outside the home LA that counts as crossing",
    )


@command("audit", _audit_args)
def _audit(args: argparse.Namespace) -> int:
    """Which CCGs cross LA boundaries, and the LA blocks that must stay whole."""
    from .audit import audit_la

    _output_file(args.csv, flag="--csv")
    ds = _load(args)
    if ds.geography.la_upper is None:
        raise InputFileError(
            f"{ds.geography.name}: this geography has no local authority layer, so there is "
            "nothing to audit against; give --la-boundaries FILE --la-code-column NAME (and "
            "--la-name-column NAME) beside --boundaries, or drop --boundaries to audit the "
            "England 2013 data"
        )
    audit = audit_la(ds.geography, tier=args.tier, tolerance=args.tolerance)
    units = ds.geography.units[["code", "nhs_code", "name"]].rename(
        columns={"code": "unit_code", "nhs_code": "unit_nhs_code", "name": "unit_name"}
    )
    table = (
        audit.shares.merge(units, on="unit_code")
        .merge(audit.units[["unit_code", "home_la", "crosses"]], on="unit_code")
        .assign(is_home=lambda d: d["la_code"] == d["home_la"], tier=args.tier)
    )
    table["share"] = table["share"].round(6)
    cols = [
        "unit_code",
        "unit_nhs_code",
        "unit_name",
        "tier",
        "la_code",
        "la_name",
        "share",
        "is_home",
        "crosses",
    ]
    _write_output(
        args.csv, table[cols].to_csv(index=False).encode("utf-8"), flag="--csv", what="shares"
    )
    print(
        f"wrote {len(table)} rows for {table['unit_code'].nunique()} units to {args.csv}; "
        f"{len(audit.crossing_units)} cross {args.tier}-tier LA boundaries by more than "
        f"{args.tolerance:.1%}"
    )
    return 0


# --- fetch ------------------------------------------------------------------------------------


def _fetch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=_path,
        default=None,
        help="folder to download into (default: $FOOTPRINT_DATA_DIR, else ./data, else the "
        "user's own folder ~/.local/share/footprint/data when ./data cannot be written)",
    )
    p.add_argument(
        "--mirror",
        metavar="BASE_URL",
        default=None,
        help="fetch BASE_URL/<path> instead of the manifest URLs (an internal copy, same layout)",
    )
    p.add_argument("--force", action="store_true", help="download even files that are up to date")
    p.add_argument(
        "--timeout",
        type=_seconds("--timeout"),
        default=60.0,
        help="seconds to wait for the network; each file must also arrive within a deadline",
    )
    p.add_argument(
        "--deadline",
        type=_seconds("--deadline"),
        default=None,
        help="seconds each file may take in all (default: --timeout plus the size at 32 kB/s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


@command("fetch", _fetch_args)
def _fetch(args: argparse.Namespace) -> int:
    """Download the reference files of footprint/data/manifest.json, checking every checksum."""
    from .fetch import fetch_data, summary_lines

    results = fetch_data(
        args.data_dir,
        mirror=args.mirror,
        force=args.force,
        timeout=args.timeout,
        deadline=args.deadline,
        progress=not args.quiet,
    )
    for line in summary_lines(results):
        print(line)
    n_new = sum(r.status == "downloaded" for r in results)
    print(f"{n_new} downloaded, {len(results) - n_new} already up to date")
    return 0


# --- optimise / validate ----------------------------------------------------------------------


def _constraints_from_flags(
    args: argparse.Namespace, count: int | tuple[int, int] | None, units: Any
) -> Constraints:
    """The optimise flags as constraints, every problem in one error.

    Units may be given by code, NHS code or name, as in the app's rule boxes.
    """
    from .form import constraints_from_form
    from .rule_text import read_units, unit_lookup

    lookup = unit_lookup(units["code"], names=units["name"], nhs_codes=units["nhs_code"])
    problems: list[str] = []

    def lines(flag: str, values: list[str]) -> list[tuple[str, str]]:
        return [(f"{flag} {v!r}", v) for v in values]

    fixed = []
    for item in args.fix:
        unit, sep, name = item.partition("=")
        codes, problem = read_units(unit, lookup=lookup)
        if not sep or not name.strip():
            problems.append(f"--fix {item!r}: expected CODE=NAME, e.g. E38000001=North")
        elif problem is not None or len(codes) != 1:
            problems.append(f"--fix {item!r}: {problem or 'expected one unit before the ='}")
        else:
            fixed.append((codes[0], name.strip()))
    return constraints_from_form(
        lookup=lookup,
        keep_together=lines("--keep-together", args.keep_together),
        keep_apart=lines("--keep-apart", args.keep_apart),
        disabled_edges=lines("--disable-edge", args.disable_edge),
        fixed_units=fixed,
        problems=problems,
        objective=args.objective,
        min_population=args.min_pop,
        max_population=args.max_pop,
        n_footprints=count,
        la_rule=args.la_rule,
        locked=tuple(args.lock),
        time_limit=args.time_limit,
        mip_gap=args.mip_gap,
        solver=args.solver,
        change_measure=args.change_measure,
        cluster_min_population=args.cluster_pop[0],
        cluster_max_population=args.cluster_pop[1],
        nested_maximise=args.maximise,
    )


#: The optimiser's repeatable rule flags: flag, what it takes, what it does.
_RULE_FLAGS = (
    ("--keep-together", "A,B,...", "codes that share a footprint (repeatable)"),
    ("--keep-apart", "A,B", "two codes in different footprints (repeatable)"),
    ("--fix", "CODE=NAME", "put a unit in a named footprint (repeatable)"),
    ("--lock", "NAME", "keep a footprint of --current exactly as it is (repeatable)"),
    ("--disable-edge", "A,B", "switch off an adjacency or island bridge (repeatable)"),
)


def _optimise_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    _geography_args(p)
    p.add_argument(
        "--objective",
        default="max-footprints",
        choices=["max-footprints", "compact", "balanced", "fewest-changes", "nested"],
    )
    p.add_argument(
        "--min-pop", type=_population, default=300_000, help="population floor per footprint"
    )
    p.add_argument(
        "--max-pop", type=_population, default=None, help="population ceiling per footprint"
    )
    p.add_argument(
        "--footprints",
        type=_count,
        default=None,
        help="number of footprints: N, or LOW-HIGH for a range",
    )
    p.add_argument("--la-rule", default="whole-la", choices=["whole-la", "off"])
    p.add_argument(
        "--cluster-pop",
        type=_population_range,
        default=CLUSTER_RANGE,
        metavar="LOW:HIGH",
        help="nested: population range of the clusters inside each footprint "
        "(default 250000:1000000)",
    )
    p.add_argument(
        "--maximise",
        default="footprints",
        choices=NESTED_COUNTS,
        help="nested: maximise the number of footprints or of clusters (default footprints)",
    )
    for flag, metavar, text in _RULE_FLAGS:
        p.add_argument(flag, action="append", default=[], metavar=metavar, help=text)
    p.add_argument(
        "--current",
        type=_path,
        default=None,
        metavar="PLAN.csv",
        help="current plan (for fewest-changes, locks, and as a warm start)",
    )
    p.add_argument("--change-measure", default="units", choices=["units", "population"])
    p.add_argument(
        "--time-limit", type=_seconds("--time-limit"), default=60.0, help="seconds in all"
    )
    p.add_argument(
        "--mip-gap",
        type=_fraction("--mip-gap", "0.0001"),
        default=1e-4,
        help="relative gap to stop at",
    )
    p.add_argument("--solver", default="highs", choices=["highs", "cbc"])
    p.add_argument(
        "--constraints",
        type=_path,
        default=None,
        metavar="FILE.json",
        help="constraints saved by an earlier run (the flags above are then ignored)",
    )
    p.add_argument("--out", type=_path, default=None, help="write the plan CSV here")
    p.add_argument("--log", type=_path, default=None, help="write the solver's log here")
    p.add_argument("--json", action="store_true", help="print one JSON object")


#: Seconds kept back from --time-limit for writing the files and leaving (measured: under 1 s).
_FINISH_SECONDS = 1.0


def _process_age() -> float:
    """Seconds since this process started (0 where the system does not say).

    Importing the library and loading the data take seconds (more on a busy server); a
    planner's --time-limit bounds the whole command, so the optimiser gets what is left.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: start time
        with open("/proc/uptime", encoding="ascii") as f:
            up = float(f.read().split()[0])
        return max(0.0, up - started / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _time_left(limit: float) -> float:
    """What is left of the command's ``limit`` for the optimiser (at least half a second)."""
    left = limit - _process_age() - _FINISH_SECONDS
    if left < limit:
        log.info(
            "loading took %.1f s of --time-limit %g s; the optimiser gets %.1f s",
            limit - left - _FINISH_SECONDS,
            limit,
            max(left, 0.5),
        )
    return max(left, 0.5)


@command("optimise", _optimise_args)
def _optimise(args: argparse.Namespace) -> int:
    """Plan footprints under the rules; write the plan CSV and say its status."""
    from .optimiser import optimise
    from .plans import read_plan_csv, write_plan_csv
    from .problem import Problem

    # every file is checked before the data is loaded and the solve starts, so a bad path
    # never costs a run
    constraints_file = _read_constraints(args.constraints) if args.constraints is not None else None
    if args.current is not None:
        _input_file(
            args.current,
            what="current plan CSV",
            flag="--current",
            max_bytes=MAX_PLAN_BYTES,
        )
    _output_file(args.out, flag="--out")
    _output_file(args.log, flag="--log")
    if args.out is not None and args.log is not None and args.out.resolve() == args.log.resolve():
        raise InputFileError(f"--out and --log both name {args.out}; give them different files")
    ds = _load(args)
    constraints = (
        constraints_file
        if constraints_file is not None
        else _constraints_from_flags(args, args.footprints, ds.geography.units)
    )
    _require_la_layer(ds, constraints)
    problem = Problem.from_dataset(ds)
    units = ds.geography.units
    current = None
    if args.current is not None:
        imp = read_plan_csv(
            args.current, known_codes=list(units["code"]), nhs_codes=ds.geography.nhs_code_aliases
        )
        for note in imp.problems:
            log.warning("%s: %s", args.current.name, note)
        current = dict(imp.assignment)
    constraints = constraints.replace(time_limit=_time_left(constraints.time_limit))
    result = optimise(problem, constraints, current=current, progress=(lambda m: log.info(m)))
    if args.out is not None and result.assignment:
        _write_output(
            args.out,
            write_plan_csv(
                result.assignment, codes=list(units["code"]), clusters=result.clusters or None
            ),
            flag="--out",
            what="plan",
        )
    if args.log is not None:
        _write_output(args.log, result.log.encode("utf-8"), flag="--log", what="solver log")
    summary = result.to_dict()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"status      {result.status}")
        print(f"footprints  {result.footprints}")
        if result.clusters:
            print(f"clusters    {len(set(result.clusters.values()))}")
        if result.bound is not None:
            gap = "?" if result.gap is None else f"{result.gap:.2%}"
            print(f"bound       {result.bound:g}   gap {gap}")
        print(f"seconds     {result.seconds:.1f}")
        for reason in result.reasons:
            print(f"reason      {reason}")
        if result.table is not None:
            label = population_word(problem.population_label)
            print(f"smallest    {result.smallest_population:,} {label}")
        if args.out is not None and result.assignment:
            print(f"plan        {args.out}")
    return 0 if result.ok else 1


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", type=_path, metavar="PLAN.csv", help="plan file: unit_code,footprint")
    _data_arg(p)
    _geography_args(p)
    p.add_argument(
        "--min-pop",
        type=_population,
        default=None,
        metavar="N",
        help="population floor of every footprint (default 300,000)",
    )
    p.add_argument(
        "--max-pop",
        type=_population,
        default=None,
        metavar="N",
        help="population ceiling of every footprint (default none)",
    )
    p.add_argument(
        "--la-rule",
        choices=("whole-la", "off"),
        default=None,
        help="keep every LA block in one footprint (default whole-la)",
    )
    p.add_argument(
        "--constraints",
        type=_path,
        default=None,
        metavar="FILE.json",
        help="constraints saved as JSON; --min-pop/--max-pop/--la-rule override it",
    )
    p.add_argument(
        "--cluster-pop",
        type=_population_range,
        default=None,
        metavar="LOW:HIGH",
        help="check the plan's cluster column too, each cluster within this range (a nested "
        "plan; constraints saved by a nested run check it with their own range)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("validate", _validate_args)
def _validate(args: argparse.Namespace) -> int:
    """Check a plan CSV against the rules; exit 0 if valid, 1 if rules are broken."""
    from .constraints import Constraints
    from .plans import read_plan_csv
    from .problem import Problem
    from .validate import _unknown_violation, validate_plan

    _input_file(args.plan, what="plan CSV", flag="", max_bytes=MAX_PLAN_BYTES)
    constraints = Constraints()
    if args.constraints is not None:
        constraints = _read_constraints(args.constraints)
    overrides = {
        k: v
        for k, v in (
            ("min_population", args.min_pop),
            ("max_population", args.max_pop),
            ("la_rule", args.la_rule),
        )
        if v is not None
    }
    if args.cluster_pop is not None:
        overrides["objective"] = "nested"
        overrides["cluster_min_population"], overrides["cluster_max_population"] = args.cluster_pop
    if overrides:
        try:
            constraints = constraints.replace(**overrides)
        except ConstraintsError as exc:
            raise ConstraintsError(
                "The rules given are not usable", problems=exc.problems or [str(exc)]
            ) from None
    ds = _load(args)
    _require_la_layer(ds, constraints)
    problem = Problem.from_dataset(ds)
    imp = read_plan_csv(
        args.plan, known_codes=problem.codes, nhs_codes=ds.geography.nhs_code_aliases
    )
    violations = validate_plan(
        problem,
        imp.assignment,
        constraints,
        clusters=imp.clusters if constraints.objective == "nested" else None,
    )
    if imp.unknown_codes:
        violations.insert(0, _unknown_violation(imp.unknown_codes))
    if args.json:
        _print_validation_json(args.plan, imp, violations, n_units=len(problem.codes))
    else:
        _print_validation(args.plan, imp, violations, n_units=len(problem.codes))
    return 1 if violations else 0


def _print_validation_json(
    plan: Path, imp: PlanImport, violations: list[Violation], *, n_units: int
) -> None:
    """``validate --json``: the plan file's notes on stderr, one JSON object on stdout."""
    for p in imp.problems:
        print(f"warning: {plan.name}: {p}", file=sys.stderr)
    print(
        json.dumps(
            {
                "valid": not violations,
                "footprints": len(set(imp.assignment.values())),
                "unassigned": n_units - len(imp.assignment),
                "unknown_codes": list(imp.unknown_codes),
                "duplicates": list(imp.duplicates),
                "violations": [
                    {
                        "rule": v.rule,
                        "footprint": v.footprint,
                        "message": v.message,
                        "units": list(v.units),
                    }
                    for v in violations
                ],
            }
        )
    )


def _print_validation(
    plan: Path, imp: PlanImport, violations: list[Violation], *, n_units: int
) -> None:
    """``validate``: the plan's counts, the file's notes and every rule broken, in lines."""
    n_footprints = len(set(imp.assignment.values()))
    print(
        f"{plan.name}: {imp.rows} rows, {n_footprints} footprints, "
        f"{n_units - len(imp.assignment)} of {n_units} units unassigned"
    )
    for p in imp.problems:
        print(f"warning: {p}")
    if imp.duplicates:
        print(
            f"warning: {len(imp.duplicates)} unit(s) appear on more than one line: "
            + ", ".join(imp.duplicates)
        )
    if not violations:
        print("valid: every footprint meets the rules")
        return
    print(f"not valid: {len(violations)} rule(s) broken")
    for v in violations:
        print(f"  [{v.rule}] {v.message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m footprint",
        description="Plan commissioning support footprints of CCGs from the command line.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument(
        "--debug", action="store_true", help="log everything, with the traceback of any crash"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (configure, fn) in _COMMANDS.items():
        p = sub.add_parser(
            name, help=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else None
        )
        configure(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status.

    0: done (a plan is valid, a solve succeeded); 1: done, but the answer is no (a plan
    breaks a rule, no plan was found); 2: bad input (a flag, a file, the data), said in
    one message on standard error; 3: an unexpected error (a bug), said in one line, with
    the traceback only under ``--debug``; 130: interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        _say(f"error: {exc}\n(add --help after the command to list its options)")
        return 2
    except SystemExit as exc:  # --help, which argparse ends by exiting
        return exc.code if isinstance(exc.code, int) else 0
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr)
    try:
        return args.func(args)
    except FootprintError as exc:
        _say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        _say("error: interrupted; no partial file was left behind")
        return 130
    except BrokenPipeError:  # the reader of standard output went away (e.g. `| head`)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        log.debug("unexpected error in %s", args.command, exc_info=True)
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        _say(
            f"error: unexpected error in {args.command} ({type(exc).__name__}"
            + (f": {detail}" if detail else "")
            + "); this is a bug, please report it. Run again with --debug for details"
        )
        return 3


# commands kept in modules of their own register themselves (with @command) on import, after
# the ones above, so that --help lists them last
from . import _cli_sweep, _cli_export  # noqa: E402, F401, I001
