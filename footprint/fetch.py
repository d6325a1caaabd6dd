"""Download the reference files named in the data manifest (``python -m footprint fetch``).

Every file is streamed to a temporary file in the folder it belongs in, its
sha256 checked against the manifest, and only then renamed into place, so a
failed, corrupted or interrupted download never leaves a partial file under
the final name and never replaces a good one. Files already present with the
right checksum are skipped. Problems with all files are collected and raised as
one :class:`~footprint.errors.DataError`.

Only the standard library (``urllib``) is used for the transfer; ``--mirror`` (or
``FOOTPRINT_DATA_MIRROR``, which the app honours too) points at an internal copy of
the same layout (an NHS network share served over HTTP, or a ``file://`` folder) for
machines that cannot reach the internet.

The app's download button and ``python -m footprint fetch`` are one code path:
:func:`plan_fetch` says up front where the files will go, which are missing and how
many bytes that is; :func:`fetch_data` downloads them, reporting each file's progress
to a callback as well as to the terminal.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import math
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from tqdm import tqdm

from ._manifest import (
    ENV_VAR,
    Manifest,
    ManifestFile,
    candidate_dirs,
    holding_dir,
    read_manifest,
    sha256_file,
    user_data_dir,
)
from .errors import DataError

log = logging.getLogger(__name__)

__all__ = [
    "MIRROR_VAR",
    "FetchPlan",
    "FetchedFile",
    "default_fetch_dir",
    "fetch_data",
    "file_url",
    "files_and_size",
    "offline_advice",
    "plan_fetch",
    "plan_line",
    "progress_text",
    "size_text",
]

#: The environment variable naming an internal copy to fetch from instead of the manifest's
#: sources (the same as ``--mirror``; the app has no other way to be told).
MIRROR_VAR = "FOOTPRINT_DATA_MIRROR"

#: Seconds to wait for a connection or for the next block of a download.
DEFAULT_TIMEOUT = 60.0
#: Longest ``timeout`` or ``deadline`` accepted (a day).
MAX_SECONDS = 24 * 3600.0
#: Slowest average rate a download's default deadline allows (bytes a second): a server
#: trickling a byte at a time is given up on instead of holding the fetch for ever.
MIN_RATE = 32 * 1024
_CHUNK = 256 * 1024
_USER_AGENT = "footprint-fetch/0.1 (+python urllib)"

Status = Literal["downloaded", "up to date"]
#: Told how far each file has come: the file and its bytes received so far (0 when it
#: starts, its whole size when it is installed or was already there).
Progress = Callable[[ManifestFile, int], None]


@dataclass(frozen=True)
class FetchedFile:
    """What :func:`fetch_data` did with one manifest file."""

    path: str
    status: Status
    bytes: int
    location: Path
    url: str


class _FileProblem(Exception):
    """One file's failure, already worded for the planner."""

    def __init__(self, message: str, *, offline_host: str | None = None) -> None:
        super().__init__(message)
        self.offline_host = offline_host


def default_fetch_dir() -> Path:
    """The usual download folder: ``FOOTPRINT_DATA_DIR``, else ``./data``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path.cwd() / "data"


def file_url(f: ManifestFile, *, mirror: str | None = None) -> str:
    """The URL to download ``f`` from: the manifest's, or ``mirror`` + the file's path.

    A mirror has the same layout as the data folder, so ``ccg2013/x.csv`` is
    fetched from ``<mirror>/ccg2013/x.csv``.
    """
    if mirror is None:
        return f.url
    return mirror.rstrip("/") + "/" + urllib.parse.quote(f.path)


def _host(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return parsed.netloc or parsed.scheme + ":"


def _network_reason(exc: BaseException) -> str:
    """A short plain reason for a network failure (``connection refused``, ``timed out``...)."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
    if isinstance(exc, socket.gaierror):
        return f"the name could not be resolved ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def default_deadline(f: ManifestFile, *, timeout: float = DEFAULT_TIMEOUT) -> float:
    """Seconds one file may take in all by default: ``timeout`` plus its size at 32 kB/s."""
    return min(MAX_SECONDS, timeout + f.bytes / MIN_RATE)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest first."""
    missing = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except BaseException:  # a parent made before the failure is not left behind
        _remove_empty(missing)
        raise
    return missing


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove the folders a failed download created, deepest first, if still empty."""
    for p in folders:
        with contextlib.suppress(OSError):
            p.rmdir()


