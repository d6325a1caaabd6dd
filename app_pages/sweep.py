"""Floor sweep: how many footprints the map supports as the floor moves, and which groupings
are firm.

Two sections over the library: :func:`footprint.sweep.sweep` (one max-footprints run per
floor and LA rule, points serving one another, answers cached on disk) drawn as a step
curve with the 2013 reference counts, a click on a point (or the picker) showing that
plan; and :func:`footprint.groupings.sample_groupings` (many valid plans of the optimal
count) drawn as borders always, sometimes or never inside one footprint. The widgets
become plain values here; the words come from the library.
"""

from __future__ import annotations

import io
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages.shared import (
    LEAFLET_URL,
    dataset,
    digest_of,
    esc,
    guarded,
    load_into_drawing,
    map_data_url,
    md,
    problem_for,
    short_label,
    show_flash,
    solver_slot,
    unit_names,
    unit_word,
    units_word,
)
from footprint import FootprintError
from footprint.constraints import Constraints
from footprint.groupings import BORDER_COLOURS, groupings_layer, sample_groupings
from footprint.map import base_map, units_layer
from footprint.sweep import (
    REFERENCE_COUNTS,
    RULE_COLOURS,
    RULE_NAMES,
    parse_floors,
    sweep,
    sweep_figure,
)

DEFAULT_FLOORS = "250000:1500000:50000"


def run_sweep(ds, text: str, rules: list[str], seconds: float) -> None:
    """Run the sweep with a progress bar; the result goes to the session."""
    floors = guarded(lambda: parse_floors(text), what="Could not read the floors")
    if floors is None:
        return
    problem = problem_for(ds, digest_of(ds))
    bar = st.progress(0.0, text="Starting the sweep…")

    def progress(message: str, done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=message)

    with solver_slot(lambda m: bar.progress(0.0, text=m)) as free:
        if not free:
            st.warning("No solver came free in time; nothing was run. Try again in a moment.")
            return
        result = guarded(
            lambda: sweep(
                problem,
                floors=floors,
                la_rules=rules,
                seconds_per_floor=seconds,
                progress=progress,
            ),
            what="Could not run the sweep",
        )
    bar.empty()
    if result is not None:
        st.session_state["sweep_result"] = (digest_of(ds), result)
        st.session_state.pop("sweep_pick", None)


def chart(result, label: str) -> alt.LayerChart:
    """The step curve per LA rule: filled points proven, open ones with a bar up to the bound."""
    rows = pd.DataFrame(
        [
            {
                "floor": p.floor,
                "rule": RULE_NAMES[p.la_rule],
                "la_rule": p.la_rule,
                "footprints": p.footprints,
                "bound": p.bound,
                "status": p.status,
                "proven": "proven" if p.status == "optimal" else "not proven",
            }
            for p in result.points
            if p.footprints is not None
        ]
    )
    colour = alt.Color(
        "rule:N",
        scale=alt.Scale(
            domain=[RULE_NAMES[r] for r in RULE_COLOURS],
            range=list(RULE_COLOURS.values()),
        ),
        legend=alt.Legend(title="LA rule"),
    )
    x = alt.X("floor:Q", title=f"floor ({label} per footprint)", axis=alt.Axis(format=",d"))
    y = alt.Y("footprints:Q", title="largest number of footprints")
    pick = alt.selection_point(name="point", fields=["floor", "la_rule"], on="click")
    base = alt.Chart(rows)
    steps = base.mark_line(interpolate="step-after").encode(x=x, y=y, color=colour)
    bars = (
        base.transform_filter("datum.status != 'optimal'")
        .mark_rule(strokeDash=[2, 2])
        .encode(x=x, y=y, y2="bound:Q", color=colour)
    )
    points = (
        base.mark_point(size=70, filled=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=alt.Shape("proven:N", legend=alt.Legend(title="count")),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)),
            tooltip=[
                alt.Tooltip("floor:Q", format=",d"),
                "rule:N",
                "footprints:Q",
                "bound:Q",
                "status:N",
            ],
        )
        .add_params(pick)
    )
    refs = pd.DataFrame([{"count": r.count, "label": r.label} for r in REFERENCE_COUNTS])
    ref_lines = alt.Chart(refs).mark_rule(strokeDash=[6, 4], color="#555555").encode(y="count:Q")
    ref_text = (
        alt.Chart(refs)
        .mark_text(align="left", dx=4, dy=-6, color="#333333", fontSize=11)
        .encode(y="count:Q", text="label:N", x=alt.value(4))
    )
    # drawn as SVG, so each point is an element of its own (a click lands on it, and the
    # browser tests find it)
    return (steps + bars + points + ref_lines + ref_text).properties(
        height=420, usermeta={"embedOptions": {"renderer": "svg"}}
    )


