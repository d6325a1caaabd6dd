"""``python -m footprint export``: a plan CSV written as any of the app's exports.

The file is made by the very function behind the app's download button
(:data:`footprint.exporters.EXPORT_FORMATS`), so a proposal produced by a script is
the file a planner downloads. Registered with the command line by importing this
module (``footprint/cli.py`` does so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._cli_args import (
    MAX_PLAN_BYTES,
    _data_arg,
    _geography_args,
    _input_file,
    _load,
    _output_file,
    _path,
    _say,
    _write_output,
    command,
)
from .errors import InputFileError

#: ``--format`` -> the app's export (``csv`` is the table for a spreadsheet; ``plan-csv``
#: the two-column file the import reads).
FORMATS: dict[str, str] = {
    "gpkg": "gpkg",
    "geojson": "geojson",
    "shp": "shapefile",
    "kml": "kml",
    "csv": "table_csv",
    "plan-csv": "csv",
    "xlsx": "xlsx",
    "html": "html",
    "pdf": "pdf",
    "png": "png",
}


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", type=_path, metavar="PLAN.csv", help="plan file: unit_code,footprint")
    p.add_argument(
        "--format",
        required=True,
        choices=tuple(FORMATS),
        help="gpkg, geojson, shp (zipped), kml; csv or xlsx (a table for a spreadsheet: names, "
        "populations, LAs, Area Teams); plan-csv (unit_code,footprint); html (report); pdf or "
        "png (print-ready map)",
    )
    p.add_argument("--out", type=_path, required=True, metavar="FILE", help="file to write")
    p.add_argument(
        "--name", default=None, help="the scenario's name, printed on the map and in every file"
    )
    p.add_argument(
        "--paper",
        choices=("A4", "A3"),
        default=None,
        help="paper of the pdf or png map, landscape (default A4)",
    )
    _data_arg(p)
    _geography_args(p)


@command("export", _export_args)
def _export(args: argparse.Namespace) -> int:
    """Write a plan CSV as a GeoPackage, GeoJSON, shapefile, KML, table, report or map."""
    from ._text import clean_name
    from .exporters import EXPORT_FORMATS
    from .plans import read_plan_csv

    fmt = EXPORT_FORMATS[FORMATS[args.format]]
    if args.paper is not None and "paper" not in fmt.options:
        raise InputFileError(
            f"--paper applies to the pdf and png maps; --format {args.format} has no paper. "
            "Leave --paper out"
        )
    data = _input_file(args.plan, what="plan CSV", flag="", max_bytes=MAX_PLAN_BYTES)
    _output_file(args.out, flag="--out")
    ds = _load(args)
    geo = ds.geography
    imp = read_plan_csv(data, known_codes=geo.codes, nhs_codes=geo.nhs_code_aliases)
    problems = [*imp.problems]
    if imp.unknown_codes:
        problems.insert(
            0,
            f"{len(imp.unknown_codes)} code(s) are not {geo.unit_label_plural} of "
            f"{geo.name}: {', '.join(imp.unknown_codes[:15])}"
            + (" …" if len(imp.unknown_codes) > 15 else ""),
        )
    if problems:
        raise InputFileError(
            f"{args.plan}: the plan cannot be exported as it is; fix these rows and run again",
            problems=problems,
        )
    name = clean_name(args.name) if args.name is not None else ""
    metadata = {
        "scenario": name or Path(args.plan).stem,
        "population": geo.population_label,
        "source": f"plan file {Path(args.plan).name}",
        "status": "not checked (python -m footprint validate checks a plan)",
    }
    options = {"paper": args.paper or "A4"} if "paper" in fmt.options else {}
    out = fmt.function(geo, imp.assignment, metadata=metadata, **options)
    _write_output(args.out, out, flag="--out", what=fmt.label)
    if imp.missing:
        _say(
            f"note: {len(imp.missing)} {geo.unit_label_plural} are not in {args.plan} and are "
            "written unassigned"
        )
    print(
        f"wrote {args.out} ({fmt.label}, {len(set(imp.assignment.values()))} footprints, "
        f"{len(out):,} bytes)"
    )
    return 0
