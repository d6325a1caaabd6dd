"""Optimise: every constraint and objective of the optimiser, run from the page.

The form's values become ``Constraints`` through :func:`footprint.form.constraints_from_form`
(the command line's way too); the floor is the app's one floor, set in the sidebar. The
result is saved as a new scenario and replaces the drawing only if the planner asks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from app_pages.shared import (
    dataset,
    digest_of,
    draw_map,
    drawing,
    esc,
    footprint_table,
    guarded,
    load_into_drawing,
    md,
    problem_for,
    save_scenario,
    short_label,
    show_flash,
    show_table,
    solver_slot,
    store,
    store_or_say,
    unit_labels,
)
from footprint import FootprintError, optimise
from footprint.form import (
    box_lines,
    constraints_from_form,
    footprint_count,
    kept_drawing,
    verdict,
)
from footprint.rule_text import unit_lookup


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


def offer_name() -> None:
    """The name box's value for this run: a fresh name at first, and again after a run
    saved under the name shown, but never over a name the planner has typed since."""
    s = st.session_state
    used = s.pop("opt_name_used", None)
    if "opt_name" not in s or (used is not None and s["opt_name"] == used):
        s["opt_name"] = fresh_scenario_name()


#: The "Start from" choices; the last keeps every drawn footprint and plans only the rest.
SCRATCH, MY_DRAWING, KEEP_REST = "Scratch", "My drawing", "Keep my footprints, plan the rest"


#: Why the LA rule is off on a geography without LAs, and how to turn it on.
NO_LA_WORDS = (
    "The LA rule is off: this geography has no local authority layer, so which "
    "units belong to one LA is not known. To keep LAs whole, go to the Import and "
    "export page and upload an LA layer beside your boundaries."
)


def example(g, kind: str) -> str:
    """A placeholder for a rule box, made of this geography's own units (England's examples
    would mean nothing on a planner's own)."""
    u = g.units
    if g.source_digest and kind == "names":  # England's: the example the help has always had
        return "NHS Kernow, NHS North, East, West Devon"
    if g.source_digest and kind == "fixed":
        return "99Q, South West"
    pick = u["name"] if kind == "names" else u["code"]
    first = [str(v) for v in pick.iloc[:2]]
    if kind == "fixed":
        return f"{first[0]}, North"
    return ", ".join(first)


def la_rule_box(where, g) -> str:
    """The LA rule's choice: ``whole-la`` only when the geography has an LA layer; without
    one the rule is off, and the page says why and how to add a layer."""
    if g.has_la_layer:
        return where.selectbox(
            "LA rule",
            ["whole-la", "off"],
            help=f"whole-la: {esc(g.unit_label_plural)} of one local authority stay together",
        )
    where.selectbox(
        "LA rule",
        ["off"],
        disabled=True,
        key="la_rule_off",
        help="This geography has no local authority layer",
    )
    return "off"


