"""Files a planner uploads through the app, handled without trusting them.

The app receives uploads as ``(file name, bytes)``. Nothing here writes outside
a private temporary folder that is removed when the call returns, even when it
fails. Zip archives are checked before anything is extracted: members that
would climb out of the folder (``../x``, absolute paths, drive letters),
symbolic links, encrypted members, too many members, nested archives and
declared sizes over the limit are all refused, and the bytes actually
decompressed are counted as they are written, so an archive that lies about
its sizes (a zip bomb) is stopped at the limit.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely.errors

from ._formats import MAPINFO_PARTS, check_boundary_file, gdal_detail
from ._text import clean_name, decode_text
from .errors import FootprintError, InputFileError
from .geography import Geography
from .loader import load_geography, read_boundaries

log = logging.getLogger(__name__)

__all__ = [
    "COMMON_CRS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_UNITS",
    "BoundaryPreview",
    "inspect_upload_columns",
    "load_uploaded_geography",
    "outline_of",
    "preview_figure",
    "preview_upload",
    "safe_extract_zip",
    "upload_crs",
]

Upload = tuple[str, bytes]

#: Largest upload (and largest total unzipped) accepted by default: 200 MB.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: Most units (features) an uploaded geography may hold. Adjacency, the LA audit and
#: the optimiser's preparation grow with it; this many build in well under a minute on
#: a 2-core server (see the README's reliability section).
MAX_UPLOAD_UNITS = 10_000
GEOMETRY_SUFFIXES = (".geojson", ".json", ".gpkg", ".topojson")
#: Suffixes an upload of boundaries may have (shapefile and MapInfo parts come zipped or
#: together), for the app's upload boxes.
BOUNDARY_UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".topojson", ".zip")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qpj", ".sbn", ".sbx", ".xml")
TABLE_SUFFIXES = (".csv", ".txt")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_CHUNK = 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _member_problem(name: str) -> str | None:
    """Why a member name is unsafe to extract, or ``None`` when it is a plain relative path."""
    if "\x00" in name:
        return "holds a NUL character"
    norm = name.replace("\\", "/")
    if norm.startswith("/"):
        return "is an absolute path"
    if re.match(r"^[A-Za-z]:", norm):
        return "starts with a drive letter"
    if any(part == ".." for part in PurePosixPath(norm).parts):
        return "would be written outside the upload folder"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def safe_extract_zip(
    data: bytes,
    dest: Path,
    *,
    max_total_bytes: int = MAX_UPLOAD_BYTES,
    max_files: int = 1000,
    max_depth: int = 1,
    source: str = "upload.zip",
    _depth: int = 1,
    _budget: list[int] | None = None,
) -> list[Path]:
    """Extract a zip archive held in memory into ``dest``, refusing anything unsafe.

    Parameters
    ----------
    data
        The archive's bytes.
    dest
        Folder to extract into (created if missing). Every extracted file is
        inside it.
    max_total_bytes
        Most bytes the extracted files may hold together, checked against the
        sizes the archive declares and again against the bytes actually
        decompressed.
    max_files
        Most members (files and folders) the archive may hold.
    max_depth
        How many levels of archive are opened: 1 refuses a zip inside the zip;
        2 extracts an inner zip (once) into a folder named after it.
    source
        The upload's name, used in messages.

    Returns
    -------
    list of Path
        The extracted files (not folders), in archive order.

    Raises
    ------
    InputFileError
        Naming the archive and the member at fault; nothing is left extracted.
    """
    dest = Path(dest)
    budget = _budget if _budget is not None else [max_total_bytes]
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputFileError(
            f"{source}: not a zip archive (or a damaged one); upload a .zip made by a zip tool"
        ) from None
    job = _Extraction(
        source=source,
        max_total_bytes=max_total_bytes,
        max_files=max_files,
        max_depth=max_depth,
        depth=_depth,
        budget=budget,
    )
    with zf:
        infos = zf.infolist()
        if len(infos) > max_files:
            raise InputFileError(
                f"{source}: the archive holds {len(infos)} members, more than the {max_files} "
                "allowed; the zip was refused. Zip only the boundary files"
            )
        problems = job.member_problems(infos)
        if len(problems) == 1:
            raise InputFileError(f"{source}: {problems[0]}; the zip was refused")
        if problems:
            raise InputFileError(f"{source}: the zip was refused", problems=problems)
        dest.mkdir(parents=True, exist_ok=True)
        job.extract(zf, infos, dest.resolve())
    return job.written


@dataclass
class _Extraction:
    """One archive being checked and extracted, and the files written so far."""

    source: str
    max_total_bytes: int
    max_files: int
    max_depth: int
    depth: int
    budget: list[int]  # bytes the whole upload may still unpack to, shared with inner zips
    written: list[Path] = field(default_factory=list)

    def member_problems(self, infos: Sequence[zipfile.ZipInfo]) -> list[str]:
        """Every member that must not be extracted, and a declared size over the budget."""
        problems: list[str] = []
        declared = 0
        seen: set[str] = set()
        for info in infos:
            key = info.filename.replace("\\", "/").rstrip("/").lower()
            if key in seen:
                problems.append(f"member {info.filename!r} appears more than once")
            seen.add(key)
            why = self._refused(info)
            if why:
                problems.append(f"member {info.filename!r} {why}")
            declared += max(info.file_size, 0)
        if declared > self.budget[0]:
            left = (
                ""
                if self.budget[0] == self.max_total_bytes
                else f"{_mb(max(self.budget[0], 0))} left of the "
            )
            problems.append(
                f"its members would unpack to {_mb(declared)}, more than the "
                f"{left}{_mb(self.max_total_bytes)} allowed"
            )
        return problems

    def _refused(self, info: zipfile.ZipInfo) -> str | None:
        """Why a member may not be extracted (after its name), or ``None``."""
        why = _member_problem(info.filename)
        if why:
            return why
        if _is_symlink(info):
            return "is a symbolic link"
        if info.flag_bits & 0x1:
            return "is encrypted; upload it without a password"
        if self.depth >= self.max_depth and info.filename.lower().endswith(".zip"):
            return "is a zip inside the zip; unzip it and upload the inner archive itself"
        return None

    def extract(self, zf: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo], root: Path) -> None:
        """Write every member under ``root``; on any failure remove what was written."""
        try:
            for info in infos:
                self._extract_member(zf, info, root)
        except zipfile.BadZipFile as exc:
            _remove(self.written)
            # zipfile stops at the declared size and then fails the CRC check,
            # which is how an archive that understates its sizes ends up here
            raise InputFileError(
                f"{self.source}: the archive is damaged or lies about its contents ({exc}); the "
                "zip was refused"
            ) from None
        except OSError as exc:
            _remove(self.written)
            raise InputFileError(
                f"{self.source}: a member could not be extracted ({exc.strerror or exc}: "
                f"{Path(getattr(exc, 'filename', '') or '').name}); the zip was refused"
            ) from None
        except BaseException:
            _remove(self.written)
            raise

    def _extract_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path) -> None:
        target = (root / info.filename.replace("\\", "/")).resolve()
        if root != target and root not in target.parents:  # defence in depth
            raise InputFileError(
                f"{self.source}: member {info.filename!r} would be written outside the upload "
                "folder; the zip was refused"
            )
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(target)
        with zf.open(info) as src, open(target, "xb") as out:
            while chunk := src.read(_CHUNK):
                self.budget[0] -= len(chunk)
                if self.budget[0] < 0:
                    raise InputFileError(
                        f"{self.source}: member {info.filename!r} unpacks to more than the "
                        f"{_mb(self.max_total_bytes)} allowed (it declared "
                        f"{_mb(info.file_size)}); the zip was refused"
                    )
                out.write(chunk)
        with open(target, "rb") as fh:
            magic = fh.read(4)
        if magic in _ZIP_MAGIC:
            self._unpack_inner(info, target)

    def _unpack_inner(self, info: zipfile.ZipInfo, target: Path) -> None:
        """Replace an inner zip by its contents in ``<name>.d``, when one more level is allowed."""
        if self.depth >= self.max_depth:
            raise InputFileError(
                f"{self.source}: member {info.filename!r} is a zip inside the zip; unzip "
                "it and upload the inner archive itself"
            )
        inner = target.read_bytes()
        target.unlink()
        self.written.pop()
        self.written += safe_extract_zip(
            inner,
            target.with_name(target.name + ".d"),
            max_total_bytes=self.max_total_bytes,
            max_files=self.max_files,
            max_depth=self.max_depth,
            source=f"{self.source}/{info.filename}",
            _depth=self.depth + 1,
            _budget=self.budget,
        )


def _remove(paths: Sequence[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def _safe_name(name: object, *, what: str) -> str:
    """The base name of an uploaded file, stripped of any folder part the browser sent."""
    if not isinstance(name, str) or not name.strip():
        raise InputFileError(f"the {what} upload has no file name; received {name!r}")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())
    if base in ("", ".", "..") or base.startswith("."):
        raise InputFileError(f"{name!r}: not a usable file name for the {what}")
    return base


def _as_uploads(value: object, *, what: str) -> list[Upload]:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise InputFileError(
            f"the {what} upload must be a (file name, bytes) pair or a list of them; received "
            f"{type(value).__name__}"
        )
    out: list[Upload] = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise InputFileError(f"each {what} upload must be a (file name, bytes) pair")
        name, data = item
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise InputFileError(
                f"{name}: the content must be bytes; received {type(data).__name__}"
            )
        out.append((_safe_name(name, what=what), data))
    if not out:
        raise InputFileError(f"no {what} file was uploaded")
    return out


def _check_size(uploads: Sequence[Upload], *, max_bytes: int) -> None:
    problems = [
        f"{name} is {_mb(len(data))}, more than the {_mb(max_bytes)} allowed"
        for name, data in uploads
        if len(data) > max_bytes
    ]
    if not problems:
        total = sum(len(d) for _, d in uploads)
        if total > max_bytes:
            problems.append(f"the files add up to {_mb(total)}, more than {_mb(max_bytes)}")
    if problems:
        raise InputFileError("The upload is too large", problems=problems)
    for name, data in uploads:
        if not data:
            raise InputFileError(f"{name}: the file is empty; upload it again")


def _stage_boundaries(uploads: Sequence[Upload], folder: Path, *, max_bytes: int) -> Path:
    """Write the boundary upload(s) into ``folder`` and return the one file to read."""
    _check_size(uploads, max_bytes=max_bytes)
    suffixes = {Path(n).suffix.lower() for n, _ in uploads}
    if len(uploads) == 1 and suffixes <= {*GEOMETRY_SUFFIXES}:
        name, data = uploads[0]
        path = folder / name
        path.write_bytes(data)
        return path
    if len(uploads) == 1 and suffixes == {".zip"}:
        name, data = uploads[0]
        files = safe_extract_zip(data, folder / "unzipped", max_total_bytes=max_bytes, source=name)
        shps = [p for p in files if p.suffix.lower() == ".shp"]
        tabs = [p for p in files if p.suffix.lower() == ".tab"]
        geo = [p for p in files if p.suffix.lower() in GEOMETRY_SUFFIXES]
        if len(shps) == 1 and not tabs:
            _require_parts(shps[0], [p.name for p in files], source=name)
            return shps[0]
        if len(tabs) == 1 and not shps:
            # the parts are checked with the .tab (footprint._formats) before GDAL opens it
            return tabs[0]
        if not shps and not tabs and len(geo) == 1:
            return geo[0]
        found = ", ".join(p.name for p in files[:10]) or "nothing"
        raise InputFileError(
            f"{name}: expected exactly one shapefile (.shp with its .shx and .dbf), one MapInfo "
            f"table (.tab with its .dat, .map and .id) or one GeoJSON/GeoPackage file in the "
            f"zip; found {found}"
        )
    if suffixes <= set(MAPINFO_PARTS):
        return _stage_parts(uploads, folder, main=".tab", what="a MapInfo table's parts")
    if suffixes <= set(SHAPEFILE_PARTS):
        shp = _stage_parts(uploads, folder, main=".shp", what="loose shapefile parts")
        _require_parts(shp, [n for n, _ in uploads], source=shp.name)
        return shp
    raise InputFileError(
        f"cannot read boundaries from {', '.join(n for n, _ in uploads)}: upload one .geojson, "
        ".json, .gpkg or .topojson file, one .zip holding a shapefile or a MapInfo table, or "
        "the shapefile's .shp, .shx, .dbf and .prj files (or the MapInfo table's .tab, .dat, "
        ".map and .id files) together"
    )


def _stage_parts(uploads: Sequence[Upload], folder: Path, *, main: str, what: str) -> Path:
    """Write a format's loose parts into ``folder``; return its one main part (.shp, .tab)."""
    names = [n for n, _ in uploads]
    mains = [n for n in names if n.lower().endswith(main)]
    if len(mains) != 1:
        raise InputFileError(f"{what} need exactly one {main} file; received {', '.join(names)}")
    if len({n.lower() for n in names}) != len(names):
        raise InputFileError(f"the same file was uploaded twice: {', '.join(names)}")
    for n, data in uploads:
        (folder / n).write_bytes(data)
    return folder / mains[0]


