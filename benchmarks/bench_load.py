"""Load on one shared app server: N planners' browser sessions at once, for a set time.

Not a test: it prints figures. It starts ONE ``streamlit run app.py`` on a free port on
127.0.0.1 with tests/appserver.py (the helper the browser tests and bench_app.py use),
scenarios in a temporary folder, then opens ``--sessions`` sessions at once in one
Debian Chromium (/usr/bin/chromium; one browser context each, driven by Playwright's
async API on one event loop), refusing every request that is not for the app itself.
Run from the project root:

    FOOTPRINT_DATA_DIR=../shared/data python benchmarks/bench_load.py --sessions 10 --seconds 120

Each session behaves like a planner until ``--seconds`` have passed: it waits for the
map, then in rounds clicks ``--clicks`` unassigned CCGs on the map (a real mouse click
inside the polygon, ``--think`` seconds apart) into the footprint the page offers; every
other session (``--optimisers`` sets how many) then goes to the Optimise view, runs the
optimiser with a ``--time-limit`` of a few seconds under a scenario name of its own,
waits for its result and goes back to the map.

What is printed
---------------
first page
    ``page.goto`` until all 211 CCG polygons are drawn: once alone (it also warms the
    server's caches, unmeasured by the rest) and for the N sessions opened together.
click
    From the mouse click until the clicked polygon has its footprint colour and the
    footprint table lists one more CCG in footprints (as bench_app.py measures it, but
    summed over the table's rows): median, p90 and max (the slowest click).
optimiser
    From "Run the optimiser" until its status says "Finished: ... in X s" (wall time
    in the browser, beside the solver's own X), and runs not finished when the run ended.
errors
    Anything any page showed that a planner should not see: Streamlit exception boxes,
    alerts saying "unexpected" or "Could not", script errors in the page, websockets that
    closed, and actions that timed out.
memory and CPU
    RSS of the server process and its children (psutil, every 0.5 s): at rest after the
    warm-up, peak and at the end; beside it the browser's own memory (PSS summed over
    its processes, so that pages they share count once); and the CPU seconds the server
    and the browser used after the warm-up, beside the core-seconds the machine had.
    A server near one core-second per second is saturated (Python runs one script
    thread at a time); a machine short of core-seconds is loaded by other work.
machine
    Cores and the 1-minute load average before and after.

The browsers run on the same machine as the server, so the figures depend on the
machine's load (other work on it included) and are an upper bound for the server alone;
compare runs made on the same machine at quiet times. On a small machine the browsers
use most of the CPU (on 2 cores, ten sessions' Chromium used about five times the
server's CPU): the "CPU used" line says which side the times are waiting for. The
server runs with Streamlit's file watcher off, as a team server would: edits made to
the tree during a run do not reload modules under the sessions. ``--private-cache``
gives the server an empty FOOTPRINT_CACHE_DIR (the warm-up then pays for building the
derived data); by default it uses the user's cache, as a long-running team server would.

Bounded: no session starts an action after ``--seconds``, waits are cut
``GRACE_S`` seconds later, and a watchdog kills the server and the browser and exits at
``--seconds`` + 60 s from the start whatever happens. The server and the browser are
stopped on every way out (end, error, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

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
    AppDidNotStart,
    serve_app,
)

VIEWPORT = {"width": 1500, "height": 1000}
OVERALL_SLACK_S = 60  # everything ends within --seconds + this
GRACE_S = 20  # how long an action begun before --seconds may still be waited for
TEARDOWN_S = 10  # left for closing the browser and stopping the server
MAP_VIEW, OPTIMISE_VIEW = "Map and drawing", "Optimise"
WATCHER = "STREAMLIT_SERVER_FILE_WATCHER_TYPE"


# CCGs in footprints by the footprint table: the sum of its "CCGs" column (-1: no table yet).
# A click goes into Footprint 1 at first; after a visit to another view the "Clicking a CCG
# puts it in" box starts again at a new footprint, so the sum is watched, not one row.
_TABLE_SUM = """() => {
    const grid = document.querySelector('[data-testid="stDataFrame"]');
    if (!grid) return -1;
    const heads = [...grid.querySelectorAll('[role="columnheader"]')].map(c => c.innerText.trim());
    const col = heads.indexOf("CCGs");
    if (col < 0) return -1;
    let sum = 0;
    for (const row of grid.querySelectorAll('tr')) {
        const cells = [...row.querySelectorAll('[role="gridcell"]')].map(c => c.innerText.trim());
        if (cells.length > col) sum += parseInt(cells[col], 10) || 0;
    }
    return sum;
}"""

_TABLE_SUM_IS = "([n]) => (" + _TABLE_SUM + ")() === n"

# What a planner should never see: exception boxes, and alerts about unexpected failures.
_PAGE_ERRORS = """() => {
    const out = [];
    for (const e of document.querySelectorAll('[data-testid="stException"]'))
        out.push("exception box: " + e.innerText.replace(/\\s+/g, " ").slice(0, 240));
    for (const e of document.querySelectorAll('[data-testid="stAlert"]')) {
        const t = e.innerText.replace(/\\s+/g, " ");
        if (/unexpected|could not/i.test(t)) out.push("alert: " + t.slice(0, 240));
    }
    return out;
}"""

_FINISHED = re.compile(r"^(Finished: (\w+) in ([\d.]+) s|Could not optimise)$")


@dataclass
class Figures:
    first_page_alone: float | None = None
    first_pages: list[float] = field(default_factory=list)
    clicks: list[float] = field(default_factory=list)
    clicks_to_colour: list[float] = field(default_factory=list)
    map_reopen: list[float] = field(default_factory=list)
    runs: list[tuple[int, float, str, float | None]] = field(default_factory=list)
    runs_unfinished: int = 0
    cut: list[str] = field(default_factory=list)  # actions still waited for at the cut
    errors: dict[tuple[int, str], int] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    sessions_started: int = 0
    sessions_loaded: int = 0
    load_seconds: float | None = None
    start_seconds: float | None = None  # server start and warm-up, before the load phase

    per_session: dict[int, dict[str, object]] = field(default_factory=dict)

    def error(self, session: int, text: str) -> None:
        key = (session, text)
        self.errors[key] = self.errors.get(key, 0) + 1


class Memory:
    """Samples every 0.5 s in a thread: the server's and the browser's memory and CPU.

    The server is its process and its children; the browser is every other process this
    script started (Playwright's driver and Chromium's processes). CPU is summed per
    process from when it is first seen, so contexts that close keep what they used.
    """

    def __init__(self, server: psutil.Process) -> None:
        self.server = server
        self.samples: list[tuple[float, int, int]] = []  # (t, server bytes, browser bytes)
        self.cpu_base: dict[int, float] = {}  # pid -> CPU seconds when the sampling began
        self.cpu_last: dict[int, tuple[bool, float]] = {}  # pid -> (is server, CPU seconds)
        self.started_at: float | None = None
        self._count = self._pss = 0
        self.stopped_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _procs(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        try:
            server = [self.server, *self.server.children(recursive=True)]
        except psutil.Error:
            server = []
        ids = {p.pid for p in server}
        return server, [p for p in psutil.Process().children(recursive=True) if p.pid not in ids]

    def sample(self, *, first: bool = False) -> tuple[int, int]:
        server, browser = self._procs()
        self._count += 1
        # PSS reads every page table of Chromium's many processes: every 5 s is enough
        fresh_pss = first or self._count % 10 == 0
        rss = pss = 0
        for is_server, procs in ((True, server), (False, browser)):
            for p in procs:
                with contextlib.suppress(psutil.Error, AttributeError):
                    if is_server:
                        rss += p.memory_info().rss
                    elif fresh_pss:  # PSS: pages Chromium's processes share count once
                        pss += p.memory_full_info().pss
                    c = p.cpu_times()
                    used = c.user + c.system
                    if first:
                        self.cpu_base[p.pid] = used
                    self.cpu_last[p.pid] = (is_server, used)
        if fresh_pss:
            self._pss = pss
        return rss, self._pss

    def cpu(self) -> tuple[float, float]:
        """CPU seconds the server and the browser used since the sampling began."""
        out = [0.0, 0.0]
        for pid, (is_server, used) in self.cpu_last.items():
            out[0 if is_server else 1] += used - self.cpu_base.get(pid, 0.0)
        return out[0], out[1]

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append((time.monotonic(), *self.sample()))

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.samples.append((self.started_at, *self.sample(first=True)))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
            self._count = -1  # the last sample reads PSS too
            self.samples.append((time.monotonic(), *self.sample()))
            self.stopped_at = time.monotonic()


def kill_descendants() -> None:
    """Kill every process this script started (the server, Playwright's driver, Chromium)."""
    procs = psutil.Process().children(recursive=True)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=5)


