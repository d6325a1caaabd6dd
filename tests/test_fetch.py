"""``python -m footprint fetch`` against a real HTTP server on 127.0.0.1 (never the internet).

Most tests use a small manifest of generated files so that every failure mode
(corrupted body, 404, truncated body, unreachable port, silent server, disk
error) is exercised quickly; the ``realdata`` tests fetch the real manifest from
a server that serves the shared data folder and load England 2013 from the copy.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from footprint import DataError
from footprint._manifest import Manifest, ManifestFile, read_manifest, resolve_data_dir
from footprint.cli import main
from footprint.fetch import fetch_data, file_url


@dataclass
class Behaviour:
    """What the test server does per path: ``ok`` (default), ``corrupt``, ``404``, ``truncate``,
    ``reset`` (half the file, then a torn-down connection), ``slow`` (16 kB every 0.1 s),
    ``trickle`` (one byte every 0.5 s)."""

    by_path: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


def _handler(root: Path, behaviour: Behaviour) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            rel = self.path.lstrip("/")
            behaviour.requests.append(rel)
            mode = behaviour.by_path.get(rel, "ok")
            target = root / rel
            if mode == "404" or not target.is_file():
                self.send_error(404, "File not found")
                return
            body = target.read_bytes()
            if mode == "corrupt":
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            if mode == "truncate":
                self.send_header("Connection", "close")
            self.end_headers()
            if mode == "slow":  # 16 kB every 0.1 s: a download long enough to watch
                for i in range(0, len(body), 16 * 1024):
                    try:
                        self.wfile.write(body[i : i + 16 * 1024])
                        self.wfile.flush()
                    except OSError:
                        self.close_connection = True
                        return
                    time.sleep(0.1)
                return
            if mode == "trickle":
                self.wfile.flush()
                for i in range(len(body)):
                    try:
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                    except OSError:  # the client gave up: the point of the test
                        self.close_connection = True
                        return
                    time.sleep(0.5)
                return
            if mode == "reset":  # half the file, then the connection is torn down (RST)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                return
            if mode == "truncate":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

    return Handler


@dataclass
class Server:
    url: str
    behaviour: Behaviour


def _serve(root: Path) -> Iterator[Server]:
    behaviour = Behaviour()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, behaviour))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", behaviour)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# --- a small manifest of generated files ------------------------------------------------------

FILES = {
    "boundaries/units.geojson": b'{"type": "FeatureCollection", "features": []}\n' * 50,
    "tables/names.csv": b"code,name\nA,Alpha\nB,Beta\n",
    "tables/population.csv": os.urandom(300_000),
}


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    root = tmp_path / "origin"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.fixture
def server(origin: Path) -> Iterator[Server]:
    yield from _serve(origin)


@pytest.fixture
def manifest(server: Server) -> Manifest:
    files = tuple(
        ManifestFile(
            path=rel,
            role=f"test file {i}",
            sha256=hashlib.sha256(data).hexdigest(),
            bytes=len(data),
            source="generated by the test",
            url=f"{server.url}/{rel}",
            licence="none",
            attribution=(),
        )
        for i, (rel, data) in enumerate(FILES.items())
    )
    return Manifest(name="test", vintage="now", licence="none", attribution=(), files=files)


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_fetch_downloads_every_file_then_skips_them(tmp_path, manifest, server):
    dest = tmp_path / "data"
    first = fetch_data(dest, manifest=manifest, progress=False)
    assert [r.status for r in first] == ["downloaded"] * 3
    assert _files_under(dest) == sorted(FILES)
    for rel, data in FILES.items():
        assert (dest / rel).read_bytes() == data
    n_requests = len(server.behaviour.requests)
    again = fetch_data(dest, manifest=manifest, progress=False)
    assert [r.status for r in again] == ["up to date"] * 3
    assert len(server.behaviour.requests) == n_requests, "up-to-date files were downloaded again"
    forced = fetch_data(dest, manifest=manifest, progress=False, force=True)
    assert [r.status for r in forced] == ["downloaded"] * 3


def test_fetch_replaces_a_changed_file(tmp_path, manifest):
    dest = tmp_path / "data"
    fetch_data(dest, manifest=manifest, progress=False)
    (dest / "tables/names.csv").write_bytes(b"code,name\nA,Changed\n")
    out = fetch_data(dest, manifest=manifest, progress=False)
    assert [r.status for r in out] == ["up to date", "downloaded", "up to date"]
    assert (dest / "tables/names.csv").read_bytes() == FILES["tables/names.csv"]


def test_fetch_with_progress_bars_goes_to_stderr(tmp_path, manifest, capsys):
    fetch_data(tmp_path / "data", manifest=manifest, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "tables/population.csv" in err


def test_corrupted_download_is_not_installed(tmp_path, manifest, server):
    server.behaviour.by_path["tables/population.csv"] = "corrupt"
    dest = tmp_path / "data"
    with pytest.raises(DataError, match=r"Could not fetch 1 of 3 reference files") as info:
        fetch_data(dest, manifest=manifest, progress=False)
    msg = str(info.value)
    expected = manifest.file("tables/population.csv").sha256
    assert "tables/population.csv: checksum mismatch" in msg
    assert f"expected sha256 {expected}, got " in msg
    assert "The file was NOT installed" in msg
    # the other two files are installed; nothing else, not even a temporary file
    assert _files_under(dest) == ["boundaries/units.geojson", "tables/names.csv"]


def test_corrupted_download_never_replaces_a_good_file(tmp_path, manifest, server):
    dest = tmp_path / "data"
    fetch_data(dest, manifest=manifest, progress=False)
    server.behaviour.by_path["tables/names.csv"] = "corrupt"
    with pytest.raises(DataError, match=r"tables/names\.csv: checksum mismatch"):
        fetch_data(dest, manifest=manifest, progress=False, force=True)
    assert (dest / "tables/names.csv").read_bytes() == FILES["tables/names.csv"]
    assert _files_under(dest) == sorted(FILES)


def test_http_error_names_status_and_url(tmp_path, manifest, server):
    server.behaviour.by_path["tables/names.csv"] = "404"
    server.behaviour.by_path["boundaries/units.geojson"] = "404"
    with pytest.raises(DataError, match=r"Could not fetch 2 of 3") as info:
        fetch_data(tmp_path / "data", manifest=manifest, progress=False)
    msg = str(info.value)
    for rel in ("tables/names.csv", "boundaries/units.geojson"):
        assert f"{rel}: the server answered HTTP 404 (File not found) for {server.url}/{rel}" in msg
    assert "offline" not in msg
    assert _files_under(tmp_path / "data") == ["tables/population.csv"]


def test_truncated_download_leaves_no_partial_file(tmp_path, manifest, server):
    server.behaviour.by_path["tables/population.csv"] = "truncate"
    dest = tmp_path / "data"
    with pytest.raises(
        DataError,
        match=r"tables/population\.csv: the connection to 127\.0\.0\.1:\d+ closed after 150,000 "
        r"of 300,000 bytes \(truncated download",
    ):
        fetch_data(dest, manifest=manifest, progress=False)
    assert "tables/population.csv" not in _files_under(dest)
    assert not list((dest / "tables").glob(".*"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_says_offline_and_tries_the_host_once(tmp_path, manifest):
    port = _free_port()  # nothing listens there once the socket is closed
    with pytest.raises(DataError, match=r"You seem to be offline") as info:
        fetch_data(
            tmp_path / "data", manifest=manifest, progress=False, mirror=f"http://127.0.0.1:{port}"
        )
    msg = str(info.value)
    assert f"could not reach 127.0.0.1:{port} (connection refused)" in msg
    assert "copy the files by hand from the mirror" in msg
    assert "set FOOTPRINT_DATA_DIR" in msg
    assert msg.count("not tried") == 2
    assert _files_under(tmp_path / "data") == []


def test_silent_server_times_out(tmp_path, manifest):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections into the backlog, never answers
        port = listener.getsockname()[1]
        with pytest.raises(DataError, match=r"\(timed out\)"):
            fetch_data(
                tmp_path / "data",
                manifest=manifest,
                progress=False,
                timeout=0.3,
                mirror=f"http://127.0.0.1:{port}/",
            )
    assert _files_under(tmp_path / "data") == []


def test_mirror_replaces_the_urls(tmp_path, manifest, server):
    f = manifest.files[0]
    assert file_url(f) == f.url
    assert file_url(f, mirror="http://share.nhs.local/data/") == (
        "http://share.nhs.local/data/boundaries/units.geojson"
    )
    # a manifest whose URLs are all dead still fetches through a mirror
    dead = Manifest(
        name=manifest.name,
        vintage=manifest.vintage,
        licence=manifest.licence,
        attribution=(),
        files=tuple(
            ManifestFile(**{**vars(x), "url": f"http://127.0.0.1:{_free_port()}/x"})
            for x in manifest.files
        ),
    )
    out = fetch_data(tmp_path / "data", manifest=dead, mirror=server.url, progress=False)
    assert [r.url.startswith(server.url) for r in out] == [True] * 3


def test_file_mirror(tmp_path, manifest, origin):
    out = fetch_data(tmp_path / "data", manifest=manifest, mirror=origin.as_uri(), progress=False)
    assert [r.status for r in out] == ["downloaded"] * 3
    (origin / "tables/names.csv").unlink()
    with pytest.raises(DataError, match=r"tables/names\.csv: cannot read file://.*mirror complete"):
        fetch_data(tmp_path / "d2", manifest=manifest, mirror=origin.as_uri(), progress=False)


def test_disk_error_is_reported(tmp_path, manifest):
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "tables").write_text("a file where a folder should be")
    with pytest.raises(DataError, match=r"tables/names\.csv: cannot write into .*tables") as info:
        fetch_data(dest, manifest=manifest, progress=False)
    assert "tables/population.csv: cannot write into" in str(info.value)
    assert (dest / "boundaries/units.geojson").is_file()


def test_interrupted_download_leaves_no_partial_file(tmp_path, manifest, monkeypatch):
    import footprint.fetch as fetch_mod

    dest = tmp_path / "data"
    fetch_data(dest, manifest=manifest, progress=False)
    real_sha = fetch_mod.hashlib.sha256

    class Interrupting:
        """Lets one block of a file through, then the user presses Ctrl-C."""

        def __init__(self) -> None:
            self._h = real_sha()
            self._n = 0

        def update(self, chunk: bytes) -> None:
            self._n += 1
            if self._n == 2:
                raise KeyboardInterrupt
            self._h.update(chunk)

        def hexdigest(self) -> str:
            return self._h.hexdigest()

    monkeypatch.setattr(fetch_mod.hashlib, "sha256", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        fetch_data(dest, manifest=manifest, progress=False, force=True)
    monkeypatch.undo()
    assert _files_under(dest) == sorted(FILES)
    # the only file big enough for two blocks was interrupted; its good copy stays
    assert (dest / "tables/population.csv").read_bytes() == FILES["tables/population.csv"]


def test_bad_options(tmp_path, manifest):
    with pytest.raises(
        DataError,
        match=r"--mirror must be an http://, https:// or file:// base "
        r"URL; got 'ftp://x'",
    ):
        fetch_data(tmp_path, manifest=manifest, mirror="ftp://x", progress=False)
    with pytest.raises(DataError, match=r"timeout must be a positive number of seconds; got 0"):
        fetch_data(tmp_path, manifest=manifest, timeout=0, progress=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match=r"is a file, not a folder"):
        fetch_data(tmp_path / "f", manifest=manifest, progress=False)


def test_default_folder_is_the_env_var_then_cwd_data(tmp_path, monkeypatch):
    from footprint.fetch import default_fetch_dir

    monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(tmp_path / "env"))
    assert default_fetch_dir() == tmp_path / "env"
    monkeypatch.delenv("FOOTPRINT_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert default_fetch_dir() == tmp_path / "data"


# --- the real manifest, served from the shared data folder -------------------------------------


@pytest.fixture(scope="module")
def real_server() -> Iterator[Server]:
    try:
        shared = resolve_data_dir()
    except DataError as exc:
        pytest.skip(f"no reference data: {exc}")
    yield from _serve(shared)


@pytest.mark.realdata
def test_fetch_the_real_manifest_then_load_england(tmp_path, real_server, capsys):
    from footprint import load_england_2013

    dest = tmp_path / "data"
    assert main(["fetch", "--data-dir", str(dest), "--mirror", real_server.url, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "6 downloaded, 0 already up to date" in out
    assert sorted(_files_under(dest)) == sorted(f.path for f in read_manifest().files)
    geo = load_england_2013(dest, use_cache=False)
    assert len(geo.units) == 211
    assert geo.population_total == 56_324_887

    assert main(["fetch", "--data-dir", str(dest), "--mirror", real_server.url, "--quiet"]) == 0
    assert "0 downloaded, 6 already up to date" in capsys.readouterr().out


@pytest.mark.realdata
def test_fetch_command_reports_errors_on_stderr(tmp_path, real_server, capsys):
    real_server.behaviour.by_path["la2013/topo_lad.json"] = "corrupt"
    try:
        code = main(["fetch", "--data-dir", str(tmp_path), "--mirror", real_server.url, "--quiet"])
    finally:
        real_server.behaviour.by_path.clear()
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Could not fetch 1 of 6 reference files")
    assert "la2013/topo_lad.json: checksum mismatch" in err
    assert not (tmp_path / "la2013/topo_lad.json").exists()


# --- deadlines, clean-up and option checks ---------------------------------------------------


def _leftovers(root: Path) -> list[str]:
    """Everything under ``root`` (files and folders), temporary files included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_trickling_server_is_given_up_at_the_deadline(tmp_path, manifest, server):
    # one byte every 0.5 s never trips a 1 s socket timeout; only the deadline ends it
    server.behaviour.by_path["tables/names.csv"] = "trickle"
    server.behaviour.by_path["tables/population.csv"] = "404"
    dest = tmp_path / "data"
    with pytest.raises(
        DataError,
        match=r"tables/names\.csv: the download from http://127\.0\.0\.1:\d+/tables/names\.csv "
        r"did not finish within 2 s \(\d+ of 25 bytes arrived\); the server is too slow or "
        r"stalled\. Run fetch again later, or give more time with --deadline\. The file was NOT "
        r"installed",
    ):
        fetch_data(dest, manifest=manifest, progress=False, timeout=1.0, deadline=2.0)
    # no partial file, and no empty tables/ folder: only the file that arrived
    assert _leftovers(dest) == ["boundaries", "boundaries/units.geojson"]