def picked_from_chart(event: Any) -> tuple[int, str] | None:
    """The (floor, la_rule) clicked on the chart, if any."""
    try:
        chosen = event["selection"]["point"]
    except (KeyError, TypeError):
        return None
    if not chosen:
        return None
    first = chosen[0]
    try:
        return int(first["floor"]), str(first["la_rule"])
    except (KeyError, TypeError, ValueError):
        return None


def show_point(ds, result, key: tuple[int, str]) -> None:
    point = result.point(*key)
    st.markdown(md(point.describe(population_label=ds.geography.population_label)))
    if not point.assignment:
        return
    st_folium(
        plan_map(ds, point.assignment, floor=point.floor),
        key="sweep_map",
        height=480,
        use_container_width=True,
        returned_objects=[],
    )
    if st.button("Open this plan in the drawing", key="sweep_open", type="primary"):
        load_into_drawing(
            point.assignment,
            f"the sweep's plan at {point.floor:,} ({RULE_NAMES[point.la_rule]})",
        )
        st.session_state["floor"] = point.floor
        st.switch_page("app_pages/draw.py")


def plan_map(ds, plan: dict[str, str], *, floor: int, extra: Any = None) -> Any:
    """A plan drawn on the app's base map (the geometry fetched once); ``extra`` on top.

    With ``extra`` (the firm and open borders) the LA boundaries and the orange dots of
    CCGs crossing one are left off: dark lines and orange marks would read as borders.
    """
    g = ds.geography
    data_url = map_data_url(ds)
    m = base_map(
        g,
        audit=ds.audit,
        show_upper_tier=extra is None,
        show_crossings=extra is None,
        links=ds.adjacency.bridges + ds.adjacency.river_crossings,
        tiles=st.session_state.get("tiles", False),
        leaflet_url=LEAFLET_URL,
        data_url=data_url,
        zoom_start=6.0 if extra is None else 6.5,  # the borders want a closer look
        layer_control=extra is None,
    )
    m.add_child(
        units_layer(
            g,
            audit=ds.audit,
            assignment=plan,
            colour_by="footprint",
            floor=floor,
            fill_opacity=0.55,
            data_url=data_url,
            legend=extra is None,
        )
    )
    if extra is not None:
        m.add_child(extra)
        import folium

        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def sweep_section(ds) -> None:
    label = short_label(ds)
    st.markdown(
        "For each floor, the largest number of footprints that can each reach it, with "
        "whole LAs and with the LA rule off: **proven** where the optimiser's count meets "
        "its bound, otherwise the count found and the bound. Each run's plan is also a "
        "plan for every lower floor, and its bound bounds every higher floor, so the "
        "floors settle one another; answers are kept on disk, so a sweep run before "
        "shows at once. A full sweep of 26 floors and both rules takes about 10 minutes "
        "the first time."
    )
    with st.form("sweep_form"):
        c1, c2, c3 = st.columns([2, 2, 1])
        text = c1.text_input(
            "Floors (START:STOP:STEP or a list)",
            value=DEFAULT_FLOORS,
            help="250000:1500000:50000 is 26 floors, 250,000 to 1,500,000",
        )
        rules = c2.multiselect(
            "LA rules",
            ["whole-la", "off"],
            default=["whole-la", "off"],
            format_func=lambda r: RULE_NAMES[r],
        )
        seconds = c3.number_input(
            "Seconds per run",
            1.0,
            600.0,
            4.0,
            step=1.0,
            help="Each floor's first run; a floor left unproven gets a second run of 15 s",
        )
        go = st.form_submit_button("Run the sweep", type="primary")
    if go:
        if not rules:
            st.error("Choose at least one LA rule.")
        else:
            run_sweep(ds, text, rules, float(seconds))
    held = st.session_state.get("sweep_result")
    if not held or held[0] != digest_of(ds):
        return
    result = held[1]
    st.caption(
        md(
            f"{result.proven} of {len(result.points)} points proven; "
            f"{sum(p.solved for p in result.points)} floors run ({result.seconds_per_floor:g} s, "
            f"then {result.retry_seconds:g} s where unproven); {result.seconds:.0f} s in all. "
            "Reference lines: "
            + "; ".join(f"{r.label} ({r.source})" for r in REFERENCE_COUNTS)
            + ". Click a point to see its plan."
        )
    )
    event = st.altair_chart(
        chart(result, label),
        width="stretch",
        on_select="rerun",
        selection_mode="point",
        key="sweep_chart",
    )
    clicked = picked_from_chart(event)
    options = [(p.floor, p.la_rule) for p in result.points]
    if clicked in options and clicked != st.session_state.get("sweep_clicked"):
        st.session_state["sweep_clicked"] = clicked
        st.session_state["sweep_pick"] = clicked
    chosen = st.selectbox(
        "Plan to show",
        options,
        key="sweep_pick",
        format_func=lambda k: f"{k[0]:,} – {RULE_NAMES[k[1]]}: {result.point(*k).status}",
    )
    downloads(ds, result, label)
    with st.expander("The table"):
        table = pd.DataFrame(result.rows())
        st.dataframe(table, hide_index=True, width="stretch")
    if chosen is not None:
        show_point(ds, result, chosen)


