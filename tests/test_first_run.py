"""A first run on a fresh machine: the app fetches its own data, and asks nothing it need not.

Three layers, cheapest first:

* The missing-data section driven in-process (``AppTest``): the one line, the size up
  front, the download through the same code path as ``python -m footprint fetch`` from a
  local HTTP server standing in for the sources (``FOOTPRINT_DATA_MIRROR``), the map
  afterwards, and the failures (a 404, a checksum mismatch, a connection torn down
  mid-file, a folder that cannot be written) with nothing half-written left behind.
* No call leaves the machine unasked: ``streamlit run app.py`` exactly as the README says
  (no ``--server.address``), with every Python it starts loading a ``sitecustomize`` that
  refuses and records any connection or name lookup off the machine, and Chromium with
  every outside request refused and recorded. Nothing is attempted at start or per
  session; ticking the background map is what makes the tile probe (the control that
  shows the recorder works).
* The README's first screen followed literally in a fresh virtual environment made from
  the committed files, the data served by a local server, the download button pressed in
  Chromium and the map drawn afterwards (with screenshots of each step).

The fresh environment's one departure from a real first install: the packages this test
run already has are lent to it through a ``.pth`` file instead of downloading the whole
stack from the package index again; ``pip install -r requirements.txt`` then finds them
satisfied and installs the project itself, and the app runs from the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from appserver import CCG_PATHS, CHROMIUM, CHROMIUM_ARGS, MAP_FRAME, ROOT
from helpers import require_browser, screenshot
from test_fetch import Server, _serve

from footprint import DataError
from footprint._manifest import read_manifest, resolve_data_dir


def _unescape(text: str) -> str:
    """What a planner reads in a Markdown element the app escaped (``\\.`` shows as ``.``)."""
    return re.sub(r"\\(.)", r"\1", text)


def _leftovers(root: Path) -> list[str]:
    """Everything under ``root``, temporary files and empty folders included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.fixture(scope="module")