def test_the_default_deadline_grows_with_the_file(manifest):
    from footprint.fetch import MIN_RATE, default_deadline

    f = manifest.file("tables/population.csv")
    assert default_deadline(f, timeout=60) == 60 + f.bytes / MIN_RATE


def test_failed_fetch_into_a_new_folder_leaves_no_folder(tmp_path, manifest, server):
    for rel in FILES:
        server.behaviour.by_path[rel] = "404"
    dest = tmp_path / "new" / "data"
    with pytest.raises(DataError, match=r"Could not fetch 3 of 3"):
        fetch_data(dest, manifest=manifest, progress=False)
    assert not (tmp_path / "new").exists()


def test_interrupt_in_a_new_folder_leaves_nothing(tmp_path, manifest, monkeypatch):
    import footprint.fetch as fetch_mod

    class Interrupted:
        def update(self, chunk: bytes) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(fetch_mod.hashlib, "sha256", Interrupted)
    dest = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        fetch_data(dest, manifest=manifest, progress=False)
    assert not dest.exists()


def test_checksum_mismatch_in_a_new_folder_leaves_nothing(tmp_path, manifest, server):
    server.behaviour.by_path["boundaries/units.geojson"] = "corrupt"
    dest = tmp_path / "data"
    with pytest.raises(DataError, match=r"boundaries/units\.geojson: checksum mismatch"):
        fetch_data(dest, manifest=manifest, progress=False)
    assert _leftovers(dest) == ["tables", "tables/names.csv", "tables/population.csv"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0, True, "5", 1e9])
