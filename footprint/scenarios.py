"""Named plans kept on disk, so a planner's work survives a browser refresh or a restart.

One JSON file per scenario in a folder, which several planners (and several
app processes) may share. File names are derived from the scenario name (a
readable slug plus a short hash of the full name), so any name, even
``../../etc``, lands inside the folder and two names never share a file.

Writing is safe against crashes and against other writers:

- every write goes to a temporary file that is flushed and synced first, so a
  crash leaves the old file or the new one, never half of one; temporaries a
  crash left behind are removed when a store is opened (only old ones, so a
  temporary another writer is filling right now is left alone);
- a new scenario is published with :func:`os.link`, which fails if the name
  was taken meanwhile, so of several planners saving the same new name at
  once exactly one succeeds and the others are told;
- each scenario carries a ``revision``; an overwrite may say which revision it
  was based on and is refused with :class:`ScenarioConflictError` if someone
  else saved in between. The check and the replace happen under a lock file
  per scenario (``.lock-<file>``, hidden, left in place; it also remembers the
  highest revision given out, so a deleted and re-made scenario does not
  reuse an old revision number).

Reading is defensive: a file that cannot be read (damaged, huge, not UTF-8,
nested too deeply, from a newer version of the tool) is reported and skipped;
it never hides the other scenarios and the store never deletes or replaces
what it cannot read.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from ._cache import atomic_write_bytes, sync_folder, write_temp
from .errors import FootprintError, InputFileError, PlanError
from .history import AuditLog, AuditLogWarning, version_changes

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

log = logging.getLogger(__name__)

__all__ = [
    "SCENARIO_SOURCES",
    "DeletedScenario",
    "Scenario",
    "ScenarioConflictError",
    "ScenarioError",
    "ScenarioListing",
    "ScenarioStore",
    "geography_of",
]

#: Where a scenario came from; other values are accepted but these are the usual ones.
SCENARIO_SOURCES = ("drawn", "optimiser", "imported", "reference")
FORMAT = "footprint-scenario"
#: Version 2 added ``revision`` and ``updated``; version 1 files are read as revision 1.
#: Version 3 added ``created_by`` and ``updated_by`` (absent: not known, saved before sign-in).
FORMAT_VERSION = 3
MAX_NAME_LENGTH = 200
#: A plan for every unit in England is well under 1 MB; anything past this is not a scenario.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: Temporary files older than this (seconds) are leftovers of a crash, not a save in progress.
STALE_TEMP_SECONDS = 300.0
#: How long (seconds) a save waits for another save of the same scenario to finish.
LOCK_TIMEOUT_SECONDS = 10.0
_TMP_PREFIX = ".tmp-"
_LOCK_PREFIX = ".lock-"
_MAX_PROBLEMS = 20
_MAX_REVISION = 10**15
_MAX_USER_LENGTH = 320  # an e-mail address's limit
#: Hidden beside the scenarios: earlier versions (one folder per scenario file), the bin of
#: deleted scenarios and the audit log. Hidden names are never listed as scenarios.
HISTORY_FOLDER = ".history"
BIN_FOLDER = ".bin"
AUDIT_LOG = ".audit-log.jsonl"
BIN_FORMAT = "footprint-deleted-scenario"
_ID = re.compile(r"[A-Za-z0-9_-]{1,60}-[0-9a-f]{12}")
#: Called under a scenario's lock with what is saved now (``None``: nothing), to refuse a
#: change by raising (:meth:`footprint.access.AccessPolicy.check` behind it in the app).
Guard = Callable[["Scenario | None"], None]
#: Told, in words, of a change that was made but could not be written to the audit log.
Unlogged = Callable[[str], None]
#: Each audit event as a message says it was done.
_DONE = {
    "save": "saved",
    "restore": "restored to an earlier version",
    "rename": "renamed",
    "delete": "moved to the bin",
    "undelete": "restored from the bin",
}

# flock excludes other open files, but on some network file systems it is emulated with
# per-process locks; a lock per file within this process keeps threads apart there too.
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


class ScenarioError(FootprintError, ValueError):
    """A scenario name is unusable, clashes with a saved one, or names no saved scenario."""


class ScenarioConflictError(ScenarioError):
    """Someone else saved, renamed or deleted the scenario since it was loaded.

    Raised instead of overwriting their work; the message says when and how to proceed.
    """


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _when(stamp: str | None) -> str:
    """An ISO time as the planner reads it in a message: '14:02 on 2026-12-02' (local time)."""
    if not stamp:
        return "an unknown time"
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%H:%M on %Y-%m-%d")
    except (TypeError, ValueError):
        return str(stamp)


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise ScenarioError(
            f"a scenario name must be text; received {type(name).__name__} {name!r}"
        )
    clean = name.strip()
    if not clean:
        raise ScenarioError("a scenario name cannot be empty; type a name such as 'North option A'")
    if len(clean) > MAX_NAME_LENGTH:
        raise ScenarioError(
            f"a scenario name can be at most {MAX_NAME_LENGTH} characters; received "
            f"{len(clean)} ({clean[:40]!r}…). Use a shorter name and put detail in the notes"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in clean):
        raise ScenarioError(
            f"the scenario name {clean!r} holds control characters (line breaks, tabs); "
            "use plain text on one line"
        )
    return clean


def _short(value: object) -> str:
    """``value`` as a message shows it: short, and safe for huge or deeply nested file content."""
    if isinstance(value, list | dict) and len(value) > 10:
        return f"({len(value)} items)"
    try:
        text = repr(value)
    except RecursionError:
        return "(nested too deeply to show)"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_problems(
    *,
    assignment: object,
    created: object,
    source: object,
    status: object,
    notes: object,
    constraints_json: object,
    locked: object,
    revision: object,
    updated: object,
    created_by: object = None,
    updated_by: object = None,
) -> list[str]:
    """What is wrong with a scenario's fields, each saying what was received and expected."""
    problems: list[str] = []
    if not isinstance(assignment, Mapping):
        problems.append(
            "the assignment must map unit codes to footprint labels (a JSON object such as "
            f'{{"00C": "North"}}); received {type(assignment).__name__} {_short(assignment)}'
        )
    else:
        for code, label in assignment.items():
            if len(problems) >= _MAX_PROBLEMS:
                problems.append("… (further problems not listed)")
                break
            if not isinstance(code, str) or not isinstance(label, str):
                problems.append(
                    f"unit {_short(code)} -> {_short(label)}: codes and footprint labels must be "
                    f"text (received {type(code).__name__} -> {type(label).__name__})"
                )
    if not isinstance(created, str):
        problems.append(
            f"created must be an ISO time as text; received {type(created).__name__} "
            f"{_short(created)}"
        )
    for key, value in (("source", source), ("status", status), ("notes", notes)):
        if value is not None and not isinstance(value, str):
            problems.append(f"{key} must be text; received {type(value).__name__} {_short(value)}")
    if constraints_json is not None:
        if not isinstance(constraints_json, str):
            problems.append(
                "constraints_json must be JSON text; received "
                f"{type(constraints_json).__name__} {_short(constraints_json)}"
            )
        else:
            try:
                json.loads(constraints_json)
            except RecursionError:
                problems.append("constraints_json is nested too deeply to be constraints")
            except ValueError as exc:
                problems.append(f"constraints_json is not valid JSON ({exc})")
    if (
        isinstance(locked, str | bytes | Mapping)
        or not isinstance(locked, Iterable)
        or any(not isinstance(c, str) for c in locked)
    ):
        problems.append(
            "locked must be a list of unit codes as text; received "
            f"{type(locked).__name__} {_short(locked)}"
        )
    if not _is_int(revision) or not 0 <= revision < _MAX_REVISION:
        problems.append(
            "revision must be a whole number, 1 or more once saved (and below 10**15); received "
            f"{type(revision).__name__} {_short(revision)}"
        )
    if updated is not None and not isinstance(updated, str):
        problems.append(
            f"updated must be an ISO time as text; received {type(updated).__name__} "
            f"{_short(updated)}"
        )
    problems += _user_problems(created_by=created_by, updated_by=updated_by)
    return problems