def _require_parts(shp: Path, names: Sequence[str], *, source: str) -> None:
    have = {n.lower() for n in names}
    stem = shp.stem.lower()
    missing = [ext for ext in (".shx", ".dbf") if stem + ext not in have]
    if missing:
        raise InputFileError(
            f"{source}: the shapefile {shp.name} lacks its {' and '.join(missing)} part(s); "
            "a shapefile needs .shp, .shx and .dbf (and .prj for its coordinate system)"
        )
    # a missing .prj is said once, by the geography's checks (no coordinate reference system)


def _stage_table(upload: Upload, folder: Path, *, max_bytes: int) -> Path:
    _check_size([upload], max_bytes=max_bytes)
    name, data = upload
    if Path(name).suffix.lower() not in TABLE_SUFFIXES:
        raise InputFileError(
            f"{name}: the population must be a CSV file (.csv); received "
            f"{Path(name).suffix or 'a file without extension'}"
        )
    path = folder / "population" / name
    path.parent.mkdir()
    path.write_bytes(data)
    return path


def load_uploaded_geography(
    boundary: Upload | list[Upload],
    population: Upload,
    *,
    code_column: str,
    population_column: str,
    population_code_column: str | None = None,
    name_column: str | None = None,
    crs: str | int | None = None,
    layer: str | None = None,
    name: str | None = None,
    population_label: str = "population",
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_units: int = MAX_UPLOAD_UNITS,
    la_boundaries: Upload | list[Upload] | None = None,
    la_code_column: str | None = None,
    la_name_column: str | None = None,
    la_layer: str | None = None,
    unit_label: str = "unit",
    unit_label_plural: str | None = None,
) -> Geography:
    """Build a geography from uploaded boundary and population files.

    Parameters
    ----------
    boundary
        ``(file name, bytes)`` of a .geojson/.json/.gpkg/.topojson file or a
        .zip holding a shapefile, a MapInfo table (.tab, .dat, .map, .id, optionally
        .ind) or one GeoJSON/GeoPackage; or a list of the loose parts of a shapefile
        (.shp, .shx, .dbf, .prj) or of a MapInfo table.
    population
        ``(file name, bytes)`` of a CSV with one row per unit.
    code_column, population_column, population_code_column, name_column, crs, layer
        As for :func:`footprint.loader.load_geography`.
    name
        What to call the geography (defaults to the boundary file's name).
    population_label
        What the population counts, shown wherever a population is.
    max_bytes
        Largest size of an upload, and of a zip once unpacked.
    max_units
        Most units the boundaries may hold; counted before any geometry is read.
    la_boundaries
        Optional local authority layer, in any form ``boundary`` may take, read
        through the same checks: the LAs whose blocks the ``whole-la`` rule keeps
        whole (``Geography.la_upper``). Without it the geography has no LA layer,
        and ``whole-la`` is refused rather than ignored.
    la_code_column, la_name_column, la_layer
        The LA layer's code column (needed with ``la_boundaries``), name column
        (optional, but names are what planners read) and layer (multi-layer files).
    unit_label, unit_label_plural
        What the units are called ("CCG", "sub-ICB location"; default "unit"),
        shown instead of "unit" wherever the geography is described.

    Raises
    ------
    InputFileError
        Naming the file and what is wrong with it (including content that is not
        the format its name says: see :mod:`footprint._formats`); the files are always
        removed from disk before the call returns.
    """
    uploads = _as_uploads(boundary, what="boundary")
    pop = _as_uploads(population, what="population")
    if len(pop) != 1:
        raise InputFileError(f"upload one population CSV; received {len(pop)} files")
    la_uploads = None if la_boundaries is None else _as_uploads(la_boundaries, what="LA boundary")
    with tempfile.TemporaryDirectory(prefix="footprint-upload-") as tmp:
        folder = Path(tmp)
        (folder / "boundaries").mkdir()
        boundaries = _stage_boundaries(uploads, folder / "boundaries", max_bytes=max_bytes)
        table = _stage_table(pop[0], folder, max_bytes=max_bytes)
        la_path = None
        if la_uploads is not None:
            (folder / "la").mkdir()
            la_path = _stage_boundaries(la_uploads, folder / "la", max_bytes=max_bytes)
        try:
            geo = load_geography(
                boundaries,
                table,
                code_column=code_column,
                population_column=population_column,
                population_code_column=population_code_column,
                name_column=name_column,
                crs=crs,
                layer=layer,
                name=name or Path(uploads[0][0]).stem,
                population_label=population_label,
                max_units=max_units,
                la_boundaries=la_path,
                la_code_column=la_code_column,
                la_name_column=la_name_column,
                la_layer=la_layer,
                unit_label=unit_label,
                unit_label_plural=unit_label_plural,
            )
        except FootprintError:
            raise
        except (OSError, ValueError, shapely.errors.GEOSException) as exc:
            names = uploads[0][0] + (f" or {la_uploads[0][0]}" if la_uploads else "")
            raise InputFileError(
                f"{names}: could not be read ({type(exc).__name__}: {gdal_detail(exc)})"
            ) from None
    if crs is not None:
        # remembered with the geography: a file that did not say its coordinate system was
        # read in the one the planner chose, and a page says so
        geo.extra["crs_chosen"] = _crs_words(pyproj.CRS.from_user_input(crs))
    return geo


