"""Shared fixtures: the real England 2013 data (loaded once) and tiny geographies built in code."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the test run's on-disk cache apart from the user's unless one is set."""
    if not os.environ.get("FOOTPRINT_CACHE_DIR"):
        os.environ["FOOTPRINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def dataset():
    """The real England 2013 dataset (geography, adjacency, audit)."""
    from footprint import load_dataset

    return load_dataset()


@pytest.fixture(scope="session")
def geography(dataset):
    return dataset.geography


def grid_units(rows: int, cols: int, *, size: float = 1000.0, crs: int = 27700) -> gpd.GeoDataFrame:
    """A rows x cols grid of square units coded ``r{row}c{col}``, in metres."""
    recs = [
        {"code": f"r{r}c{c}", "geometry": box(c * size, r * size, (c + 1) * size, (r + 1) * size)}
        for r in range(rows)
        for c in range(cols)
    ]
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=crs)


def population_table(codes, values) -> pd.DataFrame:
    return pd.DataFrame({"code": list(codes), "population": [str(v) for v in values]})
