"""The print-ready map: one landscape page of the right size, its words searchable, no mathtext,
no two labels overlapping and every footprint labelled or keyed by number."""

from __future__ import annotations

import io
import itertools
import struct

import geopandas as gpd
import numpy as np
import pytest
from helpers import grid_units, population_table
from matplotlib.backends.backend_agg import FigureCanvasAgg
from pypdf import PdfReader
from shapely.geometry import Point, box

from footprint._text import clean_name
from footprint.errors import PlanError
from footprint.exporters import export_pdf, export_png
from footprint.geography import build_geography
from footprint.printing import PrintedMap, map_figure

LABEL = "registered patients (QOF 2013/14 list sizes)"


@pytest.fixture(scope="module")
def geo():
    units = grid_units(2, 3, size=20_000)
    units["name"] = [f"Unit {c}" for c in units["code"]]
    return build_geography(
        units,
        population_table(units["code"], [150_000, 160_000, 170_000, 180_000, 190_000, 200_000]),
        code_column="code",
        population_column="population",
        name_column="name",
        name="Test grid",
        population_label=LABEL,
        attribution=("Contains public sector information licensed under the OGL v3.0",),
    )


PLAN = {
    "r0c0": "West $5m",
    "r1c0": "West $5m",
    "r0c1": "<East>",
    "r1c1": "<East>",
    "r0c2": "<East>",
}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(("paper", "points"), [("A4", (842, 595)), ("A3", (1191, 842))])
def test_pdf_is_one_landscape_page_with_every_label(geo, paper, points):
    data = export_pdf(geo, PLAN, metadata={"scenario": "Option A"}, paper=paper)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points
    text = reader.pages[0].extract_text()
    for words in ("Option A", "West $5m", "<East>", "330,000", "520,000", "registered patients",
                  "OGL v3.0", "unassigned", "2 footprints"):  # fmt: skip
        assert words in text, words
    assert reader.metadata.title == "Option A"


@pytest.mark.parametrize(("paper", "pixels"), [("A4", (2338, 1654)), ("A3", (3308, 2338))])
def test_png_is_landscape_at_200_dpi(geo, paper, pixels):
    data = export_png(geo, PLAN, metadata={"scenario": "Option A"}, paper=paper)
    assert _png_size(data) == pixels


def test_a_paper_or_format_not_offered_is_refused_in_one_message(geo):
    from footprint.exporters import _prepare, _printed
    from footprint.printing import render_map

    printed = _printed(_prepare(geo, PLAN, metadata=None, table=None))
    with pytest.raises(PlanError, match=r"(?s)Cannot print the map.*paper 'Letter' is not offered"
                       r".*image format 'svg' is not offered.*dpi 5 is not usable"):  # fmt: skip
        render_map(printed, paper="Letter", image_format="svg", dpi=5)
    with pytest.raises(PlanError, match="paper 'A5' is not offered; choose one of A4, A3"):
        export_pdf(geo, PLAN, paper="A5")


def test_no_london_inset_away_from_london(geo):
    # the grid lies near the British grid's origin, far from London: no inset, no frame
    text = PdfReader(io.BytesIO(export_pdf(geo, PLAN))).pages[0].extract_text()
    assert "London" not in text


@pytest.mark.realdata
def test_real_plan_prints_with_london_inset_and_attribution(geography, tmp_path):
    teams = dict(zip(geography.units["code"], geography.units["area_team_code"], strict=True))
    names = geography.group_names("area_team_code")
    plan = {code: names[team] for code, team in teams.items()}
    data = export_pdf(geography, plan, metadata={"scenario": "NHS Area Teams"})
    assert 50_000 < len(data) < 5_000_000
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    for words in ("NHS Area Teams", "London", "25 footprints", "56,324,887 registered patients",
                  "Open Government Licence", "km"):  # fmt: skip
        assert words in text, words
    # every footprint is in the legend with its population
    assert sum(name in text for name in set(plan.values())) == 25
    png = export_png(geography, plan, metadata={"scenario": "NHS Area Teams"}, paper="A3")
    assert _png_size(png) == (3308, 2338)
    (tmp_path / "area-teams-a3.png").write_bytes(png)


