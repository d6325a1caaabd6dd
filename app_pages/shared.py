"""What every page of the app uses: session state, messages, the drawing, the map, the table.

Imported once per server process (the page files and ``app.py`` run again on every rerun),
so nothing here holds a session's data: that lives in ``st.session_state``. What is not a
widget lives in the library: the drawing (:mod:`footprint.drawing`), the optimise form's
constraints and verdict (:mod:`footprint.form`), scenarios and their geography
(:mod:`footprint.scenarios`).

Library functions that the tests replace to plant a fault (``compare_plans``,
``reference_plan``, ``read_plan_csv``, the upload readers) are looked up by the page files
themselves, on each run, not here.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components
from streamlit_folium import st_folium

from footprint import (
    Constraints,
    Dataset,
    Drawing,
    FootprintError,
    Problem,
    Scenario,
    ScenarioError,
    ScenarioStore,
    load_dataset,
    summarise_plan,
)
from footprint._assets import leaflet_dir
from footprint._text import clean_name
from footprint.access import AccessDeniedError
from footprint.drawing import (
    NAME_LIMIT,
    Change,
    edit_words,
    keep_drawings,
    kept_drawings,
    new_token,
    painted_units,
    valid_token,
)
from footprint.form import short_label as _short
from footprint.map import COLOUR_CHOICES, base_map, units_layer, write_static_files
from footprint.scenarios import ScenarioConflictError, geography_of

from .clicks import DRAW_TOOLS_JS, MAP_EVENTS, clicked_units
from .team import guard, unlogged, user_id
from .ui import esc, flash, md

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.navigation.page import StreamlitPage

log = logging.getLogger("footprint.app")

# Leaflet is served by this app from the installed XStatic-Leaflet package, never from a CDN:
# declaring a component on that folder makes Streamlit serve its files at
# /component/<component name>/<file>. The map lives in streamlit-folium's iframe at
# /component/streamlit_folium.st_folium/index.html, so the relative URL "../<name>/" reaches
# it under any server.baseUrlPath. (data: URLs would also work offline but would resend
# ~250 kB of Leaflet with every click; a served file is cached by the browser.)
_LEAFLET = components.declare_component("leaflet", path=str(leaflet_dir()))
LEAFLET_URL = f"../{_LEAFLET.name}/"


@st.cache_resource(show_spinner=False)
def map_data_folder() -> str:
    """A folder, one per server process, for the map's static geometry files."""
    folder = tempfile.mkdtemp(prefix="footprint-map-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


# The polygons and boundary lines never change while a plan is drawn, so they are served as
# files (fetched once, cached by the browser) the same way as Leaflet; each click then sends
# only the CCGs' colours and tooltips (~60 kB) instead of ~1.3 MB of geometry.
_MAPDATA = components.declare_component("mapdata", path=map_data_folder())
MAPDATA_URL = f"../{_MAPDATA.name}/"

# Pickers hold (kind, id) pairs, never bare names, so that no name a planner saves or imports
# can stand in for one of the app's own choices (the drawing, a reference plan, "a new
# footprint"); what each shows is decided by picker_labels().
NEW_FOOTPRINT = ("new", "")
UNASSIGN = ("out", "")
DRAWING = ("drawing", "")
#: What the app's own choices are called in the pickers.
OWN_LABELS = {
    NEW_FOOTPRINT: "(a new footprint)",
    UNASSIGN: "(no footprint: take it out)",
    DRAWING: "Current drawing",
    ("reference", "area_team_code"): "NHS Area Teams (2013)",
    ("reference", "region_code"): "NHS Regions (2013)",
}
#: What a page shows when it fails for a reason nobody foresaw (the log has the traceback).
UNEXPECTED = (
    "This view hit an unexpected problem; your drawing and saved scenarios are "
    "unchanged. The details are in the app log; another view, or reloading the "
    "page, may work."
)
#: Most lines of a list (problems in a file, in the constraints...) shown in one message.
MAX_LINES = 20
#: Where each browser's drawing is kept between reloads and restarts.
DRAWING_DIR_VARIABLE = "FOOTPRINT_DRAWING_DIR"
#: The query parameter that names a browser's kept drawing.
TOKEN_PARAMETER = "d"


# --- state, set up once ---------------------------------------------------------------------


def init_state() -> None:
    """Create every session-state key the app uses, once per browser session, and bring
    back the drawings kept for this browser (named by the URL's ``?d=`` token)."""
    defaults: dict[str, Any] = {
        "drawings": {},  # geography digest -> its Drawing (assignment, names, locks, history)
        "geo": None,  # the digest of the geography planned on now
        "aside": {},  # geography digest -> what else belongs to its drawing, kept aside
        "draw_target": NEW_FOOTPRINT,  # where a click puts a CCG (kept when the page is left)
        "target_version": 0,  # one more each time the app, not the planner, sets draw_target
        "paint_block": False,  # a click puts the CCG's whole LA block in (kept across pages)
        "paint_team": False,  # ... or its whole Area Team
        "table_version": 0,  # one more each time the table's edits are applied
        "flash": [],  # (kind, message) shown once on the next run
        "last_result": None,  # summary of the last optimiser run
        "imported_plan": None,  # a validated imported plan awaiting confirmation
        "custom_dataset": None,  # a planner's own geography, when uploaded
        # the saved scenario the drawing came from, {"name", "revision"}: saving over it is
        # refused if someone else saved it since (see save_drawing)
        "loaded_from": None,
        "save_conflict": None,  # a save refused that way, with what it would have saved
        # sidebar settings: one floor for every page
        "floor": 300_000,
        "colour_by": "footprint",
        "show_lower": False,
        "show_teams": False,
        "show_regions": False,
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value
    if "tiles" not in st.session_state:
        # off until the planner asks: no call leaves the machine at start or per session
        st.session_state["tiles"] = False
    keep_token()


def keep_token() -> None:
    """The browser's token in the URL (``?d=``), set on the first visit and kept after.

    The token comes from the address bar, so it is checked for a token's shape before it
    names a file; one that is not a token is replaced by a new one. A reload keeps the
    URL, so the drawing kept under it comes back (:func:`restore`).
    """
    s = st.session_state
    if "token" not in s:
        given = valid_token(st.query_params.get(TOKEN_PARAMETER))
        s["token"] = given or new_token()
        if given:
            restore(given)
    if st.query_params.get(TOKEN_PARAMETER) != s["token"]:
        st.query_params[TOKEN_PARAMETER] = s["token"]


def drawing_dir() -> str:
    return os.environ.get(DRAWING_DIR_VARIABLE, "drawings")


def restore(token: str) -> None:
    """Bring back the drawings kept under ``token`` (England's keep only England's CCGs)."""
    try:
        eng = england()
        known = {digest_of(eng): list(eng.geography.units["code"])}
    except Exception:  # the data itself failing is reported where it is loaded
        known = {}
    try:
        kept = kept_drawings(drawing_dir(), token, known_units=known)
    except FootprintError as exc:
        flash("warning", f"Your earlier drawing could not be brought back: {exc}.")
        return
    st.session_state["drawings"] = {**kept, **st.session_state["drawings"]}


def persist() -> None:
    """Write this browser's drawings to the drawing folder (atomically), after each change."""
    try:
        keep_drawings(drawing_dir(), st.session_state["token"], st.session_state["drawings"])
    except (OSError, FootprintError) as exc:
        log.warning("could not keep the drawing: %s", exc)
        if not st.session_state.get("keep_failed"):
            st.session_state["keep_failed"] = True
            flash(
                "warning",
                f"Your drawing could not be kept on the server "
                f"({getattr(exc, 'strerror', None) or exc}): it lasts only while "
                "this tab is open. Save it as a scenario to keep it.",
            )


def capped(text: str, *, limit: int = MAX_LINES) -> str:
    """``text`` with a list longer than ``limit`` lines cut to ``limit`` and "and N more"."""
    lines = text.split("\n")
    items = [i for i, line in enumerate(lines) if line.lstrip().startswith("- ")]
    if len(items) <= limit:
        return text
    cut = items[limit]
    indent = lines[cut][: len(lines[cut]) - len(lines[cut].lstrip())]
    rest = len(items) - limit
    return "\n".join([*lines[:cut], f"{indent}- … and {rest:,} more"])


def listed(head: str, items: list[str], *, limit: int = MAX_LINES) -> str:
    """One message: ``head`` and the items as a list, at most ``limit`` of them."""
    lines = [f"  - {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"  - … and {len(items) - limit:,} more")
    return "\n".join([head, *lines])


def picker_labels(options: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """What each (kind, id) choice of a picker shows, every label different.

    The app's own choices keep their names (``OWN_LABELS``); a saved scenario reads
    "Scenario: <name>", an imported plan "Imported plan: <file>", a footprint its name.
    A picker tells its choices apart by what they show, so a label that is taken
    already (a footprint called "(a new footprint)") gets " (2)", " (3)"...
    """
    out: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for option in sorted(options, key=lambda o: o not in OWN_LABELS):  # own choices first
        kind, ident = option
        label = (
            OWN_LABELS.get(option)
            or clean_name(
                {"scenario": f"Scenario: {ident}", "imported": f"Imported plan: {ident}"}.get(
                    kind, ident
                )
            )
            or "(no name)"
        )
        text, n = label, 1
        while text in taken:
            n += 1
            text = f"{label} ({n})"
        taken.add(text)
        out[option] = text
    return out


def in_place(draw: Callable[[], Any], *, where: str, message: str = UNEXPECTED) -> None:
    """Draw part of the page; if it fails unexpectedly, say so there and go on.

    A page that raises would otherwise end the script, and take the sidebar (drawn
    after it) with it. Streamlit's own stop and rerun signals are not exceptions of this
    kind and pass through.
    """
    try:
        draw()
    except Exception:
        log.exception("unexpected error in %s", where)
        st.error(message)


def show_flash(box: Any = None) -> None:
    """Queued messages and a refused save's way out, inside ``box`` (a container that is
    always there: on the drawing page, beside the map, so that the map never moves)."""
    box = box if box is not None else st.container()
    for kind, message in st.session_state["flash"]:
        getattr(box, kind)(md(message))
    st.session_state["flash"] = []
    conflict = st.session_state["save_conflict"]
    if conflict:
        with box:
            st.warning(
                md(
                    f"Your drawing was not saved over scenario {conflict['name']!r}, "
                    + (
                        "which belongs to someone else."
                        if conflict.get("theirs")
                        else "which someone else saved after you loaded it."
                    )
                    + f" Keep both: save yours as {copy_name(conflict['name'])!r}."
                )
            )
            c1, c2 = st.columns(2)
            c1.button("Save as a copy", on_click=save_copy, type="primary", key="save_copy")
            c2.button(
                "Leave it unsaved",
                key="drop_conflict",
                on_click=lambda: st.session_state.update(save_conflict=None),
            )


def guarded(action: Callable[[], Any], *, what: str, drop: str = "", later: bool = False) -> Any:
    """Run a library call; show its message (never a traceback) if it fails.

    The message is headed by ``what`` unless it already starts with those words; ``drop`` is
    a leading "name: " the message may start with that ``what`` already says.
    ``later``: queue the message for the next run (from a callback).
    Messages quote names from planners' files, so they are shown as plain text (:func:`md`),
    with a long list of problems cut to its first lines (:func:`capped`).
    """

    def say(text: str) -> None:
        if later:
            flash("error", capped(text))
        else:
            st.error(md(capped(text)))

    try:
        return action()
    except FootprintError as exc:
        text = str(exc)
        if drop and text.startswith(drop + ": "):
            text = text[len(drop) + 2 :]
        say(text if text.startswith(what) else f"{what}: {text}")
    except Exception:  # unexpected: log it for the maintainer, show a plain message
        log.exception("unexpected error (%s)", what)
        say(
            f"{what}: something unexpected went wrong (details are in the app log). "
            "Your drawing and saved scenarios are unchanged."
        )
    return None


# --- cached heavy work ----------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the England 2013 CCGs…")
def england() -> Dataset:
    return load_dataset()


@st.cache_resource(show_spinner=False)
def problem_for(_dataset: Dataset, digest: str) -> Any:
    return Problem.from_dataset(_dataset)


@st.cache_data(ttl=600, show_spinner=False)
def tiles_reachable() -> bool:
    """Whether OpenStreetMap answers from here, asked only once the background map is on.

    At most ~1.5 s even where name lookups hang (no network): the check runs in a thread
    that is given up on.
    """
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(("tile.openstreetmap.org", 443), timeout=1.0):
                answer.append(True)
        except OSError:
            answer.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(1.5)
    return bool(answer and answer[0])


def map_data_url(ds: Dataset) -> str:
    """The folder URL of the dataset's static map files, writing any that are missing.

    Checked on every run (a few stat calls), so a folder emptied by a temp cleaner heals.
    """
    # each file goes through a temporary file of its own: sessions drawing their first map at
    # once never share one (a shared ".part" name made concurrent first draws fail)
    write_static_files(ds.geography, map_data_folder())
    return MAPDATA_URL


def dataset() -> Dataset:
    custom = st.session_state["custom_dataset"]
    return custom if custom is not None else england()


def digest_of(ds: Dataset) -> str:
    """The geography's data digest: the manifest's for England, else one of its units and
    populations (the same files uploaded again give the same digest)."""
    g = ds.geography
    if g.source_digest:
        return g.source_digest
    known = getattr(ds, "_app_digest", None)
    if known is None:
        h = hashlib.sha256()
        for code, pop in zip(g.units["code"], g.units["population"], strict=True):
            h.update(f"{code}\t{int(pop)}\n".encode())
        known = "units-" + h.hexdigest()[:32]
        with contextlib.suppress(AttributeError, TypeError):  # a slotted dataset: recomputed
            object.__setattr__(ds, "_app_digest", known)
    return known


#: What belongs to one geography besides its drawing (codes of one mean nothing in another).
PER_GEOGRAPHY = {
    "last_result": lambda: None,
    "imported_plan": lambda: None,
    "loaded_from": lambda: None,
    "save_conflict": lambda: None,
}


def switch_geography(custom: Dataset | None) -> None:
    """Plan on another geography (``None``: England's CCGs), keeping each one's drawing.

    Each geography has its own drawing (with its undo history); the optimiser's last result
    and an imported plan are put aside under the old geography and come back with it.
    """
    s = st.session_state
    s["aside"][digest_of(dataset())] = {k: s[k] for k in PER_GEOGRAPHY}
    s["custom_dataset"] = custom
    s["geo"] = digest_of(dataset())
    kept = s["aside"].pop(s["geo"], {})
    for key, empty in PER_GEOGRAPHY.items():
        s[key] = kept.get(key, empty())
    set_target(NEW_FOOTPRINT)


def set_target(target: tuple[str, str]) -> None:
    """Where the next click puts a CCG, chosen by the app (the picker shows it afresh)."""
    s = st.session_state
    if s["draw_target"] != target:
        s["draw_target"] = target
        s["target_version"] = s.get("target_version", 0) + 1


def store() -> ScenarioStore:
    """The scenario folder's store.

    Raises
    ------
    ScenarioError
        When the folder cannot be created (a path under a regular file, no permission) or
        cannot be written to; the message names it and says how to choose another.
    """
    folder = os.environ.get("FOOTPRINT_SCENARIO_DIR", "scenarios")
    try:
        s = ScenarioStore(folder)
    except ScenarioError as exc:
        raise ScenarioError(f"{exc} (the folder is set by FOOTPRINT_SCENARIO_DIR)") from None
    except OSError as exc:
        raise ScenarioError(
            f"cannot use {folder} as the scenario folder ({exc.strerror}); choose a folder the "
            "app can write to (the folder is set by FOOTPRINT_SCENARIO_DIR)"
        ) from None
    if not os.access(s.folder, os.W_OK | os.X_OK):
        raise ScenarioError(
            f"cannot use {s.folder} as the scenario folder (the app may not write to it); "
            "choose a folder the app can write to (the folder is set by "
            "FOOTPRINT_SCENARIO_DIR)"
        )
    return s


def store_or_say(consequence: str) -> ScenarioStore | None:
    """The store, or ``None`` after a warning that says what is wrong and what it means here."""
    try:
        return store()
    except ScenarioError as exc:
        st.warning(md(f"{consequence}: {exc}."))
        return None


def distinct(scenarios: tuple[Scenario, ...] | list[Scenario]) -> list[Scenario]:
    """The scenarios with one per name (the first): a file copied in by hand can repeat one."""
    seen: set[str] = set()
    return [sc for sc in scenarios if not (sc.name in seen or seen.add(sc.name))]


def belongs_here(sc: Scenario, ds: Dataset) -> bool:
    """Whether ``sc`` was drawn on the geography planned on now (older files: by codes)."""
    eng = england()
    drawn_on = geography_of(
        sc, england_digest=digest_of(eng), england_codes=eng.geography.units["code"]
    )
    return drawn_on == digest_of(ds)


def of_this_geography(ds: Dataset, scenarios: Any) -> tuple[list[Scenario], int]:
    """The scenarios of the geography planned on now, and how many others were left out."""
    every = distinct(scenarios)
    here = [sc for sc in every if belongs_here(sc, ds)]
    return here, len(every) - len(here)


def others_note(n: int) -> None:
    if n:
        st.caption(
            f"{plural(n, 'saved scenario')} drawn on another geography "
            f"{'is' if n == 1 else 'are'} not listed here."
        )


# --- the drawing ----------------------------------------------------------------------------


def drawing() -> Drawing:
    """The drawing of the geography planned on now."""
    s = st.session_state
    return s["drawings"].get(s["geo"]) or Drawing()


def plan() -> dict[str, str]:
    return dict(drawing().assignment)


def commit(new: Drawing, change: Change) -> Change:
    """Make ``new`` the drawing (when the change changed it) and keep it on the server."""
    s = st.session_state
    if change.changed:
        s["drawings"] = {**s["drawings"], s["geo"]: new}
        persist()
    return change


def unit_names(ds: Dataset) -> dict[str, str]:
    g = ds.geography
    return dict(zip(g.units["code"], g.units["name"], strict=True))


def say_change(change: Change, names: Mapping[str, str], before: Drawing) -> None:
    """What one click or search did, in words, queued for the page."""
    first = change.units[0] if change.units else ""
    name = names.get(first, first)
    if len(change.units) > 1:
        name = f"{name} and {plural(len(change.units) - 1, 'other')}"
    if change.kind == "refused" and change.reason == "locked-unit":
        where = before.assignment.get(change.blocked[0])
        flash(
            "warning",
            f"{names.get(change.blocked[0], change.blocked[0])} is in the locked "
            f"footprint {where!r}; unlock it first.",
        )
    elif change.kind == "refused" and change.reason == "locked-target":
        flash(
            "warning",
            f"Footprint {change.footprint!r} is locked; unlock it to add {units_word(dataset())}.",
        )
    elif change.kind == "refused":
        flash("warning", f"Nothing changed ({change.reason}).")
    elif change.kind == "unchanged" and change.footprint:
        flash("info", f"{name} is already in {change.footprint!r}.")
    elif change.kind == "unchanged":
        flash("info", f"{name} is not in a footprint.")
    elif change.kind == "removed":
        flash("success", f"Removed {name} from {change.previous[first]!r}.")
    elif change.kind == "assigned":
        moved = change.previous.get(first)
        flash(
            "success",
            f"Put {name} in {change.footprint!r}" + (f" (moved from {moved!r})." if moved else "."),
        )


def paint_groups(ds: Dataset) -> Mapping[str, object] | None:
    """Unit code -> the group a click paints whole (LA block or Area Team), or ``None``."""
    s = st.session_state
    if s.get("paint_team") and "area_team_code" in ds.geography.units.columns:
        units_ = ds.geography.units
        return dict(zip(units_["code"].astype(str), units_["area_team_code"], strict=True))
    if s.get("paint_block"):
        return getattr(getattr(ds, "audit", None), "blocks", None) or {}
    return None


def assign(code: str, names: Mapping[str, str]) -> None:
    """Put one CCG in the chosen footprint (or take it out), refusing changes to locked ones;
    with "paint whole LA blocks" (or Area Teams) on, every CCG of its block (or team) goes
    with it, in one undo step."""
    put(painted_units(code, paint_groups(dataset())), names)


def put(units: list[str], names: Mapping[str, str]) -> None:
    """Put ``units`` in the chosen footprint (or take them out) in one undo step.

    After a click starts a new footprint, the next clicks go to that footprint.
    """
    s = st.session_state
    before = drawing()
    kind, target = s["draw_target"]
    if kind == UNASSIGN[0]:
        new, change = before.unassign(units)
    else:
        new, change = before.assign(units, None if kind == NEW_FOOTPRINT[0] else target)
    commit(new, change)
    if change.kind == "assigned" and change.footprint:
        set_target(("footprint", change.footprint))
    say_change(change, names, before)


def on_map_click() -> None:
    """st_folium's callback: the clicked CCG goes in the chosen footprint at once.

    Each click is its own widget change and its own callback, so quick clicks are each
    assigned, in order, before the run that follows them.
    """
    codes = clicked_units(st.session_state.get("ccg_map"))
    if not codes:
        return
    names = unit_names(dataset())
    known = [c for c in codes if c in names]  # codes come from the browser
    if len(codes) == 1 and known:
        assign(known[0], names)
    elif known:  # a selection (shift-click or a box): exactly those, painted or not
        put(known, names)


def apply_table_edits(key: str, rows: list[str]) -> None:
    """The table's callback: renames and locks typed in it, each its own undo step."""
    s = st.session_state
    edits = (s.get(key) or {}).get("edited_rows") or {}
    new, done = drawing().apply_edits(rows, edits)
    changed = [c for _, c in done if c.changed]
    if changed:
        commit(new, changed[-1])
    for old, change in done:
        flash(*edit_words(change, old=old))
    kind, target = s["draw_target"]
    if kind == "footprint" and target not in new.footprints:  # the target was renamed
        renamed = [c.footprint for old, c in done if c.kind == "renamed" and old == target]
        set_target(("footprint", renamed[-1]) if renamed and renamed[-1] else NEW_FOOTPRINT)
    s["table_version"] += 1  # a fresh editor: the edits are now the drawing's


def undo() -> None:
    commit(*drawing().undo())


def redo() -> None:
    commit(*drawing().redo())


def toggle_lock(footprint: str) -> None:
    d = drawing()
    commit(*d.set_locked(footprint, footprint not in d.locked))


def set_drawing(new_plan: Mapping[str, str], *, locked_units: tuple[str, ...] = ()) -> None:
    """Replace the whole drawing (one undo step), locking footprints whose every unit is in
    ``locked_units`` (how a scenario keeps its locks)."""
    d = drawing()
    locked = Drawing.from_plan(new_plan, locked_units=locked_units).locked
    commit(*d.replace_plan(new_plan, locked=locked))


def load_into_drawing(
    new_plan: Mapping[str, str],
    what: str,
    scenario: tuple[str, int] | None = None,
    locked_units: tuple[str, ...] = (),
) -> None:
    """Replace the drawing; ``scenario``: the (name, revision) of the saved scenario it is."""
    set_drawing(new_plan, locked_units=locked_units)
    st.session_state["loaded_from"] = (
        {"name": scenario[0], "revision": scenario[1]} if scenario else None
    )
    st.session_state["save_conflict"] = None
    flash("success", f"Loaded {what} into the drawing (undo brings the previous drawing back).")


def load_scenario(sc: Scenario) -> None:
    """Load ``sc`` into the drawing, its locks and footprint names with it; a scenario of
    another geography is refused in words."""
    ds = dataset()
    if not belongs_here(sc, ds):
        flash(
            "error",
            f"Scenario {sc.name!r} was drawn on another geography, not on "
            f"{ds.geography.name!r}; it was not loaded. Switch to its geography "
            "on the Your own boundaries page to use it.",
        )
        return
    load_into_drawing(
        sc.assignment,
        f"scenario {sc.name!r}",
        (sc.name, sc.revision),
        locked_units=tuple(sc.locked),
    )


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def unit_word(ds: Dataset) -> str:
    """What one unit of the geography is called ("CCG"; the planner's word for an upload)."""
    return str(getattr(ds.geography, "unit_label", "") or "unit")


def units_word(ds: Dataset) -> str:
    """What the units are called ("CCGs")."""
    return str(getattr(ds.geography, "unit_label_plural", "") or f"{unit_word(ds)}s")


def units(ds: Dataset, n: int) -> str:
    """``n`` units in the geography's words: "1 CCG", "204 CCGs", "3 wards"."""
    return f"{n:,} {unit_word(ds) if n == 1 else units_word(ds)}"


def la_rule(ds: Dataset) -> str:
    """The LA rule a drawing is checked with: ``whole-la`` where the geography has an LA
    layer, ``off`` where it has none (the rule would be refused, not ignored)."""
    return "whole-la" if ds.geography.has_la_layer else "off"


def layer_label(ds: Dataset, key: str) -> str:
    """A reference layer as the sidebar offers it: "NHS Area Teams (25)"."""
    g = ds.geography
    if key == "la_upper":
        return "Upper-tier LA boundaries"
    if key == "la_lower":
        return "Lower-tier LA boundaries"
    what = {"area_team_code": "NHS Area Teams", "region_code": "NHS Regions"}.get(key, key)
    return f"{what} ({g.units[key].dropna().nunique():,})"


def short_label(ds: Dataset) -> str:
    """What the population counts, without its source: "registered patients"."""
    return _short(ds.geography.population_label)


def unit_labels(ds: Dataset) -> dict[str, str]:
    u = ds.geography.units
    return {
        c: f"{n} ({c}{' · ' + h if h else ''})"
        for c, n, h in zip(u["code"], u["name"], u["nhs_code"], strict=True)
    }


# --- saving ---------------------------------------------------------------------------------


def save_scenario(
    name: str,
    plan_: Mapping[str, str],
    *,
    source: str,
    notes: str = "",
    status: str | None = None,
    constraints_json: str | None = None,
    overwrite: bool = False,
    expected_revision: int | None = None,
    on_conflict: Callable[[FootprintError], None] | None = None,
    quiet: bool = False,
    later: bool = False,
    locked_units: tuple[str, ...] = (),
) -> Scenario | None:
    """Save a plan as a scenario of the geography planned on now; the saved scenario (with
    its revision), or ``None`` after saying why not.

    ``expected_revision``: the revision the drawing was loaded from; the save replaces the
    scenario only if nobody saved it since, else ``on_conflict`` is called with the refusal
    (who saved when) and it is shown. A new name is refused if someone else takes it first.
    On a team server the save records who made it, and saving over someone else's scenario
    is refused the same way (``on_conflict``): only its owner or an admin may.
    """
    folder: list[Path] = []

    def _save() -> Scenario:
        scenario = Scenario(
            name=name,
            assignment=dict(plan_),
            source=source,
            notes=notes,
            status=status,
            constraints_json=constraints_json,
            locked=tuple(locked_units),
            geography=digest_of(dataset()),
        )
        s = store()
        try:
            saved = s.save(
                scenario,
                overwrite=overwrite or expected_revision is not None,
                expected_revision=expected_revision,
                user=user_id(),
                guard=guard("edit"),
                on_unlogged=unlogged,
            )
        except (ScenarioConflictError, AccessDeniedError) as exc:
            if on_conflict is not None:
                on_conflict(exc)
            raise
        except OSError as exc:  # a folder that went read-only or full since it was checked
            raise ScenarioError(
                f"the scenario folder {s.folder} cannot be written to "
                f"({exc.strerror}); nothing was saved"
            ) from None
        folder.append(s.folder)
        return saved

    saved = guarded(_save, what="Could not save the scenario", later=later)
    if saved is not None and not quiet:
        message = f"Saved scenario {saved.name!r} in {folder[0]}."
        if later:
            flash("success", message)
        else:
            st.success(md(message))
    return saved


def remember_source(saved: Scenario | None) -> None:
    """The drawing is now that saved scenario: a later save over it checks its revision."""
    if saved is not None:
        st.session_state["loaded_from"] = {"name": saved.name, "revision": saved.revision}
        st.session_state["save_conflict"] = None


def save_drawing() -> None:
    """The save form's callback: its messages go beside the map, not into the popover.

    Saving over the scenario the drawing was loaded from names the revision loaded, so
    that work someone else saved there since is never replaced: the planner is told who
    saved when, and offered to save the drawing as a copy instead (:func:`save_copy`).
    Locked footprints are saved as their units (``Scenario.locked``).
    """
    s = st.session_state
    source = s["loaded_from"]
    name = str(s["save_name"]).strip()
    over_source = bool(s["save_overwrite"] and source and name == source["name"])
    d = drawing()
    pending = {
        "name": name,
        "plan": dict(d.assignment),
        "notes": s["save_notes"],
        "locked_units": d.locked_units,
    }
    remember_source(
        save_scenario(
            name,
            d.assignment,
            source="drawn",
            notes=s["save_notes"],
            overwrite=s["save_overwrite"],
            locked_units=d.locked_units,
            expected_revision=source["revision"] if over_source else None,
            on_conflict=lambda exc: s.update(
                save_conflict={**pending, "theirs": isinstance(exc, AccessDeniedError)}
            ),
            later=True,
        )
    )


def copy_name(name: str) -> str:
    """'<name> (copy)', or '(copy 2)', '(copy 3)'... if that is saved already."""
    base = name[:180]
    try:
        s = store()
    except ScenarioError:
        return f"{base} (copy)"
    n = 1
    while s.exists(candidate := f"{base} (copy{'' if n == 1 else f' {n}'})"):
        n += 1
    return candidate


def save_copy() -> None:
    """Save the drawing a conflict kept from being saved, under a new name (the way out)."""
    conflict = st.session_state["save_conflict"]
    if conflict:
        remember_source(
            save_scenario(
                copy_name(conflict["name"]),
                conflict["plan"],
                source="drawn",
                notes=conflict["notes"],
                later=True,
                locked_units=tuple(conflict.get("locked_units", ())),
            )
        )


# --- rendering ------------------------------------------------------------------------------


def population_note(ds: Dataset) -> None:
    st.caption(
        f"Population means **{esc(ds.geography.population_label)}** throughout. "
        + " · ".join(md(a) for a in ds.geography.attribution)
    )


def footprint_table(ds: Dataset, plan_: Mapping[str, str], floor: int) -> pd.DataFrame | None:
    if not plan_:
        return None
    problem = problem_for(ds, digest_of(ds))
    constraints = Constraints(min_population=floor, la_rule=la_rule(ds))
    return guarded(
        lambda: summarise_plan(problem, dict(plan_), constraints),
        what="Could not summarise the drawing",
    )


#: The summary table's columns as the planner sees them, in this order (the rest are hidden).
TABLE_COLUMNS = (
    "footprint",
    "population",
    "meets_floor",
    "n_units",
    "contiguous",
    "polsby_popper",
    "area_km2",
    "unit_names",
    "las",
    "problems",
    "units",
)


#: The table beside the map on the Draw page: what fits in its column.
COMPACT_COLUMNS = ("locked", "footprint", "population", "meets_floor", "n_units", "contiguous")


def show_table(
    ds: Dataset,
    table: pd.DataFrame | None,
    *,
    floor: int,
    editable: bool = False,
    compact: bool = False,
    height: int | str = "auto",
) -> None:
    """The per-footprint table; ``editable``: names and locks can be changed in it (the
    drawing's table), with a lock column; ``compact``: only :data:`COMPACT_COLUMNS`."""
    label = ds.geography.population_label
    short = short_label(ds)
    one, many = unit_word(ds), units_word(ds)
    if table is None or len(table) == 0:
        # no empty table: Streamlit's table code costs a 2-core machine ~2 s on the first page,
        # so the browser loads it with the first click instead
        st.info(md(f"No footprints yet: pick a target footprint and click {many} on the map."))
        return
    shown = table[[c for c in TABLE_COLUMNS if c in table]].copy()
    if editable:  # a locked footprint shows its lock, and the box unlocks it
        locked = drawing().locked
        shown.insert(0, "locked", [f in locked for f in shown["footprint"]])
    if "area_km2" in shown:
        shown["area_km2"] = shown["area_km2"].round(0)
    if "las" in shown:  # LAs by name, as a planner reads them ("Newcastle upon Tyne")
        la_names = ds.geography.la_names
        shown["las"] = [
            [la_names.get(str(c), str(c)) for c in v] if isinstance(v, list | tuple | set) else v
            for v in shown["las"]
        ]
    for col in ("units", "unit_names", "las", "problems"):
        if col in shown:
            shown[col] = [
                "; ".join(map(str, v)) if isinstance(v, list | tuple | set) else v
                for v in shown[col]
            ]
    config = {
        "locked": st.column_config.CheckboxColumn(
            "🔒",
            help="Locked: clicks cannot change the footprint and the optimiser keeps it. "
            "Tick or untick to lock or unlock.",
            width="small",
        ),
        "footprint": st.column_config.TextColumn(
            "footprint ✎" if editable else "footprint",
            pinned=True,
            width="medium" if editable else None,
            max_chars=NAME_LIMIT,
            help="Click a name to rename the footprint" if editable else None,
        ),
        "population": st.column_config.NumberColumn(
            short, format="localized", help=f"Sum of {esc(label)}; the floor is {floor:,}"
        ),
        "meets_floor": st.column_config.CheckboxColumn(
            f"≥ {floor:,}", help=f"At least {floor:,} {esc(short)}"
        ),
        "n_units": st.column_config.NumberColumn(many, format="localized"),
        "contiguous": st.column_config.CheckboxColumn(
            "in one piece",
            help=f"Every {esc(one)} reaches the others through shared "
            "borders "
            "(or the listed island bridges and river crossings)",
        ),
        "polsby_popper": st.column_config.NumberColumn(
            "compactness",
            format="%.2f",
            help="Polsby-Popper 4πA/P²: 1 is a circle, near 0 is stringy",
        ),
        "area_km2": st.column_config.NumberColumn("area (km²)", format="localized"),
        "unit_names": st.column_config.TextColumn(f"{one} names", width="large"),
        "las": st.column_config.TextColumn("LAs"),
        "problems": st.column_config.TextColumn("broken rules", width="large"),
        "units": st.column_config.TextColumn(f"{one} codes"),
    }
    order = [c for c in (COMPACT_COLUMNS if compact else shown.columns) if c in shown]
    if not editable:
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            height=height,
            column_config=config,
            column_order=order,
        )
        return
    rows = [str(f) for f in shown["footprint"]]
    key = f"fp_table-{st.session_state['table_version']}"
    st.data_editor(
        shown,
        hide_index=True,
        width="stretch",
        height=height,
        column_config=config,
        column_order=order,
        disabled=[c for c in shown.columns if c not in ("locked", "footprint")],
        key=key,
        on_change=apply_table_edits,
        args=(key, rows),
    )


def draw_map(
    ds: Dataset,
    *,
    plan_: Mapping[str, str],
    colour_by: str,
    key: str,
    highlight: tuple[str, ...] = (),
    events: bool = True,
    height: int = 620,
    floor: int | None = None,
    locked: frozenset[str] = frozenset(),
) -> None:
    """Draw ``plan_``; footprints below ``floor`` (by default the app's) are outlined."""
    g = ds.geography
    opts = st.session_state
    floor = int(opts["floor"]) if floor is None else floor

    def build() -> tuple[Any, Any]:
        data_url = map_data_url(ds)
        base = base_map(
            g,
            audit=ds.audit,
            show_lower_tier=opts.get("show_lower", False),
            show_area_teams=opts.get("show_teams", False),
            show_regions=opts.get("show_regions", False),
            links=ds.adjacency.bridges + ds.adjacency.river_crossings,
            tiles=opts.get("tiles", False),
            leaflet_url=LEAFLET_URL,
            data_url=data_url,
            zoom_start=6.5 if height >= 600 else 6.0,  # all of England in view either way
        )
        if opts["custom_dataset"] is not None:  # a planner's own units: frame them
            west, south, east, north = (float(v) for v in g.display_units.total_bounds)
            base.fit_bounds([[south, west], [north, east]])
        layer = units_layer(
            g,
            audit=ds.audit,
            assignment=plan_,
            colour_by=colour_by,
            highlight=highlight,
            locked=sorted(locked),
            floor=floor,
            fill_opacity=0.6 if opts.get("tiles") else 0.75,
            data_url=data_url,
            on_click=DRAW_TOOLS_JS if events else None,
        )
        return base, layer

    if colour_by == "floor" and not floor:  # no floor to measure against
        colour_by = "footprint"
    built = guarded(build, what="Could not draw the map")
    if built is None:
        return
    base, layer = built
    st_folium(
        base,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=MAP_EVENTS if events else [],
        feature_group_to_add=layer,
        on_change=on_map_click if events else None,
    )


def picker(
    where: Any, label: str, options: list[tuple[str, str]], *, key: str, index: int = 0
) -> tuple[str, str]:
    """A selectbox over (kind, id) choices, showing ``picker_labels``; returns the choice.

    A choice kept from an earlier run that is gone now (a deleted scenario) is dropped
    first, so the box falls back to ``index``.
    """
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
    shown = picker_labels(options)
    chosen = where.selectbox(
        label, options, key=key, index=index, format_func=lambda o: shown.get(o, str(o))
    )
    return chosen if chosen in options else options[index]


# --- the sidebar ----------------------------------------------------------------------------


def page_links(where: DeltaGenerator, pages: Sequence[StreamlitPage]) -> None:
    """A link to each page in ``where``, keeping the drawing's token in the address.

    Streamlit's own links drop the query string on a page change; putting the token back
    then adds a history entry of its own, so the browser's Back needed two presses. These
    carry it, so each page change is one entry.
    """
    token = st.session_state.get("token")
    keep = {TOKEN_PARAMETER: token} if token else None
    with where:
        for p in pages:
            st.page_link(p, query_params=keep)


def sidebar(ds: Dataset | None) -> None:
    """Title and settings (one floor for every page); the page links (:func:`page_links`)
    are above them and stay when the rest fails."""
    broken = "The sidebar hit an unexpected problem; the pages still work."
    with st.sidebar:
        st.title("CSU footprint planner")
        if ds is not None:
            g = ds.geography
            in_place(
                lambda: st.caption(
                    md(
                        f"{g.name}: {units(ds, len(g.units))}, "
                        f"{g.population_total:,} {g.population_label}."
                    )
                ),
                where="the sidebar",
                message=broken,
            )
            in_place(lambda: settings(ds), where="the sidebar's settings", message=broken)


def colour_choices(ds: Dataset) -> list[str]:
    """The colourings this geography allows (no LA without an LA layer, no Area Team
    without the column); a choice kept from another geography falls back to footprint."""
    columns = ds.geography.units.columns
    allowed = [
        c
        for c in COLOUR_CHOICES
        if (c != "la" or ds.geography.has_la_layer)
        and (c != "area_team" or "area_team_code" in columns)
        and (c != "region" or "region_code" in columns)
    ]
    if st.session_state.get("colour_by") not in allowed:
        st.session_state["colour_by"] = "footprint"
    return allowed


def settings(ds: Dataset) -> None:
    g = ds.geography
    short = esc(short_label(ds))
    st.number_input(
        f"Population floor ({short})",
        min_value=0,
        step=10_000,
        key="floor",
        help=f"Each footprint needs at least this many "
        f"{esc(g.population_label)}: the drawing is checked "
        "against it and the optimiser plans with it.",
    )
    st.caption(f"= {int(st.session_state['floor']):,} {short} per footprint, on every page")
    st.radio(
        f"Colour {esc(units_word(ds))} by",
        colour_choices(ds),
        key="colour_by",
        format_func=COLOUR_CHOICES.__getitem__,
        help="Footprint: neighbours differ. Population: each unit's own. Distance from the "
        "floor: each footprint's population against the floor, red below, blue above. "
        "Upper-tier LA, Area Team, Region: the unit's group.",
    )
    # only the layers this geography has (a planner's own may have no LAs or NHS groupings)
    offered = [
        (layer, box)
        for layer, box in (
            ("la_lower", "show_lower"),
            ("area_team_code", "show_teams"),
            ("region_code", "show_regions"),
        )
        if layer in g.layers
    ]
    st.markdown("**Reference layers**")
    for layer, box in offered:
        st.checkbox(esc(layer_label(ds, layer)), key=box)
    if "la_upper" not in g.layers:
        st.caption(
            "No local authority layer: add one beside your boundaries on the Your own "
            "boundaries page to see LA borders and keep LAs whole."
        )
    st.checkbox("Background map (OpenStreetMap, needs internet)", key="tiles")
    if st.session_state["tiles"] and not tiles_reachable():  # asked only once it is chosen
        st.caption(
            "OpenStreetMap did not answer from this server: if your browser cannot reach "
            "it either, the map keeps its plain background."
        )


# --- the server's solvers ------------------------------------------------------------------


#: Longest a run waits for a free solver slot before the planner is asked to try again
#: (``FOOTPRINT_SOLVER_WAIT`` seconds sets another).
SLOT_WAIT_SECONDS = 600.0


@st.cache_resource(show_spinner=False)
def solver_slots() -> threading.BoundedSemaphore:
    """How many optimiser runs this server process does at once (one per core by default).

    Several planners solving at once on a 2-core server each got a fraction of a core, so a
    10 s time limit ended after about 27 s; runs beyond the cores now wait their turn, and
    each planner's limit counts from when their run starts. ``FOOTPRINT_SOLVER_SLOTS`` sets
    another number.
    """
    try:
        slots = int(os.environ.get("FOOTPRINT_SOLVER_SLOTS", "") or os.cpu_count() or 1)
    except ValueError:
        slots = os.cpu_count() or 1
    return threading.BoundedSemaphore(max(1, slots))


@contextlib.contextmanager
def solver_slot(say: Any) -> Iterator[bool]:
    """Hold one solver slot while the block runs; yields False if none came free in time."""
    try:
        wait = float(os.environ.get("FOOTPRINT_SOLVER_WAIT", "") or SLOT_WAIT_SECONDS)
    except ValueError:
        wait = SLOT_WAIT_SECONDS
    slots = solver_slots()
    got = slots.acquire(blocking=False)
    if not got:
        say(
            "Waiting for a free solver: other planners' runs are using this server's "
            "cores. Your time limit starts when your run does."
        )
        got = slots.acquire(timeout=wait)
    try:
        yield got
    finally:
        if got:
            slots.release()
