"""A small on-disk cache for derived data (repaired layers, adjacency, audit).

An entry is a pickle, and unpickling runs code, so an entry is trusted only when
it proves it was written by this very code for this very key. Each file is::

    MAGIC | header length (4 bytes, big-endian) | header (JSON) | payload (pickle)

The header names the cache format, :data:`CACHE_VERSION`, the package version,
the code version (a digest of the source of the modules that shape what is
cached, including every default parameter of the adjacency graph and the LA
audit, and the versions of the libraries whose objects are pickled), the key and
the sha256 of the payload. The file name carries the cache and code versions, so
new code simply misses old entries. An entry whose header or payload does not
match (truncated, tampered, written by other code under this name) is rebuilt
with a :class:`CacheWarning`, and never unpickled.

Entries are written to a uniquely named temporary file and renamed into place
(:func:`atomic_write_bytes`), so a crash or a concurrent writer never leaves a
half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from ._version import version

log = logging.getLogger(__name__)

#: Bump when the shape of anything cached changes.
CACHE_VERSION = "7"
#: Layout of an entry file (magic, header, payload).
CACHE_FORMAT = 1
MAGIC = b"FPCACHE\x00"
ENV_VAR = "FOOTPRINT_CACHE_DIR"
#: Modules whose source shapes the cached values: a change to any of them (a default
#: tolerance of the adjacency graph or the audit, a repair step) is a new code version.
SHAPING_MODULES = (
    "_cache",
    "_manifest",
    "_text",
    "adjacency",
    "audit",
    "errors",
    "geography",
    "loader",
)
#: Libraries whose objects are pickled: an entry from other versions is not reused.
PICKLED_LIBRARIES = ("numpy", "pandas", "geopandas", "shapely", "pyproj")
#: Entries kept per key (other code versions, e.g. a second checkout sharing the cache).
KEEP_PER_KEY = 3
_MAX_HEADER = 64 * 1024

T = TypeVar("T")

__all__ = [
    "CacheWarning",
    "atomic_write_bytes",
    "cache_dir",
    "cached",
    "code_version",
    "sync_folder",
    "write_temp",
]


class CacheWarning(UserWarning):
    """A cache entry was not trusted (damaged, tampered or foreign) and is being rebuilt."""


def cache_dir() -> Path:
    """``FOOTPRINT_CACHE_DIR``, else ``~/.cache/footprint``."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "footprint"