# --- labels that never overlap ----------------------------------------------------------------


def _drawn_labels(fig):
    """Every footprint label and numbered key on the page after a draw: (text, gid, box in
    pixels, axes), the box being the label's white background as printed."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_gid() in ("footprint-label", "footprint-key"):
                out.append((t, t.get_gid(), t.get_bbox_patch().get_window_extent(renderer), ax))
    return out


def _overlapping_pairs(labels) -> list[tuple[str, str]]:
    return [
        (a[0].get_text(), b[0].get_text())
        for a, b in itertools.combinations(labels, 2)
        if a[2].overlaps(b[2])
    ]


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def _unshown(fig, labels, footprints) -> list[str]:
    """Footprints neither labelled (name, or name and population, on one or two lines) nor
    keyed (a number on the map and the same number before the name in the legend)."""
    written = {
        t.get_text().replace("\n", " ") for t, gid, _, _ in labels if gid == "footprint-label"
    }
    numbers = {t.get_text() for t, gid, _, _ in labels if gid == "footprint-key"}
    legend = set(_legend_texts(fig))
    missing = []
    for name, pop in zip(footprints["footprint"], footprints["population"], strict=True):
        shown = clean_name(name)
        if shown in written or f"{shown} {int(pop):,}" in written:
            continue
        if any(f"({n}) {shown}: {int(pop):,}" in legend for n in numbers):
            continue
        missing.append(name)
    return missing


def _crowded(origin: tuple[float, float], *, n: int = 5, size: float = 2_000.0):
    """n x n small squares, each its own footprint with a long name full of markup, beside
    one large footprint 150 km away (so that the squares are tiny on the page)."""
    x0, y0 = origin
    names, shapes = [], []
    for r in range(n):
        for c in range(n):
            k = r * n + c
            names.append(f"Footprint {k} with a long name <b>&amp;</b> $x_{k}$")
            shapes.append(
                box(x0 + c * size, y0 + r * size, x0 + (c + 1) * size, y0 + (r + 1) * size)
            )
    names.append("Large")
    shapes.append(box(x0 + 150_000, y0, x0 + 300_000, y0 + 100_000))
    units = gpd.GeoDataFrame({"footprint": names, "geometry": shapes}, crs=27700)
    fps = gpd.GeoDataFrame(
        {
            "footprint": names,
            "population": [300_000 + 1_000 * i for i in range(len(names))],
            "n_units": 1,
            "geometry": shapes,
        },
        crs=27700,
    )
    return PrintedMap(
        units=units,
        footprints=fps,
        colours=dict.fromkeys(names, "#88aacc"),
        title="Crowded",
        date="2026-12-03",
        population_label=LABEL,
        attribution=("Test",),
    )


@pytest.mark.parametrize(
    ("where", "origin"), [("away from London", (0.0, 0.0)), ("in London", (520_000.0, 170_000.0))]
)
@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_crowded_long_labels_never_overlap_and_every_footprint_is_shown(where, origin, paper):
    printed = _crowded(origin)
    fig = map_figure(printed, paper=paper)
    labels = _drawn_labels(fig)
    assert _overlapping_pairs(labels) == []
    assert _unshown(fig, labels, printed.footprints) == []
    # so crowded that some footprints must be keyed by number, and none is lost
    keyed = [t for t, gid, _, _ in labels if gid == "footprint-key"]
    assert keyed, "the crowded squares should not all fit their labels"
    assert sorted(int(t.get_text()) for t in keyed) == list(range(1, len(keyed) + 1))
    # the large footprint keeps its full label, on a point inside it
    large = [t for t, gid, _, _ in labels if t.get_text() == "Large\n325,000"]
    assert len(large) == 1
    assert printed.footprints.geometry.iloc[-1].contains(Point(large[0].get_position()))
    # each written label sits on a point inside its own footprint (in London: in the inset)
    by_name = dict(zip(printed.footprints["footprint"], printed.footprints.geometry, strict=True))
    for t, gid, _, _ in labels:
        if gid == "footprint-label":
            name = next(
                n for n in by_name if t.get_text().replace("\n", " ").startswith(clean_name(n))
            )
            assert by_name[name].contains(Point(t.get_position())), t.get_text()
    if where == "in London":
        assert len(fig.axes) == 2 and any(ax is fig.axes[1] for *_, ax in labels)
    # labels stay inside their map's frame (nothing clipped at its edge)
    for t, _, bbox, ax in labels:
        frame = ax.get_window_extent()
        assert frame.x0 <= bbox.x0 and bbox.x1 <= frame.x1, t.get_text()
        assert frame.y0 <= bbox.y0 and bbox.y1 <= frame.y1, t.get_text()


def test_the_same_plan_prints_the_same_labels_in_the_same_places():
    printed = _crowded((0.0, 0.0), n=4)

    def placed():
        fig = map_figure(printed, paper="A4")
        return [
            (t.get_text(), gid, tuple(np.round(t.get_position(), 3)))
            for t, gid, _, _ in _drawn_labels(fig)
        ]

    assert placed() == placed()


@pytest.mark.slow  # over 2 s: in the full suite, not the quick loop
def test_the_legend_fits_the_page_however_many_and_long_the_names():
    names = [f"A footprint with a very long name indeed, number {k:03d}" for k in range(100)]
    shapes = [box(k * 3_000, 0, (k + 1) * 3_000, 3_000) for k in range(100)]
    units = gpd.GeoDataFrame({"footprint": names, "geometry": shapes}, crs=27700)
    fps = units.assign(population=300_000, n_units=1)
    printed = PrintedMap(units, fps, {}, "Many", "2026-12-03", LABEL, ("Test",))
    fig = map_figure(printed, paper="A4")
    labels = _drawn_labels(fig)
    box_ = fig.legends[0].get_window_extent()
    assert box_.x1 <= fig.bbox.width and box_.y0 >= 0
    assert len(_legend_texts(fig)) == 100
    assert min(t.get_fontsize() for t in fig.legends[0].get_texts()) >= 3.5
    # a name shortened in the legend is written whole on the map; keyed ones are whole
    assert _unshown(fig, labels, fps) == []


def test_map_figure_refuses_a_paper_or_dpi_not_offered():
    printed = _crowded((0.0, 0.0), n=1)
    with pytest.raises(PlanError, match=r"(?s)paper 'B5' is not offered.*dpi 0 is not usable"):
        map_figure(printed, paper="B5", dpi=0)


def _real_overlaps(geography, plan, paper):
    from footprint.exporters import _prepare, _printed

    printed = _printed(_prepare(geography, plan, metadata={"scenario": "x"}, table=None))
    fig = map_figure(printed, paper=paper)
    labels = _drawn_labels(fig)
    return _overlapping_pairs(labels), _unshown(fig, labels, printed.footprints), labels


@pytest.mark.realdata
@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_real_area_teams_print_with_no_overlapping_labels(geography, paper):
    names = geography.group_names("area_team_code")
    u = geography.units
    plan = {c: names[t] for c, t in zip(u["code"], u["area_team_code"], strict=True)}
    pairs, unshown, labels = _real_overlaps(geography, plan, paper)
    assert pairs == []
    assert unshown == []
    # 25 footprints, each with its name and population written on the map or the inset
    assert sum(gid == "footprint-label" for _, gid, _, _ in labels) == 25


@pytest.fixture(scope="module")
def most_footprints(dataset):
    """The real max-footprints plan (300,000, whole LAs), each footprint renamed after its
    most populous CCG, as a planner would: long names on 91 footprints."""
    from footprint.constraints import Constraints
    from footprint.optimiser import optimise
    from footprint.problem import Problem

    result = optimise(Problem.from_dataset(dataset), Constraints(time_limit=120))
    u = dataset.geography.units
    pop = dict(zip(u["code"], u["population"], strict=True))
    name = dict(zip(u["code"], u["name"], strict=True))
    largest: dict[str, str] = {}
    for code, fp in result.assignment.items():
        if fp not in largest or pop[code] > pop[largest[fp]]:
            largest[fp] = code
    rename = {fp: name[c].removeprefix("NHS ").removesuffix(" CCG") for fp, c in largest.items()}
    return dict(result.assignment), {c: rename[fp] for c, fp in result.assignment.items()}


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("paper", ["A4", "A3"])
@pytest.mark.parametrize("names", ["as solved", "renamed"])
def test_real_max_footprints_plan_prints_with_no_overlapping_labels(
    geography, most_footprints, paper, names
):
    plan = most_footprints[0] if names == "as solved" else most_footprints[1]
    assert len(set(most_footprints[0].values())) >= 80
    pairs, unshown, labels = _real_overlaps(geography, plan, paper)
    assert pairs == []
    assert unshown == []
    # most footprints keep a written label; the rest are keyed by number, none lost
    written = sum(gid == "footprint-label" for _, gid, _, _ in labels)
    assert written >= 0.8 * len(set(plan.values()))


@pytest.mark.realdata
@pytest.mark.slow
def test_real_plan_of_every_ccg_alone_prints_with_no_overlapping_labels(geography):
    u = geography.units
    plan = dict(zip(u["code"], u["name"], strict=True))
    pairs, unshown, _ = _real_overlaps(geography, plan, "A4")
    assert pairs == []
    assert unshown == []


# --- in the app, in a real browser ------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.realdata
@pytest.mark.slow
def test_the_app_prints_a_saved_scenario_on_a3(dataset, tmp_path):
    """Pick a saved scenario on the Import and export page, choose A3 and download the map:
    the PDF the browser receives is one A3 landscape page naming the scenario."""
    import os
    import shutil
    from pathlib import Path

    from appserver import CHROMIUM, CHROMIUM_ARGS, AppDidNotStart, serve_app

    from footprint import Scenario, ScenarioStore

    if shutil.which(CHROMIUM) is None:
        if os.environ.get("FOOTPRINT_REQUIRE_BROWSER", "").strip() not in ("", "0"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; FOOTPRINT_REQUIRE_BROWSER is set")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    g = dataset.geography
    names = g.group_names("area_team_code")
    plan = {c: names[t] for c, t in zip(g.units["code"], g.units["area_team_code"], strict=True)}
    scenarios = tmp_path / "scenarios"
    ScenarioStore(scenarios).save(Scenario(name="Area Teams <print>", assignment=plan))
    shots = os.environ.get("FOOTPRINT_SCREENSHOTS")
    try:
        with (
            serve_app(scenario_dir=scenarios, log_path=tmp_path / "app.log") as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
            page.goto(url)
            page.get_by_text("Import and export", exact=True).first.click()
            page.get_by_text("For a meeting").first.wait_for(timeout=60_000)
            page.get_by_text("Plan to export").first.wait_for(timeout=30_000)
            page.locator("[data-testid='stSelectbox']").filter(
                has_text="Plan to export"
            ).first.click()
            page.get_by_role("option", name="Scenario: Area Teams <print>").click()
            page.get_by_text("A3", exact=True).first.click()
            page.wait_for_timeout(1500)
            if shots:
                page.screenshot(path=str(Path(shots) / "14-export-for-a-meeting.png"))
            button = page.get_by_role("button", name="Map (PDF)")
            with page.expect_download(timeout=120_000) as info:
                button.click()
            download = info.value
            data = Path(download.path()).read_bytes()
            assert download.suggested_filename == "Area_Teams__print_-A3.pdf"
            browser.close()
    except AppDidNotStart as exc:
        pytest.fail(str(exc))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (1191, 842)
    text = reader.pages[0].extract_text()
    assert "Area Teams <print>" in text and "London" in text and "registered patients" in text
