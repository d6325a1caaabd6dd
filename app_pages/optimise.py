"""Optimise: every constraint and objective of the optimiser, run from the page.

The form's values become ``Constraints`` through :func:`footprint.form.constraints_from_form`
(the command line's way too); the floor is the app's one floor, set in the sidebar. The
result is saved as a new scenario and replaces the drawing only if the planner asks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import folium
import streamlit as st
from streamlit_folium import st_folium

from app_pages.shared import (
    LEAFLET_URL,
    dataset,
    draw_map,
    drawing,
    esc,
    footprint_table,
    guarded,
    load_into_drawing,
    map_data_url,
    md,
    save_scenario,
    short_label,
    show_flash,
    show_table,
    store,
    store_or_say,
    unit_labels,
)
from app_pages.solving import show_reasons, show_run, start_run
from footprint import FootprintError
from footprint.constraints import CLUSTER_RANGE, NESTED_COUNTS
from footprint.exporters import EXPORT_FORMATS
from footprint.form import (
    box_lines,
    constraints_from_form,
    footprint_count,
    kept_drawing,
    verdict,
)
from footprint.map import base_map, units_layer
from footprint.nested_map import cluster_layer
from footprint.rule_text import unit_lookup

log = logging.getLogger("footprint.app")


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
            key="opt_la_rule",  # a reason's button can switch it off
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
    # the boxes a reason's button can change start from these (set once, then the planner's)
    st.session_state.setdefault("opt_ceiling", 0)
    st.session_state.setdefault("opt_keep_locked", True)
    with st.form("optimise"):
        st.markdown(
            f"Floor: at least **{floor:,} {esc(short)}** per footprint (the app's "
            "one floor: change it in the sidebar)."
        )
        c1, c2, c3 = st.columns(3)
        max_pop = c1.number_input(
            f"Ceiling: at most this many {esc(short)} (0 = none)",
            min_value=0,
            step=50_000,
            key="opt_ceiling",  # a reason's button can raise it
        )
        objective = c2.selectbox(
            "Objective",
            ["max-footprints", "compact", "balanced", "fewest-changes", "nested"],
            help="max-footprints: as many footprints as possible; compact: rounder shapes; "
            "balanced: populations close to each other; fewest-changes: stay near the drawing; "
            "nested: footprints each divided into clusters (below)",
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
        lock_drawn = st.checkbox(
            f"Keep my locked footprints ({len(d.locked)})", key="opt_keep_locked"
        )
        nested = nested_boxes(short)
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
                **nested,
            )

        constraints = guarded(make, what="The constraints are not usable")
        if constraints is not None:
            # the drawing goes along when it is the start, the plan to repair, or holds
            # locked footprints to keep
            use_drawing = start != SCRATCH or objective == "fewest-changes" or bool(locked_fps)
            start_run(ds, constraints, name=name, current=plan if use_drawing else None)
    show_run(ds, keep=keep_result)
    show_last_result(ds)


def nested_boxes(short: str) -> dict[str, Any]:
    """The nested objective's cluster range and what it maximises, as Constraints fields."""
    with st.expander("Nested tiers: the clusters inside each footprint (objective 'nested')"):
        n1, n2, n3 = st.columns(3)
        lo = n1.number_input(
            f"Cluster floor ({short})", min_value=0, step=50_000, value=CLUSTER_RANGE[0]
        )
        hi = n2.number_input(
            f"Cluster ceiling ({short})", min_value=1, step=50_000, value=CLUSTER_RANGE[1]
        )
        most = n3.radio(
            "Maximise the number of",
            list(NESTED_COUNTS),
            horizontal=True,
            help="footprints: the most footprints, each then divided into as many clusters as "
            "it holds; clusters: the most clusters, then grouped into as many footprints as "
            "they allow",
        )
        st.caption(
            "Each footprint is divided into clusters within this range, both levels in one "
            "piece and keeping LAs whole under the LA rule (the 2013 cluster level: 250,000 "
            "to 1,000,000)."
        )
    return {
        "cluster_min_population": int(lo),
        "cluster_max_population": int(hi),
        "nested_maximise": most,
    }


