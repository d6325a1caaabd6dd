"""Measure the planner's app in a real browser: first page, a click, bytes of map data.

Not a test: it prints figures (and can write them as JSON). It starts
``streamlit run app.py`` on a free local port with tests/appserver.py, the helper the
browser tests use, and drives Debian's Chromium (/usr/bin/chromium) with Playwright,
refusing every request that is not for the app itself, exactly as
tests/test_e2e_browser.py does. Run from the project root:

    FOOTPRINT_DATA_DIR=../shared/data python benchmarks/bench_app.py --runs 5 --clicks 8

What is measured
----------------
first page
    From ``page.goto`` until all 211 CCG polygons are SVG paths in Leaflet's
    overlay pane, with the server's caches warm (one unmeasured load first).
    Median of ``--runs``, twice: in a fresh browser context each run (nothing
    cached by the browser) and reloading one context (the browser has Streamlit's
    scripts, Leaflet and the map files cached, as for a returning planner).
click
    From a real mouse click inside an unassigned CCG until both the clicked
    polygon has its footprint colour and the footprint table lists the new
    number of CCGs. Median of ``--clicks`` clicks on different CCGs.
rapid clicks
    ``--rapid`` CCGs (30) clicked into one footprint as fast as the app takes them:
    each click waits only for the one before to show in the count above the map. How
    many landed in a CCG other than the one aimed at (target 0), how often the map's box
    moved (target 0), and the median and largest time from a click to its count.
map data
    Bytes the browser received over Streamlit's websocket while the first page
    loaded and per click, the static map files fetched over HTTP (once per
    browser), and the CCG layer's own size.

``--screenshots DIR`` also saves PNGs of the map, a drawing with its table and
broken rules, an optimiser result, the comparison page and an upload error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is benchmarks/
    sys.path.insert(0, str(ROOT))

from tests.appserver import (  # noqa: E402
    CCG_PATHS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FILL_CHANGED_JS,
    INSIDE_POINT_JS,
    MAP_FRAME,
    UNASSIGNED_FILL,
    AppDidNotStart,
    rapid_clicks,
    serve_app,
)

VIEWPORT = {"width": 1500, "height": 1000}


# The footprint table (st.dataframe) keeps an accessible copy of its cells in the DOM.
_TABLE_HAS = """([footprint, n]) => {
    const grid = document.querySelector('[data-testid="stDataFrame"]');
    if (!grid) return false;
    const heads = [...grid.querySelectorAll('[role="columnheader"]')].map(c => c.innerText.trim());
    const col = heads.indexOf("CCGs");
    for (const row of grid.querySelectorAll('tr')) {
        const cells = [...row.querySelectorAll('[role="gridcell"]')].map(c => c.innerText.trim());
        if (cells[0] === footprint && col >= 0 && cells[col] === String(n)) return true;
    }
    return false;
}"""


@contextmanager
def app_server(scenario_dir: Path) -> Iterator[str]:
    """The app on a free port, its log beside the scenarios; exits the script if it fails."""
    try:
        with serve_app(
            scenario_dir=scenario_dir, log_path=scenario_dir.parent / "streamlit.log"
        ) as url:
            yield url
    except AppDidNotStart as exc:
        raise SystemExit(str(exc)) from None


class Meter:
    """Counts what one page receives: websocket bytes and the app's static map files."""

    def __init__(self, page) -> None:
        self.ws_bytes = 0
        self.map_files: dict[str, int] = {}
        self.blocked: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.on("response", self._response)

    def _frame(self, payload) -> None:
        self.ws_bytes += len(payload)

    def _response(self, response) -> None:
        if ".mapdata/" in response.url or ".leaflet/" in response.url:  # the app's own files
            with contextlib.suppress(Exception):  # a response without a body (aborted)
                self.map_files[response.url.rsplit("/", 1)[-1]] = len(response.body())


def new_page(browser, url: str, viewport: dict[str, int] = VIEWPORT):
    host = url.split("//", 1)[1]
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    meter = Meter(page)

    def only_local(route) -> None:
        u = route.request.url
        if u.startswith(("data:", "blob:")) or u.split("//", 1)[-1].startswith(host):
            route.continue_()
        else:
            meter.blocked.append(u)
            route.abort()

    context.route("**/*", only_local)
    return context, page, meter


def map_frame(page):
    return page.locator(MAP_FRAME).first.element_handle().content_frame()