def test_timeout_and_deadline_must_be_finite_positive_seconds(tmp_path, manifest, value):
    with pytest.raises(DataError, match=r"timeout must be a positive number of seconds; got "):
        fetch_data(tmp_path / "d", manifest=manifest, timeout=value, progress=False)
    with pytest.raises(DataError, match=r"deadline must be a positive number of seconds; got "):
        fetch_data(tmp_path / "d", manifest=manifest, deadline=value, progress=False)
    assert not (tmp_path / "d").exists()


def test_unparsable_mirror_is_refused(tmp_path, manifest):
    with pytest.raises(DataError, match=r"--mirror 'http://\[::1' is not a usable URL"):
        fetch_data(tmp_path, manifest=manifest, mirror="http://[::1", progress=False)


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--timeout", "nan", "argument --timeout: got 'nan'; expected a finite number, e.g. 60"),
        ("--timeout", "inf", "argument --timeout: got 'inf'; expected a finite number"),
        ("--timeout", "-1", "argument --timeout: got '-1'; expected seconds above 0 and at most"),
        ("--timeout", "soon", "argument --timeout: got 'soon'; expected a number, e.g. 60"),
        ("--deadline", "0", "argument --deadline: got '0'; expected seconds above 0"),
    ],
)
def test_fetch_command_refuses_bad_seconds(tmp_path, capsys, flag, value, expected):
    assert main(["fetch", "--data-dir", str(tmp_path / "d"), flag, value]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


# --- the app's way in: the plan up front, progress per file, where to write ----------------------


def test_progress_is_told_per_file_up_to_its_size(tmp_path, manifest):
    seen: dict[str, list[int]] = {}
    fetch_data(
        tmp_path / "data",
        manifest=manifest,
        progress=False,
        on_progress=lambda f, n: seen.setdefault(f.path, []).append(n),
    )
    assert sorted(seen) == sorted(FILES)
    for rel, counts in seen.items():
        assert counts == sorted(counts), rel
        assert counts[-1] == len(FILES[rel])
    assert len(seen["tables/population.csv"]) >= 2  # more than one block: a moving bar
    # files already there are told at their whole size, once
    again: list[tuple[str, int]] = []
    fetch_data(
        tmp_path / "data",
        manifest=manifest,
        progress=False,
        on_progress=lambda f, n: again.append((f.path, n)),
    )
    assert sorted(again) == sorted((rel, len(data)) for rel, data in FILES.items())


def test_plan_says_where_what_and_how_much_up_front(tmp_path, manifest, server):
    from footprint.fetch import plan_fetch

    dest = tmp_path / "new" / "data"
    plan = plan_fetch(dest, manifest=manifest)
    assert plan.folder == dest and plan.note == ""
    assert [f.path for f in plan.files] == list(FILES)
    assert plan.total_bytes == sum(len(d) for d in FILES.values())
    assert plan.hosts == (server.url.removeprefix("http://"),)
    assert not (tmp_path / "new").exists(), "the write test left a folder behind"
    fetch_data(dest, manifest=manifest, progress=False)
    (dest / "tables/names.csv").write_bytes(b"changed")
    plan = plan_fetch(dest, manifest=manifest)
    assert [f.path for f in plan.files] == ["tables/names.csv"]
    assert _leftovers(dest) == sorted([*FILES, "boundaries", "tables"]), (
        "the write test left a file behind"
    )


def test_unwritable_folder_goes_to_the_user_folder_and_says_so(tmp_path, manifest, monkeypatch):
    from footprint._manifest import candidate_dirs
    from footprint.fetch import plan_fetch

    # a folder under a file cannot be made, whoever runs the test (root ignores mode bits)
    (tmp_path / "plain-file").write_text("x")
    blocked = tmp_path / "plain-file" / "data"
    monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(blocked))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    plan = plan_fetch(manifest=manifest)
    fallback = tmp_path / "xdg" / "footprint" / "data"
    assert plan.folder == fallback
    assert plan.note.startswith(f"{blocked} cannot be written (")
    assert f"the files go to {fallback}, where the app and the command line also look" in plan.note
    assert "set FOOTPRINT_DATA_DIR to choose another folder" in plan.note
    assert not (tmp_path / "xdg").exists(), "the write test left a folder behind"
    # the loader looks there last, so the download is found on the next start
    assert candidate_dirs()[-1] == fallback
    out = fetch_data(manifest=manifest, progress=False)
    assert {r.location.parent.parent for r in out} == {fallback}


