"""A small on-disk cache for derived data (repaired layers, adjacency, audit).

Entries are keyed by the data manifest digest and a format version, written to
a temporary file and renamed into place, so a crash or a bad input never leaves
a half-written entry that a later run would trust.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

#: Bump when the shape of anything cached changes.
CACHE_VERSION = "6"
ENV_VAR = "FOOTPRINT_CACHE_DIR"

T = TypeVar("T")


def cache_dir() -> Path:
    """``FOOTPRINT_CACHE_DIR``, else ``~/.cache/footprint``."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "footprint"


def atomic_write_bytes(path: Path, data: bytes, *, make_parents: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a uniquely named temporary file in the same folder, which is then
    renamed over ``path``, so concurrent writers never share a temporary file and the
    temporary file is removed on every failure. ``make_parents=False`` leaves a missing
    folder missing (the caller checked it, or it is an error).
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached(key: str, build: Callable[[], T], *, enabled: bool = True) -> T:
    """Return the cached value for ``key``, building and storing it on a miss.

    A corrupt or unreadable entry is rebuilt, never trusted.
    """
    if not enabled:
        return build()
    path = cache_dir() / f"{key}-v{CACHE_VERSION}.pickle"
    if path.is_file():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except Exception as exc:  # a damaged entry is only a miss
            log.warning("cache entry %s unreadable (%s); rebuilding", path, exc)
    value = build()
    try:
        atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as exc:
        log.warning("could not write cache entry %s (%s)", path, exc)
    return value