def show(ds) -> None:
    g = ds.geography
    one, many = g.unit_label, g.unit_label_plural
    label = g.population_label
    short = short_label(ds)
    d = drawing()
    plan = dict(d.assignment)
    labels = unit_labels(ds)
    links = list(ds.adjacency.bridges) + list(ds.adjacency.river_crossings)
    floor = int(st.session_state["floor"])
    show_flash()
    st.subheader("Optimise")
    st.caption(
        md(
            f"Population: {label}. The result is saved as a new scenario; your drawing "
            "is only replaced if you ask."
        )
    )
    # results are saved as scenarios: say now, not after a long run, if they cannot be
    store_or_say(
        "Results cannot be saved as scenarios, but you can still run the optimiser "
        "and load a result into the drawing"
    )
    offer_name()
    with st.form("optimise"):
        st.markdown(
            f"Floor: at least **{floor:,} {esc(short)}** per footprint (the app's "
            "one floor: change it in the sidebar)."
        )
        c1, c2, c3 = st.columns(3)
        max_pop = c1.number_input(
            f"Ceiling: at most this many {esc(short)} (0 = none)", min_value=0, step=50_000, value=0
        )
        objective = c2.selectbox(
            "Objective",
            ["max-footprints", "compact", "balanced", "fewest-changes"],
            help="max-footprints: as many footprints as possible; compact: rounder shapes; "
            "balanced: populations close to each other; fewest-changes: stay near the drawing",
        )
        change_measure = c3.selectbox(
            "fewest-changes counts",
            ["units", "population"],
            format_func={"units": f"{many} moved", "population": f"{short} moved"}.__getitem__,
            help="What a repair of the drawing keeps as low as it can",
        )
        c4, c5, c6 = st.columns(3)
        n_mode = c4.radio("Number of footprints", ["any", "exactly", "between"], horizontal=True)
        n_lo = c5.number_input("n (or lowest)", min_value=1, value=30)
        n_hi = c6.number_input("highest (for between)", min_value=1, value=60)
        c7, c8, c9, c10 = st.columns(4)
        la_rule = la_rule_box(c7, g)
        time_limit = c8.number_input(
            "Time limit (s)", min_value=1.0, max_value=3600.0, value=60.0, step=10.0
        )
        mip_gap = c9.number_input(
            "Gap accepted (fraction)",
            min_value=0.0,
            max_value=0.5,
            value=1e-4,
            step=1e-4,
            format="%.4f",
            help="The solver stops when its plan is proven within this "
            "fraction of the best possible",
        )
        solver = c10.selectbox("Solver", ["highs", "cbc"])
        if not g.has_la_layer:
            st.caption(NO_LA_WORDS)
        start = st.radio(
            "Start from",
            [SCRATCH, MY_DRAWING, KEEP_REST],
            horizontal=True,
            help=f"fewest-changes always starts from the drawing and moves as few {many} as "
            "it can; the other objectives take the drawing as a first plan to beat. "
            f"'{KEEP_REST}' keeps every drawn footprint as it is (locked or not) and "
            f"plans only the {many} in no footprint.",
        )
        if 0 < len(plan) < len(g.units):
            st.caption(
                md(
                    f"Your drawing puts {len(plan):,} of {len(g.units):,} {many} in "
                    f"footprints: '{KEEP_REST}' keeps them there and plans the other "
                    f"{len(g.units) - len(plan):,}."
                )
            )
        lock_drawn = st.checkbox(f"Keep my locked footprints ({len(d.locked)})", value=True)
        with st.expander(f"More rules: keep together or apart, fixed {many}, borders switched off"):
            st.caption(f"Name {esc(many)} by code or name, separated by commas.")
            keep_together = st.text_area(
                "Keep together (one group per line)", height=68, placeholder=example(g, "codes")
            )
            keep_apart = st.text_area(
                "Keep apart (one pair per line)", height=68, placeholder=example(g, "names")
            )
            fixed = st.text_area(
                f"Fixed {many} (one per line: {one}, footprint name)",
                height=68,
                placeholder=example(g, "fixed"),
            )
            off_bridges = st.multiselect(
                "Switch off island bridges or river crossings",
                [f"{a}–{b}" for a, b in links],
                help=f"Boundaries clipped to the coast stop at tidal rivers: {many} facing each "
                "other across the Thames in London or the Tyne are joined by a crossing",
                format_func=lambda s: " ↔ ".join(labels.get(c, c) for c in s.split("–")),
            )
            off_edges = st.text_area(
                "Switch off other adjacencies (one pair per line)",
                height=68,
                placeholder=example(g, "codes"),
            )
        # keyed: a default that changed with the clock would make a new widget each minute
        # and drop the name the planner typed
        name = st.text_input("Name of the new scenario", key="opt_name")
        submitted = st.form_submit_button("Run the optimiser", type="primary")
    if submitted:
        u = g.units
        problems = []
        if objective == "fewest-changes" and not plan:
            problems.append(
                "fewest-changes repairs the drawing, and the drawing is empty: draw "
                "footprints on the map or load a saved scenario into it first"
            )
        locked_fps = tuple(sorted(d.locked)) if lock_drawn else ()
        keep_rest = start == KEEP_REST
        if keep_rest and not plan:
            problems.append(
                f"'{KEEP_REST}' keeps the drawn footprints, and the drawing is "
                "empty: draw footprints on the map or load a saved scenario "
                f"into it first, or start from {SCRATCH.lower()}"
            )
        kept = (
            kept_drawing(plan)
            if keep_rest
            else [(c, f) for c, f in plan.items() if f in locked_fps]
        )

        def make() -> Any:
            return constraints_from_form(
                lookup=unit_lookup(u["code"], names=u["name"], nhs_codes=u["nhs_code"]),
                unit=one,
                keep_together=box_lines(keep_together, box="Keep together"),
                keep_apart=box_lines(keep_apart, box="Keep apart"),
                fixed=box_lines(fixed, box=f"Fixed {many}"),
                disabled_edges=box_lines(off_edges, box="Switch off other adjacencies"),
                fixed_units=kept,
                edges=[tuple(s.split("–")) for s in off_bridges],
                problems=problems,
                objective=objective,
                min_population=floor,
                max_population=int(max_pop) or None,
                n_footprints=footprint_count(n_mode, n_lo, n_hi),
                la_rule=la_rule,
                locked=locked_fps,
                time_limit=float(time_limit),
                mip_gap=float(mip_gap),
                solver=solver,
                change_measure=change_measure,
            )

        constraints = guarded(make, what="The constraints are not usable")
        if constraints is not None:
            # the drawing goes along when it is the start, the plan to repair, or holds
            # locked footprints to keep
            use_drawing = start != SCRATCH or objective == "fewest-changes" or bool(locked_fps)
            run_optimiser(ds, constraints, name=name, current=plan if use_drawing else None)
    show_last_result(ds)


