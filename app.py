"""The planner's app: draw commissioning support footprints on a map, optimise, compare, export.

A thin Streamlit shell over the ``footprint`` library: widgets -> a frozen
``Constraints`` or a plan -> one library call -> rendering. All geometry,
validation and optimisation live in the library.

Run with ``streamlit run app.py``. Scenarios are saved as JSON files in
``./scenarios`` (or the folder named by ``FOOTPRINT_SCENARIO_DIR``), so they
survive a restart and can be backed up like any other folder.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components
from streamlit_folium import st_folium

from footprint import (
    EXPORT_FORMATS,
    Constraints,
    ConstraintsError,
    Dataset,
    FootprintError,
    Problem,
    Scenario,
    ScenarioError,
    ScenarioStore,
    compare_plans,
    load_dataset,
    optimise,
    read_plan_csv,
    reference_plan,
    summarise_plan,
    validate_plan,
)
from footprint._assets import leaflet_dir
from footprint._text import clean_name, plain
from footprint.map import base_map, clicked_unit, static_files, units_layer
from footprint.rule_text import RuleKind, read_rules, unit_lookup
from footprint.scenarios import ScenarioConflictError
from footprint.uploads import inspect_upload_columns, load_uploaded_geography

log = logging.getLogger("footprint.app")

st.set_page_config(page_title="CSU footprint planner", layout="wide")

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
VIEWS = ("Map and drawing", "Optimise", "Scenarios and comparison", "Import and export")
#: What the app's own choices are called in the pickers.
OWN_LABELS = {
    NEW_FOOTPRINT: "(a new footprint)", UNASSIGN: "(no footprint: take it out)",
    DRAWING: "Current drawing", ("reference", "area_team_code"): "NHS Area Teams (2013)",
    ("reference", "region_code"): "NHS Regions (2013)",
}
#: What a view shows when it fails for a reason nobody foresaw (the log has the traceback).
UNEXPECTED = ("This view hit an unexpected problem; your drawing and saved scenarios are "
              "unchanged. The details are in the app log; another view, or reloading the "
              "page, may work.")
#: Most lines of a list (problems in a file, in the constraints...) shown in one message.
MAX_LINES = 20
HISTORY_LIMIT = 200
# What the map reports back. Keep to these two: footprint.map's instant click reports
# (units_layer(instant_clicks=True)) build exactly this value.
MAP_EVENTS = ["last_active_drawing", "last_object_clicked_count"]


# --- state, set up once ---------------------------------------------------------------------


def init_state() -> None:
    """Create every session-state key the app uses, once per browser session."""
    defaults: dict[str, Any] = {
        "plan": {},  # unit code -> footprint name (the drawing)
        "locked": [],  # footprint names the planner locked
        "history": [],  # undo stack of (plan, locked)
        "future": [],  # redo stack
        "target": NEW_FOOTPRINT,
        "clicked": [],  # CCGs clicked on the map, in order, assigned at the top of the run
        "flash": [],  # (kind, message) shown once on the next run
        "last_result": None,  # summary of the last optimiser run
        "imported_plan": None,  # a validated imported plan awaiting confirmation
        "custom_dataset": None,  # a planner's own geography, when uploaded
        "drawings": {},  # geography digest -> its drawing state, kept while another is used
        # the saved scenario the drawing came from, {"name", "revision"}: saving over it is
        # refused if someone else saved it since (see save_drawing)
        "loaded_from": None,
        "save_conflict": None,  # a save refused that way, with what it would have saved
        # sidebar settings (the sidebar is drawn last, after the map; see main())
        "view": VIEWS[0],
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
        st.session_state["tiles"] = tiles_reachable()


#: Invisible (U+2060 WORD JOINER): put into "http://", "www." and "@" it stops Streamlit's
#: Markdown from turning a web or mail address in a name into a link, which escaping does not.
_JOIN = "\u2060"
_ADDRESS = re.compile(r"(?i)(\\:)(?=//)|\b(www)(?=\\\.)|(@)")


def esc(text: object) -> str:
    """A name (one line) for an element that renders Markdown: shown exactly as written.

    :func:`footprint._text.plain` escapes every character Markdown or Streamlit acts on
    (so ``![t](http://elsewhere/p.png)`` fetches nothing and ``$5m to $6m`` is not
    mathematics); addresses are kept from becoming links as well.
    """
    return _ADDRESS.sub(lambda m: (m.group(1) + _JOIN) if m.group(1)
                        else (m.group(2) + _JOIN) if m.group(2) else _JOIN + "@",
                        plain(text))


def md(text: object) -> str:
    """``text`` for an element that renders Markdown, shown exactly as written.

    Escaped with :func:`esc` line by line: a message's lines and its list of problems
    (lines starting ``- `` after any indent, as :class:`FootprintError` writes them) keep
    their shape.
    """
    out = []
    for line in str(text).split("\n"):
        indent, bullet, rest = re.fullmatch(r"(\s*)(- )?(.*)", line, flags=re.S).groups()
        out.append(indent + (bullet or "") + esc(rest))
    return "\n".join(out)


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
        label = OWN_LABELS.get(option) or clean_name(
            {"scenario": f"Scenario: {ident}", "imported": f"Imported plan: {ident}"}
            .get(kind, ident)) or "(no name)"
        text, n = label, 1
        while text in taken:
            n += 1
            text = f"{label} ({n})"
        taken.add(text)
        out[option] = text
    return out


def in_place(draw: Callable[[], Any], *, where: str, message: str = UNEXPECTED) -> None:
    """Draw part of the page; if it fails unexpectedly, say so there and go on.

    A view that raises would otherwise end the script, and take the sidebar (drawn
    after it) and its navigation with it. Streamlit's own stop and rerun signals are not
    exceptions of this kind and pass through.
    """
    try:
        draw()
    except Exception:
        log.exception("unexpected error in %s", where)
        st.error(message)


def flash(kind: str, message: str) -> None:
    """Queue a message for the next run (callbacks cannot draw). Plain text: shown as written."""
    st.session_state["flash"] = [*st.session_state["flash"], (kind, message)]


def show_flash() -> None:
    """Queued messages, inside one container that is always there.

    The container keeps every later element (the map above all) at the same place in the
    page whether or not there are messages; an element that moves is remounted by the
    browser, which would reset the map's zoom on every click.
    """
    box = st.container()
    for kind, message in st.session_state["flash"]:
        getattr(box, kind)(md(message))
    st.session_state["flash"] = []
    conflict = st.session_state["save_conflict"]
    if conflict:
        with box:
            st.warning(md(f"Your drawing was not saved over scenario {conflict['name']!r}, "
                          "which someone else saved after you loaded it. Keep both: save "
                          f"yours as {copy_name(conflict['name'])!r}."))
            c1, c2 = st.columns(2)
            c1.button("Save as a copy", on_click=save_copy, type="primary",
                      key="save_copy")
            c2.button("Leave it unsaved", key="drop_conflict",
                      on_click=lambda: st.session_state.update(save_conflict=None))


def guarded(action: Callable[[], Any], *, what: str, drop: str = "",
            later: bool = False) -> Any:
    """Run a library call; show its message (never a traceback) if it fails.

    The message is headed by ``what`` unless it already starts with those words; ``drop`` is
    a leading "name: " the message may start with that ``what`` already says.
    ``later``: queue the message for the top of the page (from a callback).
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
            text = text[len(drop) + 2:]
        say(text if text.startswith(what) else f"{what}: {text}")
    except Exception:  # unexpected: log it for the maintainer, show a plain message
        log.exception("unexpected error (%s)", what)
        say(f"{what}: something unexpected went wrong (details are in the app log). "
            "Your drawing and saved scenarios are unchanged.")
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
    """Whether OpenStreetMap answers from here (decides whether background tiles start on).

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
    folder = Path(map_data_folder())
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in static_files(ds.geography).items():
        path = folder / name
        if not path.exists():  # names carry a content hash: an existing file is the same
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
    return MAPDATA_URL


def dataset() -> Dataset:
    custom = st.session_state["custom_dataset"]
    return custom if custom is not None else england()


#: What belongs to one geography's drawing (codes of one geography mean nothing in another).
PER_GEOGRAPHY = {"plan": dict, "locked": list, "history": list, "future": list,
                 "last_result": lambda: None, "imported_plan": lambda: None,
                 "loaded_from": lambda: None, "save_conflict": lambda: None}


def switch_geography(custom: Dataset | None) -> None:
    """Plan on another geography (``None``: England's CCGs), keeping each one's drawing.

    The drawing, its undo history, the optimiser's last result and an imported plan are put
    aside under the old geography and come back when the planner returns to it.
    """
    s = st.session_state
    s["drawings"][digest_of(dataset())] = {k: s[k] for k in PER_GEOGRAPHY}
    s["custom_dataset"] = custom
    kept = s["drawings"].pop(digest_of(dataset()), {})
    for key, empty in PER_GEOGRAPHY.items():
        s[key] = kept.get(key, empty())


def digest_of(ds: Dataset) -> str:
    return ds.geography.source_digest or f"custom-{id(ds)}"


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
            "app can write to (the folder is set by FOOTPRINT_SCENARIO_DIR)") from None
    if not os.access(s.folder, os.W_OK | os.X_OK):
        raise ScenarioError(
            f"cannot use {s.folder} as the scenario folder (the app may not write to it); "
            "choose a folder the app can write to (the folder is set by "
            "FOOTPRINT_SCENARIO_DIR)")
    return s


def store_or_say(consequence: str) -> ScenarioStore | None:
    """The store, or ``None`` after a warning that says what is wrong and what it means here."""
    try:
        return store()
    except ScenarioError as exc:
        st.warning(md(f"{consequence}: {exc}."))
        return None


# --- the drawing ----------------------------------------------------------------------------


def snapshot() -> None:
    """Remember the drawing before a change, for undo."""
    hist = st.session_state["history"]
    hist.append((dict(st.session_state["plan"]), tuple(st.session_state["locked"])))
    del hist[:-HISTORY_LIMIT]
    st.session_state["future"] = []


def set_drawing(plan: Mapping[str, str], locked: tuple[str, ...] | list[str] = ()) -> None:
    snapshot()
    st.session_state["plan"] = dict(plan)
    st.session_state["locked"] = [f for f in locked if f in set(plan.values())]


def undo() -> None:
    if st.session_state["history"]:
        st.session_state["future"].append(
            (dict(st.session_state["plan"]), tuple(st.session_state["locked"]))
        )
        plan, locked = st.session_state["history"].pop()
        st.session_state["plan"], st.session_state["locked"] = dict(plan), list(locked)


def redo() -> None:
    if st.session_state["future"]:
        st.session_state["history"].append(
            (dict(st.session_state["plan"]), tuple(st.session_state["locked"]))
        )
        plan, locked = st.session_state["future"].pop()
        st.session_state["plan"], st.session_state["locked"] = dict(plan), list(locked)


def next_footprint_name(plan: Mapping[str, str]) -> str:
    used = set(plan.values())
    n = 1
    while f"Footprint {n}" in used:
        n += 1
    return f"Footprint {n}"


def assign(code: str, names: Mapping[str, str]) -> None:
    """Put one CCG in the target footprint (or take it out), refusing changes to locked ones."""
    plan = st.session_state["plan"]
    locked = set(st.session_state["locked"])
    kind, target = st.session_state["target"]
    name = names.get(code, code)
    current = plan.get(code)
    if current in locked:
        flash("warning", f"{name} is in the locked footprint {current!r}; unlock it first.")
        return
    if kind == UNASSIGN[0]:
        if current is None:
            flash("info", f"{name} is not in a footprint.")
            return
        snapshot()
        plan = {k: v for k, v in plan.items() if k != code}
        st.session_state["plan"] = plan
        st.session_state["locked"] = [f for f in locked if f in set(plan.values())]
        flash("success", f"Removed {name} from {current!r}.")
        return
    if kind == NEW_FOOTPRINT[0]:
        target = next_footprint_name(plan)
    if target in locked:
        flash("warning", f"Footprint {target!r} is locked; unlock it to add CCGs.")
        return
    if current == target:
        flash("info", f"{name} is already in {target!r}.")
        return
    snapshot()
    st.session_state["plan"] = {**plan, code: target}
    st.session_state["target"] = ("footprint", target)
    flash("success", f"Put {name} in {target!r}" + (f" (moved from {current!r})." if current
                                                     else "."))


def on_map_click() -> None:
    """st_folium callback: remember which CCG was clicked; the run assigns it.

    Queued, not overwritten: two quick clicks give two reruns, and the second may start
    before the first has assigned its CCG.
    """
    code = clicked_unit(st.session_state.get("ccg_map"))
    if code:
        st.session_state["clicked"] = [*st.session_state["clicked"], code]


def toggle_lock(footprint: str) -> None:
    snapshot()
    locked = list(st.session_state["locked"])
    st.session_state["locked"] = (
        [f for f in locked if f != footprint] if footprint in locked else [*locked, footprint]
    )


def short_label(ds: Dataset) -> str:
    """What the population counts, without its source: "registered patients"."""
    return ds.geography.population_label.split(" (")[0]


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def unit_labels(ds: Dataset) -> dict[str, str]:
    u = ds.geography.units
    return {
        c: f"{n} ({c}{' · ' + h if h else ''})"
        for c, n, h in zip(u["code"], u["name"], u["nhs_code"], strict=True)
    }


# --- rendering helpers ----------------------------------------------------------------------


def population_note(ds: Dataset) -> None:
    st.caption(
        f"Population means **{esc(ds.geography.population_label)}** throughout. "
        + " · ".join(md(a) for a in ds.geography.attribution)
    )


def footprint_table(ds: Dataset, plan: Mapping[str, str], floor: int) -> pd.DataFrame | None:
    if not plan:
        return None
    problem = problem_for(ds, digest_of(ds))
    constraints = Constraints(min_population=floor, la_rule="whole-la")
    return guarded(lambda: summarise_plan(problem, dict(plan), constraints),
                   what="Could not summarise the drawing")


#: The summary table's columns as the planner sees them, in this order (the rest are hidden).
TABLE_COLUMNS = ("footprint", "population", "meets_floor", "n_units", "contiguous",
                 "polsby_popper", "area_km2", "unit_names", "las", "problems", "units")


def show_table(ds: Dataset, table: pd.DataFrame | None, *, floor: int) -> None:
    label = ds.geography.population_label
    short = short_label(ds)
    if table is None or len(table) == 0:
        # no empty table: Streamlit's table code costs a 2-core machine ~2 s on the first page,
        # so the browser loads it with the first click instead
        st.info("No footprints yet: pick a target footprint and click CCGs on the map.")
        return
    shown = table[[c for c in TABLE_COLUMNS if c in table]].copy()
    if "area_km2" in shown:
        shown["area_km2"] = shown["area_km2"].round(0)
    for col in ("units", "unit_names", "las", "problems"):
        if col in shown:
            shown[col] = [
                "; ".join(map(str, v)) if isinstance(v, list | tuple | set) else v
                for v in shown[col]
            ]
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "footprint": st.column_config.TextColumn("footprint", pinned=True),
            "population": st.column_config.NumberColumn(
                short, format="localized",
                help=f"Sum of {esc(label)}; the floor is {floor:,}"),
            "meets_floor": st.column_config.CheckboxColumn(
                f"≥ {floor:,}", help=f"At least {floor:,} {esc(short)}"),
            "n_units": st.column_config.NumberColumn("CCGs", format="localized"),
            "contiguous": st.column_config.CheckboxColumn(
                "in one piece", help="Every CCG reaches the others through shared borders "
                                     "(or the listed island bridges and river crossings)"),
            "polsby_popper": st.column_config.NumberColumn(
                "compactness", format="%.2f",
                help="Polsby-Popper 4πA/P²: 1 is a circle, near 0 is stringy"),
            "area_km2": st.column_config.NumberColumn("area (km²)", format="localized"),
            "unit_names": st.column_config.TextColumn("CCG names", width="large"),
            "las": st.column_config.TextColumn("LA codes"),
            "problems": st.column_config.TextColumn("broken rules", width="large"),
            "units": st.column_config.TextColumn("CCG codes"),
        },
    )


#: Plain words for the validator's rule names.
RULE_WORDS = {
    "unknown-unit": "unknown codes", "unassigned": "not in a footprint",
    "floor": "below the floor", "ceiling": "above the ceiling",
    "contiguity": "not in one piece", "la-rule": "an LA split between footprints",
    "keep-together": "a keep-together group split", "keep-apart": "a keep-apart pair together",
    "fixed": "a fixed CCG elsewhere", "locked": "a locked footprint changed",
    "count": "number of footprints",
}


def show_violations(violations: list[Any]) -> None:
    """Broken rules under the table; the unassigned CCGs (normal while drawing) in one line."""
    unassigned = [v for v in violations if v.rule == "unassigned"]
    issues = [v for v in violations if v.rule != "unassigned"]
    if issues:
        with st.expander(f"{plural(len(issues), 'rule')} broken", expanded=len(issues) <= 8):
            for v in issues:
                # "footprint 'X' has ..." reads as "**X** has ...": the name is not said twice
                said = f"footprint {v.footprint!r} "
                if v.footprint and v.message.startswith(said):
                    st.markdown(f"- **{esc(v.footprint)}** {md(v.message[len(said):])}")
                    continue
                where = f"**{esc(v.footprint)}**" if v.footprint else "**The plan**"
                st.markdown(f"- {where}, {RULE_WORDS.get(v.rule, v.rule)}: {md(v.message)}")
    elif not unassigned:
        st.success("Every footprint meets the floor and the rules.")
    for v in unassigned:
        st.caption(f"Not finished: {plural(len(v.units), 'CCG')} not yet in a footprint "
                   "(every CCG has to be in one).")


def verdict(result: Mapping[str, Any]) -> tuple[str, str]:
    """(Streamlit message kind, plain sentence) for an optimiser result summary."""
    status = result["status"]
    n = result.get("footprints")
    value = result.get("objective_value")
    bound = result.get("bound")
    moving = ""  # a repair says what it moves
    if result.get("objective") == "fewest-changes" and isinstance(value, int | float):
        what = ("registered patients" if result.get("change_measure") == "population"
                else "CCGs")
        moving = f", moving {value:,.0f} {what} from their footprint in the drawing"
    if status == "optimal":
        return "success", f"Proven best (optimal): {n} footprints{moving}."
    if status == "feasible":
        gap = result.get("gap")
        if moving:
            least = (f"; any plan that meets every rule moves at least {bound:,.0f}"
                     if isinstance(bound, int | float) else "; the fewest possible is not known")
            return "warning", f"Feasible: {n} footprints{moving}{least}."
        if result.get("objective") == "balanced" and isinstance(value, int | float):
            # the gap of a spread is measured against the mean footprint, not the best plan
            spread = f"Feasible: {n} footprints, populations at most {value:,.0f} apart"
            share = f" ({gap:.1%} of the mean footprint)" if gap is not None else ""
            if not bound:
                return "warning", (f"{spread}{share}. No lower bound on the spread was proven, "
                                   "so how much more even a plan can be is not known.")
            return "warning", (f"{spread}; the most even plan is proven at least {bound:,.0f} "
                               f"apart{share}.")
        within = f"within {gap:.1%} of the best possible" if gap is not None else "gap unknown"
        b = f" (bound {bound:,.4g})" if isinstance(bound, int | float) else ""
        return "warning", f"Feasible, {within}{b}: {n} footprints."
    if status == "infeasible":
        reasons = result.get("reasons") or ["the solver proved no plan meets every constraint"]
        return "error", "Infeasible: " + "; ".join(map(str, reasons))
    return "error", (f"No solution within the time limit ({result.get('time_limit', '?')} s). "
                     "Give it more time or relax a constraint.")


def draw_map(ds: Dataset, *, plan: Mapping[str, str], colour_by: str, key: str,
             highlight: tuple[str, ...] = (), events: bool = True, height: int = 620,
             floor: int | None = None) -> None:
    """Draw ``plan``; footprints below ``floor`` (by default the sidebar's) are outlined."""
    g = ds.geography
    opts = st.session_state
    floor = int(opts["floor"]) if floor is None else floor

    def build() -> tuple[Any, Any]:
        data_url = map_data_url(ds)
        base = base_map(
            g, audit=ds.audit, show_lower_tier=opts.get("show_lower", False),
            show_area_teams=opts.get("show_teams", False),
            show_regions=opts.get("show_regions", False),
            links=ds.adjacency.bridges + ds.adjacency.river_crossings,
            tiles=opts.get("tiles", False), leaflet_url=LEAFLET_URL, data_url=data_url,
            zoom_start=6.5 if height >= 600 else 6.0,  # all of England in view either way
        )
        if opts["custom_dataset"] is not None:  # a planner's own units: frame them
            west, south, east, north = (float(v) for v in g.display_units.total_bounds)
            base.fit_bounds([[south, west], [north, east]])
        layer = units_layer(
            g, audit=ds.audit, assignment=plan, colour_by=colour_by, highlight=highlight,
            locked=opts["locked"], floor=floor,
            fill_opacity=0.6 if opts.get("tiles") else 0.75, data_url=data_url,
            instant_clicks=events,
        )
        return base, layer

    built = guarded(build, what="Could not draw the map")
    if built is None:
        return
    base, layer = built
    st_folium(
        base, key=key, height=height, use_container_width=True,
        returned_objects=MAP_EVENTS if events else [],
        feature_group_to_add=layer, on_change=on_map_click if events else None,
    )


# --- views ----------------------------------------------------------------------------------


def view_drawing(ds: Dataset) -> None:
    g = ds.geography
    plan: dict[str, str] = st.session_state["plan"]
    floor = int(st.session_state["floor"])
    names = dict(zip(g.units["code"], g.units["name"], strict=True))
    n_fp = len(set(plan.values()))
    st.markdown(
        f"**{plural(n_fp, 'footprint')}**, {len(plan)} of {len(g.units)} CCGs assigned, "
        f"**{len(g.units) - len(plan)} unassigned** (grey, dashed outline)."
    )
    left, right = st.columns([3, 2], gap="medium")
    with left:
        draw_map(ds, plan=plan, colour_by=st.session_state.get("colour_by", "footprint"),
                 key="ccg_map")
    with right:
        st.subheader("Draw")
        footprints = sorted(set(plan.values()))
        options = [NEW_FOOTPRINT, *(("footprint", f) for f in footprints), UNASSIGN]
        if st.session_state["target"] not in options:
            st.session_state["target"] = NEW_FOOTPRINT
        shown = picker_labels(options)
        st.selectbox("Clicking a CCG puts it in", options, key="target",
                     format_func=shown.__getitem__,
                     help="Choose a footprint, start a new one, or remove CCGs from theirs.")
        labels = unit_labels(ds)
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.selectbox("…or find a CCG by name or code", list(labels), key="pick",
                     format_func=labels.__getitem__, index=None,
                     placeholder="Type a name, ONS or NHS code")
        c2.button("Put in", key="pick_assign", disabled=st.session_state.get("pick") is None,
                  on_click=lambda: assign(st.session_state["pick"], names))
        u1, u2, u3 = st.columns(3)
        u1.button("↶ Undo", on_click=undo, disabled=not st.session_state["history"],
                  width="stretch")
        u2.button("↷ Redo", on_click=redo, disabled=not st.session_state["future"],
                  width="stretch")
        kind, target = st.session_state["target"]
        if kind == "footprint" and target in footprints:
            is_locked = target in st.session_state["locked"]
            u3.button("Unlock" if is_locked else "Lock", width="stretch",
                      on_click=toggle_lock, args=(target,), key="lock_target",
                      help=f"{'Unlock' if is_locked else 'Lock'} {esc(target)}: locked "
                           "footprints cannot be changed by clicks and the optimiser keeps "
                           "them as they are.")
        if st.session_state["locked"]:
            st.caption(md("Locked: " + ", ".join(sorted(st.session_state["locked"]))))
        # popovers, not expanders: their widgets are only built when opened, which
        # takes ~0.4 s off the first page on 2 cores (measured)
        with st.popover("Save the drawing as a scenario", width="stretch"), st.form(
                "save_drawing", clear_on_submit=False, border=False):
                source = st.session_state["loaded_from"]
                if source:
                    st.caption(md(f"This drawing came from scenario {source['name']!r} "
                                  f"(revision {source['revision']}). Saving over it is "
                                  "refused if someone else has saved it since."))
                st.text_input("Scenario name", placeholder="e.g. North option A",
                              key="save_name")
                st.text_area("Notes", height=68, key="save_notes")
                st.checkbox("Replace a saved scenario of the same name", key="save_overwrite")
                st.form_submit_button("Save scenario", on_click=save_drawing)
        with st.popover("Clear the drawing", width="stretch"):
            sure = st.checkbox("Yes, clear every footprint (undo can bring it back)")
            if st.button("Clear", disabled=not sure):
                set_drawing({}, [])
                flash("success", "Cleared the drawing; ↶ Undo brings it back.")
                st.rerun()
    st.subheader("Footprints")
    table = footprint_table(ds, plan, floor)
    show_table(ds, table, floor=floor)
    if plan:
        problem = problem_for(ds, digest_of(ds))
        constraints = Constraints(min_population=floor, la_rule="whole-la")
        issues = guarded(lambda: validate_plan(problem, dict(plan), constraints),
                         what="Could not check the drawing")
        if issues is not None:
            show_violations(issues)


def save_scenario(name: str, plan: Mapping[str, str], *, source: str, notes: str = "",
                  status: str | None = None, constraints_json: str | None = None,
                  overwrite: bool = False, expected_revision: int | None = None,
                  on_conflict: Callable[[], None] | None = None, quiet: bool = False,
                  later: bool = False) -> Scenario | None:
    """Save a plan as a scenario; the saved scenario (with its revision), or ``None`` after
    saying why not.

    ``expected_revision``: the revision the drawing was loaded from; the save replaces the
    scenario only if nobody saved it since, else ``on_conflict`` is called and the refusal
    (who saved when) is shown. A new name is refused if someone else takes it first.
    """
    folder: list[Path] = []

    def _save() -> Scenario:
        scenario = Scenario(name=name, assignment=dict(plan), source=source, notes=notes,
                            status=status, constraints_json=constraints_json,
                            locked=tuple(c for c, f in plan.items()
                                         if f in st.session_state["locked"]))
        s = store()
        try:
            saved = s.save(scenario, overwrite=overwrite or expected_revision is not None,
                           expected_revision=expected_revision)
        except ScenarioConflictError:
            if on_conflict is not None:
                on_conflict()
            raise
        except OSError as exc:  # a folder that went read-only or full since it was checked
            raise ScenarioError(f"the scenario folder {s.folder} cannot be written to "
                                f"({exc.strerror}); nothing was saved") from None
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
    """The save form's callback: its messages go to the top of the page, not the popover.

    Saving over the scenario the drawing was loaded from names the revision loaded, so
    that work someone else saved there since is never replaced: the planner is told who
    saved when, and offered to save the drawing as a copy instead (:func:`save_copy`).
    """
    s = st.session_state
    source = s["loaded_from"]
    name = str(s["save_name"]).strip()
    over_source = bool(s["save_overwrite"] and source and name == source["name"])
    pending = {"name": name, "plan": dict(s["plan"]), "notes": s["save_notes"]}
    remember_source(save_scenario(
        name, s["plan"], source="drawn", notes=s["save_notes"], overwrite=s["save_overwrite"],
        expected_revision=source["revision"] if over_source else None,
        on_conflict=lambda: s.update(save_conflict=pending), later=True))


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
        remember_source(save_scenario(copy_name(conflict["name"]), conflict["plan"],
                                      source="drawn", notes=conflict["notes"], later=True))


def fresh_scenario_name() -> str:
    """'Optimised 2013-04-01 09:30', with ' (2)', ' (3)'... if that name is saved already."""
    base = f"Optimised {datetime.now():%Y-%m-%d %H:%M}"
    try:
        taken = {sc.name for sc in store().scan().scenarios}
    except (FootprintError, OSError):  # an unreadable folder is reported where it is listed
        taken = set()
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    return name


def rule_lines(text: str, *, box: str, kind: RuleKind,
               lookup: Mapping[str, str]) -> tuple[list[tuple[str, ...]], list[str]]:
    """Each filled line of a rule box read as a rule, and what is wrong, by box and line."""
    return read_rules(((f"{box}, line {n}", line)
                       for n, line in enumerate(text.splitlines(), start=1)
                       if line.strip(" ,;\t")), kind=kind, lookup=lookup, unit="CCG")


def view_optimise(ds: Dataset) -> None:
    g = ds.geography
    label = g.population_label
    short = short_label(ds)
    plan = st.session_state["plan"]
    labels = unit_labels(ds)
    links = list(ds.adjacency.bridges) + list(ds.adjacency.river_crossings)
    st.subheader("Optimise")
    st.caption(md(f"Population: {label}. The result is saved as a new scenario; your drawing "
                  "is only replaced if you ask."))
    # results are saved as scenarios: say now, not after a long run, if they cannot be
    store_or_say("Results cannot be saved as scenarios, but you can still run the optimiser "
                 "and load a result into the drawing")
    with st.form("optimise"):
        c1, c2, c3 = st.columns(3)
        floor = c1.number_input(f"Floor: at least this many {esc(short)}", min_value=0,
                                step=10_000, value=int(st.session_state["floor"]),
                                help=f"Per footprint, in {esc(label)}")
        max_pop = c2.number_input(f"Ceiling: at most this many {esc(short)} (0 = none)",
                                  min_value=0, step=50_000, value=0)
        objective = c3.selectbox(
            "Objective", ["max-footprints", "compact", "balanced", "fewest-changes"],
            help="max-footprints: as many footprints as possible; compact: rounder shapes; "
                 "balanced: populations close to each other; fewest-changes: stay near the drawing")
        c4, c5, c6 = st.columns(3)
        n_mode = c4.radio("Number of footprints", ["any", "exactly", "between"], horizontal=True)
        n_lo = c5.number_input("n (or lowest)", min_value=1, value=30)
        n_hi = c6.number_input("highest (for between)", min_value=1, value=60)
        c7, c8, c9 = st.columns(3)
        la_rule = c7.selectbox("LA rule", ["whole-la", "off"],
                               help="whole-la: CCGs of one local authority stay together")
        time_limit = c8.number_input("Time limit (s)", min_value=1.0, max_value=3600.0,
                                     value=60.0, step=10.0)
        solver = c9.selectbox("Solver", ["highs", "cbc"])
        start = st.radio(
            "Start from", ["Scratch", "My drawing"], horizontal=True,
            help="fewest-changes always starts from the drawing and moves as few CCGs as it "
                 "can; the other objectives take the drawing as a first plan to beat")
        lock_drawn = st.checkbox(f"Keep my locked footprints ({len(st.session_state['locked'])})",
                                 value=True)
        with st.expander("More rules: keep together or apart, fixed CCGs, borders switched off"):
            st.caption("Name CCGs by ONS code, NHS code or name, separated by commas.")
            keep_together = st.text_area(
                "Keep together (one group per line)", height=68,
                placeholder="E38000001, E38000002")
            keep_apart = st.text_area("Keep apart (one pair per line)", height=68,
                                      placeholder="NHS Kernow, NHS North, East, West Devon")
            fixed = st.text_area("Fixed CCGs (one per line: CCG, footprint name)", height=68,
                                 placeholder="99Q, South West")
            off_bridges = st.multiselect(
                "Switch off island bridges or river crossings", [f"{a}–{b}" for a, b in links],
                help="Boundaries clipped to the coast stop at tidal rivers: CCGs facing each "
                     "other across the Thames in London or the Tyne are joined by a crossing",
                format_func=lambda s: " ↔ ".join(labels.get(c, c) for c in s.split("–")))
            off_edges = st.text_area("Switch off other adjacencies (one pair per line)",
                                     height=68, placeholder="E38000001, E38000002")
        # keyed, with its default set once: a default that changed with the clock would make
        # a new widget each minute and drop the name the planner typed
        if st.session_state.pop("opt_name_used", False) or "opt_name" not in st.session_state:
            st.session_state["opt_name"] = fresh_scenario_name()
        name = st.text_input("Name of the new scenario", key="opt_name")
        submitted = st.form_submit_button("Run the optimiser", type="primary")
    if submitted:
        u = g.units
        lookup = unit_lookup(u["code"], names=u["name"], nhs_codes=u["nhs_code"])
        together, bad_together = rule_lines(keep_together, box="Keep together", kind="group",
                                            lookup=lookup)
        apart, bad_apart = rule_lines(keep_apart, box="Keep apart", kind="pair", lookup=lookup)
        fixed_lines, bad_fixed = rule_lines(fixed, box="Fixed CCGs", kind="fixed",
                                            lookup=lookup)
        off_lines, bad_off = rule_lines(off_edges, box="Switch off other adjacencies",
                                        kind="pair", lookup=lookup)
        problems = [*bad_together, *bad_apart, *bad_fixed, *bad_off]
        if objective == "fewest-changes" and not plan:
            problems.append("fewest-changes repairs the drawing, and the drawing is empty: draw "
                            "footprints on the map or load a saved scenario into it first")
        locked_fps = tuple(st.session_state["locked"]) if lock_drawn else ()
        n_footprints: int | tuple[int, int] | None = None
        if n_mode == "exactly":
            n_footprints = int(n_lo)
        elif n_mode == "between":
            n_footprints = (int(n_lo), int(n_hi))
        disabled = [tuple(s.split("–")) for s in off_bridges]
        disabled += off_lines
        fixed_map = dict(fixed_lines)
        fixed_map.update({c: f for c, f in plan.items() if f in locked_fps})

        def make() -> Any:
            try:
                built = Constraints(
                    min_population=int(floor), max_population=int(max_pop) or None,
                    n_footprints=n_footprints, la_rule=la_rule,
                    keep_together=tuple(frozenset(grp) for grp in together),
                    keep_apart=tuple(apart),
                    fixed=fixed_map, locked=locked_fps, disabled_edges=tuple(disabled),
                    time_limit=float(time_limit), solver=solver, objective=objective)
            except ConstraintsError as exc:  # one list: the boxes' problems and these
                raise ConstraintsError("The constraints are not usable",
                                       problems=[*problems, *exc.problems]) from None
            if problems:
                raise ConstraintsError("The constraints are not usable", problems=problems)
            return built

        constraints = guarded(make, what="The constraints are not usable")
        if constraints is not None:
            # the drawing goes along when it is the start, the plan to repair, or holds
            # locked footprints to keep
            use_drawing = (start == "My drawing" or objective == "fewest-changes"
                           or bool(locked_fps))
            run_optimiser(ds, constraints, name=name, current=dict(plan) if use_drawing else None)
    show_last_result(ds)


def run_optimiser(ds: Dataset, constraints: Any, *, name: str,
                  current: dict[str, str] | None) -> None:
    problem = problem_for(ds, digest_of(ds))
    with st.status("Optimising…", expanded=True) as status:
        line = st.empty()

        def progress(message: Any, *args: Any) -> None:
            line.markdown(md(message))

        result = guarded(lambda: optimise(problem, constraints, current=current,
                                          progress=progress), what="Could not optimise")
        if result is None:
            status.update(label="Could not optimise", state="error")
            return
        status.update(label=f"Finished: {result.status} in {result.seconds:.1f} s",
                      state="complete" if result.status in ("optimal", "feasible") else "error",
                      expanded=False)
    summary = {
        "status": result.status, "footprints": result.footprints, "gap": result.gap,
        "bound": result.bound, "objective": result.objective, "seconds": result.seconds,
        "objective_value": result.objective_value,
        "solver": f"{result.solver} ({result.solver_version})", "log": result.log,
        "reasons": list(result.reasons or ()), "time_limit": constraints.time_limit,
        "assignment": dict(result.assignment or {}), "name": None,
        "reproduce": dict(result.reproduce or {}),
        "table": result.table, "floor": constraints.min_population,
        "change_measure": constraints.change_measure,
    }
    if summary["assignment"]:
        _kind, sentence = verdict(summary)
        saved = save_scenario(name, summary["assignment"], source="optimiser",
                              status=result.status, constraints_json=constraints.to_json(),
                              notes=sentence, quiet=True)
        summary["name"] = saved.name if saved else None
        summary["revision"] = saved.revision if saved else None
        st.session_state["opt_name_used"] = saved is not None  # the next run offers a new name
    st.session_state["last_result"] = summary


def load_into_drawing(plan: Mapping[str, str], what: str,
                      scenario: tuple[str, int] | None = None) -> None:
    """Replace the drawing; ``scenario``: the (name, revision) of the saved scenario it is."""
    set_drawing(plan, [])
    st.session_state["loaded_from"] = (
        {"name": scenario[0], "revision": scenario[1]} if scenario else None)
    st.session_state["save_conflict"] = None
    flash("success", f"Loaded {what} into the drawing (undo brings the previous drawing back).")


def show_last_result(ds: Dataset) -> None:
    res = st.session_state["last_result"]
    if not res:
        return
    kind, sentence = verdict(res)
    getattr(st, kind)(md(sentence))
    saved = (f"saved as scenario {res['name']!r}" if res["name"]
             else "not saved as a scenario" if res["assignment"] else "")
    st.caption(md(f"Solver {res['solver']}, {res['seconds']:.1f} s"
                  + (f"; {saved}" if saved else "")))
    if res["assignment"]:
        floor = int(res.get("floor") or st.session_state["floor"])
        table = res.get("table")
        if table is None:
            table = footprint_table(ds, res["assignment"], floor)
        if table is not None and len(table):
            st.caption(md(f"Smallest footprint {int(table['population'].min()):,}, largest "
                          f"{int(table['population'].max()):,} {short_label(ds)}."))
        # the run's own floor, as in the table below: the sidebar's may differ
        draw_map(ds, plan=res["assignment"], colour_by="footprint", key="result_map",
                 events=False, height=520, floor=floor)
        show_table(ds, table, floor=floor)
        replace_ok = not st.session_state["plan"] or st.checkbox(
            "Replace my drawing with this result", key="confirm_result")
        saved = (res["name"], res["revision"]) if res["name"] and res.get("revision") else None
        st.button("Load the result into the drawing", disabled=not replace_ok,
                  on_click=load_into_drawing,
                  args=(res["assignment"], "the optimiser's result", saved))
    if res.get("reproduce"):
        with st.expander("How to reproduce this run"):
            st.json(res["reproduce"], expanded=True)
    with st.expander("Solver log"):
        st.code(res["log"] or "(empty)", language=None)


def plan_choices(ds: Dataset, scenarios: list[Scenario]) -> dict[tuple[str, str], dict[str, str]]:
    """Every plan the planner can compare, keyed by (kind, id): the drawing, the reference
    plans, an imported plan and the saved scenarios (``picker_labels`` says what each shows).
    """
    out: dict[tuple[str, str], dict[str, str]] = {DRAWING: dict(st.session_state["plan"])}
    for column in ("area_team_code", "region_code"):
        if column in ds.geography.units:
            out[("reference", column)] = reference_plan(ds.geography, column)
    imported = st.session_state["imported_plan"]
    if imported:
        out[("imported", imported.get("file") or "")] = dict(imported["assignment"])
    for sc in scenarios:
        out[("scenario", sc.name)] = dict(sc.assignment)
    return out


def distinct(scenarios: tuple[Scenario, ...] | list[Scenario]) -> list[Scenario]:
    """The scenarios with one per name (the first): a file copied in by hand can repeat one."""
    seen: set[str] = set()
    return [sc for sc in scenarios if not (sc.name in seen or seen.add(sc.name))]


def picker(where: Any, label: str, options: list[tuple[str, str]], *, key: str,
           index: int = 0) -> tuple[str, str]:
    """A selectbox over (kind, id) choices, showing ``picker_labels``; returns the choice.

    A choice kept from an earlier run that is gone now (a deleted scenario) is dropped
    first, so the box falls back to ``index``.
    """
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
    shown = picker_labels(options)
    chosen = where.selectbox(label, options, key=key, index=index,
                             format_func=lambda o: shown.get(o, str(o)))
    return chosen if chosen in options else options[index]


def _when(stamp: str) -> str:
    """An ISO time stamp as the planner reads it, in local time ("2013-04-01 09:30")."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(stamp)


def view_scenarios(ds: Dataset) -> None:
    st.subheader("Saved scenarios")
    s = store_or_say("Saved scenarios are not available; the comparisons below still work")
    scenarios: list[Scenario] = []
    if s is not None:
        st.caption(md(f"Saved as JSON files in {s.folder.resolve()}: back that folder up to "
                      "keep them."))
        listing = guarded(s.scan, what="Could not read the scenario folder")
        scenarios = distinct(listing.scenarios) if listing is not None else []
        for path, reason in getattr(listing, "unreadable", ()) or ():
            st.warning(md(f"Skipped {path.name}, which could not be read (left in place): "
                          f"{reason}"))
    if scenarios:
        st.dataframe(pd.DataFrame([{
            "name": sc.name, "created": _when(sc.created),
            "last saved": _when(sc.updated or sc.created), "revision": sc.revision,
            "source": sc.source, "status": sc.status or "",
            "footprints": len(set(sc.assignment.values())), "CCGs": len(sc.assignment),
            "notes": sc.notes} for sc in scenarios]), hide_index=True, width="stretch")
        # only saved scenarios in this box, so their names need no tag
        chosen = st.selectbox("Scenario", [sc.name for sc in scenarios], key="scenario_pick")
        sc = next(x for x in scenarios if x.name == chosen)
        c1, c2 = st.columns(2)
        with c1:
            ok = not st.session_state["plan"] or st.checkbox(
                "Replace my drawing with it", key="confirm_load")
            st.button("Load into the drawing", disabled=not ok, on_click=load_into_drawing,
                      args=(sc.assignment, f"scenario {sc.name!r}", (sc.name, sc.revision)),
                      key="load_scenario")
        with c2:
            sure = st.checkbox("Delete it for good", key="confirm_delete")
            # the revision shown: someone else's later save of it is not deleted unseen
            if st.button("Delete", disabled=not sure, key="delete_scenario") and guarded(
                    lambda: s.delete(chosen, expected_revision=sc.revision) or True,
                    what="Could not delete the scenario"):
                flash("success", f"Deleted scenario {chosen!r}.")
                st.rerun()
    elif s is not None:
        st.info("No saved scenarios yet: save a drawing or run the optimiser.")

    st.subheader("Compare two plans")
    plans = plan_choices(ds, scenarios)
    options = list(plans)
    c1, c2 = st.columns(2)
    a = picker(c1, "Plan A", options, key="cmp_a")
    b = picker(c2, "Plan B", options, key="cmp_b", index=min(1, len(options) - 1))
    if a == b:
        st.info("Choose two different plans.")
        return
    shown = picker_labels(options)
    g = ds.geography
    pops = dict(zip(g.units["code"], g.units["population"].astype(int), strict=True))
    names_of = dict(zip(g.units["code"], g.units["name"], strict=True))
    cmp = guarded(lambda: compare_plans(plans[a], plans[b], populations=pops, names=names_of),
                  what="Could not compare the plans")
    if cmp is None:
        return
    m1, m2, m3 = st.columns(3)
    short = esc(short_label(ds).capitalize())
    m1.metric(f"{short} kept together", f"{cmp.share_kept_together:.1%}",
              help=f"Share of {esc(g.population_label)} whose footprint matches between "
                   "A and B")
    m2.metric("CCGs that moved", f"{cmp.n_moved:,}")
    m3.metric(f"{short} in moved CCGs", f"{cmp.population_moved:,}")
    moved = tuple(cmp.moves["unit_code"]) if len(cmp.moves) else ()
    st.caption(f"Map: plan B coloured by footprint; the {len(moved)} CCGs that moved have a bold "
               "black outline.")
    draw_map(ds, plan=plans[b], colour_by="footprint", key="compare_map", highlight=moved,
             events=False, height=520)
    st.dataframe(cmp.moves, hide_index=True, width="stretch", column_config={
        "unit_code": "CCG code", "name": "CCG",
        "population": st.column_config.NumberColumn(short_label(ds), format="localized"),
        "from_footprint": f"footprint in A ({shown[a]})",
        "to_footprint": f"footprint in B ({shown[b]})"})


def export_metadata(ds: Dataset, name: str, sc: Scenario | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"scenario": name, "population": ds.geography.population_label}
    if sc is not None:
        meta.update(status=sc.status or "", source=sc.source, notes=sc.notes)
        if sc.constraints_json:
            meta["constraints"] = sc.constraints_json
    else:
        meta.update(source="drawn", status="drawing")
    return meta


def upload_key(up: Any) -> tuple[str, str, int]:
    """What tells one upload from another: Streamlit's id for it (a hash of the bytes where
    there is none), its name and size."""
    ident = getattr(up, "file_id", None) or hashlib.sha256(up.getvalue()).hexdigest()
    return str(ident), str(up.name), int(getattr(up, "size", 0) or 0)


def once(slot: str, key: Any, work: Callable[[], Any]) -> Callable[[], Any]:
    """``work`` done once per ``key`` (an upload), its outcome kept in session state.

    Reading a large upload again on every rerun (each click) took seconds and gigabytes;
    this keeps the last outcome, result or error, of each ``slot`` (one upload box) and
    returns a call that gives it back (raising the error again), for :func:`guarded`.
    """
    held = st.session_state.get(slot)
    if held is None or held[0] != key:
        try:
            outcome: tuple[Any, BaseException | None] = (work(), None)
        except Exception as exc:
            if not isinstance(exc, FootprintError):
                log.exception("unexpected error reading an upload (%s)", slot)
            # kept without its traceback, whose frames would keep the file's contents alive
            exc.__traceback__ = exc.__context__ = exc.__cause__ = None
            outcome = (None, exc)
        held = (key, outcome)
        st.session_state[slot] = held
    value, error = held[1]

    def again() -> Any:
        if error is not None:
            raise error
        return value

    return again


def view_import_export(ds: Dataset) -> None:
    g = ds.geography
    st.subheader("Export")
    s = store_or_say("Saved scenarios cannot be exported; the drawing can")
    listing = s and guarded(s.scan, what="Could not read the scenario folder")
    saved = distinct(listing.scenarios) if listing else []
    by_option: dict[tuple[str, str], Scenario | None] = {
        DRAWING: None, **{("scenario", sc.name): sc for sc in saved}}
    which = picker(st, "Plan to export", list(by_option), key="export_pick")
    sc = by_option[which]
    name = OWN_LABELS[DRAWING] if sc is None else sc.name
    plan = dict(st.session_state["plan"]) if sc is None else dict(sc.assignment)
    meta = export_metadata(ds, name, sc)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "plan"
    if not plan:
        st.info(md(f"{picker_labels(list(by_option))[which]} has no footprints yet: the files "
                   "will list every CCG with an empty footprint. Draw on the map, or pick a "
                   "saved scenario above."))
    cols = st.columns(len(EXPORT_FORMATS))
    for col, (key, fmt) in zip(cols, EXPORT_FORMATS.items(), strict=True):
        col.download_button(
            fmt.label, data=_exporter(fmt.function, ds, plan, meta),
            file_name=f"{stem}{fmt.extension}", mime=fmt.mime, key=f"dl_{key}",
            on_click="ignore", width="stretch")
    st.caption(md("The CSV has one row per CCG, unit_code,footprint; codes stay text. Every "
                  "file carries the attribution and says that population means "
                  f"{g.population_label}."))

    st.subheader("Import a plan (CSV)")
    up = st.file_uploader("A CSV with columns unit_code, footprint", type=["csv", "txt"],
                          key="plan_csv")
    if up is None:
        st.session_state.pop("plan_csv_read", None)  # let the last file's contents go
    else:
        def read() -> Any:
            nhs = {h: c for c, h in zip(g.units["code"], g.units["nhs_code"], strict=True)
                   if h}
            return read_plan_csv(up.getvalue(), known_codes=list(g.units["code"]),
                                 nhs_codes=nhs)

        imp = guarded(once("plan_csv_read", (upload_key(up), digest_of(ds)), read),
                      what=f"Could not read {up.name}", drop="the plan file")
        if imp is not None:
            show_import(imp, up.name)
    own_geography()


def _exporter(fn: Callable[..., bytes], ds: Dataset, plan: dict[str, str],
              meta: dict[str, Any]) -> Callable[[], bytes]:
    def make() -> bytes:
        # runs when the button is pressed, outside the script: a failure becomes a short
        # text file that says what went wrong (and the log has the details), never a traceback
        try:
            return fn(ds.geography, plan, metadata=meta)
        except Exception as exc:
            log.exception("export failed (%s)", getattr(fn, "__name__", fn))
            why = str(exc) if isinstance(exc, FootprintError) else "an unexpected error"
            return (f"The export could not be made: {why}. Your drawing and saved scenarios "
                    "are unchanged; the app log has the details.\n").encode()

    return make


def show_import(imp: Any, file_name: str) -> None:
    """What an imported plan file holds; every problem in it in one message."""
    problems = [*(getattr(imp, "problems", ()) or ())]
    if imp.unknown_codes:
        problems.append(f"{len(imp.unknown_codes)} code(s) are not CCGs of this geography: "
                        + ", ".join(map(str, imp.unknown_codes[:15]))
                        + (", …" if len(imp.unknown_codes) > 15 else ""))
    if imp.duplicates:
        problems.append(f"{len(imp.duplicates)} CCG(s) appear more than once: "
                        + ", ".join(map(str, imp.duplicates[:15]))
                        + (", …" if len(imp.duplicates) > 15 else ""))
    if imp.missing:
        st.warning(f"{len(imp.missing)} CCG(s) are not in the file; they will be unassigned.")
    if problems:
        st.error(md(listed(f"{file_name}: {plural(len(problems), 'problem')} in the file",
                           problems)))
    if not imp.assignment:
        st.error(md(f"{file_name}: no valid rows to load."))
        return
    n = len(imp.assignment)
    st.info(md(f"{file_name}: {n} valid row(s) in {len(set(imp.assignment.values()))} "
               "footprints."))
    st.session_state["imported_plan"] = {"assignment": dict(imp.assignment), "file": file_name}
    ok = st.checkbox(f"Load these {n} rows" + (" (ignoring the problems above)" if problems
                                                else "") + ", replacing my drawing",
                     key="confirm_import")
    st.button("Load the imported plan", disabled=not ok, on_click=load_into_drawing,
              args=(dict(imp.assignment), f"the plan from {file_name}"), key="load_import")


def upload_columns(up: Any, slot: str) -> list[str] | None:
    """Column names of an uploaded geography file, read once per upload (``None``: refused,
    with the reason shown)."""
    if up is None:
        st.session_state.pop(slot, None)
        return None
    read = once(slot, upload_key(up), lambda: inspect_upload_columns((up.name, up.getvalue())))
    return guarded(read, what=f"Could not use {up.name}", drop=up.name)


def own_geography() -> None:
    st.subheader("Use your own boundaries and populations")
    st.caption("Boundaries: GeoJSON, GeoPackage, TopoJSON or a zipped shapefile, one feature per "
               "unit. Populations: a CSV with a code column and a population column.")
    if st.session_state["custom_dataset"] is not None and st.button(
            "Go back to the England 2013 CCGs (and the drawing made on them)"):
        switch_geography(None)
        flash("success", "Back on the England 2013 CCGs, with the drawing you left there.")
        st.rerun()
    b = st.file_uploader("Boundary file", type=["geojson", "json", "gpkg", "topojson", "zip"],
                         key="own_boundaries")
    p = st.file_uploader("Population CSV", type=["csv", "txt"], key="own_population")
    # each file is checked as soon as it arrives (once), so a bad one is reported at once
    bcols = upload_columns(b, "own_boundaries_read")
    pcols = upload_columns(p, "own_population_read")
    if not bcols or not pcols:
        if (b is None) != (p is None) and (bcols or pcols):
            st.caption("Add the " + ("population CSV" if p is None else "boundary file")
                       + " to go on.")
        return
    c1, c2, c3, c4 = st.columns(4)
    code_col = c1.selectbox("Code column (boundaries)", bcols)
    pcode_col = c2.selectbox("Code column (populations)", pcols)
    pop_col = c3.selectbox("Population column", pcols, index=len(pcols) - 1)
    name_col = c4.selectbox("Name column (optional)", [None, *bcols])
    pop_label = st.text_input("What the population counts", value="residents")
    if st.button("Use these files"):
        def build() -> Dataset:
            geo = load_uploaded_geography(
                (b.name, b.getvalue()), (p.name, p.getvalue()), code_column=code_col,
                population_column=pop_col, population_code_column=pcode_col,
                name_column=name_col, population_label=pop_label)
            return Dataset.from_geography(geo)

        with st.spinner("Checking the files and building the geography…"):
            custom = guarded(build, what="Could not use these files")
        if custom is not None:
            switch_geography(custom)
            flash("success", f"Now planning on {custom.geography.name!r} "
                             f"({len(custom.geography.units)} units).")
            st.rerun()


# --- page -----------------------------------------------------------------------------------

#: Each view's function, by the name the sidebar gives it.
VIEW_FUNCTIONS: dict[str, Callable[[Dataset], None]] = dict(zip(
    VIEWS, (view_drawing, view_optimise, view_scenarios, view_import_export), strict=True))


def main() -> None:
    # The view comes first and the sidebar last: the page then streams the map to the browser
    # before the sidebar's widgets (the settings are read from session state, set up first).
    # Whatever happens in the view, the sidebar and its navigation are drawn.
    ds = None
    try:
        init_state()
        ds = guarded(dataset, what="Could not load the reference data")
        if ds is not None:
            view = st.session_state["view"]
            in_place(lambda: show_view(ds, view), where=f"the view {view!r}")
            in_place(lambda: population_note(ds), where="the population note",
                     message="The note on what population counts could not be shown.")
    finally:
        sidebar(ds)


def show_view(ds: Dataset, view: str) -> None:
    """The clicks the map reported, queued messages, then the chosen view."""
    g = ds.geography
    labels = dict(zip(g.units["code"], g.units["name"], strict=True))
    clicked, st.session_state["clicked"] = st.session_state["clicked"], []
    for code in clicked:
        if code in labels:
            assign(code, labels)
    show_flash()
    VIEW_FUNCTIONS.get(view, view_drawing)(ds)


def sidebar(ds: Dataset | None) -> None:
    """Title, navigation and settings; the navigation is drawn even when the rest fails."""
    broken = "The sidebar hit an unexpected problem; the views still work."
    with st.sidebar:
        st.title("CSU footprint planner")
        if ds is not None:
            g = ds.geography
            in_place(lambda: st.caption(md(f"{g.name}: {len(g.units)} units, "
                                           f"{g.population_total:,} {g.population_label}.")),
                     where="the sidebar", message=broken)
        st.radio("View", VIEWS, key="view")
        if ds is not None:
            in_place(lambda: settings(ds), where="the sidebar's settings", message=broken)


def settings(ds: Dataset) -> None:
    g = ds.geography
    short = esc(short_label(ds))
    st.number_input(f"Population floor ({short})", min_value=0, step=10_000,
                    key="floor", help=f"Each footprint needs at least this many "
                                      f"{esc(g.population_label)}.")
    st.caption(f"= {int(st.session_state['floor']):,} {short} per footprint")
    st.radio("Colour CCGs by", ["footprint", "population"], key="colour_by",
             horizontal=True)
    st.markdown("**Reference layers**")
    st.checkbox("Lower-tier LA boundaries", key="show_lower")
    st.checkbox("NHS Area Teams (25)", key="show_teams")
    st.checkbox("NHS Regions (4)", key="show_regions")
    st.checkbox("Background map (OpenStreetMap, needs internet)", key="tiles")


main()