def downloads(ds, result, label: str) -> None:
    fig = sweep_figure(result, population_label=label, attribution=ds.geography.attribution)
    png = io.BytesIO()
    fig.savefig(png, format="png")
    c1, c2 = st.columns(2)
    c1.download_button("Download the table (CSV)", result.to_csv(), "sweep.csv", "text/csv")
    c2.download_button("Download the curve (PNG)", png.getvalue(), "sweep.png", "image/png")


# --- firm and arbitrary groupings ---------------------------------------------------------------


def groupings_section(ds) -> None:
    floor = int(st.session_state.get("floor", 300_000))
    st.markdown(
        f"Many plans share the largest number of footprints. At the app's floor of "
        f"**{floor:,}** ({esc(short_label(ds))}) this draws many valid plans of that count "
        f"and colours every border between neighbouring {esc(units_word(ds))}: **always** "
        "together in one footprint (green, dashed), **sometimes** (orange: room to "
        "negotiate), **never** (black: a footprint boundary in every plan drawn)."
    )
    st.info(
        "How to read it: a share is how often the plans drawn here agree that two "
        "neighbours belong together. It is **not** the probability that a plan is right, "
        "nor a score of how good a grouping is; the plans are not drawn evenly from all "
        "optimal plans, so 'always' from the walk alone is not a proof (pairs proven firm "
        "by the optimiser say so)."
    )
    with st.form("groupings_form"):
        c1, c2, c3 = st.columns(3)
        rule = c1.selectbox(
            "LA rule", ["whole-la", "off"], format_func=lambda r: RULE_NAMES[r], key="g_rule"
        )
        plans = c2.number_input("Plans to draw", 10, 5000, 200, step=10)
        seconds = c3.number_input("Seconds in all", 10.0, 1200.0, 120.0, step=10.0)
        go = st.form_submit_button("Draw the plans", type="primary")
    if go:
        run_groupings(ds, floor, rule, int(plans), float(seconds))
    held = st.session_state.get("groupings_result")
    if held and held[0] == digest_of(ds):
        show_groupings(ds, held[1])


def run_groupings(ds, floor: int, rule: str, plans: int, seconds: float) -> None:
    problem = problem_for(ds, digest_of(ds))
    box = st.empty()
    with solver_slot(lambda m: box.info(m)) as free:
        if not free:
            st.warning("No solver came free in time; nothing was run. Try again in a moment.")
            return
        with st.status("Drawing plans…", expanded=True) as status:
            line = st.empty()
            result = guarded(
                lambda: sample_groupings(
                    problem,
                    Constraints(
                        min_population=floor,
                        la_rule=rule,  # type: ignore[arg-type]
                        time_limit=min(60.0, seconds / 3),
                    ),
                    plans=plans,
                    seconds=seconds,
                    resolves=24,
                    progress=lambda m: line.markdown(md(m)),
                ),
                what="Could not draw the plans",
            )
            status.update(label="Done", state="complete", expanded=False)
    box.empty()
    if result is not None:
        st.session_state["groupings_result"] = (digest_of(ds), result)


