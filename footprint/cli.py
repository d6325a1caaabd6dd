"""Command line: ``python -m footprint <command>``.

Output meant for other tools (``--json``, ``--csv``) has stable keys; errors go
to standard error as one plain message and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ._text import population_word
from .constraints import CLUSTER_RANGE, NESTED_COUNTS
from .errors import ConstraintsError, FootprintError, InputFileError

if TYPE_CHECKING:
    from .constraints import Constraints
    from .geography import Geography
    from .loader import Dataset
    from .plans import PlanImport
    from .validate import Violation

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: ``configure`` adds its arguments, the decorated function runs it."""

    def wrap(fn: Command) -> Command:
        _COMMANDS[name] = (configure, fn)
        return fn

    return wrap


# --- reading flags and files without trusting them --------------------------------------------

#: Largest population a flag or a constraints file may give (far above any real geography).
MAX_POPULATION = 10**12
#: Largest number of seconds for --time-limit and --timeout (a day).
MAX_SECONDS = 24 * 3600
#: Largest constraints file read (a saved run's constraints are a few kB).
MAX_CONSTRAINTS_BYTES = 1024 * 1024
#: Largest plan CSV read (one line per unit: a few kB for England).
MAX_PLAN_BYTES = 64 * 1024 * 1024


def _number(text: str, *, example: str) -> float:
    """A finite number from a flag's text, or an argparse error saying what was expected."""
    try:
        value = float(text.strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected a number, e.g. {example}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a finite number, e.g. {example}")
    return value


def _seconds(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _number(text, example="60")
        if not 0 < value <= MAX_SECONDS:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; expected seconds above 0 and at most {MAX_SECONDS:,}, e.g. 60"
            )
        return value

    return parse


def _fraction(flag: str, example: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _number(text, example=example)
        if not 0 <= value < 1:
            raise argparse.ArgumentTypeError(
                f"got {text!r}; expected a fraction from 0 up to (not including) 1, e.g. {example}"
            )
        return value

    return parse


def _population(text: str) -> int:
    """A population from a flag: a whole number of people, thousands separators allowed."""
    clean = text.strip().replace(",", "").replace("_", "")
    if not re.fullmatch(r"[0-9]+", clean, flags=re.ASCII):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected a whole number of people, e.g. 300000 or 300,000"
        )
    value = int(clean)
    if value > MAX_POPULATION:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected at most {MAX_POPULATION:,} people"
        )
    return value


def _population_range(text: str) -> tuple[int, int]:
    """--cluster-pop: ``LOW:HIGH``, two whole numbers of people (their order is checked later)."""
    low, sep, high = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected LOW:HIGH in people, e.g. 250000:1000000"
        )
    return _population(low), _population(high)


