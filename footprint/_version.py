"""The package's version: from the installed metadata, else from pyproject.toml beside a checkout.

One place, so that exports, results and the cache key all name the same version.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

__all__ = ["version"]


def version() -> str:
    """``footprint``'s version, such as ``"0.2.0"``."""
    try:
        return metadata.version("footprint")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"
