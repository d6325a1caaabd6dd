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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests get two more tries: headless Chromium against a live Streamlit server
    now and then leaves a widget as a loading placeholder past a wait (seen at random in
    full runs, in different tests, never twice in a row). A test that fails three times
    fails; each retry is reported in the run's summary ("rerun")."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))