def server_process(port: str) -> psutil.Process:
    """The ``streamlit run`` this script started (serve_app does not hand out its process)."""
    for p in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            cmd = p.cmdline()
            if "streamlit" in cmd and port in cmd:
                return p
    raise SystemExit("the server process was not found among this script's children")


# --- one planner ----------------------------------------------------------------------------


class Session:
    def __init__(
        self,
        n: int,
        browser,
        url: str,
        figures: Figures,
        *,
        stop_at: float,
        cut_at: float,
        args: argparse.Namespace,
        optimiser: bool,
    ) -> None:
        self.n, self.browser, self.url, self.fig = n, browser, url, figures
        self.stop_at, self.cut_at, self.args, self.optimiser = stop_at, cut_at, args, optimiser
        self.ws_bytes = 0
        self.closing = False
        self.context = self.page = None
        self.clicks = 0
        self.doing = "opening the page"
        self.mine: dict[str, object] = figures.per_session.setdefault(
            n, {"map": None, "clicks": 0, "runs": 0, "end": "worked until --seconds"}
        )
        self.host = url.split("//", 1)[1]

    def log(self, what: str) -> None:
        if self.args.verbose:
            print(
                f"{time.monotonic() - self.args.t0:7.1f} s  session {self.n}: {what}",
                file=sys.stderr,
                flush=True,
            )

    def timeout_ms(self, wanted_s: float) -> float:
        """``wanted_s`` or what is left before waits are cut, whichever is less (at least 1 s)."""
        return max(1.0, min(wanted_s, self.cut_at - time.monotonic())) * 1000

    def _frame(self, payload) -> None:
        self.ws_bytes += len(payload)

    def _websocket(self, ws) -> None:
        ws.on("framereceived", self._frame)
        ws.on(
            "close",
            lambda _ws: (
                None
                if self.closing
                else self.fig.error(self.n, "the page's websocket to the server closed")
            ),
        )

    async def _route(self, route) -> None:
        u = route.request.url
        if u.startswith(("data:", "blob:")) or u.split("//", 1)[-1].startswith(self.host):
            await route.continue_()
        else:
            self.fig.blocked.append(u)
            await route.abort()

    async def open(self) -> float:
        self.context = await self.browser.new_context(viewport=VIEWPORT)
        await self.context.route("**/*", self._route)  # context-wide: covers the map's iframe
        self.page = await self.context.new_page()
        self.page.on("websocket", self._websocket)
        self.page.on("pageerror", lambda exc: self.fig.error(self.n, f"script error: {exc}"))
        t0 = time.perf_counter()
        await self.page.goto(self.url, wait_until="commit", timeout=self.timeout_ms(120))
        await self.wait_polygons(120)
        return time.perf_counter() - t0

    async def close(self) -> None:
        self.closing = True
        if self.context is not None:
            with contextlib.suppress(Exception):
                await self.context.close()

    async def wait_polygons(self, wanted_s: float) -> None:
        await (
            self.page.frame_locator(MAP_FRAME)
            .first.locator(CCG_PATHS)
            .nth(210)
            .wait_for(timeout=self.timeout_ms(wanted_s))
        )

    async def settle(self, quiet_s: float = 1.0, limit_s: float = 20.0) -> None:
        """Until Streamlit stops sending (the script run and any rerun it caused are over)."""
        last, since = self.ws_bytes, time.monotonic()
        end = min(time.monotonic() + limit_s, self.cut_at)
        while time.monotonic() < end:
            await asyncio.sleep(0.1)
            if self.ws_bytes != last:
                last, since = self.ws_bytes, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return

    async def check_errors(self) -> None:
        with contextlib.suppress(Exception):
            for text in set(await self.page.evaluate(_PAGE_ERRORS)):
                if (self.n, text) not in self.fig.errors:
                    self.fig.error(self.n, text)

    async def map_frame(self):
        handle = await self.page.locator(MAP_FRAME).first.element_handle(
            timeout=self.timeout_ms(30)
        )
        return await handle.content_frame()

    async def click(self) -> bool:
        """One CCG into a footprint; False when no unassigned CCG could be clicked."""
        self.doing = f"click {self.clicks + 1}"
        frame = await self.map_frame()
        start = (37 * self.n + 23 * self.clicks + 7) % 211
        point = await frame.evaluate(INSIDE_POINT_JS, start)
        if not point:
            return False
        n = max(0, await self.page.evaluate(_TABLE_SUM))
        box = await self.page.locator(MAP_FRAME).first.bounding_box()
        t0 = time.perf_counter()
        await self.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        self.clicks += 1
        await frame.wait_for_function(
            FILL_CHANGED_JS, arg=[point["index"]], polling=25, timeout=self.timeout_ms(60)
        )
        colour = time.perf_counter() - t0
        await self.page.wait_for_function(
            _TABLE_SUM_IS, arg=[n + 1], polling=25, timeout=self.timeout_ms(60)
        )
        self.fig.clicks_to_colour.append(colour)
        self.fig.clicks.append(max(colour, time.perf_counter() - t0))
        self.mine["clicks"] += 1
        self.log(f"click {self.clicks}: {self.fig.clicks[-1]:.2f} s ({n + 1} CCGs)")
        return True

    async def view(self, name: str) -> None:
        await (
            self.page.locator('[data-testid="stSidebar"]')
            .get_by_text(name, exact=True)
            .click(timeout=self.timeout_ms(30))
        )

    async def optimise(self, run: int) -> None:
        page, limit = self.page, self.args.time_limit
        self.doing = f"optimiser run {run}"
        await self.view(OPTIMISE_VIEW)
        button = page.get_by_role("button", name="Run the optimiser")
        await button.wait_for(timeout=self.timeout_ms(60))
        await self.settle(quiet_s=0.5)
        await page.get_by_label("Time limit (s)").fill(f"{limit:g}", timeout=self.timeout_ms(30))
        await page.get_by_label("Name of the new scenario").fill(
            f"Load test session {self.n} run {run}", timeout=self.timeout_ms(30)
        )
        t0 = time.perf_counter()
        await button.click(timeout=self.timeout_ms(30))
        done = page.get_by_text(_FINISHED).first
        try:
            await done.wait_for(timeout=self.timeout_ms(limit + 120))
        except Exception:
            if time.monotonic() >= self.cut_at - 0.5:
                self.fig.runs_unfinished += 1
                self.log(f"optimiser run {run} unfinished after {time.perf_counter() - t0:.1f} s")
                return
            raise
        wall = time.perf_counter() - t0
        m = _FINISHED.match((await done.inner_text()).strip())
        status, solver_s = (
            (m.group(2), float(m.group(3))) if m and m.group(2) else ("could not optimise", None)
        )
        self.fig.runs.append((self.n, wall, status, solver_s))
        self.mine["runs"] += 1
        self.doing = f"going back to the map after optimiser run {run}"
        self.log(f"optimiser run {run}: {status} after {wall:.1f} s")
        await self.check_errors()
        if time.monotonic() >= self.stop_at:  # the run is over: no need for the map again
            return
        await self.settle(quiet_s=0.5)
        t0 = time.perf_counter()
        await self.view(MAP_VIEW)
        await self.wait_polygons(60)
        self.fig.map_reopen.append(time.perf_counter() - t0)

    async def run(self) -> None:
        self.fig.sessions_started += 1
        try:
            self.fig.first_pages.append(await self.open())
            self.fig.sessions_loaded += 1
            self.mine["map"] = self.fig.first_pages[-1]
            self.log(f"map drawn after {self.fig.first_pages[-1]:.1f} s")
            await self.settle()
            round_no = 0
            while time.monotonic() < self.stop_at:
                round_no += 1
                for _ in range(self.args.clicks):
                    if time.monotonic() >= self.stop_at:
                        break
                    if not await self.click():  # the map is full: start a new drawing
                        await self.page.reload(wait_until="commit")
                        await self.wait_polygons(120)
                        await self.settle()
                        continue
                    await self.check_errors()
                    await asyncio.sleep(self.args.think)
                # an optimiser run is begun while its time limit fits before --seconds
                # (what it takes beyond is waited for up to GRACE_S, then counted unfinished)
                if self.optimiser and (time.monotonic() + self.args.time_limit + 5 < self.stop_at):
                    await self.optimise(round_no)
                    await asyncio.sleep(self.args.think)
        except asyncio.CancelledError:
            self.mine["end"] = f"cancelled during {self.doing}"
            raise
        except Exception as exc:  # a timeout or a page that went away: count it, stop
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.mine["end"] = f"stopped during {self.doing}"
            if time.monotonic() < self.cut_at - 0.5:
                self.fig.error(self.n, f"{self.doing}: {type(exc).__name__}: {first[:200]}")
                await self.check_errors()
            else:  # waited until the cut: slow or stuck, either way the planner saw nothing
                self.fig.cut.append(f"session {self.n}: {self.doing}")
            self.log(f"stopped during {self.doing}: {type(exc).__name__}: {first[:200]}")
            if self.args.shots:
                with contextlib.suppress(Exception):
                    self.args.shots.mkdir(parents=True, exist_ok=True)
                    await self.page.screenshot(
                        path=str(self.args.shots / f"session{self.n}.png"), timeout=5000
                    )
        finally:
            await self.close()