def wait_polygons(page, timeout_ms: int = 120_000) -> None:
    page.frame_locator(MAP_FRAME).first.locator(CCG_PATHS).nth(210).wait_for(timeout=timeout_ms)


def settle(page, quiet_ms: int = 1200, limit_s: float = 30.0) -> None:
    """Wait until Streamlit stops sending (the script run and any rerun it caused are over)."""
    meter: Meter = page.meter
    last, since = meter.ws_bytes, time.monotonic()
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        page.wait_for_timeout(100)  # lets Playwright deliver events
        if meter.ws_bytes != last:
            last, since = meter.ws_bytes, time.monotonic()
        elif (time.monotonic() - since) * 1000 >= quiet_ms:
            return


def load(
    browser, url: str, viewport: dict[str, int] = VIEWPORT
) -> tuple[float, object, object, Meter]:
    context, page, meter = new_page(browser, url, viewport)
    page.meter = meter
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    wait_polygons(page)
    return time.perf_counter() - t0, context, page, meter


def click_a_ccg(page, start: int, n_assigned: int) -> tuple[float, float]:
    """Click inside an unassigned CCG; (seconds to its colour, seconds to the table)."""
    frame = map_frame(page)
    point = frame.evaluate(INSIDE_POINT_JS, start)
    if not point:
        raise SystemExit("no unassigned CCG could be clicked")
    box = page.locator(MAP_FRAME).first.bounding_box()
    t0 = time.perf_counter()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    frame.wait_for_function(FILL_CHANGED_JS, arg=[point["index"]], timeout=30_000, polling=16)
    t_colour = time.perf_counter() - t0
    page.wait_for_function(
        _TABLE_HAS, arg=["Footprint 1", n_assigned + 1], timeout=30_000, polling=16
    )
    t_table = time.perf_counter() - t0
    return t_colour, max(t_table, t_colour)


def layer_sizes() -> dict[str, int]:
    """The CCG layer's own size, inline and as per-click properties (no browser involved)."""
    from footprint import load_dataset
    from footprint.map import static_files, unit_properties, units_geojson

    ds = load_dataset()
    inline, _ = units_geojson(ds.geography, audit=ds.audit, assignment={}, colour_by="footprint")
    props, styles = unit_properties(
        ds.geography, audit=ds.audit, assignment={}, colour_by="footprint"
    )
    files = static_files(ds.geography)
    return {
        "ccg_layer_inline_bytes": len(inline.encode("utf-8")),
        "ccg_properties_bytes": len(json.dumps([props, styles], separators=(",", ":"))),
        **{f"static_{name.split('-')[0]}_bytes": len(data) for name, data in files.items()},
    }


# --- screenshots --------------------------------------------------------------------------------


def _zip_slip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.txt", b"gotcha")
        z.writestr("ccgs.geojson", b"{}")
    return buf.getvalue()