def test_nowhere_writable_says_what_to_set(tmp_path, manifest, monkeypatch):
    from footprint.fetch import plan_fetch

    (tmp_path / "plain-file").write_text("x")
    monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(tmp_path / "plain-file" / "a"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "plain-file" / "b"))
    with pytest.raises(
        DataError,
        match=r"Nowhere to write the reference data: .*plain-file/a \(.+\) and .*plain-file/b/"
        r"footprint/data \(.+\) cannot be written\. Set FOOTPRINT_DATA_DIR to a writable folder",
    ):
        plan_fetch(manifest=manifest)
    with pytest.raises(DataError, match=r"Cannot write the reference data into .*a writable"):
        plan_fetch(tmp_path / "plain-file" / "c", manifest=manifest)


def test_a_partial_copy_that_cannot_be_written_is_named(tmp_path, manifest, monkeypatch):
    import footprint.fetch as fetch_mod

    partial = tmp_path / "partial"
    (partial / "tables").mkdir(parents=True)
    (partial / "tables/names.csv").write_bytes(FILES["tables/names.csv"])
    monkeypatch.setenv("FOOTPRINT_DATA_DIR", str(partial))
    monkeypatch.setattr(fetch_mod, "_unwritable", lambda folder: "Read-only file system")
    with pytest.raises(
        DataError,
        match=r"partial holds an incomplete or changed copy of the reference data and cannot "
        r"be written \(Read-only file system\)\. Copy the missing files into it by hand, or set "
        r"FOOTPRINT_DATA_DIR",
    ):
        fetch_mod.plan_fetch(manifest=manifest)