async def drive(
    url: str, figures: Figures, args: argparse.Namespace, *, t_start: float, memory_ready
) -> None:
    from playwright.async_api import async_playwright

    hard_end = t_start + args.seconds + OVERALL_SLACK_S
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # one session alone first: warms the server's caches, measured on its own
            warm = Session(
                -1,
                browser,
                url,
                figures,
                stop_at=0,
                args=args,
                optimiser=False,
                cut_at=hard_end - GRACE_S - TEARDOWN_S,
            )
            try:
                figures.first_page_alone = await warm.open()
                await warm.settle()
            finally:
                await warm.close()
            memory_ready()

            t_load = time.monotonic()
            figures.start_seconds = t_load - t_start
            stop_at = min(t_load + args.seconds, hard_end - GRACE_S - TEARDOWN_S)
            cut_at = stop_at + GRACE_S
            every = max(1, round(args.sessions / args.optimisers)) if args.optimisers else 0
            sessions = [
                Session(
                    i,
                    browser,
                    url,
                    figures,
                    stop_at=stop_at,
                    cut_at=cut_at,
                    args=args,
                    optimiser=bool(every) and i % every == 0 and i // every < args.optimisers,
                )
                for i in range(args.sessions)
            ]
            tasks = [asyncio.create_task(s.run()) for s in sessions]
            try:
                await asyncio.wait(tasks, timeout=cut_at + 5 - time.monotonic())
            finally:  # also when interrupted: the sessions stop before the browser closes
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            figures.load_seconds = time.monotonic() - t_load
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), timeout=10)


