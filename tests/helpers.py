"""Test helpers shared by the fixtures in ``conftest.py`` and the test modules.

Import them as ``from helpers import grid_units`` (the tests folder is on the path when
pytest runs); ``conftest.py`` holds only fixtures.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

#: The repository's root folder.
ROOT = Path(__file__).resolve().parent.parent


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