def inspect_upload_columns(
    upload: Upload | list[Upload],
    *,
    layer: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> list[str]:
    """The column names of an uploaded boundary or population file, for the app's select boxes.

    Accepts the same uploads as :func:`load_uploaded_geography`: a CSV (its
    header is read), or boundaries in any supported form (their attribute
    fields, geometry excluded). Reads no more than it needs.

    Raises
    ------
    InputFileError
        When the file cannot be read; the message names it.
    """
    uploads = _as_uploads(upload, what="uploaded")
    with tempfile.TemporaryDirectory(prefix="footprint-upload-") as tmp:
        folder = Path(tmp)
        if len(uploads) == 1 and Path(uploads[0][0]).suffix.lower() in TABLE_SUFFIXES:
            path = _stage_table(uploads[0], folder, max_bytes=max_bytes)
            try:
                text, _encoding = decode_text(path.read_bytes())
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"{uploads[0][0]}: text encoding not recognised ({exc})"
                ) from None
            try:
                head = pd.read_csv(io.StringIO(text), dtype=str, nrows=0)
            except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                raise InputFileError(f"{uploads[0][0]}: not a readable CSV table ({exc})") from None
            return [str(c) for c in head.columns]
        (folder / "boundaries").mkdir()
        path = _stage_boundaries(uploads, folder / "boundaries", max_bytes=max_bytes)
        source = check_boundary_file(path)
        try:
            info = pyogrio.read_info(source.target, layer=layer)
        except Exception as exc:  # pyogrio raises several types for unreadable input
            raise InputFileError(
                f"{path.name}: could not read it as a boundary file ({type(exc).__name__}: "
                f"{gdal_detail(exc)})"
            ) from None
        if info.get("driver") != source.driver:  # defence in depth: the forced driver was used
            raise InputFileError(f"{path.name}: not {source.kind}; the file was refused")
        return [clean_name(f) for f in info["fields"]]


