"""Map and drawing: click CCGs into footprints, undo, lock, save; the table and broken rules.

The map never moves: the line above it is always one line, and every message (what a
click did, a refused save) is shown beside it, in the Draw panel, so that a planner
clicking quickly always hits the CCG aimed at. Beside the map too, at 1440 px wide, is the
table of footprints, where names are typed and footprints locked; the details of every
footprint and the broken rules are under the map.

Every action goes through :class:`footprint.drawing.Drawing` (undoable, kept under the
address's ``?d=``): a click, a painted LA block or Area Team, a selection of several
CCGs (shift-click or a box drawn with shift, sent from the map), a rename or a lock.
"""

from __future__ import annotations

import streamlit as st

from app_pages.shared import (
    NEW_FOOTPRINT,
    UNASSIGN,
    assign,
    dataset,
    digest_of,
    draw_map,
    drawing,
    esc,
    flash,
    footprint_table,
    guarded,
    la_rule,
    md,
    picker_labels,
    plural,
    problem_for,
    redo,
    save_drawing,
    set_drawing,
    set_target,
    show_flash,
    show_table,
    toggle_lock,
    undo,
    unit_labels,
    unit_names,
    unit_word,
    units,
    units_word,
)
from footprint import Constraints, validate_plan
from footprint.form import drawing_message

#: Plain words for the validator's rule names.
RULE_WORDS = {
    "unknown-unit": "unknown codes",
    "unassigned": "not in a footprint",
    "floor": "below the floor",
    "ceiling": "above the ceiling",
    "contiguity": "not in one piece",
    "la-rule": "an LA split between footprints",
    "keep-together": "a keep-together group split",
    "keep-apart": "a keep-apart pair together",
    "fixed": "a fixed unit elsewhere",
    "locked": "a locked footprint changed",
    "count": "number of footprints",
}


def show_violations(ds, violations: list) -> None:
    """Broken rules under the table; the unassigned CCGs (normal while drawing) in one line.

    What a rule suggests doing that only the Optimise page can do says so.
    """
    unassigned = [v for v in violations if v.rule == "unassigned"]
    issues = [v for v in violations if v.rule != "unassigned"]
    if issues:
        with st.expander(f"{plural(len(issues), 'rule')} broken", expanded=len(issues) <= 8):
            for v in issues:
                message = drawing_message(v.message)
                # "footprint 'X' has ..." reads as "**X** has ...": the name is not said twice
                said = f"footprint {v.footprint!r} "
                if v.footprint and message.startswith(said):
                    st.markdown(f"- **{esc(v.footprint)}** {md(message[len(said) :])}")
                    continue
                where = f"**{esc(v.footprint)}**" if v.footprint else "**The plan**"
                st.markdown(f"- {where}, {RULE_WORDS.get(v.rule, v.rule)}: {md(message)}")
    elif not unassigned:
        st.success("Every footprint meets the floor and the rules.")
    for v in unassigned:
        st.caption(
            md(
                f"Not finished: {units(ds, len(v.units))} not yet in a footprint "
                f"(every {unit_word(ds)} has to be in one)."
            )
        )


def keep_target(key: str) -> None:
    """The choice of footprint outlives the widget (which is forgotten on other pages)."""
    st.session_state["draw_target"] = st.session_state[key]


#: Each paint box and the state it sets (kept across pages, where the boxes are forgotten).
PAINT_BOXES = {"paint_box": "paint_block", "paint_team_box": "paint_team"}


def paint_only(box: str) -> None:
    """Ticking one paint box unticks the other: a click paints one kind of group."""
    s = st.session_state
    on = bool(s[box])
    for other, state in PAINT_BOXES.items():
        s[state] = on and other == box
        if other != box and other in s:
            s[other] = False


def paint_boxes(ds, one: str, many: str) -> None:
    """What one click paints: the CCG, its LA block or its Area Team (at most one box on)."""
    s = st.session_state
    if ds.geography.has_la_layer:  # LA blocks exist only where there is an LA layer
        st.checkbox(
            "Paint whole LA blocks",
            value=s["paint_block"],
            key="paint_box",
            on_change=paint_only,
            args=("paint_box",),
            help=f"A click puts in every {one} of the clicked {one}'s LA block (the "
            f"{many} the LA rule keeps together), in one step that one undo "
            "takes back.",
        )
    if "area_team_code" in ds.geography.units.columns:
        st.checkbox(
            "Paint whole Area Teams",
            value=s["paint_team"],
            key="paint_team_box",
            on_change=paint_only,
            args=("paint_team_box",),
            help=f"A click puts in every {one} of the clicked {one}'s NHS Area Team, in "
            "one step that one undo takes back.",
        )


def find_box(ds, one: str, names) -> None:
    """A unit found by name or code, put in the chosen footprint."""
    s = st.session_state
    labels = unit_labels(ds)
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox(
        f"…or find a {one} by name or code",
        list(labels),
        key="pick",
        format_func=labels.__getitem__,
        index=None,
        placeholder="Type a name or code",
    )
    c2.button(
        "Put in",
        key="pick_assign",
        disabled=s.get("pick") is None,
        on_click=lambda: assign(s["pick"], names),
    )


