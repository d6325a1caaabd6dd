"""What changed between two versions of a scenario, and the append-only log of who did what.

Plain data only (assignments, constraints as JSON text): the scenario store
(:mod:`footprint.scenarios`) keeps every earlier version of a scenario, its bin and this
log, and asks this module what a save changed. "Moved" means what it means everywhere in
the tool: :func:`footprint.compare.moved_units`, once footprints are matched across the two
versions by :func:`footprint.compare.match_footprints` (a renamed footprint is not a move).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .compare import match_footprints, moved_units
from .errors import FootprintError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = ["AuditLog", "AuditLogWarning", "VersionChanges", "version_changes"]

#: Longest line the log reads back (a line past this is reported, not parsed).
MAX_LINE_BYTES = 64 * 1024
#: What the log records.
EVENTS = ("save", "restore", "rename", "delete", "undelete")

# The audit logs this process could not write to, by path: since when and why. Cleared by the
# next line that is written, so the app can tell every planner the log has a gap until then.
_TROUBLE: dict[str, tuple[str, str]] = {}
_TROUBLE_LOCK = threading.Lock()


class AuditLogWarning(UserWarning):
    """A change was made (and kept) but could not be recorded in the audit log."""


@dataclass(frozen=True)
class VersionChanges:
    """What one version of a scenario changed against the one before it.

    Attributes
    ----------
    moved
        Units whose footprint changed (after matching footprints), sorted.
    added, removed
        Footprints with no partner in the earlier (``added``) or the later (``removed``)
        version, by their names in that version.
    newly_assigned, unassigned
        Units in a footprint only in the later, or only in the earlier, version.
    constraints_changed, notes_changed, locks_changed, renamed
        Whether the rules the plan was made under, the notes, the locked units or the
        name changed.
    first
        True for a scenario's first version (nothing before it to compare).
    """

    moved: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    newly_assigned: tuple[str, ...] = ()
    unassigned: tuple[str, ...] = ()
    constraints_changed: bool = False
    notes_changed: bool = False
    locks_changed: bool = False
    renamed: bool = False
    first: bool = False

    @property
    def changed(self) -> bool:
        return self.first or any(
            (
                self.moved,
                self.added,
                self.removed,
                self.newly_assigned,
                self.unassigned,
                self.constraints_changed,
                self.notes_changed,
                self.locks_changed,
                self.renamed,
            )
        )

    def summary(self, *, unit: str = "unit", units: str = "units") -> str:
        """The changes in words: "2 CCGs moved; footprint 'North' added; constraints changed"."""
        if self.first:
            return "first version"

        def count(n: int) -> str:
            return f"{n:,} {unit if n == 1 else units}"

        def names(items: tuple[str, ...]) -> str:
            shown = ", ".join(repr(i) for i in items[:5])
            return shown + (f" and {len(items) - 5:,} more" if len(items) > 5 else "")

        parts = []
        if self.moved:
            parts.append(f"{count(len(self.moved))} moved")
        if self.added:
            parts.append(f"footprint{'s' if len(self.added) > 1 else ''} {names(self.added)} added")
        if self.removed:
            word = "footprints" if len(self.removed) > 1 else "footprint"
            parts.append(f"{word} {names(self.removed)} removed")
        if self.newly_assigned:
            parts.append(f"{count(len(self.newly_assigned))} newly assigned")
        if self.unassigned:
            parts.append(f"{count(len(self.unassigned))} taken out")
        for flag, words in (
            (self.constraints_changed, "constraints changed"),
            (self.locks_changed, "locks changed"),
            (self.notes_changed, "notes changed"),
            (self.renamed, "renamed"),
        ):
            if flag:
                parts.append(words)
        return "; ".join(parts) or "no change"

    def as_dict(self) -> dict[str, Any]:
        """For the log: counts and names, never a whole plan."""
        return {
            "moved": len(self.moved),
            "added": list(self.added),
            "removed": list(self.removed),
            "newly_assigned": len(self.newly_assigned),
            "unassigned": len(self.unassigned),
            "constraints_changed": self.constraints_changed,
            "notes_changed": self.notes_changed,
            "locks_changed": self.locks_changed,
            "renamed": self.renamed,
        }


def _same_json(a: str | None, b: str | None) -> bool:
    """Whether two constraints texts say the same (key order and spacing aside)."""
    if a == b:
        return True
    try:
        return bool(json.loads(a or "null") == json.loads(b or "null"))
    except (ValueError, RecursionError):
        return False


def version_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    weights: Mapping[str, int] | None = None,
) -> VersionChanges:
    """What ``after`` changed against ``before`` (``None``: it is the first version).

    Parameters
    ----------
    before, after
        Versions as plain data: ``assignment`` (unit -> footprint) and, optionally,
        ``name``, ``constraints_json``, ``notes`` and ``locked``.
    weights
        Unit -> population: footprints are then matched keeping the most people together
        (as :func:`footprint.compare.match_footprints`); by default the most units.
    """
    if before is None:
        return VersionChanges(first=True)
    a = {u: f for u, f in dict(before.get("assignment") or {}).items() if f}
    b = {u: f for u, f in dict(after.get("assignment") or {}).items() if f}
    matching = match_footprints(a, b, weights=weights)
    return VersionChanges(
        moved=tuple(moved_units(a, b, weights=weights)),
        added=tuple(sorted(set(b.values()) - set(matching.values()))),
        removed=tuple(sorted(set(a.values()) - set(matching))),
        newly_assigned=tuple(sorted(set(b) - set(a))),
        unassigned=tuple(sorted(set(a) - set(b))),
        constraints_changed=not _same_json(
            before.get("constraints_json"), after.get("constraints_json")
        ),
        notes_changed=(before.get("notes") or "") != (after.get("notes") or ""),
        locks_changed=set(before.get("locked") or ()) != set(after.get("locked") or ()),
        renamed=before.get("name", after.get("name")) != after.get("name"),
    )


class AuditLog:
    """An append-only log of saves, restores, renames and deletions: one JSON object a line.

    Each event is appended with one ``write`` to a file opened for appending, under an
    exclusive lock, and synced, so lines from several app processes never interleave and
    a crash loses at most the line being written. Nothing is ever rewritten or removed.

    Parameters
    ----------
    path
        The log file; its folder must exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def append(self, event: str, *, scenario: str, user: str | None, **detail: Any) -> None:
        """Record one event (``save``, ``restore``, ``rename``, ``delete``, ``undelete``).

        Raises
        ------
        FootprintError
            For an unknown event; OSError when the file cannot be written.
        """
        if event not in EVENTS:
            raise FootprintError(f"the audit log records {', '.join(EVENTS)}; received {event!r}")
        record = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "event": event,
            "scenario": scenario,
            "user": user,
            **detail,
        }
        line = (json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
        try:
            self._write_line(line)
        except OSError as exc:
            with _TROUBLE_LOCK:
                since = _TROUBLE.get(self._key, (str(record["time"]), ""))[0]
                _TROUBLE[self._key] = (since, exc.strerror or str(exc))
            raise
        with _TROUBLE_LOCK:
            _TROUBLE.pop(self._key, None)
        log.info("audit: %s %r by %s", event, scenario, user)

    @property
    def _key(self) -> str:
        return os.path.abspath(self.path)

    def trouble(self) -> tuple[str, str] | None:
        """When this process last failed to write the log, and why, if no line has been
        written since: ``(time, reason)``, else ``None``. Changes made meanwhile are kept but
        missing from the log (the app's own log has each of them)."""
        with _TROUBLE_LOCK:
            return _TROUBLE.get(self._key)

    def _write_line(self, line: bytes) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a line cut short (disk full): never join it to this
                written = os.write(fd, line)
                while written < len(line):  # a short write: finish the line, still locked
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                if fcntl is not None:
                    with contextlib.suppress(OSError):
                        fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def read(self, *, scenario: str | None = None) -> list[dict[str, Any]]:
        """The events, oldest first (only ``scenario``'s if given).

        A line that cannot be read (damaged, too long) is skipped with a log warning,
        never hides the others.

        Raises
        ------
        FootprintError
            When the log itself cannot be read (no log yet is no events).
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise FootprintError(
                f"the audit log {self.path} cannot be read ({exc.strerror or exc}); the "
                "scenarios are not affected. Check that the app may read that file"
            ) from None
        events: list[dict[str, Any]] = []
        for number, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_LINE_BYTES:
                    raise ValueError("line too long")
                record = json.loads(raw.decode("utf-8"))
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except (ValueError, RecursionError) as exc:
                log.warning("audit log %s line %d skipped: %s", self.path, number, exc)
                continue
            if scenario is None or record.get("scenario") == scenario:
                events.append(record)
        return events


def version_rows(
    versions: list[Any],
    *,
    weights: Mapping[str, int] | None = None,
    unit: str = "unit",
    units: str = "units",
) -> list[dict[str, Any]]:
    """A scenario's history as rows to show, oldest first: each version, who saved it and
    what it changed against the one before (:func:`version_changes`, in words).

    ``versions`` are :class:`footprint.scenarios.Scenario` objects (any objects with their
    ``revision, updated, created, updated_by, name, assignment, constraints_json, notes,
    locked``), oldest first as :meth:`~footprint.scenarios.ScenarioStore.history` gives them.
    """
    rows: list[dict[str, Any]] = []
    before: Mapping[str, Any] | None = None
    for version in versions:
        plain = {
            "name": version.name,
            "assignment": version.assignment,
            "constraints_json": version.constraints_json,
            "notes": version.notes,
            "locked": version.locked,
        }
        changes = version_changes(before, plain, weights=weights)
        rows.append(
            {
                "revision": version.revision,
                "saved": version.updated or version.created,
                "by": version.updated_by or "not recorded",
                "footprints": len(set(version.assignment.values())),
                "what changed": changes.summary(unit=unit, units=units),
            }
        )
        before = plain
    return rows
