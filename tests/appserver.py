"""Start the app for a real browser: one helper for the browser tests and the app benchmark.

tests/test_e2e_browser.py and benchmarks/bench_app.py both run ``streamlit run app.py``
on a free local port and drive Debian's Chromium against it, so the way the app is
launched, and the browser's switches and the map's selectors, are kept here once.
Plain Python, no pytest: the benchmark imports it as a script.
"""

from __future__ import annotations

import os
import re
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

# For the benchmarks: a point inside an unassigned CCG that the polygon itself receives, in
# iframe coordinates, and a test that a given polygon has been coloured.
INSIDE_POINT_JS = """(start) => {
    const paths = [...document.querySelectorAll("CCG_PATHS")];
    for (let k = 0; k < paths.length; k++) {
        const n = (start + k) % paths.length, p = paths[n];
        if ((p.getAttribute("fill") || "").toLowerCase() !== "UNASSIGNED") continue;
        const r = p.getBoundingClientRect();
        for (let i = 3; i < 8; i++) for (let j = 3; j < 8; j++) {
            const x = r.left + r.width * i / 10, y = r.top + r.height * j / 10;
            if (x > 0 && y > 0 && x < innerWidth && y < innerHeight
                    && document.elementFromPoint(x, y) === p) return {x: x, y: y, index: n};
        }
    }
    return null;
}""".replace("CCG_PATHS", CCG_PATHS).replace("UNASSIGNED", UNASSIGNED_FILL)

FILL_CHANGED_JS = """([index]) => {
    const p = document.querySelectorAll("CCG_PATHS")[index];
    return !!p && (p.getAttribute("fill") || "").toLowerCase() !== "UNASSIGNED";
}""".replace("CCG_PATHS", CCG_PATHS).replace("UNASSIGNED", UNASSIGNED_FILL)


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
def serve_app(
    *,
    scenario_dir: Path,
    log_path: Path,
    timeout: float = 90.0,
    script: str | Path = "app.py",
    drawing_dir: Path | None = None,
    port: int | None = None,
) -> Iterator[str]:
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
    drawing_dir
        Folder the app keeps each browser's drawing in (``FOOTPRINT_DRAWING_DIR``); by
        default a folder beside `scenario_dir`, so that a run never writes to ./drawings.
    port
        The port to serve on (a restart on the same address); by default a free one.
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
    port = port or _free_port()
    drawings = drawing_dir or scenario_dir.with_name(scenario_dir.name + "-drawings")
    env = {
        **os.environ,
        "FOOTPRINT_SCENARIO_DIR": str(scenario_dir),
        "FOOTPRINT_DRAWING_DIR": str(drawings),
    }
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
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


# --- clicking CCGs as a planner does --------------------------------------------------------

# A point inside a CCG polygon that the polygon itself receives (no other shape on top),
# in the map iframe's own coordinates.
INSIDE_POINT = """(start) => {
    const paths = [...document.querySelectorAll("CCG_PATHS")];
    for (let k = 0; k < paths.length; k++) {
        const p = paths[(start + k) % paths.length];
        const r = p.getBoundingClientRect();
        for (let i = 2; i < 9; i++) for (let j = 2; j < 9; j++) {
            const x = r.left + r.width * i / 10, y = r.top + r.height * j / 10;
            if (x > 0 && y > 0 && x < innerWidth && y < innerHeight
                    && document.elementFromPoint(x, y) === p) {
                return {x: x, y: y, index: (start + k) % paths.length};
            }
        }
    }
    return null;
}""".replace("CCG_PATHS", CCG_PATHS)


def assigned_line(pg, k: int):
    """The line above the map once ``k`` CCGs are in footprints."""
    return pg.get_by_text(re.compile(rf"(^|\D){k} of 211 CCGs assigned")).first


def inside_points(pg, n: int) -> list[dict]:
    """``n`` clickable points, each inside a different CCG, in the map frame's coordinates."""
    frame = pg.locator(MAP_FRAME).first.element_handle().content_frame()
    found: dict[int, dict] = {}
    start = 0
    while len(found) < n and start < 211 * 3:
        point = frame.evaluate(INSIDE_POINT, start % 211)
        if point and point["index"] not in found:
            found[point["index"]] = point
        start += 7
    return list(found.values())[:n]


def rapid_clicks(pg, n: int = 30) -> dict:
    """Click ``n`` CCGs as fast as the app takes them (each click waits only for the one
    before to show as assigned), into one footprint; what landed where, and the map's box.

    Returns the clicked path indices, the fills of every CCG afterwards, every box the map
    had (one per click), and the seconds from each click to its table row count.
    """
    frame = pg.locator(MAP_FRAME).first
    points = inside_points(pg, n)
    assert len(points) == n, f"only {len(points)} clickable CCGs found"
    boxes, seconds = [], []
    for k, point in enumerate(points, start=1):
        box = frame.bounding_box()
        boxes.append(box)
        t0 = time.monotonic()
        pg.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        assigned_line(pg, k).wait_for(timeout=60_000)
        seconds.append(time.monotonic() - t0)
    boxes.append(frame.bounding_box())
    deadline = time.monotonic() + 30
    while True:  # the map's colours follow the last click
        fills = (
            pg.locator(MAP_FRAME)
            .first.element_handle()
            .content_frame()
            .eval_on_selector_all(
                CCG_PATHS, "ps => ps.map(p => (p.getAttribute('fill') || '').toLowerCase())"
            )
        )
        if sum(f != UNASSIGNED_FILL for f in fills) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {
        "clicked": [p["index"] for p in points],
        "fills": fills,
        "boxes": boxes,
        "seconds": seconds,
    }


def click_ccgs(pg, n: int, start: int, *, wait: int = 90_000) -> None:
    """Click ``n`` more CCGs (``start`` assigned already) into the chosen footprint.

    A click that lands while the page reruns can be lost, so a CCG is clicked again, but
    only when the map still shows it unassigned: a second click on a CCG the app has taken
    (and is slow to show in the status line) would take it out again.
    """
    frame = pg.locator(MAP_FRAME).first
    frame.wait_for(timeout=wait)
    pg.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=wait)
    pg.wait_for_timeout(2000)  # the page's own start-up messages are over
    points = inside_points(pg, start + n)[start:]
    for k, point in enumerate(points, start=start + 1):
        line = assigned_line(pg, k)
        for _attempt in range(3):
            box = frame.bounding_box()
            pg.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
            try:
                line.wait_for(timeout=30_000)
                break
            except Exception:
                taken = (
                    frame.element_handle()
                    .content_frame()
                    .evaluate(FILL_CHANGED_JS, [point["index"]])
                )
                if taken:
                    break
        line.wait_for(timeout=wait)


def save_drawing(pg, name: str, *, overwrite: bool) -> None:
    """Save the drawing as a scenario from its popover on the drawing page."""
    field = pg.get_by_label("Scenario name")
    for _attempt in range(3):  # the form is in a popover: open it (a click may close it)
        if field.is_visible():
            break
        pg.get_by_text("Save the drawing as a scenario").first.click()
        try:
            field.wait_for(timeout=10_000)
        except Exception:
            continue
    field.fill(name)
    if overwrite:
        pg.get_by_text("Replace a saved scenario of the same name").first.click()
    pg.get_by_role("button", name="Save scenario").click()