# --- report ---------------------------------------------------------------------------------


def _q(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def _secs(xs: list[float]) -> str:
    if not xs:
        return "none"
    return f"median {statistics.median(xs):.2f} s, p90 {_q(xs, 0.9):.2f} s, max {max(xs):.2f} s"


def report(
    figures: Figures,
    memory: Memory | None,
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    *,
    partial: str = "",
) -> None:
    mb = 1 / 2**20
    lines: list[tuple[str, str]] = []
    if partial:
        lines.append(("INCOMPLETE", partial))
    lines += [
        (
            "machine",
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        ),
        ("load average before", " ".join(f"{x:.2f}" for x in load_before) + " (1, 5, 15 min)"),
        ("load average after", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        (
            "sessions",
            f"{figures.sessions_loaded} of {args.sessions} opened the map, "
            f"{args.optimisers} of them optimising",
        ),
        (
            "load phase",
            f"{figures.load_seconds:.0f} s (asked {args.seconds:g} s; server start "
            f"and warm-up took {figures.start_seconds:.0f} s before it)"
            if figures.load_seconds
            else "not run",
        ),
        (
            "first page, alone (warm-up)",
            f"{figures.first_page_alone:.2f} s" if figures.first_page_alone else "none",
        ),
        ("first page, all opened at once", _secs(figures.first_pages)),
        ("clicks done", str(len(figures.clicks))),
        ("click to table updated", _secs(figures.clicks)),
        ("click to polygon coloured", _secs(figures.clicks_to_colour)),
        ("slowest click", f"{max(figures.clicks):.2f} s" if figures.clicks else "none"),
        (
            "optimiser runs done",
            f"{len(figures.runs)} (time limit {args.time_limit:g} s), "
            f"{figures.runs_unfinished} unfinished at the end",
        ),
        ("optimiser wall time", _secs([r[1] for r in figures.runs])),
        (
            "optimiser runs",
            "; ".join(
                f"s{n} {wall:.1f} s {status}" + (f" (solver {s:.1f} s)" if s is not None else "")
                for n, wall, status, s in figures.runs
            )
            or "none",
        ),
        ("map view back after a run", _secs(figures.map_reopen)),
    ]
    if memory is not None and memory.samples:
        rest = memory.samples[0]
        lines += [
            ("server RSS at rest", f"{rest[1] * mb:.0f} MB (after the warm-up)"),
            ("server RSS peak", f"{max(s[1] for s in memory.samples) * mb:.0f} MB"),
            ("server RSS at the end", f"{memory.samples[-1][1] * mb:.0f} MB"),
            (
                "browser memory peak",
                f"{max(s[2] for s in memory.samples) * mb:.0f} MB "
                "(PSS of Chromium's and Playwright's processes)",
            ),
            ("memory samples", f"{len(memory.samples)} (every 0.5 s)"),
        ]
        if memory.started_at and memory.stopped_at:
            wall = memory.stopped_at - memory.started_at
            srv, brw = memory.cpu()
            lines.append(
                (
                    "CPU used after the warm-up",
                    f"server {srv:.0f} s, browser {brw:.0f} s "
                    f"in {wall:.0f} s ({os.cpu_count()} cores: "
                    f"{os.cpu_count() * wall:.0f} core-seconds)",
                )
            )
    for n, d in sorted(figures.per_session.items()):
        if n < 0:
            continue
        shown = f"map in {d['map']:.1f} s" if d["map"] is not None else "no map"
        lines.append(
            (
                f"session {n}",
                f"{shown}, {d['clicks']} clicks, {d['runs']} optimiser runs, {d['end']}",
            )
        )
    lines.append(
        (
            "actions cut at the end",
            f"{len(figures.cut)} (begun before --seconds, "
            f"not done {GRACE_S} s later)" + "".join(f"; {c}" for c in figures.cut),
        )
    )
    errors = sorted(figures.errors.items())
    lines.append(("errors seen", str(sum(c for _, c in errors))))
    for (n, text), count in errors:
        who = {-1: "warm-up session", -2: "server"}.get(n, f"session {n}")
        lines.append(("", f"{who}: {text}" + (f" (x{count})" if count > 1 else "")))
    if figures.blocked:
        lines.append(("requests refused (not 127.0.0.1)", str(len(figures.blocked))))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}", flush=True)


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=10, help="browser sessions at once")
    ap.add_argument("--seconds", type=float, default=120, help="how long the sessions work")
    ap.add_argument("--clicks", type=int, default=5, help="CCGs clicked per round")
    ap.add_argument("--think", type=float, default=1.0, help="seconds between actions")
    ap.add_argument(
        "--optimisers", type=int, help="sessions that also optimise (default: every other one)"
    )
    ap.add_argument("--time-limit", type=float, default=10, help="optimiser time limit (s)")
    ap.add_argument(
        "--private-cache",
        action="store_true",
        help="an empty FOOTPRINT_CACHE_DIR for the server (a cold start)",
    )
    ap.add_argument("--server-log", type=Path, help="keep a copy of the server's log here")
    ap.add_argument("--shots", type=Path, help="save a screenshot here of a page that fails")
    ap.add_argument("--verbose", action="store_true", help="each action on stderr as it ends")
    args = ap.parse_args(argv)
    args.t0 = time.monotonic()
    if args.sessions < 1 or args.seconds <= 0:
        ap.error("--sessions and --seconds must be positive")
    if args.optimisers is None:
        args.optimisers = (args.sessions + 1) // 2
    args.optimisers = max(0, min(args.optimisers, args.sessions))
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}", file=sys.stderr)
        return 2

    t_start = time.monotonic()
    load_before = os.getloadavg()
    figures = Figures()
    memory: Memory | None = None

    def watchdog() -> None:  # the last resort: nothing outlives --seconds + 60 s
        print(
            f"watchdog: still running after {args.seconds + OVERALL_SLACK_S:.0f} s, "
            "killing the server and the browser",
            file=sys.stderr,
            flush=True,
        )
        kill_descendants()
        with contextlib.suppress(Exception):
            report(figures, memory, args, load_before, partial="stopped by the watchdog")
        os._exit(3)

    timer = threading.Timer(args.seconds + OVERALL_SLACK_S - 3, watchdog)
    timer.daemon = True
    timer.start()

    def on_term(signum, _frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    env_before = {k: os.environ.get(k) for k in ("FOOTPRINT_CACHE_DIR", WATCHER)}
    # a team server runs one version of the code: others editing the tree while this runs
    # must not make Streamlit reload modules under the sessions (serve_app passes os.environ)
    os.environ[WATCHER] = "none"
    try:
        with tempfile.TemporaryDirectory(prefix="footprint-load-") as tmp:
            scen = Path(tmp) / "scenarios"
            scen.mkdir()
            if args.private_cache:  # serve_app passes os.environ on to the server
                os.environ["FOOTPRINT_CACHE_DIR"] = str(Path(tmp) / "cache")
            try:
                with serve_app(
                    scenario_dir=scen,
                    log_path=Path(tmp) / "streamlit.log",
                    timeout=min(60.0, args.seconds + 20),
                ) as url:
                    server = server_process(url.rsplit(":", 1)[1])
                    memory = Memory(server)
                    try:
                        asyncio.run(
                            drive(url, figures, args, t_start=t_start, memory_ready=memory.start)
                        )
                    finally:
                        memory.stop()
                        log = (Path(tmp) / "streamlit.log").read_text(errors="replace")
                        if args.server_log:
                            args.server_log.write_text(log, encoding="utf-8")
                        tracebacks = log.count("Traceback (most recent call last)")
                        if tracebacks:
                            figures.error(
                                -2,
                                f"{tracebacks} traceback(s) in the server's log; "
                                "the last lines: "
                                + " | ".join(log.strip().splitlines()[-3:])[:400],
                            )
            except AppDidNotStart as exc:
                print(str(exc), file=sys.stderr)
                return 1
    except KeyboardInterrupt as exc:
        report(figures, memory, args, load_before, partial=f"interrupted ({str(exc) or 'Ctrl-C'})")
        return 130
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        kill_descendants()  # anything the ordinary ways out left behind
        timer.cancel()
    report(figures, memory, args, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
