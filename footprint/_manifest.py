"""The data manifest: which reference files the tool needs, their checksums and sources.

The manifest ships inside the package (``footprint/data/manifest.json``, read with
:mod:`importlib.resources`, so it is there however the package is installed); the
files it names never do. They are found, in this order, under an explicit path, under
``FOOTPRINT_DATA_DIR``, under ``./data``, under ``../shared/data`` and under the user's
data folder (:func:`user_data_dir`, where a download goes when ``./data`` cannot be
written).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .errors import DataError

MANIFEST_PATH = Path(str(resources.files("footprint") / "data" / "manifest.json"))
ENV_VAR = "FOOTPRINT_DATA_DIR"


@dataclass(frozen=True)
class ManifestFile:
    """One reference file: where it sits under the data folder and how to check it."""

    path: str
    role: str
    sha256: str
    bytes: int
    source: str
    url: str
    licence: str
    attribution: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    """The whole manifest: the files plus the attribution the app and exports must carry."""

    name: str
    vintage: str
    licence: str
    attribution: tuple[str, ...]
    files: tuple[ManifestFile, ...]

    @property
    def digest(self) -> str:
        """A short hash of every file's checksum: names the exact data a result was made from."""
        joined = "\n".join(f"{f.path}:{f.sha256}" for f in self.files)
        return hashlib.sha256(joined.encode()).hexdigest()[:16]

    def file(self, path: str) -> ManifestFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)


@lru_cache(maxsize=4)
def read_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    """Read the manifest (``footprint/data/manifest.json`` unless told)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"The data manifest {path} is missing. It is part of the repository: "
            "restore it with 'git checkout footprint/data/manifest.json' or reinstall the package."
        ) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"The data manifest {path} is not valid JSON ({exc}).") from None
    files = tuple(
        ManifestFile(
            path=f["path"],
            role=f["role"],
            sha256=f["sha256"],
            bytes=int(f["bytes"]),
            source=f["source"],
            url=f["url"],
            licence=f["licence"],
            attribution=tuple(f["attribution"]),
        )
        for f in raw["files"]
    )
    return Manifest(
        name=raw["name"],
        vintage=raw["vintage"],
        licence=raw["licence"],
        attribution=tuple(raw["attribution"]),
        files=files,
    )


def user_data_dir() -> Path:
    """The user's own data folder: ``$XDG_DATA_HOME/footprint/data``, else
    ``~/.local/share/footprint/data``.

    Searched last, so that a download made where ``./data`` could not be written (a
    read-only checkout) is found again on the next start without setting anything.
    """
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "footprint" / "data"


def candidate_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for the data, most specific first."""
    if data_dir is not None:
        return [Path(data_dir)]
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    dirs += [Path.cwd() / "data", Path.cwd().parent / "shared" / "data", user_data_dir()]
    return dirs


def holding_dir(candidates: list[Path], manifest: Manifest) -> Path | None:
    """The first folder of ``candidates`` that holds any of the manifest's files."""
    return next(
        (d for d in candidates if any((d / f.path).is_file() for f in manifest.files)), None
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_data_dir(
    data_dir: str | os.PathLike[str] | None = None, *, manifest: Manifest | None = None
) -> Path:
    """Find the folder holding the reference files and check every file against the manifest.

    The first candidate folder that holds any of the manifest's files is the
    one used; every file must then be present with the right checksum.

    Raises
    ------
    DataError
        Listing each missing or changed file, where it was expected, and how to get it.
    """
    manifest = manifest or read_manifest()
    candidates = candidate_dirs(data_dir)
    chosen = holding_dir(candidates, manifest)
    if chosen is None:
        looked = ", ".join(str(d) for d in candidates)
        raise DataError(
            f"No reference data found (looked in: {looked}). Expected the files listed in "
            f"{MANIFEST_PATH} there. Get them with the app's download button or 'python -m "
            f"footprint fetch', or point "
            f"{ENV_VAR} (or the data_dir argument) at a folder that holds them"
        )
    problems = []
    for f in manifest.files:
        p = chosen / f.path
        if not p.is_file():
            problems.append(f"{f.path} ({f.role}) is missing: expected at {p}; source: {f.url}")
        elif (digest := sha256_file(p)) != f.sha256:
            problems.append(
                f"{f.path} at {p} has sha256 {digest[:12]}…, expected {f.sha256[:12]}… "
                f"(the file was changed or is a different release); source: {f.url}"
            )
    if problems:
        raise DataError(
            f"The reference data in {chosen} does not match the manifest. Run "
            "'python -m footprint fetch' to download fresh copies",
            problems=problems,
        )
    return chosen
