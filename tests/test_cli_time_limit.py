"""--time-limit bounds the whole command: the optimiser gets what loading left of it."""

from __future__ import annotations

import time

import pytest

from footprint import cli


def test_the_optimiser_gets_what_loading_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_process_age", lambda: 7.5)
    assert cli._time_left(30.0) == pytest.approx(30.0 - 7.5 - cli._FINISH_SECONDS)
    # a limit loading already used up still lets the optimiser say so (half a second)
    assert cli._time_left(5.0) == 0.5


def test_the_process_age_is_how_long_this_process_has_run() -> None:
    first = cli._process_age()
    time.sleep(0.3)
    second = cli._process_age()
    assert 0.0 < first < second  # this test process started before the test
    assert second - first >= 0.2