#: How each kind of border is drawn on the map (colour from the library; thickness and dashes
#: as :func:`footprint.groupings.groupings_layer` draws them), and what it tells a planner.
LEGEND = {
    "always": (
        "2px dashed",
        "always together",
        "in one footprint in every plan drawn: hard to move apart (certain only where a rule "
        "keeps them together or the optimiser proved it; the border's tooltip says which)",
    ),
    "sometimes": (
        "4px solid",
        "sometimes together",
        "together in some plans and apart in others: room to negotiate; the tooltip gives "
        "the share of plans that put them together",
    ),
    "never": (
        "3px solid",
        "never together",
        "a footprint boundary in every plan drawn",
    ),
}


def legend_html(kinds: dict[str, int]) -> str:
    """The map's key: a line sample per kind of border, its meaning and how many pairs.

    Only constants and counts go into the markup (no name from a file).
    """
    lines = [
        f"<span style='display:inline-block;width:2.4em;vertical-align:middle;"
        f"border-top:{line} {BORDER_COLOURS[kind]};margin-right:0.5em'></span>"
        f"<b>{title}</b> ({int(kinds.get(kind, 0)):,} pairs): {meaning}"
        for kind, (line, title, meaning) in LEGEND.items()
    ]
    lines.append(
        "The fill colours are the optimiser's plan, one colour per footprint. "
        "Hover a border for the two neighbours and their share."
    )
    return "<br>".join(lines)


def borders_layer(ds, g) -> Any:
    """The borders' map layer, built once per result (about 2 s of geometry on England)."""
    held = st.session_state.get("groupings_layer")
    if held is None or held[0] is not g:
        held = (g, groupings_layer(ds.geography, g))
        st.session_state["groupings_layer"] = held
    return held[1]


def borders_map(ds, g) -> None:
    st_folium(
        plan_map(ds, dict(g.plan), floor=g.constraints.min_population, extra=borders_layer(ds, g)),
        key="groupings_map",
        height=640,
        use_container_width=True,
        returned_objects=[],
    )


def show_groupings(ds, g) -> None:
    if not g.plans:
        st.error(
            md("No plan meets the rules, so there is nothing to compare: " + "; ".join(g.reasons))
        )
        return
    st.success(md(g.how_drawn()))
    kinds = g.kinds()
    st.caption(
        md(
            f"{len(g.pairs):,} neighbouring pairs: {kinds['always']:,} always together "
            f"({sum(p.forced for p in g.pairs):,} of them kept together by a rule, "
            f"{g.proven_firm:,} proven firm), {kinds['sometimes']:,} sometimes, "
            f"{kinds['never']:,} never. The map colours the optimiser's plan beneath."
        )
    )
    st.markdown(legend_html(kinds), unsafe_allow_html=True)
    # a map that cannot be drawn says so and leaves the list below it in place
    guarded(lambda: borders_map(ds, g), what="Could not draw the borders")
    names = unit_names(ds)
    open_units = g.open_units()
    word, words = esc(unit_word(ds)), esc(units_word(ds))
    st.subheader(
        f"{words} open to negotiation ({len(open_units):,} of {len(ds.geography.units):,})"
    )
    st.caption(
        f"Each {word} below has at least one neighbour it shares a footprint with in some of "
        "the plans drawn and not in others; the percentage is the share of plans putting the "
        "two together."
    )
    share = {(p.a, p.b): p.share for p in g.pairs}
    rows = [
        {
            unit_word(ds): names.get(u, u),
            "sometimes with": "; ".join(
                f"{names.get(v, v)} ({share.get((min(u, v), max(u, v)), 0):.0%})" for v in partners
            ),
        }
        for u, partners in open_units.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    table = pd.DataFrame(g.rows())
    st.download_button(
        "Download every pair (CSV)",
        table.to_csv(index=False).encode("utf-8"),
        "groupings.csv",
        "text/csv",
    )


def show(ds) -> None:
    show_flash()
    st.title("Floor sweep and firm groupings")
    st.caption(
        md(
            f"Population: {ds.geography.population_label}. Both sections run the optimiser "
            "on this server; they wait for a free solver like the Optimise page."
        )
    )
    tab1, tab2 = st.tabs(["How the count moves with the floor", "Firm and open groupings"])
    with tab1:
        sweep_section(ds)
    with tab2:
        groupings_section(ds)


try:
    show(dataset())
except FootprintError as exc:  # a library refusal in words, never a traceback
    st.error(md(str(exc)))