#: The two coordinate systems planners' boundary files use, in words, for a page to offer
#: when a file (TopoJSON, mostly) does not say which one it is in.
COMMON_CRS: dict[int, str] = {
    27700: "British National Grid (EPSG:27700): eastings and northings in metres",
    4326: "WGS84 longitude/latitude (EPSG:4326): degrees",
}

#: England in British National Grid metres (its extent with a margin of a few kilometres).
ENGLAND_BOX = (80_000.0, 0.0, 660_000.0, 660_000.0)


@dataclass(frozen=True)
class BoundaryPreview:
    """Where an uploaded boundary file's shapes land, read in one coordinate system.

    Attributes
    ----------
    crs
        The coordinate system the file was read in (``"EPSG:27700"``...).
    said
        Whether the file says so itself (False: the planner chose it).
    shapes
        The shapes in British National Grid metres (simplified), for a small map.
    on_england
        The share of shapes whose centre lies in England's extent (0 to 1).
    """

    crs: str
    said: bool
    shapes: gpd.GeoSeries
    on_england: float


def upload_crs(
    upload: Upload | list[Upload], *, layer: str | None = None, max_bytes: int = MAX_UPLOAD_BYTES
) -> str | None:
    """The coordinate system an uploaded boundary file says it uses, or None when it says none.

    TopoJSON files usually say none; a page then asks the planner (see :data:`COMMON_CRS`).
    """
    uploads = _as_uploads(upload, what="boundary")
    with tempfile.TemporaryDirectory(prefix="footprint-upload-") as tmp:
        (Path(tmp) / "boundaries").mkdir()
        path = _stage_boundaries(uploads, Path(tmp) / "boundaries", max_bytes=max_bytes)
        gdf = _read_staged(path, uploads, crs=None, layer=layer)
        return None if gdf.crs is None else _crs_words(gdf.crs)


