"""Shared fixtures: the real England 2013 data (loaded once) and an isolated cache.

Helpers that build tiny geographies in code live in ``helpers.py``.
"""

from __future__ import annotations

import os

import pytest

# Re-exported for test modules that still import them from here; new code imports helpers.
from helpers import ROOT, grid_units, population_table  # noqa: F401


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
