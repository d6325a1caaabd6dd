"""A planner's drawing: units in named footprints, the locked footprints, and its history.

Pure data, no Streamlit: the app keeps one :class:`Drawing` per geography in its session
and replaces it with the one each action returns. Every action returns the new drawing
and a :class:`Change` that says what happened (or why nothing did), so the page can say
it in words and a test can check it in milliseconds. A drawing is immutable: undo and
redo are snapshots, never edits in place, and a drawing serialises to JSON so that it
survives a reload or a server restart.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._cache import atomic_write_bytes
from ._text import clean_name
from .errors import PlanError
from .plans import clean_plan

__all__ = [
    "HISTORY_LIMIT",
    "NAME_LIMIT",
    "PAINT_MODES",
    "Change",
    "Drawing",
    "block_units",
    "edit_words",
    "footprint_name",
    "keep_drawings",
    "kept_drawings",
    "new_token",
    "painted_units",
    "valid_token",
]

#: How many earlier states undo can go back to.
HISTORY_LIMIT = 200
#: Longest footprint name kept (characters): longer names are cut, and the change says so.
NAME_LIMIT = 80
_FORMAT = "footprint-drawing"
_VERSION = 1

_State = tuple[tuple[tuple[str, str], ...], tuple[str, ...]]


@dataclass(frozen=True)
class Change:
    """What one action did to a drawing.

    Attributes
    ----------
    kind
        ``"assigned"`` (units put in a footprint, some perhaps moved from another),
        ``"removed"`` (units taken out of their footprints), ``"renamed"``, ``"locked"``,
        ``"unlocked"``, ``"undone"``, ``"redone"``, ``"replaced"`` (a whole plan loaded),
        ``"unchanged"`` (nothing to do) or ``"refused"`` (a rule stopped it; see ``reason``).
    units
        The units whose footprint changed, in the order given.
    footprint
        The footprint acted on (the target of an assignment, a renamed footprint's new
        name, the footprint locked or unlocked).
    previous
        Unit code -> the footprint it was in before, for the units that had one.
    reason
        Why a refused action changed nothing: ``"locked-unit"`` (a unit is in a locked
        footprint), ``"locked-target"``, ``"name-taken"``, ``"no-such-footprint"``,
        ``"empty-name"``, ``"nothing-to-undo"``, ``"nothing-to-redo"``,
        ``"unknown-units"``.
    blocked
        The units (or footprints) that caused a refusal.
    notes
        What cleaning did to a name the planner typed (see :func:`footprint_name`), so
        that the page can say it: ``("line breaks and tabs became spaces",)``.
    """

    kind: str
    units: tuple[str, ...] = ()
    footprint: str | None = None
    previous: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    blocked: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the drawing is different afterwards."""
        return self.kind not in ("unchanged", "refused")


