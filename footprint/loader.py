"""Reading boundary and population files into a :class:`~footprint.geography.Geography`.

Two entry points: :func:`load_england_2013` for the reference data named in the
manifest, and :func:`load_geography` for a planner's own files (GeoJSON,
GeoPackage, TopoJSON or a zipped shapefile, plus a population CSV), which is how
newer geographies such as 2015+ CCGs or sub-ICB locations come in.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from . import _cache
from ._formats import (
    BoundarySource,
    check_boundary_file,
    check_zipped_mapinfo,
    check_zipped_shapefile,
    gdal_detail,
    harden_gdal,
)
from ._manifest import Manifest, read_manifest, resolve_data_dir
from ._text import decode_text
from .adjacency import Adjacency, build_adjacency
from .audit import LAAudit, audit_la
from .errors import DataError, InputFileError
from .geography import (
    REGISTERED_PATIENTS,
    Geography,
    build_geography,
    build_la_layer,
    check_la_cover,
    repair,
)

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".topojson", ".zip", ".shp", ".tab")
_KIND = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON or TopoJSON",
    ".gpkg": "a GeoPackage",
    ".topojson": "TopoJSON",
    ".zip": "a zipped shapefile or MapInfo table",
    ".shp": "a shapefile",
    ".tab": "a MapInfo table",
}


def read_boundaries(
    path: PathLike,
    *,
    crs: str | int | None = None,
    layer: str | None = None,
    max_units: int | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary file: GeoJSON, GeoPackage, TopoJSON, a shapefile or a MapInfo table.

    Shapefiles and MapInfo tables (.tab with its .dat, .map and .id) may come zipped.

    The file's content must be the format its name says, and it is opened with that
    format's GDAL driver alone (see :mod:`footprint._formats`): a file that is really
    something else, such as a GDAL virtual dataset naming other files or URLs, is
    refused before GDAL reads it.

    Parameters
    ----------
    crs
        The CRS to assume when the file states none (TopoJSON never does);
        a file that states one keeps it.
    layer
        The layer to read from a multi-layer file (GeoPackage).
    max_units
        Most features the file may hold; counted before any geometry is read, so an
        oversized file is refused in words before it costs memory or time.

    Raises
    ------
    InputFileError
        When the file is missing, not what its name says, truncated, unreadable or
        holds more than ``max_units`` features.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such file; check the path and the file name")
    if p.suffix.lower() not in BOUNDARY_SUFFIXES:
        raise InputFileError(
            f"{p.name}: unsupported boundary file type {p.suffix or '(none)'!r}; expected one of "
            f"{', '.join(BOUNDARY_SUFFIXES)}. Export the boundaries as GeoJSON, GeoPackage, "
            "TopoJSON, a zipped shapefile or a zipped MapInfo table"
        )
    if p.stat().st_size == 0:
        raise InputFileError(f"{p.name}: the file is empty (0 bytes); export or copy it again")
    source = _zipped(p) if p.suffix.lower() == ".zip" else check_boundary_file(p)
    try:
        info = pyogrio.read_info(source.target, layer=layer)
    except Exception as exc:  # pyogrio raises several types for unreadable input
        raise _unreadable(p, exc) from None
    if info.get("driver") != source.driver:  # defence in depth: the forced driver was used
        raise InputFileError(
            f"{p.name}: opened as {info.get('driver')!r} rather than {source.driver!r}; the "
            "file was refused. Export the boundaries again"
        )
    n = int(info.get("features") or 0)
    if max_units is not None and n > max_units:
        raise InputFileError(
            f"{p.name}: the file holds {n:,} features; this server plans at most "
            f"{max_units:,} units in one geography. Aggregate the areas first (for example "
            "LSOAs into the CCGs or sub-ICB locations they form) or split the map by region"
        )
    try:
        gdf = gpd.read_file(source.target, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for unreadable input
        raise _unreadable(p, exc) from None
    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(_assumed_crs(crs, source=p.name))
    _check_coordinates(gdf, p.name)
    if len(gdf) == 0:
        raise InputFileError(
            f"{p.name}: the file holds no features; expected one boundary (feature) per unit"
            + (f" in layer {layer!r}" if layer else "")
        )
    return gdf


def _assumed_crs(crs: str | int, *, source: str) -> pyproj.CRS:
    """The CRS a planner says a file uses, or a refusal in words (not a PROJ traceback)."""
    try:
        return pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        shown = str(crs)[:40]
        raise InputFileError(
            f"{source}: the coordinate reference system {shown!r} is not one PROJ knows; "
            "give an EPSG number such as 27700 (British National Grid) or 4326 "
            "(longitude/latitude)"
        ) from None


def _check_coordinates(gdf: gpd.GeoDataFrame, name: str) -> None:
    """Refuse coordinates that are not finite, or not degrees in a file that says degrees.

    GeoJSON is in longitude and latitude by definition, so a file written in metres
    (British National Grid) without saying so would otherwise be projected to infinity.
    """
    if len(gdf) == 0 or gdf.geometry.isna().all():
        return
    coords = shapely.get_coordinates(gdf.geometry.values)
    if len(coords) and not np.isfinite(coords).all():
        raise InputFileError(
            f"{name}: some coordinates are not finite numbers (NaN or infinity); export the "
            "boundaries again"
        )
    if gdf.crs is not None and gdf.crs.is_geographic and len(coords):
        xmin, ymin = coords.min(axis=0)
        xmax, ymax = coords.max(axis=0)
        if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
            raise InputFileError(
                f"{name}: the file says its coordinates are longitude and latitude "
                f"({gdf.crs.name}), but they run from {xmin:,.0f}, {ymin:,.0f} to {xmax:,.0f}, "
                f"{ymax:,.0f}, which look like metres. GeoJSON must be in longitude and "
                "latitude: export it again in EPSG:4326, or send a GeoPackage or shapefile "
                "that keeps British National Grid (EPSG:27700)"
            )


def _zipped(p: Path) -> BoundarySource:
    """The one shapefile or MapInfo table inside a zip, its parts checked before GDAL opens it."""
    harden_gdal()
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        raise InputFileError(f"{p.name}: not a readable zip file (damaged or truncated)") from None
    shps = [n for n in names if n.lower().endswith(".shp")]
    tabs = [n for n in names if n.lower().endswith(".tab")]
    if len(shps) + len(tabs) != 1:
        found = shps + tabs or [n for n in names if not n.endswith("/")]
        raise InputFileError(
            f"{p.name}: a zip of boundaries must hold exactly one shapefile (.shp) or one "
            f"MapInfo table (.tab); found {len(shps)} .shp and {len(tabs)} .tab"
            + (f" ({', '.join(found[:5])}{' …' if len(found) > 5 else ''})" if found else "")
            + ". Zip one shapefile (.shp with its .shx, .dbf and .prj) or one MapInfo table "
            "(.tab with its .dat, .map and .id) per file"
        )
    if tabs:
        check_zipped_mapinfo(p, tabs[0])
        return BoundarySource("MapInfo File", f"/vsizip/{p}/{tabs[0]}", "a MapInfo table")
    check_zipped_shapefile(p, shps[0])
    return BoundarySource("ESRI Shapefile", f"/vsizip/{p}/{shps[0]}", "a shapefile")


def _unreadable(p: Path, exc: BaseException) -> InputFileError:
    return InputFileError(
        f"{p.name}: could not read it as a boundary file: it may be cut short or damaged, or "
        f"not really {_KIND.get(p.suffix.lower(), 'a boundary file')} (the reader said: "
        f"{gdal_detail(exc)}). Export or copy the file again"
    )


def read_table(path: PathLike, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV with every column as text (codes keep their leading zeros).

    Tries UTF-8, then Windows-1252 (ONS names files use it), unless told.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such file; check the path and the file name")
    data = p.read_bytes()
    if b"\x00" in data[:4096]:
        raise InputFileError(
            f"{p.name}: not a CSV text file (it holds binary data: a spreadsheet, or text saved "
            "as UTF-16). Save it as 'CSV UTF-8 (comma delimited)'"
        )
    try:
        text, enc = (data.decode(encoding), encoding) if encoding else decode_text(data)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p.name}: text encoding not recognised ({exc})") from None
    try:
        # index_col=False: a file whose every line has one field too many (unquoted
        # "1,000") must be refused, not silently read with its first column as an index
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                index_col=False,
            )
    except pd.errors.EmptyDataError:
        raise InputFileError(
            f"{p.name}: the file is empty; expected a header line and one line per unit"
        ) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise InputFileError(_ragged_message(p, enc, exc)) from None


def _ragged_message(p: Path, encoding: str, exc: Exception) -> str:
    """Name the lines whose number of fields differs from the header's."""
    advice = (
        "Every line needs as many fields as the header; put values that hold commas "
        '(such as "1,000") in double quotes'
    )
    try:
        with open(p, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            bad = [(reader.line_num, len(row)) for row in reader if row and len(row) != len(header)]
    except (csv.Error, UnicodeDecodeError, OSError):
        bad = []
    if not bad:
        detail = " ".join(str(exc).split()).removeprefix("Error tokenizing data. C error: ")
        return f"{p.name}: not a readable CSV table ({detail}). {advice}"
    shown = ", ".join(f"line {n} has {k}" for n, k in bad[:10]) + (" …" if len(bad) > 10 else "")
    return (
        f"{p.name}: not a readable CSV table: the header has {len(header)} fields but {shown}. "
        f"{advice}"
    )


def load_geography(
    boundaries: PathLike,
    population: PathLike,
    *,
    code_column: str,
    population_column: str,
    population_code_column: str | None = None,
    name_column: str | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
    name: str | None = None,
    population_label: str = "population",
    max_units: int | None = None,
    la_boundaries: PathLike | None = None,
    la_code_column: str | None = None,
    la_name_column: str | None = None,
    la_layer: str | None = None,
    unit_label: str = "unit",
    unit_label_plural: str | None = None,
) -> Geography:
    """Build a geography from a planner's own boundary and population files.

    Parameters
    ----------
    boundaries
        GeoJSON, GeoPackage, TopoJSON or a zipped shapefile, one feature per unit.
    population
        CSV with one row per unit.
    code_column, population_column, population_code_column, name_column
        The columns that hold the unit code (in both files unless
        ``population_code_column`` names the population file's), the population
        and optionally a display name.
    crs
        CRS to assume for a file that states none, e.g. 4326 for TopoJSON.
    population_label
        What the population counts (residents, registered patients...), shown
        wherever a population is.
    max_units
        Most units the boundary file may hold (see :func:`read_boundaries`).
    la_boundaries
        Optional local authority boundaries (any format the boundaries may be in),
        the LAs whose blocks the ``whole-la`` rule keeps whole: they become
        ``Geography.la_upper``, so the LA audit and the rule work. Without them the
        geography has no LA layer and ``whole-la`` is refused.
    la_code_column, la_name_column
        The LA layer's code column (needed with ``la_boundaries``) and name column
        (optional: names are what a planner reads, "Newcastle upon Tyne", not E08000021).
    la_layer
        The layer of a multi-layer LA file.
    unit_label, unit_label_plural
        What the units are called ("CCG", "sub-ICB location"), shown instead of "unit";
        the plural defaults to the label with an "s".

    Raises
    ------
    InputFileError
        One error listing every problem found in the files.
    """
    b, p = Path(boundaries), Path(population)
    if la_boundaries is None and (la_code_column or la_name_column or la_layer):
        raise InputFileError(
            "an LA code or name column was given without LA boundaries; give the LA "
            "boundaries too, or leave the LA columns out"
        )
    if la_boundaries is not None and not (la_code_column and str(la_code_column).strip()):
        raise InputFileError(
            f"{Path(la_boundaries).name}: say which column of the LA boundaries holds the LA "
            "codes (la_code_column; --la-code-column on the command line)"
        )
    units = read_boundaries(b, crs=crs, layer=layer, max_units=max_units)
    table = read_table(p)
    la_upper = None
    la_problems: list[str] = []
    la_name = Path(str(la_boundaries)).name
    if la_boundaries is not None:
        raw = read_boundaries(Path(la_boundaries), crs=crs, layer=la_layer, max_units=max_units)
        try:
            la_upper = build_la_layer(
                raw, code_column=str(la_code_column), name_column=la_name_column, source=la_name
            )
        except InputFileError as exc:
            la_problems = list(exc.problems) or [str(exc)]
    try:
        geo = build_geography(
            units,
            table,
            code_column=code_column,
            population_column=population_column,
            population_code_column=population_code_column,
            name_column=name_column,
            boundaries_source=b.name,
            population_source=p.name,
            name=name or b.stem,
            population_label=population_label,
            la_upper=la_upper,
            unit_label=unit_label,
            unit_label_plural=unit_label_plural,
        )
    except InputFileError as exc:
        if not la_problems:
            raise
        # every problem of the three files in one message
        raise InputFileError(
            f"Cannot build the geography from {b.name}, {p.name} and {la_name}",
            problems=[*exc.problems, *la_problems],
        ) from None
    if la_problems:
        raise InputFileError(f"Cannot use the LA layer {la_name}", problems=la_problems)
    if la_upper is not None:
        check_la_cover(geo.units, la_upper, units_source=b.name, la_source=la_name)
    return geo


# --- England 2013 reference data -------------------------------------------------------------


def _upper_tier_code(lad: str, county_of: dict[str, str]) -> str:
    """The 2013 upper-tier (county or unitary) code of a district.

    Shire districts belong to their county (E10); unitary, metropolitan and
    London authorities are their own upper tier.
    """
    county = county_of.get(lad, "")
    return county if county.startswith("E10") else lad


def _england_2013(root: Path, manifest: Manifest) -> Geography:
    f = root
    ccg = read_boundaries(f / "ccg2013/eng_ccg_2013.topojson", crs=4326)
    ccg = ccg.rename(columns={"id": "code"})[["code", "geometry"]]
    names = read_table(f / "ccg2013/CCG_APR_2013.csv", encoding="cp1252").rename(
        columns={"CCG13CD": "code", "CCG13CDH": "nhs_code", "CCG13NM": "name"}
    )
    teams = read_table(f / "ccg2013/CCG13_NHSAT13_NHSCR13_EW_LU.csv").rename(
        columns={
            "CCG13CD": "code",
            "NHSAT13CD": "area_team_code",
            "NHSAT13NM": "area_team",
            "NHSCR13CD": "region_code",
            "NHSCR13NM": "region",
        }
    )
    qof = read_table(f / "population/prevalencebyccg_1314.csv")
    # ccg_listsize repeats on every register row of a CCG: one value per CCG.
    per_ccg = qof.groupby("ccgcode")["ccg_listsize"].agg(
        lambda s: s.iloc[0] if s.nunique() == 1 else None
    )
    if per_ccg.isna().any():
        bad = ", ".join(per_ccg[per_ccg.isna()].index[:10])
        raise DataError(f"prevalencebyccg_1314.csv: ccg_listsize differs within CCG(s) {bad}")
    pop = names[["code", "nhs_code"]].merge(
        per_ccg.rename("population").reset_index(),
        left_on="nhs_code",
        right_on="ccgcode",
        how="left",
    )[["code", "population"]]

    lad = read_boundaries(f / "la2013/topo_lad.json", crs=4326)
    county = read_table(f / "la2013/LAD15_CTY15_EN_LU.csv")
    county_of = dict(zip(county["LAD15CD"], county["CTY15CD"], strict=True))
    county_name = dict(zip(county["CTY15CD"], county["CTY15NM"], strict=False))
    lad = lad.rename(columns={"LAD13CD": "code", "LAD13NM": "name"})
    lad["upper_code"] = [_upper_tier_code(c, county_of) for c in lad["code"]]
    lad = repair(lad[["code", "name", "upper_code", "geometry"]], source="topo_lad.json")
    lad = lad.sort_values("code").reset_index(drop=True)
    upper = lad.dissolve(by="upper_code", as_index=False)[["upper_code", "geometry"]]
    upper = upper.rename(columns={"upper_code": "code"})
    lad_name = dict(zip(lad["code"], lad["name"], strict=True))
    upper["name"] = [county_name[c] if c.startswith("E10") else lad_name[c] for c in upper["code"]]
    upper = upper[["code", "name", "geometry"]].sort_values("code").reset_index(drop=True)

    extra = names[["code", "nhs_code", "name"]].merge(
        teams[["code", "area_team_code", "area_team", "region_code", "region"]],
        on="code",
        how="left",
    )
    return build_geography(
        ccg,
        pop,
        code_column="code",
        population_column="population",
        boundaries_source="eng_ccg_2013.topojson",
        population_source="prevalencebyccg_1314.csv",
        la_upper=upper,
        la_lower=lad,
        name="England, April 2013 CCGs",
        population_label=REGISTERED_PATIENTS,
        unit_label="CCG",
        unit_label_plural="CCGs",
        attribution=(*manifest.attribution, f"Licence: {manifest.licence}"),
        source_digest=manifest.digest,
        extra_columns=extra,
    )


def load_england_2013(data_dir: PathLike | None = None, *, use_cache: bool = True) -> Geography:
    """The 211 CCGs of April 2013 with registered patients, 152 upper- and 326 lower-tier LAs.

    Parameters
    ----------
    data_dir
        Folder holding the reference files; by default the first that holds them of
        ``FOOTPRINT_DATA_DIR``, ``./data``, ``../shared/data`` and the user's own folder
        (``~/.local/share/footprint/data``, where a download goes when ``./data`` is read-only).
    use_cache
        Reuse the repaired layers from the on-disk cache (keyed by the files'
        checksums, so changed files are never served stale).

    Raises
    ------
    DataError
        When a file is missing or differs from the manifest: the message names
        the file, where it was expected and how to get it.
    """
    manifest = read_manifest()
    root = resolve_data_dir(data_dir, manifest=manifest)
    log.info("loading England 2013 reference data from %s", root)
    return _cache.cached(
        f"england2013-{manifest.digest}", lambda: _england_2013(root, manifest), enabled=use_cache
    )


@dataclass(frozen=True, eq=False)
class Dataset:
    """A geography with what every later step needs: its adjacency graph and LA audit.

    ``audit`` is the upper-tier audit at the default tolerance, or ``None`` for a
    geography without local authorities.
    """

    geography: Geography
    adjacency: Adjacency
    audit: LAAudit | None

    @classmethod
    def from_geography(cls, geography: Geography) -> Dataset:
        """Derive the adjacency graph (with island bridges) and, where LAs exist, the audit."""
        audit = audit_la(geography) if geography.la_upper is not None else None
        return cls(geography, build_adjacency(geography.units), audit)


def load_dataset(data_dir: PathLike | None = None, *, use_cache: bool = True) -> Dataset:
    """The England 2013 geography with its adjacency graph and upper-tier LA audit.

    The whole bundle is cached on disk, keyed by the files' checksums, so a warm
    start reads one file instead of repeating the overlays.
    """
    manifest = read_manifest()
    root = resolve_data_dir(data_dir, manifest=manifest)
    return _cache.cached(
        f"dataset2013-{manifest.digest}",
        lambda: Dataset.from_geography(load_england_2013(root, use_cache=use_cache)),
        enabled=use_cache,
    )