def sources() -> Iterator[Server]:
    """A local HTTP server holding the real reference files, in the manifest's layout."""
    try:
        shared = resolve_data_dir()
    except DataError as exc:
        pytest.skip(f"no reference data: {exc}")
    yield from _serve(shared)


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: Server) -> Path:
    """A machine without the data: nothing in any folder the loader searches."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # ./data and ../shared/data are empty here
    monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("FOOTPRINT_DATA_MIRROR", sources.url)
    sources.behaviour.by_path.clear()
    sources.behaviour.requests.clear()
    from app_pages.shared import england

    england.clear()  # a dataset loaded by an earlier test of this process
    yield tmp_path
    sources.behaviour.by_path.clear()
    england.clear()


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _map_count(at) -> int:
    from test_app import map_components

    return len(map_components(at))


# --- the missing-data section, in-process -----------------------------------------------------


@pytest.mark.realdata
def test_missing_data_is_said_in_one_line_and_fetched_from_the_page(fresh, sources):
    manifest = read_manifest()
    total = sum(f.bytes for f in manifest.files)
    at = _app()
    assert [_unescape(i.value) for i in at.info] == [
        f"The reference data ({manifest.name}) is not on this machine yet: download it "
        f"(6 files, {total / 1e6:.1f} MB) to start planning."
    ]
    assert [b.label for b in at.button] == [f"Download the reference data ({total / 1e6:.1f} MB)"]
    captions = [_unescape(c.value) for c in at.caption]
    host = sources.url.removeprefix("http://")
    assert f"From {host} into {fresh / 'data'}. Each file is checked" in captions[0]
    assert any("registered patients" in c and "Open Government Licence" in c for c in captions)
    assert _map_count(at) == 0
    assert sources.behaviour.requests == [], "the page asked the sources before the button"

    at.button(key="fetch_data").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _map_count(at) == 1, "the map did not appear after the download"
    assert sorted(sources.behaviour.requests) == sorted(f.path for f in manifest.files)
    assert _leftovers(fresh / "data") == sorted(
        {f.path for f in manifest.files} | {f.path.split("/")[0] for f in manifest.files}
    )


@pytest.mark.realdata
def test_a_failed_download_says_which_file_why_and_what_to_do_offline(fresh, sources):
    bad = {
        "la2013/topo_lad.json": "404",
        "ccg2013/eng_ccg_2013.topojson": "corrupt",
        "population/prevalencebyccg_1314.csv": "reset",
    }
    sources.behaviour.by_path.update(bad)
    at = _app()
    at.button(key="fetch_data").click().run()
    assert not at.exception
    assert _map_count(at) == 0
    error = _unescape(at.error[0].value)
    assert error.startswith(f"Could not fetch 3 of 6 reference files into {fresh / 'data'}")
    assert "la2013/topo_lad.json: the server answered HTTP 404 (File not found)" in error
    assert "ccg2013/eng_ccg_2013.topojson: checksum mismatch" in error
    assert re.search(
        r"population/prevalencebyccg_1314\.csv: (the download from .* broke off|the "
        r"connection to .* closed) after [\d,]+ of 256,838 bytes",
        error,
    ), error
    advice = _unescape(at.warning[-1].value)
    assert advice.startswith("Without internet: on a machine that has the reference data, copy")
    assert "then start the app with FOOTPRINT_DATA_DIR set to that folder" in advice
    # nothing half-written: no temporary file, no folder left empty (population/ held one)
    assert _leftovers(fresh / "data") == [
        "ccg2013",
        "ccg2013/CCG13_NHSAT13_NHSCR13_EW_LU.csv",
        "ccg2013/CCG_APR_2013.csv",
        "la2013",
        "la2013/LAD15_CTY15_EN_LU.csv",
    ]
    # the failure stays on the page until a download works; the next one does
    at.run()
    assert "Could not fetch 3 of 6" in _unescape(at.error[0].value)
    sources.behaviour.by_path.clear()
    at.button(key="fetch_data").click().run()
    assert not at.error and _map_count(at) == 1


@pytest.mark.realdata
def test_a_folder_that_cannot_be_written_is_replaced_and_named(fresh, monkeypatch):
    (fresh / "a-file").write_text("not a folder")
    monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(fresh / "a-file" / "data"))
    at = _app()
    fallback = fresh / "xdg" / "footprint" / "data"
    note = _unescape(at.warning[0].value)
    assert note.startswith(f"{fresh / 'a-file' / 'data'} cannot be written (")
    assert f"so the files go to {fallback}, where the app and the command line also look" in note
    at.button(key="fetch_data").click().run()
    assert not at.error and _map_count(at) == 1
    assert (fallback / "la2013" / "topo_lad.json").is_file()


@pytest.mark.realdata
def test_data_put_in_place_by_hand_is_found_without_a_restart(fresh, sources):
    at = _app()
    assert at.button(key="fetch_data")
    # the command line's fetch, run beside the app, fills the folder
    from footprint.cli import main

    assert main(["fetch", "--quiet"]) == 0
    at.run()
    assert _map_count(at) == 1 and not at.error


# --- no call leaves the machine unasked -------------------------------------------------------

#: Loaded by every Python started with its folder on PYTHONPATH: any connection or name
#: lookup off the machine is refused and written to $OUTSIDE_CALLS.
GUARD = textwrap.dedent(
    """
    import ipaddress, os, socket

    _LOG = os.environ["OUTSIDE_CALLS"]


    def _local(host):
        if host in (None, "", "localhost"):
            return True
        if isinstance(host, bytes):
            host = host.decode()
        try:
            ip = ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            return False
        return ip.is_loopback or ip.is_unspecified


    def _record(what):
        with open(_LOG, "a") as fh:
            fh.write(what + "\\n")


    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
    _lookup = socket.getaddrinfo


    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            _record(f"connect {address!r}")
            raise ConnectionRefusedError(111, "outside connections are refused in this test")
        return _connect(self, address)


    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            _record(f"connect_ex {address!r}")
            return 111
        return _connect_ex(self, address)


    def getaddrinfo(host, *args, **kwargs):
        if not _local(host):
            _record(f"getaddrinfo {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "outside names are refused in this test")
        return _lookup(host, *args, **kwargs)


    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo = getaddrinfo
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _running(command: str, *, cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """``command`` run by bash in ``cwd`` (the app on ``STREAMLIT_SERVER_PORT``) until the
    block ends; yields the app's URL once its health check answers."""
    port = _free_port()
    env = {**env, "STREAMLIT_SERVER_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:  # the shell and the app it started: their own process group
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def _chromium() -> Iterator[tuple[object, list[str]]]:
    """A browser context whose requests off the machine are refused and listed."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_local(route) -> None:
        url = route.request.url
        host = url.split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", only_local)
        try:
            yield context, outside
        finally:
            context.close()
            browser.close()


def _wait_for_map(pg) -> None:
    frame = pg.frame_locator(MAP_FRAME).first
    frame.locator(CCG_PATHS).nth(210).wait_for(timeout=120_000)
    assert frame.locator(CCG_PATHS).count() == 211


def _calls(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
def test_the_guard_sees_streamlits_own_lookups_without_the_setting(tmp_path):
    """The control: a bare app without this repository's .streamlit/config.toml asks outside
    for the machine's addresses at start, and the guard records it."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    (tmp_path / "bare.py").write_text("import streamlit as st\n\nst.write('bare')\n")
    calls = tmp_path / "outside-calls.log"
    env = {**os.environ, "PYTHONPATH": str(guard), "OUTSIDE_CALLS": str(calls)}
    command = f"{sys.executable} -m streamlit run bare.py --server.headless true"
    with _running(command, cwd=tmp_path, env=env, log=tmp_path / "app.log"):
        deadline = time.monotonic() + 30
        while len(_calls(calls)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert "getaddrinfo 'checkip.amazonaws.com'" in _calls(calls), _calls(calls)
    assert "connect ('8.8.8.8', 1)" in _calls(calls), _calls(calls)


@pytest.mark.browser
@pytest.mark.realdata
@pytest.mark.slow
def test_no_call_leaves_the_machine_at_start_or_per_session(tmp_path, dataset):
    require_browser()
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    calls = tmp_path / "outside-calls.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(guard),
        "OUTSIDE_CALLS": str(calls),
        "FOOTPRINT_SCENARIO_DIR": str(tmp_path / "scenarios"),
        "FOOTPRINT_DRAWING_DIR": str(tmp_path / "drawings"),
    }
    # the README's command, from the repository (no --server.address: the lookups it
    # would skip are the point)
    command = f"{sys.executable} -m streamlit run app.py"
    with _running(command, cwd=ROOT, env=env, log=tmp_path / "app.log") as url:
        assert _calls(calls) == [], "the server reached outside at start"
        with _chromium() as (context, outside):
            for _session in range(2):  # each a new browser session
                pg = context.new_page()
                pg.goto(url)
                _wait_for_map(pg)
                pg.wait_for_timeout(1000)
                assert _calls(calls) == [], "a session made the server reach outside"
                assert outside == [], "the page asked for something off the machine"
            # asked for, the background map makes the probe (and the browser asks for tiles)
            pg.get_by_text("Background map (OpenStreetMap, needs internet)").click()
            deadline = time.monotonic() + 30
            while not _calls(calls) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert any("tile.openstreetmap.org" in c for c in _calls(calls)), _calls(calls)
            pg.get_by_text("OpenStreetMap did not answer from this server").wait_for()
            _wait_for_map(pg)
    log = (tmp_path / "app.log").read_text()
    assert "External URL" not in log and "Network URL" not in log, log


# --- the README's first screen, in a fresh virtual environment ---------------------------------


def _readme_commands() -> tuple[str, str, str]:
    """The set-up, run and test commands of the README's "Set up, run, test" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up, run, test", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", section, flags=re.S)
    lines = [
        line.split("  #", 1)[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(lines) >= 3, f"expected set-up, run and test commands, found {lines}"
    return lines[0], lines[1], lines[2]


def _copy_of_the_repository(dest: Path) -> None:
    """The repository's files as a clone has them: no data, no caches, no virtual environment
    (what git ignores), as they stand in the working tree."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            (dest / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / os.fsdecode(name))


def _set_up(setup: str, clone: Path, env: dict[str, str], log: Path) -> None:
    """The README's set-up line, with this run's packages lent to the new environment
    right after it is made (see the module's docstring)."""
    site = sysconfig.get_paths()["purelib"]
    steps = []
    for step in setup.split(" && "):
        steps.append(step)
        if re.search(r"-m venv \.venv\b", step):
            pth = f".venv/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
            steps.append(f"echo {site} > {pth}/_lent_stack.pth")
    script = " && ".join(steps) + " && python -c 'import footprint; print(footprint.__file__)'"
    done = subprocess.run(
        ["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith(str(clone)), done.stdout[-500:]


def _fresh_env(tmp_path: Path, mirror: str) -> dict[str, str]:
    """A planner's shell: no data folder set, a home of its own, the sources at ``mirror``."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin
    )  # as a new shell: this run's environment is not active
    home = tmp_path / "home"
    home.mkdir()
    return {
        **env,
        "HOME": str(home),
        "FOOTPRINT_DATA_MIRROR": mirror,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "MPLBACKEND": "Agg",
    }


@pytest.mark.browser
@pytest.mark.realdata
@pytest.mark.slow
def test_the_readme_first_screen_in_a_fresh_environment(tmp_path, sources):
    require_browser()
    setup, run, test = _readme_commands()
    assert re.search(r"python3? -m venv \.venv", setup) and ". .venv/bin/activate" in setup
    assert "pip install -r requirements.txt" in setup
    assert "streamlit run app.py" in run and "pytest" in test
    clone = tmp_path / "clone"
    _copy_of_the_repository(clone)
    env = _fresh_env(tmp_path, sources.url)
    _set_up(setup, clone, env, tmp_path / "setup.log")
    # the run command is typed in the same shell, after the set-up activated .venv
    activate = ". .venv/bin/activate && " if ". .venv/bin/activate" not in run else ""
    sources.behaviour.requests.clear()
    sources.behaviour.by_path.clear()
    # the first try is slow enough to watch and fails on one file (the server lost it)
    for f in read_manifest().files:
        sources.behaviour.by_path[f.path] = "slow"
    sources.behaviour.by_path["la2013/topo_lad.json"] = "404"
    with (
        _running(activate + run, cwd=clone, env=env, log=tmp_path / "app.log") as url,
        _chromium() as (context, outside),
    ):
        pg = context.new_page()
        pg.goto(url)
        button = pg.get_by_role("button", name=re.compile(r"^Download the reference data"))
        button.wait_for(timeout=120_000)
        pg.get_by_text("is not on this machine yet").wait_for()
        assert sources.behaviour.requests == []
        screenshot(pg, "first-run-missing-data.png")

        button.click()
        pg.get_by_text(re.compile(r"eng_ccg_2013\.topojson: [\d.]+ kB of 281\.6 kB")).wait_for(
            timeout=60_000
        )
        screenshot(pg, "first-run-download-progress.png")
        pg.get_by_text("Could not fetch 1 of 6 reference files").wait_for(timeout=120_000)
        pg.get_by_text("Without internet:").wait_for()
        # what is left to fetch is what failed: one file, and the button says its size
        pg.get_by_text("download it (1 file, 1.0 MB)").wait_for()
        pg.wait_for_timeout(1000)  # the run is over: nothing shown greyed as stale
        screenshot(pg, "first-run-download-failed.png")
        assert not (clone / "data" / "la2013" / "topo_lad.json").exists()
        assert not [p for p in (clone / "data").rglob(".*") if p.is_file()], "a temporary file"

        sources.behaviour.by_path.clear()
        pg.get_by_role("button", name="Download the reference data (1.0 MB)").click()
        _wait_for_map(pg)
        pg.wait_for_timeout(1000)
        screenshot(pg, "first-run-map-after-download.png")
        assert outside == []
    sources.behaviour.by_path.clear()
    assert sorted(p.name for p in (clone / "data").rglob("*") if p.is_file()) == sorted(
        ["README.md", *(Path(f.path).name for f in read_manifest().files)]
    )