@dataclass(frozen=True)
class Drawing:
    """An assignment of units to named footprints, with locks and an undo history.

    Build an empty one with ``Drawing()`` or from a plan with :meth:`from_plan`; the
    actions (:meth:`assign`, :meth:`unassign`, :meth:`rename`, :meth:`set_locked`,
    :meth:`replace_plan`, :meth:`undo`, :meth:`redo`) return ``(new drawing, Change)``.

    Attributes
    ----------
    assignment
        Unit code -> footprint name (read-only view).
    locked
        Names of locked footprints: their units cannot be moved out, and no unit can be
        added to them, until they are unlocked.
    """

    assignment: Mapping[str, str] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    _undo: tuple[_State, ...] = ()
    _redo: tuple[_State, ...] = ()

    def __post_init__(self) -> None:
        plan = {str(k): str(v) for k, v in dict(self.assignment).items()}
        object.__setattr__(self, "assignment", MappingProxyType(plan))
        used = set(plan.values())
        object.__setattr__(self, "locked", frozenset(f for f in self.locked if f in used))

    # --- reading ---------------------------------------------------------------------------

    @classmethod
    def from_plan(
        cls,
        plan: Mapping[str, str],
        *,
        locked: Iterable[str] = (),
        locked_units: Iterable[str] = (),
    ) -> Drawing:
        """A drawing of ``plan`` with no history.

        ``locked`` names locked footprints; ``locked_units`` are unit codes (as saved
        in a scenario), whose footprints are locked when every one of their units is
        listed.
        """
        plan = clean_plan(plan)
        units = set(locked_units)
        members: dict[str, list[str]] = {}
        for code, fp in plan.items():
            members.setdefault(fp, []).append(code)
        from_units = {fp for fp, codes in members.items() if units and set(codes) <= units}
        return cls(plan, frozenset(locked) | from_units)

    @property
    def footprints(self) -> list[str]:
        """Footprint names in the order they first appear in the assignment."""
        return list(dict.fromkeys(self.assignment.values()))

    def members(self, footprint: str) -> list[str]:
        return [c for c, f in self.assignment.items() if f == footprint]

    @property
    def locked_units(self) -> tuple[str, ...]:
        """Unit codes in locked footprints, sorted (how a scenario stores locks)."""
        return tuple(sorted(c for c, f in self.assignment.items() if f in self.locked))

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def new_footprint_name(self) -> str:
        """The first of "Footprint 1", "Footprint 2", ... not in use."""
        used = set(self.assignment.values())
        n = 1
        while f"Footprint {n}" in used:
            n += 1
        return f"Footprint {n}"

    # --- actions ---------------------------------------------------------------------------

    def assign(self, units: Iterable[str], footprint: str | None = None) -> tuple[Drawing, Change]:
        """Put ``units`` in ``footprint`` (``None``: a new footprint).

        All or nothing: when any unit is in a locked footprint, or the target is locked,
        nothing changes and the change says which ones blocked it. Units already in the
        target are left as they are.
        """
        codes = list(dict.fromkeys(units))
        notes: tuple[str, ...] = ()
        if footprint is None:
            target = self.new_footprint_name()
        else:
            target, notes = footprint_name(footprint)
        if not target:
            return self, Change("refused", tuple(codes), reason="empty-name", notes=notes)
        if target in self.locked:
            return self, Change(
                "refused", tuple(codes), target, reason="locked-target", blocked=(target,)
            )
        blocked = tuple(c for c in codes if self.assignment.get(c) in self.locked)
        if blocked:
            return self, Change(
                "refused", tuple(codes), target, reason="locked-unit", blocked=blocked
            )
        moving = [c for c in codes if self.assignment.get(c) != target]
        if not moving:
            return self, Change("unchanged", tuple(codes), target)
        previous = {c: self.assignment[c] for c in moving if c in self.assignment}
        plan = {**self.assignment, **dict.fromkeys(moving, target)}
        return self._then(plan, self.locked), Change(
            "assigned", tuple(moving), target, previous, notes=notes
        )

    def unassign(self, units: Iterable[str]) -> tuple[Drawing, Change]:
        """Take ``units`` out of their footprints (all or nothing, as :meth:`assign`)."""
        codes = list(dict.fromkeys(units))
        blocked = tuple(c for c in codes if self.assignment.get(c) in self.locked)
        if blocked:
            return self, Change("refused", tuple(codes), reason="locked-unit", blocked=blocked)
        leaving = [c for c in codes if c in self.assignment]
        if not leaving:
            return self, Change("unchanged", tuple(codes))
        previous = {c: self.assignment[c] for c in leaving}
        plan = {c: f for c, f in self.assignment.items() if c not in previous}
        return self._then(plan, self.locked), Change("removed", tuple(leaving), previous=previous)

    def rename(self, old: str, new: str) -> tuple[Drawing, Change]:
        """Give footprint ``old`` the name ``new``; its lock goes with it.

        ``new`` is cleaned by :func:`footprint_name` (the change's ``notes`` say how).
        Refused when ``old`` is not a footprint, ``new`` is empty once cleaned, or
        ``new`` is another footprint's name, in any letter case (merging is done by
        assigning units; "north" beside "North" would read as one footprint).
        """
        name, notes = footprint_name(new)
        members = self.members(old)
        if not members:
            return self, Change("refused", footprint=old, reason="no-such-footprint")
        if not name:
            return self, Change("refused", footprint=old, reason="empty-name", notes=notes)
        if name == old:
            return self, Change("unchanged", footprint=old, notes=notes)
        taken = [f for f in self.footprints if f != old and f.casefold() == name.casefold()]
        if taken:
            return self, Change(
                "refused", footprint=name, reason="name-taken", blocked=(taken[0],), notes=notes
            )
        plan = {c: (name if f == old else f) for c, f in self.assignment.items()}
        locked = {name if f == old else f for f in self.locked}
        return self._then(plan, frozenset(locked)), Change(
            "renamed", tuple(members), name, previous=dict.fromkeys(members, old), notes=notes
        )

    def set_locked(self, footprint: str, locked: bool) -> tuple[Drawing, Change]:
        """Lock or unlock one footprint."""
        if footprint not in set(self.assignment.values()):
            return self, Change("refused", footprint=footprint, reason="no-such-footprint")
        if (footprint in self.locked) == locked:
            return self, Change("unchanged", footprint=footprint)
        new = self.locked | {footprint} if locked else self.locked - {footprint}
        return self._then(dict(self.assignment), new), Change(
            "locked" if locked else "unlocked", footprint=footprint
        )

    def replace_plan(
        self, plan: Mapping[str, str], *, locked: Iterable[str] = ()
    ) -> tuple[Drawing, Change]:
        """Load a whole plan (an optimiser result, a scenario, an import) as one undo step."""
        other = Drawing.from_plan(plan, locked=locked)
        if dict(other.assignment) == dict(self.assignment) and other.locked == self.locked:
            return self, Change("unchanged")
        changed = tuple(
            c
            for c in {**self.assignment, **other.assignment}
            if self.assignment.get(c) != other.assignment.get(c)
        )
        return self._then(dict(other.assignment), other.locked), Change("replaced", changed)

    def undo(self) -> tuple[Drawing, Change]:
        if not self._undo:
            return self, Change("refused", reason="nothing-to-undo")
        *rest, last = self._undo
        plan, locked = dict(last[0]), frozenset(last[1])
        back = Drawing(plan, locked, tuple(rest), (*self._redo, self._state()))
        return back, Change("undone", _diff(self.assignment, plan))

    def redo(self) -> tuple[Drawing, Change]:
        if not self._redo:
            return self, Change("refused", reason="nothing-to-redo")
        *rest, last = self._redo
        plan, locked = dict(last[0]), frozenset(last[1])
        again = Drawing(plan, locked, (*self._undo, self._state())[-HISTORY_LIMIT:], tuple(rest))
        return again, Change("redone", _diff(self.assignment, plan))

    def apply_edits(
        self, rows: Sequence[str], edits: Mapping[Any, Mapping[str, Any]]
    ) -> tuple[Drawing, list[tuple[str, Change]]]:
        """Apply the edits a planner made in the table of footprints, one action each.

        Parameters
        ----------
        rows
            The footprint of each row of the table, in the order it was shown.
        edits
            Row number -> column -> new value, as a data editor reports them
            (``{"0": {"footprint": "Tyne", "locked": True}}``); the row number may be a
            string. A lock is applied before a rename, so a row renamed and locked at
            once ends up locked under its new name. Columns other than ``footprint``
            and ``locked``, and rows that are not in ``rows``, are ignored.

        Returns
        -------
        The drawing after every edit, and per action tried the footprint's name in the
        table and the :class:`Change` (each changed action is its own undo step).
        """
        drawing, changes = self, []
        for key, edit in sorted(edits.items(), key=lambda kv: str(kv[0])):
            try:
                row = int(key)
            except (TypeError, ValueError):
                continue
            if not 0 <= row < len(rows) or not isinstance(edit, Mapping):
                continue
            name = rows[row]
            if "locked" in edit and edit["locked"] is not None:
                drawing, change = drawing.set_locked(name, bool(edit["locked"]))
                changes.append((name, change))
            if "footprint" in edit:
                drawing, change = drawing.rename(
                    name, "" if edit["footprint"] is None else edit["footprint"]
                )
                changes.append((name, change))
        return drawing, changes

    # --- saving ----------------------------------------------------------------------------

    def to_json(self) -> str:
        """The drawing with its history as JSON text (for keeping it across reloads)."""
        body = {
            "format": _FORMAT,
            "version": _VERSION,
            "assignment": dict(self.assignment),
            "locked": sorted(self.locked),
            "undo": [_state_json(s) for s in self._undo],
            "redo": [_state_json(s) for s in self._redo],
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, *, known_units: Iterable[str] | None = None) -> Drawing:
        """Read :meth:`to_json`'s text back.

        Parameters
        ----------
        known_units
            When given, units not among them are dropped from every state (a drawing
            kept for another version of the geography).

        Raises
        ------
        PlanError
            When the text is not a saved drawing.
        """
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise PlanError(f"a kept drawing is not readable JSON ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != _FORMAT:
            raise PlanError("a kept drawing is not a drawing (no 'format': 'footprint-drawing')")
        known = None if known_units is None else set(known_units)
        try:
            states = [_state_from(s, known) for s in body.get("undo", [])]
            future = [_state_from(s, known) for s in body.get("redo", [])]
            now = _state_from({"assignment": body["assignment"], "locked": body["locked"]}, known)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise PlanError(f"a kept drawing is damaged ({type(exc).__name__}: {exc})") from None
        return cls(dict(now[0]), frozenset(now[1]), tuple(states[-HISTORY_LIMIT:]), tuple(future))

    # --- internals -------------------------------------------------------------------------

    def _state(self) -> _State:
        return tuple(sorted(self.assignment.items())), tuple(sorted(self.locked))

    def _then(self, plan: dict[str, str], locked: frozenset[str]) -> Drawing:
        """The drawing after an action: this one pushed on the undo stack, redo cleared."""
        return replace(
            self,
            assignment=plan,
            locked=locked,
            _undo=(*self._undo, self._state())[-HISTORY_LIMIT:],
            _redo=(),
        )


def _diff(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(c for c in {**before, **after} if before.get(c) != after.get(c))


def _state_json(state: _State) -> dict[str, Any]:
    return {"assignment": dict(state[0]), "locked": list(state[1])}


def _state_from(body: Mapping[str, Any], known: set[str] | None) -> _State:
    plan = {
        str(c): clean_name(f)
        for c, f in dict(body["assignment"]).items()
        if clean_name(f) and (known is None or str(c) in known)
    }
    locked = [str(f) for f in body["locked"]]
    return tuple(sorted(plan.items())), tuple(sorted(f for f in locked if f in plan.values()))


# --- names ----------------------------------------------------------------------------------


def footprint_name(value: object) -> tuple[str, tuple[str, ...]]:
    """A footprint name as the drawing keeps it, and what was changed to make it so.

    The name is cleaned by :func:`footprint._text.clean_name` (control and invisible
    characters dropped, line breaks and tabs made spaces, spaces squeezed) and cut to
    :data:`NAME_LIMIT` characters. Markup stays as typed: every page shows names as
    text, never as HTML or Markdown. The notes say each change in words, for the page
    to tell the planner (``()`` when the name was kept as typed).
    """
    raw = "" if value is None else str(value)
    name = clean_name(value)
    notes: list[str] = []
    if any(ch in raw for ch in "\t\n\r\x0b\x0c\u2028\u2029"):
        notes.append("line breaks and tabs became spaces")
    spaced = " ".join(raw.split())
    kept = set(name)
    if any(ch not in kept and not ch.isspace() for ch in spaced):
        notes.append("control or invisible characters were removed")
    if raw != raw.strip() or "  " in raw:
        notes.append("extra spaces were removed")
    if len(name) > NAME_LIMIT:
        name = name[:NAME_LIMIT].rstrip()
        notes.append(f"it was cut to {NAME_LIMIT} characters")
    return name, tuple(notes)


def edit_words(change: Change, *, old: str = "") -> tuple[str, str]:
    """A rename or a lock from the table of footprints in a planner's words.

    Returns ``(kind, message)``: ``kind`` is ``"success"``, ``"info"`` or ``"warning"``
    (how the page shows it), ``message`` plain text with names quoted as typed (the
    page escapes it). ``old`` is the footprint's name before a rename.
    """
    cleaned = f" ({'; '.join(change.notes)})" if change.notes else ""
    if change.kind == "renamed":
        return "success", f"Renamed {old!r} to {change.footprint!r}{cleaned}."
    if change.kind in ("locked", "unlocked"):
        return "success", (
            f"Locked {change.footprint!r}: clicks cannot change it and the optimiser keeps it."
            if change.kind == "locked"
            else f"Unlocked {change.footprint!r}."
        )
    if change.reason == "name-taken":
        return "warning", (
            f"{old!r} was not renamed: {change.blocked[0]!r} is already a footprint's name"
            f"{cleaned}. Choose another name; to merge two footprints, put the units of one "
            "in the other."
        )
    if change.reason == "empty-name":
        return "warning", (
            f"{old!r} was not renamed: a footprint needs a name with at least one "
            f"visible character{cleaned}."
        )
    if change.reason == "no-such-footprint":
        return "warning", f"{change.footprint!r} is no longer a footprint; nothing changed."
    return "info", f"{old or change.footprint!r} is unchanged{cleaned}."


# --- paint a block --------------------------------------------------------------------------

#: What one click can paint: the unit, its LA block, or every unit of its group (a column
#: of the units, e.g. the Area Team).
PAINT_MODES = ("unit", "la-block", "area-team")


def block_units(unit: str, blocks: Mapping[str, str]) -> list[str]:
    """``unit`` and every unit in the same LA block (``blocks``: unit code -> block, as
    ``Audit.blocks``), in code order: what painting a block assigns in one action.

    A unit in no block is painted alone.
    """
    return painted_units(unit, blocks)


# --- kept across reloads and restarts -------------------------------------------------------

#: What a browser's drawing token looks like (from :func:`new_token`). Anything else is
#: refused before it comes near a path.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
#: Largest kept-drawings file read back (200 undo states of a few thousand units fit easily).
MAX_KEPT_BYTES = 64 * 1024 * 1024
_KEPT_FORMAT = "footprint-drawings"


def new_token() -> str:
    """A random token naming one browser's kept drawings (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def valid_token(token: object) -> str | None:
    """``token`` when it has a token's shape, else ``None``: it comes from a URL, so it is
    checked before a file name is made from it."""
    if isinstance(token, str) and _TOKEN.fullmatch(token):
        return token
    return None


def _kept_path(folder: str | os.PathLike[str], token: str) -> Path:
    checked = valid_token(token)
    if checked is None:
        raise PlanError("a drawing token must be 22 to 64 letters, digits, '-' or '_'")
    return Path(folder) / f"{checked}.json"


def keep_drawings(
    folder: str | os.PathLike[str], token: str, drawings: Mapping[str, Drawing]
) -> Path:
    """Write a browser's drawings (geography digest -> drawing, with history) to
    ``folder/<token>.json`` atomically: a reader sees the old file or the new one whole.

    Raises
    ------
    PlanError
        When ``token`` does not have a token's shape.
    OSError
        When the folder cannot be written.
    """
    path = _kept_path(folder, token)
    parts = ",".join(f"{json.dumps(str(k))}:{d.to_json()}" for k, d in drawings.items())
    text = f'{{"format":"{_KEPT_FORMAT}","version":1,"drawings":{{{parts}}}}}'
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def kept_drawings(
    folder: str | os.PathLike[str],
    token: str,
    *,
    known_units: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Drawing]:
    """The drawings :func:`keep_drawings` wrote for ``token`` (empty when none were kept).

    ``known_units``: geography digest -> its unit codes; drawings of a geography listed
    there keep only its units (see :meth:`Drawing.from_json`).

    Raises
    ------
    PlanError
        When ``token`` does not have a token's shape, or the file is too large or damaged.
    """
    path = _kept_path(folder, token)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEPT_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise PlanError(f"the kept drawing {path.name} cannot be read ({exc.strerror})") from None
    if len(data) > MAX_KEPT_BYTES:
        raise PlanError(
            f"the kept drawing {path.name} is larger than "
            f"{MAX_KEPT_BYTES // 2**20} MB; it was left alone"
        )
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise PlanError(f"the kept drawing {path.name} is not readable JSON ({exc})") from None
    if (
        not isinstance(body, dict)
        or body.get("format") != _KEPT_FORMAT
        or not isinstance(body.get("drawings"), dict)
    ):
        raise PlanError(f"the kept drawing {path.name} is not a file of kept drawings")
    known = known_units or {}
    out: dict[str, Drawing] = {}
    for digest, one in body["drawings"].items():
        units = known.get(digest)
        out[str(digest)] = Drawing.from_json(json.dumps(one), known_units=units)
    return out


def painted_units(unit: str, groups: Mapping[str, object] | None) -> list[str]:
    """``unit`` and every unit in the same group, in code order: what one paint assigns.

    ``groups`` maps unit code -> group (an LA block from ``Audit.blocks``, an Area Team
    code from the units' ``area_team_code``). A unit in no group, or an empty or missing
    group (``None``, ``""``, ``NaN``), is painted alone; ``groups=None`` paints the unit.
    """
    if not groups:
        return [unit]
    group = groups.get(unit)
    if group is None or group == "" or group != group:  # group != group: NaN
        return [unit]
    return sorted({unit, *(c for c, g in groups.items() if g == group)})