def _count(text: str) -> int | tuple[int, int]:
    """--footprints: ``N`` or ``LOW-HIGH``, both whole numbers of at least 1."""
    m = re.fullmatch(r"\s*([0-9]{1,6})\s*(?:-\s*([0-9]{1,6})\s*)?", text, flags=re.ASCII)
    expected = "expected N or LOW-HIGH, e.g. 25 or 20-30"
    if m is None:
        raise argparse.ArgumentTypeError(f"got {text!r}; {expected}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else None
    if lo < 1 or (hi is not None and hi < lo):
        raise argparse.ArgumentTypeError(f"got {text!r}; {expected}, with 1 <= LOW <= HIGH")
    return lo if hi is None or hi == lo else (lo, hi)


def _path(text: str) -> Path:
    """A path from a flag; an empty one is refused (``Path("")`` would mean this folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a file or folder name")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("got a name holding a NUL character; expected a path")
    return Path(text)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so :func:`main` reports every error alike."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    """A flag argparse could not read; reported as ``error: ...`` with exit status 2."""


def _input_file(path: Path, *, what: str, flag: str, max_bytes: int) -> bytes:
    """The bytes of a file the planner named, refusing folders, special files and huge files.

    The size is checked before the file is read, and the read stops one byte past the
    limit, so a file that grows (or a device) never fills the memory.
    """
    if not str(path).strip():
        raise InputFileError(
            f"{flag or 'the ' + what}: got an empty file name; expected the path of the {what}"
        )
    shown = f"{flag} {path}" if flag else str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(
            f"{shown}: no such file; check the path and the file name of the {what}"
        ) from None
    except OSError as exc:
        raise InputFileError(
            f"{shown}: cannot open it ({exc.strerror or exc}); check the path of the {what}"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(
            f"{shown}: is a folder; expected the {what} itself, e.g. {path}/<name>"
        )
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{shown}: not a regular file; expected the {what}")
    if info.st_size > max_bytes:
        raise InputFileError(
            f"{shown}: {info.st_size / 1024 / 1024:.1f} MB, more than the "
            f"{max_bytes / 1024 / 1024:.1f} MB allowed for the {what}"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(
            f"{shown}: cannot read it ({exc.strerror or exc}); check its permissions"
        ) from None
    if len(data) > max_bytes:
        raise InputFileError(
            f"{shown}: more than the {max_bytes / 1024 / 1024:.1f} MB allowed for the {what}"
        )
    return data


def _output_file(path: Path | None, *, flag: str) -> None:
    """Check, before any long work, that ``path`` can be written; leave nothing behind.

    The file is written later by renaming a temporary file from the same folder into
    place, so what must work is creating a file in that folder: it is probed with a
    temporary file that is removed at once.
    """
    if path is None:
        return
    shown = str(path)
    if not shown.strip():
        raise InputFileError(f"{flag}: got an empty file name; expected a file to write")
    if path.is_dir():
        raise InputFileError(
            f"{flag} {shown}: is a folder; expected a file name, e.g. {path / 'plan.csv'}"
        )
    if not path.name or path.name in (".", ".."):
        raise InputFileError(f"{flag} {shown}: not a file name; expected e.g. plan.csv")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputFileError(
            f"{flag} {shown}: the folder {folder} {what}; create it first or write elsewhere"
        )
    if path.exists() and not path.is_file():
        raise InputFileError(f"{flag} {shown}: exists and is not a regular file; choose another")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise InputFileError(
            f"{flag} {shown}: cannot write in {folder} ({exc.strerror or exc}); choose a folder "
            "you can write to"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _write_output(path: Path, data: bytes, *, flag: str, what: str) -> None:
    from ._cache import atomic_write_bytes

    try:
        atomic_write_bytes(path, data, make_parents=False)
    except OSError as exc:
        raise InputFileError(
            f"{flag} {path}: could not write the {what} ({exc.strerror or exc}); "
            "free some disk space or choose another file"
        ) from None


def _finite_json(text: str) -> Any:
    """JSON with NaN, Infinity and numbers too large for a float refused by name."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows; write a plain number")

    def real(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise ValueError(f"the number {token} is too large")
        return value

    return json.loads(text, parse_constant=constant, parse_float=real)


_SCHEMA: dict[str, str] = {
    "format": "text",
    "objective": "text",
    "la_rule": "text",
    "solver": "text",
    "change_measure": "text",
    "min_population": "population",
    "max_population": "population or null",
    "n_footprints": "count",
    "keep_together": "groups",
    "keep_apart": "pairs",
    "disabled_edges": "pairs",
    "fixed": "fixed",
    "locked": "names",
    "time_limit": "number",
    "mip_gap": "number",
    "cluster_min_population": "population",
    "cluster_max_population": "population",
    "nested_maximise": "text",
}


def _is_whole(v: Any) -> bool:
    return (
        not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) and v == int(v)
    )


def _is_texts(v: Any, n: int | None = None) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v) and (n is None or len(v) == n)


def _schema_problems(data: dict[str, Any]) -> list[str]:
    """What in a constraints object has the wrong type (the values are checked later)."""
    problems = []
    for key, kind in _SCHEMA.items():
        if key not in data:
            continue
        v = data[key]
        ok = {
            "text": lambda v: isinstance(v, str),
            "population": lambda v: _is_whole(v) and 0 <= v <= MAX_POPULATION,
            "population or null": lambda v: (
                v is None or (_is_whole(v) and 0 <= v <= MAX_POPULATION)
            ),
            "count": lambda v: (
                v is None
                or (_is_whole(v) and 1 <= v <= 10**6)
                or (isinstance(v, list) and len(v) == 2 and all(_is_whole(x) for x in v))
            ),
            "groups": lambda v: isinstance(v, list) and all(_is_texts(g) for g in v),
            "pairs": lambda v: isinstance(v, list) and all(_is_texts(p, 2) for p in v),
            "fixed": lambda v: (
                (isinstance(v, dict) and all(isinstance(x, str) for x in v.values()))
                or (isinstance(v, list) and all(_is_texts(p, 2) for p in v))
            ),
            "names": _is_texts,
            "number": lambda v: (
                not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
            ),
        }[kind](v)
        if ok:
            continue
        expected = {
            "text": "text in quotes",
            "population": f"a whole number of people from 0 to {MAX_POPULATION:,}",
            "population or null": f"null or a whole number of people up to {MAX_POPULATION:,}",
            "count": "null, a whole number such as 25, or a range such as [20, 30]",
            "groups": 'a list of lists of unit codes, e.g. [["E38000001", "E38000002"]]',
            "pairs": 'a list of pairs of unit codes, e.g. [["E38000001", "E38000002"]]',
            "fixed": 'an object of unit code to footprint name, e.g. {"E38000001": "North"}',
            "names": 'a list of footprint names, e.g. ["North"]',
            "number": "a number",
        }[kind]
        got = json.dumps(v)
        got = got if len(got) <= 60 else got[:57] + "..."
        problems.append(f"{key}: got {got} ({_json_kind(v)}); expected {expected}")
    return problems


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "a list"
    return "an object"