def write_temp(
    folder: Path,
    data: bytes,
    *,
    prefix: str,
    suffix: str = ".tmp",
    prepare: Callable[[int], None] | None = None,
) -> str:
    """A fully written, synced, uniquely named temporary file in ``folder``.

    The caller publishes it (rename or link) or removes it; on any failure here it is
    removed. ``prepare`` gets the open file descriptor before the bytes are written
    (to set the file's mode, say).
    """
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            if prepare is not None:
                prepare(fh.fileno())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def sync_folder(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable (POSIX); not possible on every platform."""
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    make_parents: bool = True,
    prefix: str | None = None,
    suffix: str = ".tmp",
    prepare: Callable[[int], None] | None = None,
    durable: bool = False,
) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a uniquely named temporary file in the same folder (named
    ``prefix``...``suffix``; by default ``.<name>.``...``.tmp``), which is then renamed
    over ``path``, so concurrent writers never share a temporary file and the
    temporary file is removed on every failure. ``make_parents=False`` leaves a missing
    folder missing (the caller checked it, or it is an error). ``prepare`` is passed to
    :func:`write_temp`; ``durable=True`` also syncs the folder, so the rename survives
    a crash.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(
        path.parent,
        data,
        prefix=f".{path.name}." if prefix is None else prefix,
        suffix=suffix,
        prepare=prepare,
    )
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        sync_folder(path.parent)


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the code that shapes cached values (see :data:`SHAPING_MODULES`)."""
    h = hashlib.sha256()
    h.update(f"cache {CACHE_VERSION} format {CACHE_FORMAT}\n".encode())
    h.update(f"footprint {version()}\n".encode())
    for lib in PICKLED_LIBRARIES:
        try:
            h.update(f"{lib} {metadata.version(lib)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib} absent\n".encode())
    here = Path(__file__).resolve().parent
    for name in SHAPING_MODULES:
        h.update(f"module {name}\n".encode())
        try:
            h.update((here / f"{name}.py").read_bytes())
        except OSError:
            h.update(b"(unreadable)")
    return h.hexdigest()[:16]


def _entry_path(key: str) -> Path:
    return cache_dir() / f"{key}-v{CACHE_VERSION}-{code_version()}.pickle"


def _header(key: str, payload: bytes) -> dict[str, object]:
    return {
        "format": CACHE_FORMAT,
        "cache_version": CACHE_VERSION,
        "package": version(),
        "code": code_version(),
        "key": key,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def _encode(key: str, payload: bytes) -> bytes:
    header = json.dumps(_header(key, payload), sort_keys=True).encode("utf-8")
    return MAGIC + len(header).to_bytes(4, "big") + header + payload


def _trusted_payload(key: str, data: bytes) -> tuple[bytes | None, str]:
    """The payload of an entry if its header proves it is this code's entry for ``key``.

    Returns ``(payload, "")`` or ``(None, why it is not trusted)``. Nothing is unpickled.
    """
    if not data.startswith(MAGIC):
        return None, "does not start with the cache's magic bytes (not a footprint cache entry)"
    start = len(MAGIC) + 4
    if len(data) < start:
        return None, "is truncated (no header)"
    size = int.from_bytes(data[len(MAGIC) : start], "big")
    if size > _MAX_HEADER or len(data) < start + size:
        return None, "is truncated or damaged (header length out of range)"
    try:
        header = json.loads(data[start : start + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "has an unreadable header"
    if not isinstance(header, dict):
        return None, "has an unreadable header"
    payload = data[start + size :]
    expected = _header(key, payload)
    for field in ("format", "cache_version", "package", "code", "key"):
        if header.get(field) != expected[field]:
            return None, (
                f"has {field} {header.get(field)!r} in its header; expected {expected[field]!r}"
            )
    if header.get("bytes") != len(payload):
        return None, (
            f"is truncated or padded: the header says {header.get('bytes')!r} bytes of payload, "
            f"the file holds {len(payload)}"
        )
    if header.get("sha256") != expected["sha256"]:
        return None, "fails its sha256 check (the payload was changed or damaged)"
    return payload, ""


def _untrusted(path: Path, why: str) -> None:
    warnings.warn(
        f"cache entry {path} {why}; it was not loaded and is being rebuilt",
        CacheWarning,
        stacklevel=3,
    )


def _prune(key: str, keep: Path) -> None:
    """Remove all but the newest :data:`KEEP_PER_KEY` entries of ``key`` (other code versions)."""
    try:
        siblings = [p for p in keep.parent.glob(f"{key}-v*.pickle") if p != keep]
        siblings.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in siblings[KEEP_PER_KEY - 1 :]:
        try:
            old.unlink()
        except OSError:
            continue
        log.info("removed the old cache entry %s", old)


def cached(key: str, build: Callable[[], T], *, enabled: bool = True) -> T:
    """Return the cached value for ``key``, building and storing it on a miss.

    Parameters
    ----------
    key
        Names the value; it must change whenever the inputs do (the loader puts the
        data manifest's digest in it). The code that builds the value is accounted
        for here (:func:`code_version`).
    build
        Makes the value on a miss.
    enabled
        ``False`` always builds and stores nothing.

    Warns
    -----
    CacheWarning
        When an entry exists under this key's name but is damaged, truncated,
        tampered with or written by other code: it is rebuilt, never unpickled.
    """
    if not enabled:
        return build()
    path = _entry_path(key)
    data: bytes | None = None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cache entry %s unreadable (%s); rebuilding", path, exc)
    if data is not None:
        payload, why = _trusted_payload(key, data)
        if payload is None:
            _untrusted(path, why)
        else:
            try:
                return pickle.loads(payload)
            except Exception as exc:  # a payload this code wrote but cannot read back
                _untrusted(path, f"could not be unpickled ({type(exc).__name__})")
    value = build()
    try:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(path, _encode(key, blob))
    except (OSError, pickle.PicklingError) as exc:
        log.warning("could not write cache entry %s (%s)", path, exc)
    else:
        _prune(key, path)
    return value