def _socket_of(response: object) -> socket.socket | None:
    """The socket under an HTTP response (``None`` for ``file://``), to bound each wait."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


@dataclass
class _Transfer:
    """One file on its way in: where from, where to, and its time and bytes so far."""

    f: ManifestFile
    url: str
    dest: Path
    timeout: float
    limit: float
    end: float
    received: int = 0
    on_progress: Progress | None = None

    def tell(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.f, self.received)

    def too_slow(self) -> _FileProblem:
        return _FileProblem(
            f"{self.f.path}: the download from {self.url} did not finish within {self.limit:g} s "
            f"({self.received:,} of {self.f.bytes:,} bytes arrived); the server is too slow or "
            "stalled. Run fetch again later, or give more time with --deadline. The file was "
            "NOT installed"
        )


def _download(
    f: ManifestFile,
    url: str,
    dest: Path,
    *,
    timeout: float,
    progress: bool,
    deadline: float | None = None,
    on_progress: Progress | None = None,
) -> int:
    """Stream ``url`` into a temporary file next to ``dest``, check it, rename it into place.

    The whole file must arrive within ``deadline`` seconds (by default
    :func:`default_deadline`), however the server paces it: a socket timeout alone
    never ends a download that trickles one byte at a time.

    Returns the number of bytes installed. Raises :class:`_FileProblem` with a
    planner-facing message; the temporary file, and any folder made for it that is
    left empty, are removed on every failure (an interrupt included).
    """
    limit = default_deadline(f, timeout=timeout) if deadline is None else deadline
    t = _Transfer(f, url, dest, timeout, limit, time.monotonic() + limit, on_progress=on_progress)
    fd, tmp, created = _open_part(f, dest)
    try:
        response = _open_url(t)
        out = os.fdopen(fd, "wb")
        fd = -1  # now owned by ``out``
        with response, out, _progress_bar(f, progress) as bar:
            declared = response.headers.get("Content-Length")
            got = _receive(t, response, out, bar)
            _check_complete(t, declared)
            _sync(t, out)
        _check_digest(t, got)
        _install(t, tmp)
        return t.received
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        _remove_empty(created)
        raise


def _open_part(f: ManifestFile, dest: Path) -> tuple[int, Path, list[Path]]:
    """A new ``.part`` file next to ``dest``: its descriptor, its path and the folders made."""
    created: list[Path] = []
    try:
        created = _make_folders(dest.parent)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        _remove_empty(created)
        raise _FileProblem(
            f"{f.path}: cannot write into {dest.parent} ({exc.strerror or exc}); check that the "
            "folder is writable and the disk is not full, or choose another with --data-dir"
        ) from None
    except BaseException:
        _remove_empty(created)
        raise
    return fd, Path(tmp_name), created


def _open_url(t: _Transfer) -> Any:
    """The server's response for ``t.url``; a refusal or an unreachable host in words."""
    f, url = t.f, t.url
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=min(t.timeout, t.limit))
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _FileProblem(
            f"{f.path}: the server answered HTTP {exc.code} ({exc.reason}) for {url}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        if urllib.parse.urlsplit(url).scheme == "file":
            raise _FileProblem(
                f"{f.path}: cannot read {url} ({_network_reason(exc)}); is the mirror "
                "complete, with the same layout as the data folder?"
            ) from None
        raise _FileProblem(
            f"{f.path}: could not reach {_host(url)} ({_network_reason(exc)}) for {url}",
            offline_host=_host(url),
        ) from None


def _progress_bar(f: ManifestFile, progress: bool) -> tqdm:
    return tqdm(
        total=f.bytes,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=f.path,
        file=sys.stderr,
        disable=not progress,
        leave=False,
    )


def _receive(t: _Transfer, response: Any, out: BinaryIO, bar: tqdm) -> str:
    """Copy the response into ``out`` within the deadline; the sha256 of what arrived."""
    digest = hashlib.sha256()
    sock = _socket_of(response)
    # read1 returns what has arrived instead of waiting for a whole block
    read = getattr(response, "read1", response.read)
    try:
        while chunk := _next_chunk(t, read, sock):
            t.received += len(chunk)
            if t.received > t.f.bytes:
                raise _FileProblem(
                    f"{t.f.path}: {t.url} sent more than the {t.f.bytes:,} bytes the manifest "
                    "expects; it is not the file the tool was built for. The file was NOT "
                    "installed"
                )
            digest.update(chunk)
            _write_chunk(t, out, chunk)
            bar.update(len(chunk))
            t.tell()
    except (OSError, http.client.HTTPException) as exc:
        raise _FileProblem(
            f"{t.f.path}: the download from {t.url} broke off after {t.received:,} of "
            f"{t.f.bytes:,} bytes ({_network_reason(exc)}); run fetch again. The file "
            "was NOT installed"
        ) from None
    return digest.hexdigest()


def _next_chunk(t: _Transfer, read: Callable[[int], bytes], sock: socket.socket | None) -> bytes:
    """The next bytes that arrive (``b""`` at the end); the deadline ends a trickle."""
    left = t.end - time.monotonic()
    if left <= 0:
        raise t.too_slow()
    if sock is not None:
        sock.settimeout(min(t.timeout, max(left, 0.01)))
    try:
        return read(_CHUNK)
    except TimeoutError:
        if time.monotonic() >= t.end:
            raise t.too_slow() from None
        raise


def _write_chunk(t: _Transfer, out: BinaryIO, chunk: bytes) -> None:
    try:
        out.write(chunk)
    except OSError as exc:
        raise _FileProblem(
            f"{t.f.path}: writing to {t.dest.parent} failed ({exc.strerror or exc}); "
            "free some disk space or choose another folder with --data-dir. The "
            "file was NOT installed"
        ) from None


def _check_complete(t: _Transfer, declared: str | None) -> None:
    """Refuse a download shorter than the server said it would be."""
    if declared is not None and declared.isdigit() and t.received < int(declared):
        raise _FileProblem(
            f"{t.f.path}: the connection to {_host(t.url)} closed after {t.received:,} of "
            f"{int(declared):,} bytes (truncated download from {t.url}); run fetch again. "
            "The file was NOT installed"
        )


def _sync(t: _Transfer, out: BinaryIO) -> None:
    try:
        out.flush()
        os.fsync(out.fileno())
    except OSError as exc:
        raise _FileProblem(
            f"{t.f.path}: writing to {t.dest.parent} failed ({exc.strerror or exc}). The file "
            "was NOT installed"
        ) from None


def _check_digest(t: _Transfer, got: str) -> None:
    f = t.f
    if got != f.sha256:
        raise _FileProblem(
            f"{f.path}: checksum mismatch for the download from {t.url}: expected sha256 "
            f"{f.sha256}, got {got} ({t.received:,} bytes, expected {f.bytes:,}). The file was "
            "NOT installed; the server may hold a different release, or the transfer was "
            "damaged"
        )


def _install(t: _Transfer, tmp: Path) -> None:
    try:
        os.replace(tmp, t.dest)
    except OSError as exc:
        raise _FileProblem(
            f"{t.f.path}: could not move the download into place at {t.dest} "
            f"({exc.strerror or exc}). The file was NOT installed"
        ) from None


def fetch_data(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
    progress: bool = True,
    on_progress: Progress | None = None,
    manifest: Manifest | None = None,
) -> list[FetchedFile]:
    """Download every file of the data manifest that is missing or changed.

    Parameters
    ----------
    data_dir
        Folder to fill (the layout of the manifest's ``path`` entries); by default the
        folder :func:`plan_fetch` chooses (``FOOTPRINT_DATA_DIR``, else ``./data``, else
        the user's data folder when those cannot be written).
    mirror
        Base URL of a copy with the same layout (``http://``, ``https://`` or
        ``file://``) used instead of the manifest's sources; by default
        ``FOOTPRINT_DATA_MIRROR`` when it is set.
    force
        Download even files already present with the right checksum (a good
        file is only replaced once its fresh copy has passed the check).
    timeout
        Seconds to wait for a connection or for the next block of data.
    deadline
        Seconds each file may take in all, however slowly the server sends it; by
        default ``timeout`` plus the file's size at 32 kB/s (:func:`default_deadline`).
    progress
        Show one progress bar per file on standard error.
    on_progress
        Called with a file and its bytes received so far, as they arrive (the app's
        progress bars); with its whole size for a file already up to date.
    manifest
        The manifest to honour; ``footprint/data/manifest.json`` by default.

    Returns
    -------
    list of FetchedFile
        One entry per manifest file, in manifest order.

    Raises
    ------
    DataError
        One error listing every file that could not be installed and why (HTTP
        status, unreachable server, checksum mismatch, deadline passed, disk
        error). Files that did succeed stay installed; a failed one leaves no
        partial file and no empty folder behind.
    """
    manifest = manifest or read_manifest()
    mirror = _mirror_or_env(mirror)
    _check_seconds(timeout=timeout, deadline=deadline)
    _check_mirror(mirror)
    root = Path(data_dir) if data_dir is not None else plan_fetch(manifest=manifest).folder
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file, not a folder; choose a data folder with --data-dir")
    done, problems, unreachable = _fetch_files(
        manifest,
        root,
        _Options(mirror, force, timeout, deadline, progress, on_progress),
    )
    if problems:
        raise _fetch_failure(manifest, root, problems, unreachable=unreachable, mirror=mirror)
    return done


@dataclass(frozen=True)
class _Options:
    mirror: str | None
    force: bool
    timeout: float
    deadline: float | None
    progress: bool
    on_progress: Progress | None


def _fetch_files(
    manifest: Manifest, root: Path, opts: _Options
) -> tuple[list[FetchedFile], list[str], dict[str, str]]:
    """Each manifest file kept or downloaded.

    Returns the files installed, the problems, and each unreachable host with the URL
    that failed first (its other files are not tried).
    """
    done: list[FetchedFile] = []
    problems: list[str] = []
    unreachable: dict[str, str] = {}  # host -> url that failed first
    for f in manifest.files:
        dest = root / f.path
        url = file_url(f, mirror=opts.mirror)
        if not opts.force and dest.is_file():
            try:
                kept = _kept(f, dest, url)
            except _FileProblem as exc:
                problems.append(str(exc))
                continue
            if kept is not None:
                if opts.on_progress is not None:
                    opts.on_progress(f, f.bytes)
                done.append(kept)
                continue
        host = _host(url)
        if host in unreachable:
            problems.append(f"{f.path}: not tried, {host} could not be reached (see above)")
            continue
        log.info("downloading %s from %s", f.path, url)
        try:
            size = _download(
                f,
                url,
                dest,
                timeout=opts.timeout,
                progress=opts.progress,
                deadline=opts.deadline,
                on_progress=opts.on_progress,
            )
        except _FileProblem as exc:
            problems.append(str(exc))
            if exc.offline_host:
                unreachable[exc.offline_host] = url
            continue
        done.append(FetchedFile(f.path, "downloaded", size, dest, url))
    return done, problems, unreachable


def _mirror_or_env(mirror: str | None) -> str | None:
    """``mirror``, else ``FOOTPRINT_DATA_MIRROR`` when it is set and not blank."""
    if mirror is not None:
        return mirror
    return os.environ.get(MIRROR_VAR, "").strip() or None


# --- before a fetch: where, what and how much -------------------------------------------------


@dataclass(frozen=True)
class FetchPlan:
    """What a fetch would do, known before it starts (the app shows it up front).

    Attributes
    ----------
    folder
        Where the files will be written.
    files
        The manifest files that are missing or changed there, to be downloaded.
    mirror
        The internal copy they come from (``None``: the manifest's sources).
    note
        Why ``folder`` is not the usual one (the usual one cannot be written), or ``""``.
    """

    folder: Path
    files: tuple[ManifestFile, ...]
    mirror: str | None = None
    note: str = ""

    @property
    def total_bytes(self) -> int:
        """Bytes to download in all."""
        return sum(f.bytes for f in self.files)

    def url(self, f: ManifestFile) -> str:
        """Where ``f`` comes from."""
        return file_url(f, mirror=self.mirror)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The servers the download will ask, in the order first met."""
        return tuple(dict.fromkeys(_host(self.url(f)) for f in self.files))


def plan_fetch(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirror: str | None = None,
    manifest: Manifest | None = None,
) -> FetchPlan:
    """Where a fetch would write, which files it would download and how many bytes.

    Without ``data_dir`` the folder is the one the loader reads when it already holds
    some of the files (it is completed), else ``FOOTPRINT_DATA_DIR`` or ``./data``, else
    (when that cannot be written) the user's data folder, which the loader also
    searches. Whether a folder can be written is tried, not guessed: a file is made and
    removed in it, and any folder made for the try is removed again.

    Raises
    ------
    DataError
        When no folder can be written, saying which were tried, why they failed and
        what to set.
    """
    manifest = manifest or read_manifest()
    mirror = _mirror_or_env(mirror)
    _check_mirror(mirror)
    folder, note = _target(data_dir, manifest)
    files = tuple(f for f in manifest.files if not _good(folder / f.path, f))
    return FetchPlan(folder, files, mirror, note)


def _target(data_dir: str | os.PathLike[str] | None, manifest: Manifest) -> tuple[Path, str]:
    """The folder to fill and, when it is not the usual one, why."""
    if data_dir is not None:
        folder = Path(data_dir)
        if (why := _unwritable(folder)) is not None:
            raise DataError(
                f"Cannot write the reference data into {folder} ({why}); choose a writable "
                "folder with --data-dir"
            )
        return folder, ""
    holding = holding_dir(candidate_dirs(), manifest)
    usual = holding or default_fetch_dir()
    why = _unwritable(usual)
    if why is None:
        return usual, ""
    if holding is not None:
        raise DataError(
            f"{holding} holds an incomplete or changed copy of the reference data and cannot "
            f"be written ({why}). Copy the missing files into it by hand, or set {ENV_VAR} to a "
            "writable folder (or one that holds all the files) and start again"
        )
    fallback = user_data_dir()
    if (why_fallback := _unwritable(fallback)) is not None:
        raise DataError(
            f"Nowhere to write the reference data: {usual} ({why}) and {fallback} "
            f"({why_fallback}) cannot be written. Set {ENV_VAR} to a writable folder and "
            "start again"
        )
    return fallback, (
        f"{usual} cannot be written ({why}), so the files go to {fallback}, where the app "
        f"and the command line also look; set {ENV_VAR} to choose another folder"
    )


def _unwritable(folder: Path) -> str | None:
    """Why files cannot be created in ``folder`` (``None`` when they can).

    Tried by making the folder if it is missing and a file in it, then removing both:
    permissions alone do not tell (a read-only disk; root ignores the mode bits).
    """
    try:
        created = _make_folders(folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".footprint-try-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        _remove_empty(created)
    return None


def _good(path: Path, f: ManifestFile) -> bool:
    """Whether ``path`` holds ``f`` with the right size and checksum."""
    try:
        return path.stat().st_size == f.bytes and sha256_file(path) == f.sha256
    except OSError:
        return False


def size_text(n: int) -> str:
    """A byte count for people: ``7.2 kB``, ``2.9 MB`` (powers of 1,000, as file managers)."""
    if n < 1000:
        return f"{n:,} bytes"
    for unit, size in (("kB", 1e3), ("MB", 1e6)):
        if round(n / size, 1) < 1000:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e9:,.1f} GB"


def plan_line(plan: FetchPlan, *, manifest: Manifest | None = None) -> str:
    """The one line the app shows while the data is missing: what, how many files, how big."""
    manifest = manifest or read_manifest()
    return (
        f"The reference data ({manifest.name}) is not on this machine yet: download it "
        f"({files_and_size(plan)}) to start planning."
    )


def files_and_size(plan: FetchPlan) -> str:
    """``6 files, 1.6 MB``: how much a fetch will download."""
    n = len(plan.files)
    return f"{n} file{'' if n == 1 else 's'}, {size_text(plan.total_bytes)}"


def progress_text(f: ManifestFile, received: int) -> str:
    """One file's progress bar label: its path and how much of it has arrived."""
    if received >= f.bytes:
        return f"{f.path}: {size_text(f.bytes)}, done"
    return f"{f.path}: {size_text(received)} of {size_text(f.bytes)}"


def offline_advice(plan: FetchPlan, *, manifest: Manifest | None = None) -> str:
    """What to do where the sources cannot be reached, in words for the planner."""
    manifest = manifest or read_manifest()
    tops = sorted({f.path.split("/", 1)[0] + "/" for f in manifest.files})
    return (
        f"Without internet: on a machine that has the reference data, copy the folder that "
        f"holds {', '.join(tops)} (the same layout as the data manifest; on a working copy it "
        f"is its data/ folder) to this machine or a network share, then start the app with "
        f"{ENV_VAR} set to that folder (or put the files into {plan.folder}). An internal "
        f"copy served over HTTP can be named with {MIRROR_VAR} instead."
    )


def _check_seconds(*, timeout: float, deadline: float | None) -> None:
    """Refuse a timeout or deadline that is not a positive, finite number of seconds."""
    for name, value in (("timeout", timeout), ("deadline", deadline)):
        if value is None and name == "deadline":
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 < value <= MAX_SECONDS
        ):
            raise DataError(
                f"{name} must be a positive number of seconds; got {value!r} (expected more "
                f"than 0 and at most {MAX_SECONDS:,.0f})"
            )


