"""Test helpers shared by the fixtures in ``conftest.py`` and the test modules.

Import them as ``from helpers import grid_units`` (the tests folder is on the path when
pytest runs); ``conftest.py`` holds only fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

#: The repository's root folder.
ROOT = Path(__file__).resolve().parent.parent


def require_browser() -> None:
    """Skip a browser test where Debian's Chromium or Playwright is missing, or fail it when
    ``FOOTPRINT_REQUIRE_BROWSER`` is set (CI sets it: there the browser tests must run)."""
    import shutil

    import pytest
    from appserver import CHROMIUM

    required = os.environ.get("FOOTPRINT_REQUIRE_BROWSER", "").strip() not in ("", "0")
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed; pip install -r requirements.txt"
    if missing is None and (not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None):
        missing = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if missing is None:
        return
    if required:
        pytest.fail(missing + "; FOOTPRINT_REQUIRE_BROWSER is set, so the browser tests must run")
    pytest.skip(missing)


def screenshot(page: Any, name: str, *, element: Any = None) -> None:
    """A browser page's screenshot (or only ``element``'s) into ``FOOTPRINT_SCREENSHOTS``
    when it is set.

    Unset (the usual test run) nothing is written, so running the tests leaves the checkout
    clean; set it to ``docs/screenshots`` to refresh the ones the README shows.
    """
    folder = os.environ.get("FOOTPRINT_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    if element is not None:
        element.screenshot(path=str(Path(folder) / name))
    else:
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def grid_units(rows: int, cols: int, *, size: float = 1000.0, crs: int = 27700) -> gpd.GeoDataFrame:
    """A rows x cols grid of square units coded ``r{row}c{col}``, in metres."""
    recs = [
        {"code": f"r{r}c{c}", "geometry": box(c * size, r * size, (c + 1) * size, (r + 1) * size)}
        for r in range(rows)
        for c in range(cols)
    ]
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=crs)


def population_table(codes: Iterable[str], values: Iterable[object]) -> pd.DataFrame:
    """A population CSV's table: a ``code`` column and a ``population`` column, as text."""
    return pd.DataFrame({"code": list(codes), "population": [str(v) for v in values]})


#: The codes of :func:`tiny_dataset`'s 3 x 3 grid and their NHS codes ("r1c2" -> "012").
TINY_CODES = [f"r{r}c{c}" for r in range(3) for c in range(3)]
TINY_NHS = {code: f"0{code[1]}{code[3]}" for code in TINY_CODES}


def tiny_dataset():  # -> footprint.loader.Dataset (imported late: helpers load fast)
    """A 3 x 3 grid of 100,000-patient units with NHS codes and one LA per unit.

    The command line's stand-in for England: whole-la then keeps each unit's own block.
    """
    from footprint.geography import build_geography
    from footprint.loader import Dataset

    units = grid_units(3, 3)
    units["name"] = [f"Unit {c}" for c in units["code"]]
    geo = build_geography(
        units,
        population_table(TINY_CODES, [100_000] * 9),
        code_column="code",
        population_column="population",
        name_column="name",
        name="Tiny grid",
        population_label="registered patients (test)",
        extra_columns=pd.DataFrame({"code": TINY_CODES, "nhs_code": list(TINY_NHS.values())}),
        la_upper=units.assign(code="LA " + units["code"], name="Council " + units["code"])[
            ["code", "name", "geometry"]
        ],
    )
    return Dataset.from_geography(geo)