def run_optimiser(ds, constraints: Any, *, name: str, current: dict[str, str] | None) -> None:
    problem = problem_for(ds, digest_of(ds))
    with st.status("Optimising…", expanded=True) as status:
        line = st.empty()

        def progress(message: Any, *args: Any) -> None:
            line.markdown(md(message))

        with solver_slot(progress) as free:
            if not free:
                status.update(label="The server is busy", state="error")
                st.warning("No solver came free in time; nothing was run. Try again in a moment.")
                return
            result = guarded(
                lambda: optimise(problem, constraints, current=current, progress=progress),
                what="Could not optimise",
            )
        if result is None:
            status.update(label="Could not optimise", state="error")
            return
        status.update(
            label=f"Finished: {result.status} in {result.seconds:.1f} s",
            state="complete" if result.status in ("optimal", "feasible") else "error",
            expanded=False,
        )
    summary = {
        "status": result.status,
        "footprints": result.footprints,
        "gap": result.gap,
        "bound": result.bound,
        "objective": result.objective,
        "seconds": result.seconds,
        "objective_value": result.objective_value,
        "solver": f"{result.solver} ({result.solver_version})",
        "log": result.log,
        "reasons": list(result.reasons or ()),
        "time_limit": constraints.time_limit,
        "assignment": dict(result.assignment or {}),
        "name": None,
        "reproduce": dict(result.reproduce or {}),
        "table": result.table,
        "floor": constraints.min_population,
        "change_measure": constraints.change_measure,
        # a repair's result is read against the drawing it started from (what it did with
        # the units in no footprint)
        "drawing": dict(current) if current is not None else None,
    }
    if summary["assignment"]:
        _kind, sentence = verdict_of(ds, summary)
        saved = save_scenario(
            name,
            summary["assignment"],
            source="optimiser",
            status=result.status,
            constraints_json=constraints.to_json(),
            notes=sentence,
            quiet=True,
        )
        summary["name"] = saved.name if saved else None
        summary["revision"] = saved.revision if saved else None
        if saved is not None:  # the next run is offered a new name, unless one is typed
            st.session_state["opt_name_used"] = name
    st.session_state["last_result"] = summary


def verdict_of(ds, summary: dict[str, Any]) -> tuple[str, str]:
    """The result in words, with the geography's own names for its units and population."""
    g = ds.geography
    pops = dict(zip(g.units["code"], g.units["population"].astype(int), strict=True))
    return verdict(
        summary,
        population_label=g.population_label,
        unit=g.unit_label,
        unit_plural=g.unit_label_plural,
        populations=pops,
    )


def show_last_result(ds) -> None:
    res = st.session_state["last_result"]
    if not res:
        return
    kind, sentence = verdict_of(ds, res)
    getattr(st, kind)(md(sentence))
    saved = (
        f"saved as scenario {res['name']!r}"
        if res["name"]
        else "not saved as a scenario"
        if res["assignment"]
        else ""
    )
    st.caption(
        md(f"Solver {res['solver']}, {res['seconds']:.1f} s" + (f"; {saved}" if saved else ""))
    )
    if res["assignment"]:
        floor = int(res.get("floor") or st.session_state["floor"])
        table = res.get("table")
        if table is None:
            table = footprint_table(ds, res["assignment"], floor)
        if table is not None and len(table):
            st.caption(
                md(
                    f"Smallest footprint {int(table['population'].min()):,}, largest "
                    f"{int(table['population'].max()):,} {short_label(ds)}."
                )
            )
        # the run's own floor, as in the table below: the app's floor may have changed since
        draw_map(
            ds,
            plan_=res["assignment"],
            colour_by="footprint",
            key="result_map",
            events=False,
            height=520,
            floor=floor,
        )
        show_table(ds, table, floor=floor)
        replace_ok = not drawing().assignment or st.checkbox(
            "Replace my drawing with this result", key="confirm_result"
        )
        saved_as = (res["name"], res["revision"]) if res["name"] and res.get("revision") else None
        st.button(
            "Load the result into the drawing",
            disabled=not replace_ok,
            on_click=load_into_drawing,
            args=(res["assignment"], "the optimiser's result", saved_as),
        )
    if res.get("reproduce"):
        with st.expander("How to reproduce this run"):
            st.json(res["reproduce"], expanded=True)
    with st.expander("Solver log"):
        st.code(res["log"] or "(empty)", language=None)


show(dataset())