def save_and_clear() -> None:
    """Save the drawing as a scenario, or clear it (undo brings it back)."""
    s = st.session_state
    # popovers, not expanders: their widgets are only built when opened, which
    # takes ~0.4 s off the first page on 2 cores (measured)
    with (
        st.popover("Save the drawing as a scenario", width="stretch"),
        st.form("save_drawing", clear_on_submit=False, border=False),
    ):
        source = s["loaded_from"]
        if source:
            st.caption(
                md(
                    f"This drawing came from scenario {source['name']!r} "
                    f"(revision {source['revision']}). Saving over it is "
                    "refused if someone else has saved it since."
                )
            )
        st.text_input("Scenario name", placeholder="e.g. North option A", key="save_name")
        st.text_area("Notes", height=68, key="save_notes")
        st.checkbox("Replace a saved scenario of the same name", key="save_overwrite")
        st.form_submit_button("Save scenario", on_click=save_drawing)
    with st.popover("Clear the drawing", width="stretch"):
        sure = st.checkbox("Yes, clear every footprint (undo can bring it back)")
        if st.button("Clear", disabled=not sure):
            set_drawing({})
            flash("success", "Cleared the drawing; ↶ Undo brings it back.")
            st.rerun()


def draw_panel(ds, table, floor: int) -> None:
    """The Draw panel beside the map: target, undo/redo/lock, messages, the table of
    footprints (names and locks edited in place), painting and selecting, search, save."""
    s = st.session_state
    d = drawing()
    names = unit_names(ds)
    one, many = esc(unit_word(ds)), esc(units_word(ds))
    st.subheader("Draw")
    footprints = sorted(set(d.assignment.values()))
    options = [NEW_FOOTPRINT, *(("footprint", f) for f in footprints), UNASSIGN]
    if s["draw_target"] not in options:
        set_target(NEW_FOOTPRINT)
    shown = picker_labels(options)
    # a key of its own for each choice the app made (a click that starts a footprint makes
    # it the target): a click sent before the browser has shown the app's choice carries
    # the box's old value, which must not count as the planner choosing it again
    key = f"target-{s['target_version']}"
    st.selectbox(
        f"Clicking a {one} puts it in",
        options,
        key=key,
        index=options.index(s["draw_target"]),
        format_func=shown.__getitem__,
        on_change=keep_target,
        args=(key,),
        help=f"Choose a footprint, start a new one, or remove {many} from theirs.",
    )
    u1, u2, u3 = st.columns(3)
    u1.button("↶ Undo", on_click=undo, disabled=not d.can_undo, width="stretch")
    u2.button("↷ Redo", on_click=redo, disabled=not d.can_redo, width="stretch")
    kind, target = s["draw_target"]
    if kind == "footprint" and target in footprints:
        is_locked = target in d.locked
        u3.button(
            "Unlock" if is_locked else "Lock",
            width="stretch",
            on_click=toggle_lock,
            args=(target,),
            key="lock_target",
            help=f"{'Unlock' if is_locked else 'Lock'} {esc(target)}: locked "
            "footprints cannot be changed by clicks and the optimiser keeps "
            "them as they are.",
        )
    # messages here, beside the map, never above it: the map keeps its place
    show_flash(st.container())
    if d.locked:
        st.caption(md("Locked: " + ", ".join(sorted(d.locked))))
    # beside the map: names typed in place, locks ticked, the floor at a glance
    rows = 0 if table is None else len(table)
    show_table(ds, table, floor=floor, editable=True, compact=True, height=min(36 + 35 * rows, 246))
    paint_boxes(ds, one, many)
    st.caption(
        f"Several at once: shift-click {many}, or hold shift and drag a box, then press "
        "**Put in the chosen footprint** on the map (Esc clears)."
    )
    find_box(ds, one, names)
    save_and_clear()


def show(ds) -> None:
    g = ds.geography
    d = drawing()
    plan = dict(d.assignment)
    floor = int(st.session_state["floor"])
    n_fp = len(set(plan.values()))
    # always one line: the map below it must not move
    st.markdown(
        f"**{plural(n_fp, 'footprint')}**, {len(plan)} of {len(g.units)} "
        f"{esc(units_word(ds))} assigned, "
        f"**{len(g.units) - len(plan)} unassigned** (grey, dashed outline)."
    )
    left, right = st.columns([3, 2], gap="medium")
    table = footprint_table(ds, plan, floor)
    with left:
        draw_map(
            ds,
            plan_=plan,
            colour_by=st.session_state.get("colour_by", "footprint"),
            key="ccg_map",
            locked=d.locked,
        )
    with right:
        draw_panel(ds, table, floor)
    if table is not None and len(table):
        with st.expander("Every footprint in detail (compactness, area, names, LAs)"):
            show_table(ds, table, floor=floor)
    if plan:
        problem = problem_for(ds, digest_of(ds))
        constraints = Constraints(min_population=floor, la_rule=la_rule(ds))
        issues = guarded(
            lambda: validate_plan(problem, plan, constraints), what="Could not check the drawing"
        )
        if issues is not None:
            show_violations(ds, issues)


show(dataset())