def _check_mirror(mirror: str | None) -> None:
    """Refuse a mirror that is not an http://, https:// or file:// URL."""
    if mirror is None:
        return
    try:
        scheme = urllib.parse.urlsplit(mirror).scheme
    except ValueError as exc:
        raise DataError(f"--mirror {mirror!r} is not a usable URL ({exc})") from None
    if scheme not in ("http", "https", "file"):
        raise DataError(
            f"--mirror must be an http://, https:// or file:// base URL; got {mirror!r} "
            f"(from --mirror or {MIRROR_VAR})"
        )


def _kept(f: ManifestFile, dest: Path, url: str) -> FetchedFile | None:
    """The copy at ``dest`` when it matches the manifest; ``None`` when it must be fetched again."""
    try:
        ok = sha256_file(dest) == f.sha256
    except OSError as exc:
        raise _FileProblem(f"{f.path}: cannot read the existing copy at {dest} ({exc})") from None
    if ok:
        log.info("%s is up to date", dest)
        return FetchedFile(f.path, "up to date", f.bytes, dest, url)
    log.info("%s differs from the manifest; downloading a fresh copy", dest)
    return None


def _fetch_failure(
    manifest: Manifest,
    root: Path,
    problems: list[str],
    *,
    unreachable: dict[str, str],
    mirror: str | None,
) -> DataError:
    """One error for every file not installed, with the way round being offline."""
    message = (
        f"Could not fetch {len(problems)} of {len(manifest.files)} reference files into {root}"
    )
    if unreachable:
        sources = "the mirror" if mirror else "the sources listed in the data manifest"
        message += (
            ". You seem to be offline (or a firewall blocks "
            f"{', '.join(sorted(unreachable))}): copy the files by hand from {sources} "
            f"into {root}, or set {ENV_VAR} to a folder that already holds them "
            "(e.g. a network share), or use --mirror with an internal copy"
        )
    return DataError(message, problems=problems)


def summary_lines(results: Sequence[FetchedFile]) -> list[str]:
    """One line per file for the command line."""
    return [f"{r.status:<10}  {r.bytes:>10,} bytes  {r.location}" for r in results]