def preview_upload(
    upload: Upload | list[Upload],
    *,
    crs: str | int | None = None,
    layer: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    tolerance_m: float = 500.0,
) -> BoundaryPreview:
    """Where an uploaded boundary file's shapes land when read in ``crs`` (or its own CRS).

    A file read in the wrong coordinate system lands in the sea off Africa (metres read
    as degrees are refused outright), so the share of shapes on England says at a glance
    whether the choice was right.

    Raises
    ------
    InputFileError
        When the file cannot be read, or has no CRS and ``crs`` is None.
    """
    uploads = _as_uploads(upload, what="boundary")
    with tempfile.TemporaryDirectory(prefix="footprint-upload-") as tmp:
        (Path(tmp) / "boundaries").mkdir()
        path = _stage_boundaries(uploads, Path(tmp) / "boundaries", max_bytes=max_bytes)
        raw = _read_staged(path, uploads, crs=None, layer=layer)
        said = raw.crs is not None
        gdf = _read_staged(path, uploads, crs=crs, layer=layer) if not said else raw
    if gdf.crs is None:
        raise InputFileError(
            f"{uploads[0][0]}: the file has no coordinate reference system; choose the one it "
            "uses: " + "; ".join(COMMON_CRS.values())
        )
    try:
        shapes = gdf.geometry.to_crs(27700)
    except Exception as exc:  # PROJ raises several types for coordinates it cannot move
        raise InputFileError(
            f"{uploads[0][0]}: the shapes cannot be placed in {_crs_words(gdf.crs)} "
            f"({type(exc).__name__}); choose the other coordinate system"
        ) from None
    centres = shapes.representative_point()
    x0, y0, x1, y1 = ENGLAND_BOX
    inside = (centres.x >= x0) & (centres.x <= x1) & (centres.y >= y0) & (centres.y <= y1)
    share = float(inside.mean()) if len(shapes) else 0.0
    simple = shapes.simplify(tolerance_m)
    return BoundaryPreview(_crs_words(gdf.crs), said, simple, share)