def test_mirror_from_the_environment(tmp_path, manifest, server, monkeypatch):
    from footprint.fetch import plan_fetch

    dead = Manifest(
        name=manifest.name,
        vintage=manifest.vintage,
        licence=manifest.licence,
        attribution=(),
        files=tuple(
            ManifestFile(**{**vars(x), "url": f"http://127.0.0.1:{_free_port()}/x"})
            for x in manifest.files
        ),
    )
    monkeypatch.setenv("FOOTPRINT_DATA_MIRROR", server.url)
    assert plan_fetch(tmp_path / "d", manifest=dead).url(dead.files[0]).startswith(server.url)
    out = fetch_data(tmp_path / "d", manifest=dead, progress=False)
    assert [r.status for r in out] == ["downloaded"] * 3
    monkeypatch.setenv("FOOTPRINT_DATA_MIRROR", "ftp://x")
    with pytest.raises(DataError, match=r"'ftp://x' \(from --mirror or FOOTPRINT_DATA_MIRROR\)"):
        fetch_data(tmp_path / "d", manifest=dead, progress=False)


def test_connection_torn_down_mid_file_leaves_nothing(tmp_path, manifest, server):
    server.behaviour.by_path["tables/population.csv"] = "reset"
    server.behaviour.by_path["tables/names.csv"] = "404"
    dest = tmp_path / "data"
    with pytest.raises(
        DataError,
        match=r"tables/population\.csv: (the download from .* broke off after [\d,]+ of 300,000 "
        r"bytes|the connection to .* closed after [\d,]+ of 300,000 bytes)",
    ):
        fetch_data(dest, manifest=manifest, progress=False)
    # no partial file, no empty tables/ folder: only the file that arrived
    assert _leftovers(dest) == ["boundaries", "boundaries/units.geojson"]