def _read_constraints(path: Path, *, flag: str = "--constraints") -> Constraints:
    """A saved run's constraints, every problem with the file in one error."""
    from .constraints import Constraints

    data = _input_file(
        path, what="constraints file (JSON)", flag=flag, max_bytes=MAX_CONSTRAINTS_BYTES
    )
    where = f"{flag} {path}"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff",):
        raise ConstraintsError(
            f"{where}: the file is UTF-16 text; expected UTF-8. Save it again as UTF-8 "
            "(or write it with `optimise --json`)"
        )
    if b"\x00" in data:
        raise ConstraintsError(
            f"{where}: the file holds binary data (NUL bytes); expected the JSON text that "
            "`optimise --json` saves under reproduce.constraints"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConstraintsError(
            f"{where}: not UTF-8 text (byte {exc.start} cannot be read); expected the JSON "
            "text that `optimise --json` saves. Save the file as UTF-8"
        ) from None
    try:
        obj = _finite_json(text)
    except json.JSONDecodeError as exc:
        raise ConstraintsError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            'expected one JSON object such as {"min_population": 300000}'
        ) from None
    except (ValueError, RecursionError) as exc:
        msg = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ConstraintsError(f"{where}: not usable JSON ({msg})") from None
    if not isinstance(obj, dict):
        raise ConstraintsError(
            f"{where}: got {_json_kind(obj)}; expected one JSON object such as "
            '{"min_population": 300000}'
        )
    problems = _schema_problems(obj)
    if problems:
        raise ConstraintsError(f"{where}: the constraints are not usable", problems=problems)
    try:
        return Constraints.from_dict(obj)
    except ConstraintsError as exc:
        raise ConstraintsError(
            f"{where}: the constraints are not usable", problems=exc.problems or [str(exc)]
        ) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConstraintsError(f"{where}: the constraints are not usable ({exc})") from None


# --- the planner's own geography ----------------------------------------------------------------


def _geography_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "your own geography (instead of the England 2013 CCGs; read as the app reads uploads)"
    )
    g.add_argument(
        "--boundaries",
        nargs="+",
        type=_path,
        default=None,
        metavar="FILE",
        help="GeoJSON, GeoPackage, TopoJSON or zipped shapefile (or the .shp, .shx, .dbf, .prj)",
    )
    g.add_argument(
        "--population",
        type=_path,
        default=None,
        metavar="FILE.csv",
        help="CSV with a code column and a population column",
    )
    g.add_argument("--code-column", default=None, help="unit code column of the boundaries")
    g.add_argument("--population-column", default=None, help="population column of the CSV")
    g.add_argument(
        "--population-code-column",
        default=None,
        help="code column of the CSV (default: --code-column)",
    )
    g.add_argument("--name-column", default=None, help="unit name column of the boundaries")
    g.add_argument(
        "--population-label",
        default="population",
        help="what the population counts, e.g. 'residents'",
    )
    g.add_argument("--crs", default=None, help="CRS to assume when the file states none")
    g.add_argument("--layer", default=None, help="layer of a multi-layer file (GeoPackage)")
    g.add_argument(
        "--unit-label",
        default=None,
        help="what the units are called, e.g. 'sub-ICB location' (default 'unit')",
    )
    g.add_argument(
        "--la-boundaries",
        nargs="+",
        type=_path,
        default=None,
        metavar="FILE",
        help="local authority boundaries beside --boundaries (any format --boundaries takes), "
        "for the LA audit and --la-rule whole-la",
    )
    g.add_argument("--la-code-column", default=None, help="LA code column of --la-boundaries")
    g.add_argument(
        "--la-name-column", default=None, help="LA name column of --la-boundaries (optional)"
    )
    g.add_argument("--la-layer", default=None, help="layer of a multi-layer LA file")


_GEO_FLAGS = (
    "population",
    "code_column",
    "population_column",
    "population_code_column",
    "name_column",
    "crs",
    "layer",
    "unit_label",
    "la_boundaries",
    "la_code_column",
    "la_name_column",
    "la_layer",
)
_LA_FLAGS = ("la_code_column", "la_name_column", "la_layer")


def _load(args: argparse.Namespace) -> Dataset:
    """The England 2013 data, or the planner's own files through the app's upload path."""
    from . import loader

    if args.boundaries is None:
        given = _given(args, _GEO_FLAGS)
        if given:
            raise InputFileError(
                f"{', '.join(given)} given without --boundaries; give --boundaries FILE and "
                "--population FILE.csv to plan on your own geography, or drop these flags"
            )
        return loader.load_dataset(args.data_dir)
    return loader.Dataset.from_geography(_own_geography(args))