def view(page, name: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_text(name, exact=True).click()
    settle(page)


def screenshots(browser, url: str, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    _, context, page, _meter = load(browser, url, {"width": 1440, "height": 1350})
    settle(page)

    def shot(name: str) -> None:
        path = folder / name
        page.screenshot(path=str(path))
        with contextlib.suppress(ImportError):  # 256 colours: a third of the size, text sharp
            from PIL import Image

            Image.open(path).convert("RGB").quantize(
                colors=256, method=Image.Quantize.MAXCOVERAGE
            ).save(path, optimize=True)
        out.append(path)

    shot("01-map.png")
    for i, start in enumerate((40, 41, 42)):
        click_a_ccg(page, start, i)
        settle(page)
    page.mouse.move(5, 5)
    page.get_by_text("broken", exact=False).first.scroll_into_view_if_needed()
    shot("02-drawing-table-rules.png")

    view(page, "Optimise")
    page.get_by_role("button", name="Run the optimiser").click()
    verdict = (
        page.get_by_text("Proven best (optimal)")
        .or_(page.get_by_text("Feasible, within"))
        .or_(page.get_by_text("Infeasible"))
        .first
    )
    verdict.wait_for(timeout=600_000)
    settle(page)
    verdict.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    shot("03-optimiser-result.png")

    view(page, "Compare")
    page.get_by_label("Plan B").first.click()
    page.get_by_role("option", name="NHS Area Teams (2013)").click()
    settle(page)
    wait_polygons(page)
    page.get_by_text("Compare two plans").first.scroll_into_view_if_needed()
    shot("04-compare.png")

    view(page, "Import and export")
    uploads = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploads.nth(1).set_input_files(
        files=[{"name": "ccgs.zip", "mimeType": "application/zip", "buffer": _zip_slip()}]
    )
    page.get_by_text("refused").first.wait_for(timeout=30_000)
    settle(page)
    page.get_by_text("refused").first.scroll_into_view_if_needed()
    shot("05-upload-error.png")
    context.close()
    return out


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="first-page loads to time (median)")
    ap.add_argument("--clicks", type=int, default=8, help="clicks to time (median)")
    ap.add_argument("--rapid", type=int, default=30, help="CCGs clicked in quick succession")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--screenshots", type=Path, help="save PNGs of the main views here")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    figures: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_average_before": round(os.getloadavg()[0], 2),
        **layer_sizes(),
    }
    with tempfile.TemporaryDirectory(prefix="footprint-bench-") as tmp:
        scen = Path(tmp) / "scenarios"
        scen.mkdir()
        with app_server(scen) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            cold, context, page, meter = load(browser, url)  # warms the server's caches
            settle(page)
            figures["first_page_cold_s"] = round(cold, 2)
            context.close()

            loads, ws_first, files_first = [], [], {}
            for _ in range(args.runs):
                seconds, context, page, meter = load(browser, url)
                loads.append(seconds)
                settle(page)
                ws_first.append(meter.ws_bytes)
                files_first = dict(meter.map_files)
                if meter.blocked:
                    figures.setdefault("blocked_requests", []).extend(meter.blocked)
                context.close()

            # the same browser again (its cache holds Streamlit's and Leaflet's files and the
            # map data): how the page opens for a planner who has used the app before
            _, context, page, meter = load(browser, url)
            settle(page)
            reloads = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                page.goto(url, wait_until="commit")
                wait_polygons(page)
                reloads.append(time.perf_counter() - t0)
                settle(page)
            context.close()

            _, context, page, meter = load(browser, url)
            settle(page)
            colour, table, per_click = [], [], []
            for i in range(args.clicks):
                before = meter.ws_bytes
                c, t = click_a_ccg(page, 23 * i + 7, i)
                colour.append(c)
                table.append(t)
                settle(page)
                per_click.append(meter.ws_bytes - before)
            context.close()

            _, context, page, meter = load(browser, url)
            settle(page)
            got = rapid_clicks(page, args.rapid)
            context.close()
            clicked = set(got["clicked"])
            coloured = {i for i, f in enumerate(got["fills"]) if f != UNASSIGNED_FILL}
            one_fill = {got["fills"][i] for i in clicked & coloured}
            figures.update(
                {
                    "rapid_clicks": len(got["clicked"]),
                    # aimed at and not coloured, plus coloured and never aimed at, plus any
                    # that went to a second footprint
                    "rapid_misassigned": len(clicked - coloured)
                    + len(coloured - clicked)
                    + max(0, len(one_fill) - 1),
                    "rapid_map_moved": sum(b != got["boxes"][0] for b in got["boxes"]),
                    "rapid_click_to_count_median_s": round(statistics.median(got["seconds"]), 3),
                    "rapid_click_to_count_max_s": round(max(got["seconds"]), 3),
                }
            )

            figures.update(
                {
                    "first_page_runs_s": [round(x, 2) for x in loads],
                    "first_page_median_s": round(statistics.median(loads), 2),
                    "first_page_browser_cached_runs_s": [round(x, 2) for x in reloads],
                    "first_page_browser_cached_median_s": round(statistics.median(reloads), 2),
                    "click_to_colour_median_s": round(statistics.median(colour), 3),
                    "click_to_table_median_s": round(statistics.median(table), 3),
                    "click_to_table_max_s": round(max(table), 3),
                    "click_runs_s": [round(x, 3) for x in table],
                    "websocket_bytes_first_page_median": int(statistics.median(ws_first)),
                    "websocket_bytes_per_click_median": int(statistics.median(per_click)),
                    "static_files_fetched_bytes": files_first,
                }
            )
            if args.screenshots:
                figures["screenshots"] = [
                    str(x.relative_to(ROOT)) if x.is_relative_to(ROOT) else str(x)
                    for x in screenshots(browser, url, args.screenshots)
                ]
            browser.close()

    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
