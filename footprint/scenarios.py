"""Named plans kept on disk, so a planner's work survives a browser refresh or a restart.

One JSON file per scenario in a folder. File names are derived from the
scenario name (a readable slug plus a short hash of the full name), so any
name, even ``../../etc``, lands inside the folder and two names never share a
file. Every write goes to a temporary file that is flushed, synced and then
moved over the target with :func:`os.replace`, which is atomic: a crash leaves
either the old file or the new one, never half of one. A file that cannot be
read is reported and skipped; the store never deletes what it cannot read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import FootprintError, InputFileError, PlanError

log = logging.getLogger(__name__)

__all__ = [
    "SCENARIO_SOURCES",
    "Scenario",
    "ScenarioError",
    "ScenarioListing",
    "ScenarioStore",
]

#: Where a scenario came from; other values are accepted but these are the usual ones.
SCENARIO_SOURCES = ("drawn", "optimiser", "imported", "reference")
FORMAT = "footprint-scenario"
FORMAT_VERSION = 1
MAX_NAME_LENGTH = 200
_TMP_PREFIX = ".tmp-"


class ScenarioError(FootprintError, ValueError):
    """A scenario name is unusable, clashes with a saved one, or names no saved scenario."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    """

    name: str
    assignment: dict[str, str]
    created: str = field(default_factory=_now)
    source: str = "drawn"
    constraints_json: str | None = None
    status: str | None = None
    notes: str = ""
    locked: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _check_name(self.name))
        problems: list[str] = []
        if not isinstance(self.assignment, Mapping):
            raise PlanError(
                f"scenario {self.name!r}: the assignment must map unit codes to footprint labels; "
                f"received {type(self.assignment).__name__}"
            )
        for code, label in self.assignment.items():
            if not isinstance(code, str) or not isinstance(label, str):
                problems.append(
                    f"unit {code!r} -> {label!r}: codes and footprint labels must be text "
                    f"(received {type(code).__name__} -> {type(label).__name__})"
                )
            if len(problems) >= 20:
                problems.append("… (further problems not listed)")
                break
        if self.constraints_json is not None:
            try:
                json.loads(self.constraints_json)
            except (TypeError, ValueError) as exc:
                problems.append(f"constraints_json is not valid JSON ({exc})")
        if not isinstance(self.locked, Iterable) or isinstance(self.locked, str):
            problems.append(f"locked must be a list of unit codes; received {self.locked!r}")
        elif any(not isinstance(c, str) for c in self.locked):
            problems.append("locked must hold unit codes as text")
        if problems:
            raise PlanError(f"Scenario {self.name!r} is malformed", problems=problems)
        object.__setattr__(self, "assignment", dict(self.assignment))
        object.__setattr__(self, "locked", tuple(self.locked))
        object.__setattr__(self, "notes", "" if self.notes is None else str(self.notes))

    def __hash__(self) -> int:
        # the dataclass hash would fail on the dict; hash what identifies the content
        return hash((self.name, self.created, frozenset(self.assignment.items())))

    def to_json(self) -> str:
        """The scenario as JSON text, in the versioned on-disk format."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "created": self.created,
            "source": self.source,
            "status": self.status,
            "notes": self.notes,
            "constraints_json": self.constraints_json,
            "locked": list(self.locked),
            "assignment": dict(sorted(self.assignment.items())),
        }
        return json.dumps(body, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, source_name: str = "scenario file") -> Scenario:
        """Read a scenario written by :meth:`to_json`.

        Raises
        ------
        InputFileError
            When the text is not JSON, not a scenario, or a newer format version.
        """
        try:
            body = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputFileError(f"{source_name}: not readable JSON ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise InputFileError(
                f"{source_name}: not a saved scenario (expected a JSON object with "
                f'"format": "{FORMAT}")'
            )
        version = body.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InputFileError(
                f"{source_name}: scenario format version {version!r} is not supported; this "
                f"version of the tool reads up to {FORMAT_VERSION}. Update the tool"
            )
        missing = [k for k in ("name", "assignment", "created") if k not in body]
        if missing:
            raise InputFileError(
                f"{source_name}: the scenario lacks {', '.join(missing)}; the file is damaged"
            )
        try:
            return cls(
                name=body["name"],
                assignment=body["assignment"],
                created=str(body["created"]),
                source=str(body.get("source") or "imported"),
                constraints_json=body.get("constraints_json"),
                status=body.get("status"),
                notes=body.get("notes") or "",
                locked=tuple(body.get("locked") or ()),
            )
        except FootprintError as exc:
            raise InputFileError(f"{source_name}: {exc}") from None


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


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TMP_PREFIX, suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # make the rename itself durable (POSIX); not possible on every platform
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class ScenarioStore:
    """Scenarios saved as JSON files in one folder.

    Parameters
    ----------
    folder
        Created if missing. Several stores on the same folder see the same
        scenarios (the files are the truth; nothing is cached).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(
                f"cannot use {self.folder} as the scenario folder ({exc.strerror}); choose a "
                "folder the app can write to"
            ) from None

    def __repr__(self) -> str:
        return f"ScenarioStore({str(self.folder)!r})"

    def path_for(self, name: str) -> Path:
        """The file a scenario of this name is (or would be) saved in; always inside the folder."""
        path = self.folder / file_name_for(name)
        if path.resolve().parent != self.folder.resolve():  # defence in depth
            raise ScenarioError(f"scenario name {name!r} does not map into {self.folder}")
        return path

    def exists(self, name: str) -> bool:
        return self.path_for(name).is_file()

    def save(self, scenario: Scenario, *, overwrite: bool = False) -> Path:
        """Save a scenario atomically and return its file.

        Raises
        ------
        ScenarioError
            When a scenario of that name is saved already and ``overwrite`` is false.
        """
        if not isinstance(scenario, Scenario):
            raise ScenarioError(
                f"save() takes a Scenario; received {type(scenario).__name__}. Build one with "
                "Scenario(name=..., assignment=...)"
            )
        path = self.path_for(scenario.name)
        if path.exists() and not overwrite:
            raise ScenarioError(
                f"a scenario called {scenario.name!r} is saved already; choose another name "
                "or overwrite it"
            )
        _atomic_write(path, scenario.to_json())
        log.info("saved scenario %r to %s", scenario.name, path)
        return path

    def scan(self) -> ScenarioListing:
        """Read every scenario file; unreadable ones are listed with the reason, not raised."""
        good: list[Scenario] = []
        bad: list[tuple[Path, str]] = []
        for path in sorted(self.folder.glob("*.json")):
            if path.name.startswith(_TMP_PREFIX) or not path.is_file():
                continue
            try:
                scenario = Scenario.from_json(path.read_bytes(), source_name=path.name)
            except InputFileError as exc:
                bad.append((path, str(exc)))
                continue
            except OSError as exc:
                bad.append((path, f"{path.name}: cannot be read ({exc.strerror})"))
                continue
            if path.name != file_name_for(scenario.name):
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

    def names(self) -> list[str]:
        return [s.name for s in self.list()]

    def load(self, name: str) -> Scenario:
        """The saved scenario of this name.

        Raises
        ------
        ScenarioError
            When no scenario has that name.
        InputFileError
            When its file exists but is damaged.
        """
        path = self.path_for(name)
        if not path.is_file():
            # a file copied in by hand keeps its own name: fall back to a scan
            for scenario in self.scan().scenarios:
                if scenario.name == _check_name(name):
                    return scenario
            raise ScenarioError(
                f"no saved scenario is called {name!r}; the saved ones are "
                f"{', '.join(repr(n) for n in self._names_quiet()) or '(none)'}"
            )
        return Scenario.from_json(path.read_bytes(), source_name=path.name)

    def delete(self, name: str) -> None:
        """Remove a saved scenario.

        Raises
        ------
        ScenarioError
            When no scenario has that name.
        """
        path = self.path_for(name)
        if not path.is_file():
            raise ScenarioError(f"no saved scenario is called {name!r}; nothing was deleted")
        path.unlink()
        log.info("deleted scenario %r (%s)", name, path)

    def rename(self, old: str, new: str, *, overwrite: bool = False) -> Scenario:
        """Give a saved scenario a new name, keeping its creation time; returns the renamed one.

        The new file is written before the old one is removed, so a crash in
        between leaves two copies rather than none.
        """
        scenario = self.load(old)
        new_clean = _check_name(new)
        if new_clean == scenario.name:
            return scenario
        renamed = replace(scenario, name=new_clean)
        self.save(renamed, overwrite=overwrite)
        old_path = self.path_for(old)
        if old_path.is_file() and old_path != self.path_for(new_clean):
            old_path.unlink()
        return renamed

    def _names_quiet(self) -> list[str]:
        return [s.name for s in self.scan().scenarios]
