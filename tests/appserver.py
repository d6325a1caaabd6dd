"""Start the app for a real browser: one helper for the browser tests and the app benchmark.

tests/test_e2e_browser.py and benchmarks/bench_app.py both run ``streamlit run app.py``
on a free local port and drive Debian's Chromium against it, so the way the app is
launched, and the browser's switches and the map's selectors, are kept here once.
Plain Python, no pytest: the benchmark imports it as a script.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
CCG_PATHS = ".leaflet-overlay-pane path.leaflet-interactive"
UNASSIGNED_FILL = "#d9d9d9"


class AppDidNotStart(RuntimeError):
    """The app exited or did not answer its health check in time.

    The message ends with the tail of the app's log, so that the reason is seen where
    the failure is reported (a failed test or the benchmark's exit).
    """


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(*, scenario_dir: Path, log_path: Path, timeout: float = 90.0,
              script: str | Path = "app.py") -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free local port for as long as the block lasts.

    Parameters
    ----------
    script
        The script to run (from the repository's folder): ``app.py``, or a test's wrapper
        that changes something in the library and then runs ``app.py``.
    scenario_dir
        Folder the app saves scenarios in (``FOOTPRINT_SCENARIO_DIR``), so that a run
        never writes to the user's own scenarios.
    log_path
        File that receives the app's output; its tail goes into `AppDidNotStart`.
    timeout
        Seconds to wait for ``/_stcore/health`` to answer before giving up.

    Yields
    ------
    The app's base URL, ``http://127.0.0.1:<port>``.

    Raises
    ------
    AppDidNotStart
        If the process exits or the health check does not answer within `timeout`.

    Notes
    -----
    The process is terminated when the block ends, however it ends, and killed if it
    has not stopped ten seconds later.
    """
    port = _free_port()
    env = {**os.environ, "FOOTPRINT_SCENARIO_DIR": str(scenario_dir)}
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log = log_path.read_text(errors="replace")
                raise AppDidNotStart(f"streamlit did not start:\n{log[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