def nested_result(ds, res: dict[str, Any], *, floor: int) -> None:
    """A nested result: the footprints with their cluster borders, the clusters, the files."""
    g = ds.geography
    lo, hi = res["cluster_range"]

    def build() -> tuple[Any, Any]:
        base = base_map(
            g,
            audit=ds.audit,
            links=ds.adjacency.bridges + ds.adjacency.river_crossings,
            tiles=st.session_state.get("tiles", False),
            leaflet_url=LEAFLET_URL,
            data_url=map_data_url(ds),
            zoom_start=6.0,
            layer_control=False,  # added below, after the cluster borders it lists
        )
        cluster_layer(g, res["assignment"], res["clusters"], cluster_range=(lo, hi)).add_to(base)
        folium.LayerControl(collapsed=False, position="topright").add_to(base)
        layer = units_layer(
            g,
            audit=ds.audit,
            assignment=res["assignment"],
            colour_by="footprint",
            floor=floor,
            data_url=map_data_url(ds),
        )
        return base, layer

    built = guarded(build, what="Could not draw the map")
    if built is not None:
        st_folium(
            built[0],
            key="result_map",
            height=520,
            use_container_width=True,
            returned_objects=[],
            feature_group_to_add=built[1],
        )
    st.caption(
        md(
            f"Magenta dashed lines divide each footprint into its clusters ({lo:,} to {hi:,} "
            f"{short_label(ds)}). The saved scenario keeps the footprints; the files below "
            "keep the clusters too."
        )
    )
    with st.expander(f"Clusters ({len(set(res['clusters'].values())):,})"):
        show_table(ds, res.get("cluster_table"), floor=lo, compact=True)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in res["name"] or "")
    meta = {"scenario": res["name"] or "nested plan", "status": res["status"]}
    for col, key in zip(st.columns(2), ("csv", "gpkg"), strict=True):
        fmt = EXPORT_FORMATS[key]
        col.download_button(
            f"{fmt.label} with the clusters",
            data=_nested_file(fmt.function, g, res, meta),
            file_name=f"{stem or 'nested'}{fmt.extension}",
            mime=fmt.mime,
            key=f"nested_{key}",
            on_click="ignore",
            width="stretch",
        )


def _nested_file(fn: Any, g: Any, res: dict[str, Any], meta: dict[str, Any]) -> Any:
    """The file made when its button is pressed; a failure is a short text file saying so."""

    def make() -> bytes:
        try:
            return fn(g, res["assignment"], metadata=meta, clusters=res["clusters"])
        except Exception as exc:
            log.exception("nested export failed (%s)", getattr(fn, "__name__", fn))
            why = str(exc) if isinstance(exc, FootprintError) else "an unexpected error"
            return f"The export could not be made: {why}; the app log has the details.\n".encode()

    return make


def keep_result(
    ds,
    result: Any,
    constraints: Any,
    *,
    name: str,
    current: dict[str, str] | None,
    cancelled: bool = False,
) -> None:
    """A run's result as the page's last result, its plan saved as a new scenario."""
    summary = {
        "status": result.status,
        "cancelled": cancelled,
        # each reason on a line of its own, with what to change (app_pages.solving)
        "checks": list(result.checks or ()),
        "explained": result.status == "infeasible" and bool(result.checks),
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
        # a nested run's second level (empty otherwise): kept with the result, not the scenario
        "clusters": dict(result.clusters),
        "levels": dict(result.levels),
        "cluster_range": (constraints.cluster_min_population, constraints.cluster_max_population),
        "cluster_table": result.cluster_table,
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
    if res["status"] == "infeasible":
        show_reasons(ds, res)
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
        if res.get("clusters"):
            nested_result(ds, res, floor=floor)
        else:
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