def _given(args: argparse.Namespace, names: Sequence[str]) -> list[str]:
    """The flags among ``names`` that were given, as the planner typed them."""
    return [f"--{k.replace('_', '-')}" for k in names if getattr(args, k) is not None]


def _blank(value: object) -> bool:
    return value is None or not str(value).strip()


_Upload = tuple[str, bytes]


def _read_inputs(
    paths: Sequence[Path], *, what: str, flag: str, problems: list[str]
) -> list[_Upload]:
    """Each file's name and bytes; a file that cannot be read is a problem listed instead."""
    from .uploads import MAX_UPLOAD_BYTES

    out: list[_Upload] = []
    for path in paths:
        try:
            data = _input_file(path, what=what, flag=flag, max_bytes=MAX_UPLOAD_BYTES)
        except InputFileError as exc:
            problems.append(str(exc))
        else:
            out.append((path.name, data))
    return out


def _own_la_files(args: argparse.Namespace, problems: list[str]) -> list[_Upload]:
    """The --la-boundaries files read, or none; misused LA flags are problems listed."""
    if args.la_boundaries is None:
        given = _given(args, _LA_FLAGS)
        if given:
            problems.append(
                f"{', '.join(given)} given without --la-boundaries; give --la-boundaries FILE "
                "for your local authorities, or drop these flags"
            )
        return []
    if _blank(args.la_code_column):
        problems.append("--la-code-column NAME is needed with --la-boundaries")
    return _read_inputs(
        args.la_boundaries, what="LA boundary file", flag="--la-boundaries", problems=problems
    )


def _own_geography(args: argparse.Namespace) -> Geography:
    """The planner's own geography from --boundaries and --population, every problem listed."""
    from .uploads import load_uploaded_geography

    problems = []
    if args.data_dir is not None:
        problems.append("--data-dir is for the England 2013 files; drop it with --boundaries")
    for flag, value in (
        ("--population FILE.csv", args.population),
        ("--code-column NAME", args.code_column),
        ("--population-column NAME", args.population_column),
    ):
        if _blank(value):
            problems.append(f"{flag} is needed with --boundaries")
    boundary = _read_inputs(
        args.boundaries, what="boundary file", flag="--boundaries", problems=problems
    )
    la_boundary = _own_la_files(args, problems)
    population = None
    if not _blank(args.population):
        read = _read_inputs(
            [args.population], what="population CSV", flag="--population", problems=problems
        )
        population = read[0] if read else None
    if problems or population is None:
        raise InputFileError("Cannot read your own geography", problems=problems)
    log.info("reading your own geography from %s", ", ".join(n for n, _ in boundary))
    return load_uploaded_geography(
        boundary[0] if len(boundary) == 1 else boundary,
        population,
        code_column=args.code_column,
        population_column=args.population_column,
        population_code_column=args.population_code_column,
        name_column=args.name_column,
        crs=args.crs,
        layer=args.layer,
        population_label=args.population_label,
        la_boundaries=(la_boundary[0] if len(la_boundary) == 1 else la_boundary) or None,
        la_code_column=args.la_code_column,
        la_name_column=args.la_name_column,
        la_layer=args.la_layer,
        unit_label=args.unit_label or "unit",
    )


def _require_la_layer(ds: Dataset, constraints: Constraints) -> None:
    """Refuse --la-rule whole-la on a geography without LAs, naming the flags that fix it."""
    from .problem import NO_LA_LAYER

    if constraints.la_rule == "whole-la" and ds.audit is None:
        raise ConstraintsError(
            "The LA rule cannot be applied",
            problems=[
                f"{NO_LA_LAYER} (--la-boundaries FILE --la-code-column NAME, or --la-rule off)"
            ],
        )


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=_path,
        default=None,
        help="folder with the reference files (default: the first that holds them of "
        "$FOOTPRINT_DATA_DIR, ./data, ../shared/data and the user's own folder, "
        "~/.local/share/footprint/data)",
    )


def _info_args(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    _geography_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


@command("info", _info_args)
def _info(args: argparse.Namespace) -> int:
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


from . import _cli_sweep  # noqa: E402, F401  (registers "sweep"; it imports the helpers above)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m footprint", description=__doc__.splitlines()[0])
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


def _say(message: str) -> None:
    """One message on standard error, made safe to print whatever it quotes.

    Control characters (a terminal escape in a file or column name) are shown escaped,
    and undecodable bytes from the command line as backslash escapes.
    """
    text = "".join(ch if ch in "\n\t" or ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    with contextlib.suppress(OSError, ValueError):  # standard error closed: nothing to do
        print(text, file=sys.stderr)


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


# sub-commands kept in modules of their own register themselves (with @command) on import
from . import _cli_export  # noqa: E402, F401