def _user_problems(**users: object) -> list[str]:
    return [
        f"{key} must be a user's id (an e-mail address) as text of at most "
        f"{_MAX_USER_LENGTH} characters; received {type(value).__name__} {_short(value)}"
        for key, value in users.items()
        if value is not None and not (isinstance(value, str) and len(value) <= _MAX_USER_LENGTH)
    ]


@dataclass(frozen=True)
class Scenario:
    """A named plan with where it came from and the constraints it was drawn under.

    Attributes
    ----------
    name
        What the planner calls it; stripped of surrounding spaces.
    assignment
        Unit code -> footprint label. A copy of what was given, so later edits
        to the caller's dictionary do not leak into a saved scenario.
    created
        ISO 8601 time (UTC) the scenario was first made; orders the listing.
    source
        How the plan was made: ``"drawn"``, ``"optimiser"``, ``"imported"``...
    constraints_json
        The constraints as JSON text, so they can be restored exactly.
    status
        The solver's or validator's verdict when saved (``"optimal"``, ``"feasible"``...).
    notes
        Free text from the planner.
    locked
        Unit codes the planner pinned to their footprint.
    revision
        0 for a scenario not saved yet; 1 after its first save, one more after each
        save. Pass the revision you loaded as ``expected_revision`` when saving over
        it, so a change someone else made in between is not lost.
    updated
        ISO 8601 time (UTC) of the last save; ``None`` before the first.
    geography
        The data digest of the geography the plan was drawn on (``Geography.source_digest``),
        so that a plan of one geography is never loaded onto another's units; ``None`` when
        not known (files saved before this field, or a geography without a digest). See
        :func:`geography_of` for how older files are placed.
    created_by, updated_by
        Who first saved it and who saved it last (the signed-in user's id, ``"local"``
        without sign-in); ``None`` when not known (files saved before these fields). The
        store sets both when it saves: ``created_by`` is kept from the saved file.
    """

    name: str
    assignment: dict[str, str]
    created: str = field(default_factory=_now)
    source: str = "drawn"
    constraints_json: str | None = None
    status: str | None = None
    notes: str = ""
    locked: tuple[str, ...] = ()
    revision: int = 0
    updated: str | None = None
    geography: str | None = None
    created_by: str | None = None
    updated_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _check_name(self.name))
        if self.geography is not None and not isinstance(self.geography, str):
            raise PlanError(
                f"scenario {self.name!r}: geography must be a data digest as text; received "
                f"{type(self.geography).__name__} {_short(self.geography)}"
            )
        if not isinstance(self.assignment, Mapping):
            raise PlanError(
                f"scenario {self.name!r}: the assignment must map unit codes to footprint labels; "
                f"received {type(self.assignment).__name__}"
            )
        if isinstance(self.locked, Iterable) and not isinstance(self.locked, str | bytes | Mapping):
            object.__setattr__(self, "locked", tuple(self.locked))  # a generator is read once
        problems = _field_problems(
            assignment=self.assignment,
            created=self.created,
            source=self.source,
            status=self.status,
            notes=self.notes,
            constraints_json=self.constraints_json,
            locked=self.locked,
            revision=self.revision,
            updated=self.updated,
            created_by=self.created_by,
            updated_by=self.updated_by,
        )
        if problems:
            raise PlanError(f"Scenario {self.name!r} is malformed", problems=problems)
        object.__setattr__(self, "assignment", dict(self.assignment))
        object.__setattr__(self, "locked", tuple(self.locked))
        object.__setattr__(self, "notes", self.notes or "")

    def __hash__(self) -> int:
        # the dataclass hash would fail on the dict; hash what identifies the content
        return hash((self.name, self.created, frozenset(self.assignment.items())))

    def to_json(self) -> str:
        """The scenario as JSON text, in the versioned on-disk format."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "revision": self.revision,
            "created": self.created,
            "updated": self.updated,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "source": self.source,
            "status": self.status,
            "notes": self.notes,
            "constraints_json": self.constraints_json,
            "locked": list(self.locked),
            "geography": self.geography,
            "assignment": dict(sorted(self.assignment.items())),
        }
        return json.dumps(body, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, source_name: str = "scenario file") -> Scenario:
        """Read a scenario written by :meth:`to_json` (any format version up to this one's).

        Every field is checked for its type, so a hand-edited or damaged file is
        refused with all its problems listed rather than failing later.

        Raises
        ------
        InputFileError
            When the text is not UTF-8 JSON, is nested too deeply, is not a
            scenario, has fields of the wrong type, or is a newer format version.
        """
        if isinstance(text, bytes | bytearray):
            try:
                text = bytes(text).decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"{source_name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                    f"position {exc.start}); scenario files are UTF-8 JSON written by this tool"
                ) from None
        try:
            body = json.loads(text)
        except RecursionError:
            raise InputFileError(
                f"{source_name}: the JSON is nested too deeply to be a scenario (a scenario is "
                "an object of a few plain fields); the file is damaged or is not a scenario"
            ) from None
        except ValueError as exc:
            raise InputFileError(f"{source_name}: not readable JSON ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise InputFileError(
                f"{source_name}: not a saved scenario (expected a JSON object with "
                f'"format": "{FORMAT}")'
            )
        version = body.get("version")
        if not _is_int(version) or version < 1:
            raise InputFileError(
                f"{source_name}: scenario format version {_short(version)} is not supported; "
                f"expected a whole number from 1 to {FORMAT_VERSION}. The file is damaged"
            )
        if version > FORMAT_VERSION:
            raise InputFileError(
                f"{source_name}: scenario format version {version} is not supported; this "
                f"version of the tool reads up to {FORMAT_VERSION}. It was left alone: update "
                "the tool to use it"
            )
        required = ("name", "assignment", "created") + (("revision",) if version >= 2 else ())
        missing = [k for k in required if k not in body]
        if missing:
            raise InputFileError(
                f"{source_name}: the scenario lacks {', '.join(missing)}; the file is damaged"
            )
        name = body["name"]
        if not isinstance(name, str):
            raise InputFileError(
                f"{source_name}: the scenario name must be text; received "
                f"{type(name).__name__} {_short(name)}. The file is damaged"
            )
        revision = body.get("revision", 1)  # version 1 files had no revisions
        locked = body.get("locked")
        problems = _field_problems(
            assignment=body["assignment"],
            created=body["created"],
            source=body.get("source"),
            status=body.get("status"),
            notes=body.get("notes"),
            constraints_json=body.get("constraints_json"),
            locked=() if locked is None else locked,
            revision=revision,
            updated=body.get("updated"),
            created_by=body.get("created_by"),
            updated_by=body.get("updated_by"),
        )
        if revision == 0 and _is_int(revision):
            problems.append("revision must be 1 or more in a saved file; received 0")
        geography = body.get("geography")
        if geography is not None and not (isinstance(geography, str) and len(geography) <= 200):
            problems.append(
                "geography must be a data digest as text; received "
                f"{type(geography).__name__} {_short(geography)}"
            )
        if problems:
            raise InputFileError(
                f"{source_name}: scenario {_short(name)} is damaged (fix the file or move it "
                "out of the folder)",
                problems=problems,
            )
        try:
            return cls(
                name=name,
                assignment=body["assignment"],
                created=body["created"],
                source=body.get("source") or "imported",
                constraints_json=body.get("constraints_json"),
                status=body.get("status"),
                notes=body.get("notes") or "",
                locked=tuple(locked or ()),
                revision=revision,
                updated=body.get("updated") or body["created"],
                geography=geography,
                created_by=body.get("created_by"),
                updated_by=body.get("updated_by"),
            )
        except FootprintError as exc:
            raise InputFileError(f"{source_name}: {exc}") from None


def geography_of(
    scenario: Scenario, *, england_digest: str, england_codes: Iterable[str]
) -> str | None:
    """The data digest of the geography ``scenario`` was drawn on, or ``None`` if unknown.

    A scenario saved with its ``geography`` says so itself. Older files have none: one
    whose codes are all codes of the England 2013 CCGs (``england_codes``, whose data
    digest is ``england_digest``) belongs to them, as every plan saved before planners
    could bring their own geography did; any other is of an unknown geography.
    """
    if scenario.geography:
        return scenario.geography
    codes = set(scenario.assignment)
    if codes and codes <= set(england_codes):
        return england_digest
    return None


@dataclass(frozen=True)
class ScenarioListing:
    """What a folder holds: readable scenarios (oldest first) and files that could not be read."""

    scenarios: tuple[Scenario, ...]
    unreadable: tuple[tuple[Path, str], ...]


def file_name_for(name: str) -> str:
    """The file name a scenario is saved under: a readable slug and a hash of the whole name.

    Only letters, digits, ``-`` and ``_`` survive in the slug, so nothing in a
    name can climb out of the folder or hide a file (no ``/``, ``..`` or leading
    dot); the hash keeps ``A/B`` and ``A_B`` apart.
    """
    clean = _check_name(name)
    ascii_name = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_name).strip("_-")[:60] or "scenario"
    digest = hashlib.sha256(clean.encode("utf-8")).hexdigest()[:12]
    return f"{slug}-{digest}.json"


def _share_like_folder(fd: int, folder: Path) -> None:
    """Let whoever may write in ``folder`` read and write this file (rw for each rwx the folder
    grants), so planners whose app processes run as different users share scenarios."""
    if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
        return
    with contextlib.suppress(OSError):  # only the file's owner may change it; one is enough
        want = stat.S_IMODE(os.stat(folder).st_mode) & 0o666
        if stat.S_IMODE(os.fstat(fd).st_mode) != want:
            os.fchmod(fd, want)


def _write_temp(folder: Path, text: str) -> str:
    """A fully written, synced temporary file in ``folder``; the caller publishes or removes it."""
    return write_temp(
        folder,
        text.encode("utf-8"),
        prefix=_TMP_PREFIX,
        suffix=".json",
        prepare=lambda fd: _share_like_folder(fd, folder),  # mkstemp makes it private
    )


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one, never half."""
    atomic_write_bytes(
        path,
        text.encode("utf-8"),
        make_parents=False,
        prefix=_TMP_PREFIX,
        suffix=".json",
        prepare=lambda fd: _share_like_folder(fd, path.parent),  # mkstemp makes it private
        durable=True,
    )


def _atomic_create(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` only if no file is there; :class:`FileExistsError` if one is.

    The complete file is linked into place, so no reader ever sees it half written
    and of several creators exactly one succeeds.
    """
    tmp = _write_temp(path.parent, text)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            # no hard links on this file system: the scenario lock (held by the caller)
            # keeps other writers of this store out between the check and the move
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    sync_folder(path.parent)


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:  # pragma: no cover - Windows
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _read_mark(fd: int) -> int:
    """The highest revision ever given out for a scenario, kept in its lock file (0 if none)."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 32).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else 0


def _write_mark(fd: int, revision: int) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{revision:<20d}\n".encode("ascii"))  # fixed width: no stale tail to truncate


def _who(scenario: Scenario) -> str:
    """Who saved ``scenario`` last, as a message names them."""
    by = scenario.updated_by
    return by if by and by != "local" else "someone else"


def _by(scenario: Scenario) -> str:
    by = scenario.updated_by
    return f" by {by}" if by and by != "local" else ""


def _check_revision(name: str, on_disk: Scenario | None, expected: int, *, doing: str) -> None:
    """Refuse a change based on revision ``expected`` when that is not what is saved now,
    saying who changed it and when."""
    if on_disk is None:
        raise ScenarioConflictError(
            f"scenario {name!r} was deleted or renamed by someone else after you loaded "
            f"revision {expected}; nothing was {doing}. Save it under a new "
            "name, or pick it again from the saved scenarios"
        )
    if on_disk.revision != expected:
        how = {
            "deleted": "Reload it to see the changes, then delete it if you still mean to",
            "renamed": "Reload it and rename it again",
        }.get(doing, "Save it under a new name, or reload it and make your changes again")
        it = "it was not" if doing in ("deleted", "renamed") else "nothing was"
        raise ScenarioConflictError(
            f"scenario {name!r} was changed by {_who(on_disk)} at {_when(on_disk.updated)} "
            f"(revision {on_disk.revision}, you loaded revision {expected}); {it} {doing}. {how}"
        )


def _plain(scenario: Scenario) -> dict[str, Any]:
    """What :func:`footprint.history.version_changes` compares."""
    return {
        "name": scenario.name,
        "assignment": scenario.assignment,
        "constraints_json": scenario.constraints_json,
        "notes": scenario.notes,
        "locked": scenario.locked,
    }


@dataclass(frozen=True)
class DeletedScenario:
    """A scenario in the bin: restore it with :meth:`ScenarioStore.undelete`.

    Attributes
    ----------
    id
        The bin entry's id (its file name without ``.json``).
    scenario
        The scenario as it was when deleted.
    deleted, deleted_by
        When (ISO time, UTC) and by whom (``None``: not known).
    """

    id: str
    scenario: Scenario
    deleted: str
    deleted_by: str | None


@dataclass(frozen=True)
class _OnDisk:
    """What is saved under a name right now: the scenario, or why its file cannot be read."""

    scenario: Scenario | None = None
    problem: str | None = None


class ScenarioStore:
    """Scenarios saved as JSON files in one folder, safe for several planners at once.

    Parameters
    ----------
    folder
        Created if missing. Several stores (threads, processes, planners) on the
        same folder see the same scenarios: the files are the truth; nothing is cached.
    stale_temp_seconds
        Temporary files older than this are leftovers of a crash and are removed
        when the store opens; younger ones may be a save in progress.
    lock_timeout
        Seconds a save waits for another save of the same scenario to finish
        before giving up with :class:`ScenarioError`.
    max_file_bytes
        Files larger than this are reported as not scenarios without being read.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        stale_temp_seconds: float = STALE_TEMP_SECONDS,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        problems = [
            f"{key} must be a number of {unit}, 0 or more; received {_short(value)}"
            for key, value, unit in (
                ("stale_temp_seconds", stale_temp_seconds, "seconds"),
                ("lock_timeout", lock_timeout, "seconds"),
                ("max_file_bytes", max_file_bytes, "bytes"),
            )
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
        ]
        if problems:
            raise ScenarioError("the scenario store's options are not usable", problems=problems)
        self.folder = Path(folder)
        self.stale_temp_seconds = float(stale_temp_seconds)
        self.lock_timeout = float(lock_timeout)
        self.max_file_bytes = int(max_file_bytes)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(
                f"cannot use {self.folder} as the scenario folder ({exc.strerror}); choose a "
                "folder the app can write to"
            ) from None
        self.clean_temporaries()

    def __repr__(self) -> str:
        return f"ScenarioStore({str(self.folder)!r})"

    # --- paths, locks and reading ------------------------------------------------------------

    def path_for(self, name: str) -> Path:
        """The file a scenario of this name is (or would be) saved in; always inside the folder."""
        path = self.folder / file_name_for(name)
        if path.resolve().parent != self.folder.resolve():  # defence in depth
            raise ScenarioError(f"scenario name {name!r} does not map into {self.folder}")
        return path

    def exists(self, name: str) -> bool:
        return self.path_for(name).is_file()

    def clean_temporaries(self, *, older_than: float | None = None) -> list[Path]:
        """Remove temporary files a crashed save, delete or rename left behind; returns what
        was removed.

        Three places hold them: the scenario folder, the bin, and each scenario's history
        folder. In the first two only files older than ``older_than`` seconds (default: the
        store's ``stale_temp_seconds``) go, so another writer's save in progress is left
        alone. A history folder is written to only under its scenario's lock, so its
        temporaries are removed, whatever their age, while that lock is taken here; a
        scenario being saved now (its lock held elsewhere) is skipped until the next time.
        """
        limit = self.stale_temp_seconds if older_than is None else older_than
        cutoff = time.time() - limit
        removed = self._remove_temporaries(self.folder, cutoff)
        removed += self._remove_temporaries(self.folder / BIN_FOLDER, cutoff)
        history = self.folder / HISTORY_FOLDER
        for folder in self._subfolders(history):
            if not self._temporaries(folder):
                continue
            try:
                with self._locked(self.folder / f"{folder.name}.json", timeout=0.0):
                    removed += self._remove_temporaries(folder, None)
            except ScenarioError as exc:  # being saved now: its writer may be using them
                log.info("left the temporary files in %s for now: %s", folder, exc)
        if removed:
            log.info("removed %d leftover temporary file(s) from %s", len(removed), self.folder)
        return removed

    @staticmethod
    def _subfolders(folder: Path) -> builtins.list[Path]:
        """The real folders (never a link out of the store) directly in ``folder``."""
        try:
            with os.scandir(folder) as entries:
                return [
                    Path(e.path)
                    for e in entries
                    if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
                ]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            log.warning("could not look for leftover temporary files in %s: %s", folder, exc)
            return []

    @staticmethod
    def _temporaries(folder: Path) -> builtins.list[os.DirEntry[str]]:
        """The temporary files (regular files, never links) directly in ``folder``."""
        try:
            with os.scandir(folder) as entries:
                return [
                    e
                    for e in entries
                    if e.name.startswith(_TMP_PREFIX) and e.is_file(follow_symlinks=False)
                ]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            log.warning("could not look for leftover temporary files in %s: %s", folder, exc)
            return []

    def _remove_temporaries(self, folder: Path, cutoff: float | None) -> builtins.list[Path]:
        """Remove the temporaries in ``folder`` last changed before ``cutoff`` (a time;
        ``None``: all of them, for a folder whose writers are locked out)."""
        removed: builtins.list[Path] = []
        for entry in self._temporaries(folder):
            try:
                if cutoff is None or entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue  # its writer finished (or another store cleaned it) meanwhile
            except OSError as exc:
                log.warning("could not remove leftover temporary file %s: %s", entry.path, exc)
        return removed

    @contextlib.contextmanager
    def _locked(self, *paths: Path, timeout: float | None = None) -> Iterator[dict[Path, int]]:
        """Hold the lock of each scenario file (in a fixed order, so two renames cannot deadlock).

        Yields the open lock file of each path, which keeps the highest revision given out.
        Waits up to ``timeout`` seconds (default: the store's ``lock_timeout``) for them.
        """
        held: list[tuple[threading.Lock, int | None]] = []
        fds: dict[Path, int] = {}
        wait = self.lock_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        try:
            for path in sorted(set(paths)):
                lock_path = path.with_name(_LOCK_PREFIX + path.stem)
                with _THREAD_LOCKS_GUARD:
                    thread_lock = _THREAD_LOCKS.setdefault(
                        str(lock_path.resolve()), threading.Lock()
                    )
                if not thread_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    raise self._busy(path)
                held.append((thread_lock, None))
                try:
                    fd = os.open(
                        lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666
                    )
                except OSError as exc:
                    raise ScenarioError(
                        f"cannot open the lock file {lock_path.name} in {self.folder} "
                        f"({exc.strerror}); nothing was changed. Check that the app may write "
                        "to the scenario folder"
                    ) from None
                try:
                    _share_like_folder(fd, self.folder)
                    delay = 0.001
                    while not _try_lock(fd):
                        if time.monotonic() >= deadline:
                            raise self._busy(path)
                        time.sleep(delay)
                        delay = min(delay * 2, 0.05)
                except BaseException:
                    os.close(fd)
                    raise
                held[-1] = (thread_lock, fd)
                fds[path] = fd
            yield fds
        finally:
            for thread_lock, held_fd in reversed(held):
                if held_fd is not None:
                    with contextlib.suppress(OSError):
                        _unlock(held_fd)
                    os.close(held_fd)
                thread_lock.release()

    def _busy(self, path: Path) -> ScenarioError:
        return ScenarioError(
            f"the scenario saved in {path.name} is being saved by someone else and did not "
            f"become free within {self.lock_timeout:g} seconds; nothing was changed. Try again "
            "in a moment"
        )

    def _read(self, path: Path) -> bytes:
        """The bytes of one file in the folder, refusing anything that cannot be a scenario."""
        name = path.name
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            raise InputFileError(f"{name}: cannot be read ({exc.strerror})") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InputFileError(f"{name}: not a regular file, so not a saved scenario")
            too_big = InputFileError(
                f"{name}: the file is {info.st_size / 2**20:.1f} MB, more than the "
                f"{self.max_file_bytes / 2**20:g} MB a scenario file may be (a plan for every unit "
                "in England is well under 1 MB), so it was not read; move it out of the folder"
            )
            if info.st_size > self.max_file_bytes:
                raise too_big
            chunks: list[bytes] = []
            size = 0
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_file_bytes:  # it grew while being read
                    raise too_big
            return b"".join(chunks)
        except OSError as exc:
            raise InputFileError(f"{name}: cannot be read ({exc.strerror})") from None
        finally:
            os.close(fd)

    def _read_scenario(self, path: Path) -> Scenario:
        return Scenario.from_json(self._read(path), source_name=path.name)

    def _on_disk(self, path: Path) -> _OnDisk | None:
        """What the file of a name holds now, or ``None`` if there is no file."""
        if not os.path.lexists(path):
            return None
        try:
            return _OnDisk(scenario=self._read_scenario(path))
        except InputFileError as exc:
            return _OnDisk(problem=str(exc))

    # --- writing ----------------------------------------------------------------------------

    def save(
        self,
        scenario: Scenario,
        *,
        overwrite: bool = False,
        expected_revision: int | None = None,
        user: str | None = None,
        guard: Guard | None = None,
        on_unlogged: Unlogged | None = None,
    ) -> Scenario:
        """Save a scenario atomically; returns it as saved, with its new revision and time.

        The version it replaces is kept in the scenario's history (:meth:`history`) and
        the save is recorded in the audit log (:attr:`log`) with what it changed.

        Parameters
        ----------
        scenario
            What to save; not changed (the returned copy carries the new revision).
        overwrite
            Replace a saved scenario of the same name. Without ``expected_revision``
            the last writer wins.
        expected_revision
            The revision the planner loaded and edited. The save is refused if the
            saved scenario is no longer that revision (someone else saved, renamed
            or deleted it meanwhile). Needs ``overwrite=True``.
        user
            Who saves (recorded as ``updated_by``, and as ``created_by`` of a new one).
        guard
            Called under the scenario's lock with the scenario saved now (``None`` for
            a new name); raises to refuse the save (the app checks the owner with it).
        on_unlogged
            Told (in words) if the save is done but the audit log cannot be written;
            by default that is an :class:`~footprint.history.AuditLogWarning`. The
            save is kept either way.

        Raises
        ------
        ScenarioError
            When a scenario of that name is saved already and ``overwrite`` is
            false, when another planner created it at the same moment, or when
            its file cannot be read (it is never replaced then).
        ScenarioConflictError
            When ``expected_revision`` no longer matches what is saved.
        """
        if not isinstance(scenario, Scenario):
            raise ScenarioError(
                f"save() takes a Scenario; received {type(scenario).__name__}. Build one with "
                "Scenario(name=..., assignment=...)"
            )
        self._check_expected(expected_revision, overwrite=overwrite, verb="save")
        path = self.path_for(scenario.name)
        with self._locked(path) as fds:
            current = self._on_disk(path)
            saved = self._write(
                scenario,
                path,
                fds[path],
                current,
                overwrite=overwrite,
                expected_revision=expected_revision,
                doing="saved",
                user=user,
                guard=guard,
                on_unlogged=on_unlogged,
            )
        log.info("saved scenario %r revision %d to %s", saved.name, saved.revision, path)
        return saved

    @staticmethod
    def _check_expected(expected_revision: object, *, overwrite: bool, verb: str) -> None:
        if expected_revision is None:
            return
        if not _is_int(expected_revision) or expected_revision < 1:
            raise ScenarioError(
                "expected_revision must be the revision you loaded (a whole number, 1 or more) "
                f"or None; received {_short(expected_revision)}"
            )
        if not overwrite:
            raise ScenarioError(
                f"expected_revision guards replacing a saved scenario; pass overwrite=True with "
                f"it, or leave it out to {verb} under a new name"
            )

    def _write(
        self,
        scenario: Scenario,
        path: Path,
        lock_fd: int,
        current: _OnDisk | None,
        *,
        overwrite: bool,
        expected_revision: int | None,
        doing: str,
        user: str | None = None,
        guard: Guard | None = None,
        on_unlogged: Unlogged | None = None,
        event: str = "save",
        detail: Mapping[str, Any] | None = None,
        compared_with: Scenario | None = None,
    ) -> Scenario:
        """Write ``scenario`` to ``path`` (whose lock is held) and return it as written;
        the version replaced goes to the history and the change to the audit log."""
        name = scenario.name
        if current is not None and current.problem is not None:
            raise ScenarioError(
                f"a scenario called {name!r} has a file that cannot be read, so it was not "
                f"replaced ({current.problem}). Choose another name, or move {path.name} out "
                f"of {self.folder}"
            )
        on_disk = current.scenario if current is not None else None
        if on_disk is not None and not overwrite:
            raise ScenarioError(
                f"a scenario called {name!r} is saved already (last saved at "
                f"{_when(on_disk.updated)}{_by(on_disk)}); choose another name or overwrite it"
            )
        if guard is not None:
            guard(on_disk)
        if expected_revision is not None:
            _check_revision(name, on_disk, expected_revision, doing=doing)
        previous = on_disk.revision if on_disk is not None else 0
        revision = max(previous, _read_mark(lock_fd)) + 1
        new = replace(
            scenario,
            revision=revision,
            updated=_now(),
            created_by=on_disk.created_by if on_disk is not None else scenario.created_by or user,
            updated_by=user if user is not None else scenario.updated_by,
        )
        if on_disk is None and not overwrite:
            try:
                _atomic_create(path, new.to_json())
            except FileExistsError:  # a writer that does not take the lock got there first
                raise ScenarioError(
                    f"a scenario called {name!r} was saved by someone else just now; choose "
                    "another name or overwrite it"
                ) from None
        else:
            if on_disk is not None:
                self._archive(path, on_disk)
            _atomic_write(path, new.to_json())
        _write_mark(lock_fd, revision)
        before = compared_with or on_disk
        changes = version_changes(_plain(before) if before else None, _plain(new))
        self._record(
            event,
            new.name,
            user,
            on_unlogged=on_unlogged,
            stacklevel=3,  # the caller of save, rename, restore_version or undelete
            revision=revision,
            changes=changes.as_dict(),
            **(detail or {}),
        )
        return new

    def _history_dir(self, path: Path) -> Path:
        return self.folder / HISTORY_FOLDER / path.stem

    def _archive(self, path: Path, version: Scenario) -> None:
        """Keep ``version`` (about to be replaced) in the history of the file ``path``."""
        folder = self._history_dir(path)
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"r{version.revision:015d}.json"
        if not kept.exists():
            _atomic_write(kept, version.to_json())

    def _record(
        self,
        event: str,
        name: str,
        user: str | None,
        *,
        on_unlogged: Unlogged | None,
        stacklevel: int,
        **detail: Any,
    ) -> None:
        """Append to the audit log. The change itself is done and kept (undoing it would
        lose a planner's work over a log line), so a log that cannot be written is reported
        instead: the whole line goes to the app's log as an error (to be added back by hand)
        and the planner is told, through ``on_unlogged`` or else an :class:`AuditLogWarning`."""
        try:
            self.log.append(event, scenario=name, user=user, **detail)
        except OSError as exc:
            line = json.dumps(
                {"event": event, "scenario": name, "user": user, **detail}, ensure_ascii=False
            )
            log.error(
                "the audit log %s could not be written (%s); this line is missing from it: %s",
                self.log.path,
                exc,
                line,
            )
            message = (
                f"scenario {name!r} was {_DONE.get(event, event)} and that is kept, but the "
                f"audit log {self.log.path} could not be written ({exc.strerror or exc}), so it "
                "is not recorded there (the app's log has the line). Tell whoever runs the "
                f"server: free some space, or let the app write to {self.folder}"
            )
            if on_unlogged is not None:
                on_unlogged(message)
            else:
                warnings.warn(message, AuditLogWarning, stacklevel=stacklevel + 1)

    def delete(
        self,
        name: str,
        *,
        expected_revision: int | None = None,
        user: str | None = None,
        guard: Guard | None = None,
        on_unlogged: Unlogged | None = None,
    ) -> None:
        """Move a saved scenario to the bin (:meth:`deleted`, :meth:`undelete`).

        Parameters
        ----------
        expected_revision
            The revision the planner was looking at; the delete is refused if
            someone else has saved the scenario since.
        user
            Who deletes (recorded in the bin and the audit log).
        guard
            As :meth:`save`'s: called with the scenario about to be deleted.
        on_unlogged
            As :meth:`save`'s.

        Raises
        ------
        ScenarioError
            When no scenario has that name.
        ScenarioConflictError
            When ``expected_revision`` no longer matches what is saved.
        """
        self._check_expected(expected_revision, overwrite=True, verb="delete")
        path = self.path_for(name)
        with self._locked(path) as fds:
            if not path.is_file():
                raise ScenarioError(f"no saved scenario is called {name!r}; nothing was deleted")
            current = self._on_disk(path)
            on_disk = current.scenario if current is not None else None
            if guard is not None:
                guard(on_disk)
            if expected_revision is not None:
                if on_disk is None:
                    raise ScenarioConflictError(
                        f"the file of scenario {name!r} cannot be read, so it was not deleted: "
                        f"{current.problem if current else 'it is missing'}"
                    )
                _check_revision(name, on_disk, expected_revision, doing="deleted")
            if on_disk is not None:
                _write_mark(fds[path], max(on_disk.revision, _read_mark(fds[path])))
            self._to_bin(path, on_disk, user=user)
        self._record(
            "delete",
            name,
            user,
            on_unlogged=on_unlogged,
            stacklevel=2,  # the caller of delete
            revision=on_disk.revision if on_disk is not None else None,
        )
        log.info("deleted scenario %r (%s) to the bin", name, path)

    def _to_bin(self, path: Path, on_disk: Scenario | None, *, user: str | None) -> None:
        """Move the file at ``path`` into the bin: a readable scenario as an entry that can
        be restored, an unreadable file as it is (kept, never destroyed)."""
        folder = self.folder / BIN_FOLDER
        folder.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        if on_disk is None:
            os.replace(path, folder / f"{path.stem}~unreadable~{stamp}.bad")
        else:
            entry = {
                "format": BIN_FORMAT,
                "deleted": _now(),
                "deleted_by": user,
                "file": path.name,
                "scenario": on_disk.to_json(),
            }
            target = folder / f"{path.stem}~r{on_disk.revision}~{stamp}.json"
            _atomic_write(target, json.dumps(entry, ensure_ascii=False))
            path.unlink()
        sync_folder(path.parent)

    def rename(
        self,
        old: str,
        new: str,
        *,
        overwrite: bool = False,
        expected_revision: int | None = None,
        user: str | None = None,
        guard: Guard | None = None,
        on_unlogged: Unlogged | None = None,
    ) -> Scenario:
        """Give a saved scenario a new name, keeping its creation time; returns the renamed one.

        Both names are locked while the new file is written and the old one
        removed. The new file is written first, so a crash in between leaves two
        copies rather than none. Its history goes with it (unless the new name has a
        history of its own already, which is kept).

        Raises
        ------
        ScenarioError
            When ``old`` is not saved, or ``new`` is taken and ``overwrite`` is false.
        ScenarioConflictError
            When ``expected_revision`` no longer matches the saved ``old``.
        """
        if expected_revision is not None:
            self._check_expected(expected_revision, overwrite=True, verb="rename")
        old_path, new_clean = self.path_for(old), _check_name(new)
        new_path = self.path_for(new_clean)
        if new_path == old_path:
            return self.load(old)
        with self._locked(old_path, new_path) as fds:
            scenario = self.load(old)
            if guard is not None:
                guard(scenario)
            if expected_revision is not None:
                _check_revision(scenario.name, scenario, expected_revision, doing="renamed")
            # the renamed one's revisions go on from the old name's, as its history does
            _write_mark(fds[new_path], max(scenario.revision, _read_mark(fds[new_path])))
            renamed = self._write(
                replace(scenario, name=new_clean),
                new_path,
                fds[new_path],
                self._on_disk(new_path),
                overwrite=overwrite,
                expected_revision=None,
                doing="renamed",
                user=user,
                event="rename",
                detail={"renamed_from": scenario.name},
                compared_with=scenario,
                on_unlogged=on_unlogged,
            )
            if old_path.is_file():
                _write_mark(fds[old_path], max(scenario.revision, _read_mark(fds[old_path])))
                self._move_history(old_path, new_path, scenario)
                old_path.unlink()
                sync_folder(old_path.parent)
        log.info("renamed scenario %r to %r", old, new_clean)
        return renamed

    def _move_history(self, old_path: Path, new_path: Path, last: Scenario) -> None:
        """The history of ``old_path`` (and its last version) goes to ``new_path``'s."""
        self._archive(old_path, last)
        source, target = self._history_dir(old_path), self._history_dir(new_path)
        if target.exists():
            log.info("history of %s kept in place: %s has one already", old_path.name, target)
            return
        try:
            os.replace(source, target)
        except OSError as exc:
            log.warning("could not move the history of %s: %s", old_path.name, exc)

    # --- history, the bin and read-only links -------------------------------------------------

    @property
    def log(self) -> AuditLog:
        """The append-only log of saves, restores, renames and deletions in this folder."""
        return AuditLog(self.folder / AUDIT_LOG)

    def id_for(self, name: str) -> str:
        """The scenario's id, for a read-only link: its file name without ``.json``."""
        return self.path_for(name).stem

    def by_id(self, ident: object) -> Scenario:
        """The scenario a read-only link names. The id comes from an address bar, so it
        is checked for an id's shape (letters, digits, ``_``, ``-`` and a 12-digit hash)
        before it names a file.

        Raises
        ------
        ScenarioError
            When the id is malformed or names no saved scenario.
        """
        if not isinstance(ident, str) or not _ID.fullmatch(ident):
            raise ScenarioError(
                f"{_short(ident)} is not a scenario id (ids look like 'North_option_A-"
                "1a2b3c4d5e6f'); ask whoever sent the link for it again"
            )
        path = self.folder / f"{ident}.json"
        if not os.path.lexists(path):
            raise ScenarioError(
                f"no saved scenario has the id {ident!r}; it may have been renamed or deleted"
            )
        return self._read_scenario(path)

    def history(self, name: str) -> builtins.list[Scenario]:
        """Every kept version of a scenario, oldest first, the saved one last.

        Versions whose files cannot be read are skipped (and logged). Versions saved
        before history was kept are not there: the list starts where it began.

        Raises
        ------
        ScenarioError
            When no scenario has that name.
        """
        current = self.load(name)
        path = self.path_for(name)
        versions = {current.revision: current}
        folder = self._history_dir(path)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if not entry.name.endswith(".json") or entry.name.startswith(_TMP_PREFIX):
                    continue
                try:
                    version = self._read_scenario(Path(entry.path))
                except InputFileError as exc:
                    log.warning("a kept version of %r could not be read: %s", name, exc)
                    continue
                versions.setdefault(version.revision, version)
        return [versions[r] for r in sorted(versions)]

    def version(self, name: str, revision: int) -> Scenario:
        """One kept version of a scenario.

        Raises
        ------
        ScenarioError
            When that version is not kept (listing the ones that are).
        """
        kept = self.history(name)
        for version in kept:
            if version.revision == revision:
                return version
        raise ScenarioError(
            f"scenario {name!r} has no kept revision {_short(revision)}; the kept ones are "
            f"{', '.join(str(v.revision) for v in kept)}"
        )

    def restore_version(
        self,
        name: str,
        revision: int,
        *,
        expected_revision: int,
        user: str | None = None,
        guard: Guard | None = None,
        on_unlogged: Unlogged | None = None,
    ) -> Scenario:
        """Make an earlier version the scenario's content again, as a new version (the one it
        replaces stays in the history); returns the scenario as saved.

        ``expected_revision`` is the revision the planner was looking at: someone else's
        later save is never replaced unseen.

        Raises
        ------
        ScenarioError
            When the version is not kept.
        ScenarioConflictError
            When ``expected_revision`` no longer matches what is saved.
        """
        self._check_expected(expected_revision, overwrite=True, verb="restore")
        old = self.version(name, revision)
        path = self.path_for(name)
        with self._locked(path) as fds:
            current = self._on_disk(path)
            base = current.scenario if current is not None and current.scenario else old
            restored = replace(
                base,
                assignment=old.assignment,
                constraints_json=old.constraints_json,
                status=old.status,
                notes=old.notes,
                locked=old.locked,
                source=old.source,
                geography=old.geography,
            )
            saved = self._write(
                restored,
                path,
                fds[path],
                current,
                overwrite=True,
                expected_revision=expected_revision,
                doing="restored",
                user=user,
                guard=guard,
                event="restore",
                detail={"restored_from": revision},
                on_unlogged=on_unlogged,
            )
        log.info("restored revision %d of %r as revision %d", revision, name, saved.revision)
        return saved

    def deleted(self) -> builtins.list[DeletedScenario]:
        """The scenarios in the bin, the most recently deleted first (unreadable entries are
        logged and left out; they stay in the folder)."""
        folder = self.folder / BIN_FOLDER
        found: list[DeletedScenario] = []
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for entry in os.scandir(folder):
                if not entry.name.endswith(".json") or entry.name.startswith(_TMP_PREFIX):
                    continue
                try:
                    found.append(self._bin_entry(Path(entry.path)))
                except InputFileError as exc:
                    log.warning("bin entry %s could not be read: %s", entry.name, exc)
        found.sort(key=lambda d: (d.deleted, d.id), reverse=True)
        return found

    def _bin_entry(self, path: Path) -> DeletedScenario:
        try:
            body = json.loads(self._read(path).decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise InputFileError(f"{path.name}: not a bin entry ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != BIN_FORMAT:
            raise InputFileError(f"{path.name}: not a bin entry")
        scenario = Scenario.from_json(str(body.get("scenario")), source_name=path.name)
        deleted_by = body.get("deleted_by")
        return DeletedScenario(
            id=path.stem,
            scenario=scenario,
            deleted=str(body.get("deleted") or ""),
            deleted_by=deleted_by if isinstance(deleted_by, str) else None,
        )

    def undelete(
        self,
        entry_id: str,
        *,
        new_name: str | None = None,
        user: str | None = None,
        guard: Guard | None = None,
        on_unlogged: Unlogged | None = None,
    ) -> Scenario:
        """Bring a scenario back from the bin (under ``new_name`` if given), as a new version;
        its owner is kept. ``guard`` is called with the deleted scenario.

        Raises
        ------
        ScenarioError
            When the entry is not in the bin, or a scenario of that name is saved now
            (restore it under another name).
        """
        match = [d for d in self.deleted() if d.id == entry_id]
        if not match:
            raise ScenarioError(
                f"the bin holds no deleted scenario {_short(entry_id)}; it may have been "
                "restored already"
            )
        entry = match[0]
        if guard is not None:
            guard(entry.scenario)
        scenario = entry.scenario if new_name is None else replace(entry.scenario, name=new_name)
        path = self.path_for(scenario.name)
        with self._locked(path) as fds:
            current = self._on_disk(path)
            if current is None and scenario.name == entry.scenario.name:
                # back under its own name: the version deleted stays in its history, so the
                # history reads on without a gap (the restored one is the next revision)
                self._archive(path, entry.scenario)
            saved = self._write(
                scenario,
                path,
                fds[path],
                current,
                overwrite=False,
                expected_revision=None,
                doing="restored",
                user=user,
                event="undelete",
                detail={"bin_entry": entry.id},
                on_unlogged=on_unlogged,
            )
            with contextlib.suppress(FileNotFoundError):
                (self.folder / BIN_FOLDER / f"{entry.id}.json").unlink()
        return saved

    # --- reading ----------------------------------------------------------------------------

    def scan(self) -> ScenarioListing:
        """Read every scenario file; unreadable ones are listed with the reason, not raised.

        One bad file never hides the others: whatever is wrong with it (damaged,
        huge, not UTF-8, nested too deeply, a newer format) is reported against
        its name and the scan goes on.

        Raises
        ------
        ScenarioError
            Only when the folder itself cannot be listed.
        """
        try:
            names = sorted(entry.name for entry in os.scandir(self.folder))
        except OSError as exc:
            raise ScenarioError(
                f"cannot list the scenario folder {self.folder} ({exc.strerror}); check that it "
                "exists and the app may read it"
            ) from None
        good: list[Scenario] = []
        bad: list[tuple[Path, str]] = []
        for file_name in names:
            if file_name.startswith((_TMP_PREFIX, _LOCK_PREFIX)) or not file_name.endswith(".json"):
                continue
            path = self.folder / file_name
            if path.is_dir():
                continue
            try:
                scenario = self._read_scenario(path)
            except InputFileError as exc:
                bad.append((path, str(exc)))
                continue
            except Exception as exc:  # defence in depth: one file must not hide the others
                log.warning("unexpected error reading %s", path, exc_info=True)
                bad.append((path, f"{file_name}: could not be read ({type(exc).__name__})"))
                continue
            if file_name != file_name_for(scenario.name):
                # copied in by hand or renamed: usable, but load(name) would not find it
                log.info("%s holds scenario %r under an unexpected file name", path, scenario.name)
            good.append(scenario)
        good.sort(key=lambda s: (s.created, s.name))
        return ScenarioListing(tuple(good), tuple(bad))

    def list(self) -> list[Scenario]:
        """Saved scenarios, oldest first. Unreadable files raise a warning each and are skipped."""
        listing = self.scan()
        for path, reason in listing.unreadable:
            warnings.warn(
                f"scenario file {path.name} in {self.folder} could not be read and was skipped "
                f"(it was left in place): {reason}",
                stacklevel=2,
            )
        return list(listing.scenarios)

    def names(self) -> builtins.list[str]:
        return [s.name for s in self.list()]

    def load(self, name: str) -> Scenario:
        """The saved scenario of this name, with the revision to pass back when saving over it.

        Raises
        ------
        ScenarioError
            When no scenario has that name.
        InputFileError
            When its file exists but is damaged.
        """
        path = self.path_for(name)
        if not os.path.lexists(path):
            # a file copied in by hand keeps its own name: fall back to a scan
            for scenario in self.scan().scenarios:
                if scenario.name == _check_name(name):
                    return scenario
            raise ScenarioError(
                f"no saved scenario is called {name!r}; the saved ones are "
                f"{', '.join(repr(n) for n in self._names_quiet()) or '(none)'}"
            )
        return self._read_scenario(path)

    def _names_quiet(self) -> builtins.list[str]:
        return [s.name for s in self.scan().scenarios]