def _read_staged(
    path: Path, uploads: Sequence[Upload], *, crs: str | int | None, layer: str | None
) -> gpd.GeoDataFrame:
    try:
        return read_boundaries(path, crs=crs, layer=layer, max_units=MAX_UPLOAD_UNITS)
    except FootprintError:
        raise
    except (OSError, ValueError, shapely.errors.GEOSException) as exc:
        raise InputFileError(
            f"{uploads[0][0]}: could not be read ({type(exc).__name__}: {gdal_detail(exc)})"
        ) from None


def _crs_words(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else str(crs.name)


def outline_of(units: gpd.GeoDataFrame, *, tolerance_m: float = 1000.0) -> gpd.GeoSeries:
    """The outline of a geography's units in British National Grid, simplified (for a preview)."""
    merged = units.geometry.to_crs(27700).union_all().simplify(tolerance_m)
    return gpd.GeoSeries([merged], crs=27700)


def preview_figure(
    preview: BoundaryPreview, *, outline: gpd.GeoSeries | None = None, size_in: float = 2.4
) -> Any:
    """A small map of the shapes over England (a matplotlib Figure), for a page.

    England's extent is drawn as a dashed box, and its ``outline`` (see :func:`outline_of`)
    when given: shapes on it were read in the right coordinate system; shapes far away
    (or a map with nothing in the box) were not.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(size_in, size_in), dpi=100)
    ax = fig.add_subplot()
    x0, y0, x1, y1 = ENGLAND_BOX
    ax.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle="--", edgecolor="#555555")
    )
    ax.annotate("England", (x0, y1), xytext=(2, -10), textcoords="offset points", fontsize=7)
    if outline is not None:
        outline.plot(ax=ax, facecolor="#eeeeee", edgecolor="#999999", linewidth=0.4)
    shapes = preview.shapes[~preview.shapes.is_empty]
    if len(shapes):
        shapes.plot(ax=ax, facecolor="#2c7fb8", edgecolor="white", linewidth=0.2)
        # a dot where each shape is, so that a few small areas still show at England's scale
        dots = shapes.representative_point()
        ax.scatter(dots.x, dots.y, s=6, color="#d7301f", zorder=3)
        bx0, by0, bx1, by1 = shapes.total_bounds
        ax.set_xlim(min(x0, bx0) - 20_000, max(x1, bx1) + 20_000)
        ax.set_ylim(min(y0, by0) - 20_000, max(y1, by1) + 20_000)
    ax.set_aspect("equal")
    ax.set_axis_off()
    fig.tight_layout(pad=0.2)
    return fig