def test_offline_advice_names_the_folders_and_the_variable(tmp_path, manifest):
    from footprint.fetch import offline_advice, plan_fetch

    text = offline_advice(plan_fetch(tmp_path / "d", manifest=manifest), manifest=manifest)
    assert "copy the folder that holds boundaries/, tables/" in text
    assert "FOOTPRINT_DATA_DIR set to that folder" in text
    assert f"put the files into {tmp_path / 'd'}" in text
    assert "FOOTPRINT_DATA_MIRROR" in text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1000, "1.0 kB"),
        (7378, "7.4 kB"),
        (999_949, "999.9 kB"),
        (999_999, "1.0 MB"),
        (1_624_711, "1.6 MB"),
        (999_999_999, "1.0 GB"),
        (5 * 10**12, "5,000.0 GB"),
    ],
)
def test_sizes_in_words(n, text):
    from footprint.fetch import size_text

    assert size_text(n) == text


def test_plan_and_progress_in_words(tmp_path, manifest):
    from footprint.fetch import files_and_size, plan_fetch, plan_line, progress_text

    plan = plan_fetch(tmp_path / "d", manifest=manifest)
    assert files_and_size(plan) == "3 files, 302.3 kB"
    assert plan_line(plan, manifest=manifest) == (
        "The reference data (test) is not on this machine yet: download it (3 files, 302.3 kB) "
        "to start planning."
    )
    one = manifest.file("tables/population.csv")
    assert progress_text(one, 0) == "tables/population.csv: 0 bytes of 300.0 kB"
    assert progress_text(one, 150_000) == "tables/population.csv: 150.0 kB of 300.0 kB"
    assert progress_text(one, 300_000) == "tables/population.csv: 300.0 kB, done"
    fetch_data(tmp_path / "d", manifest=manifest, progress=False)
    (tmp_path / "d/tables/names.csv").unlink()
    assert files_and_size(plan_fetch(tmp_path / "d", manifest=manifest)) == "1 file, 25 bytes"


def test_a_session_stopped_mid_file_leaves_nothing(tmp_path, manifest):
    """The app's progress callback is where Streamlit stops a run (the planner reloads or
    leaves): whatever it raises, the file's temporary copy and new folders go."""

    class Stopped(BaseException):  # as Streamlit's StopException: not an Exception
        pass

    def stop_half_way(f: ManifestFile, received: int) -> None:
        if f.path == "tables/population.csv" and 0 < received < f.bytes:
            raise Stopped

    dest = tmp_path / "data"
    with pytest.raises(Stopped):
        fetch_data(dest, manifest=manifest, progress=False, on_progress=stop_half_way)
    # the file before it stays (whole and checked); nothing of the stopped one
    assert _leftovers(dest) == [
        "boundaries",
        "boundaries/units.geojson",
        "tables",
        "tables/names.csv",
    ]
