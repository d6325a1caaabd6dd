"""A print-ready map of a plan, to take to a meeting: PDF or PNG, A4 or A3, landscape.

One page: the footprints in the app's colours, each labelled with its name and
population, a legend of every footprint, an inset of London (where footprints are
too small to label at England's scale), a scale bar, the scenario's name and date,
what the population counts, and the attribution. Drawn with matplotlib's
object-oriented API on an Agg or PDF canvas (never pyplot), so it needs no display
and leaves no global state behind. Text is drawn without mathtext, so a name such as
``$5m to $6m`` prints as typed, and the PDF embeds its fonts as TrueType, so its
words can be searched and copied.

The layers come ready-made from :mod:`footprint.exporters` (units and dissolved
footprints in EPSG:27700, the plan's colours and metadata); this module only draws.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ._text import clean_name, population_word
from .errors import PlanError

__all__ = ["PAPER_SIZES", "PrintedMap", "render_map"]

Paper = Literal["A4", "A3"]
#: Landscape page sizes in inches (ISO 216).
PAPER_SIZES: dict[str, tuple[float, float]] = {"A4": (11.69, 8.27), "A3": (16.54, 11.69)}
#: Greater London in British National Grid metres (x0, y0, x1, y1), with a small margin:
#: the inset's frame.
LONDON_BNG = (501_000.0, 154_000.0, 564_000.0, 203_000.0)
#: The inset is drawn when the map is this many times wider than London (an England-wide
#: or regional plan); a plan of London alone needs none.
_INSET_RATIO = 4.0
_EDGE = "#444444"
_UNASSIGNED = "#eeeeee"
#: A footprint smaller than this share of the map's frame is labelled with its name only.
_SMALL_SHARE = 0.002
_FONT = {"A4": 5.0, "A3": 6.5}  # label font size (points) per paper


@dataclass(frozen=True)
class PrintedMap:
    """What the printed map shows, in plain data (built by :mod:`footprint.exporters`).

    Attributes
    ----------
    units
        Every unit, EPSG:27700, with a ``footprint`` column (``""`` when unassigned).
    footprints
        One row per footprint, EPSG:27700: ``footprint``, ``population``, ``n_units``.
    colours
        Footprint -> colour, as on the app's map.
    title
        The scenario's name.
    date
        When the plan was printed (ISO date).
    population_label
        What the population counts ("registered patients (QOF 2013/14 list sizes)").
    attribution
        The licence lines, printed at the foot of the page.
    """

    units: gpd.GeoDataFrame
    footprints: gpd.GeoDataFrame
    colours: Mapping[str, str]
    title: str
    date: str
    population_label: str
    attribution: Sequence[str]


def render_map(
    printed: PrintedMap, *, paper: str = "A4", image_format: str = "pdf", dpi: int = 200
) -> bytes:
    """The map as the bytes of a one-page PDF or a PNG, landscape.

    Parameters
    ----------
    printed
        What to draw.
    paper
        ``"A4"`` or ``"A3"``; labels and legend scale with the page.
    image_format
        ``"pdf"`` (vector, text searchable) or ``"png"`` (at ``dpi``).
    dpi
        Resolution of a PNG (200 gives 2,338 x 1,654 pixels on A4).

    Raises
    ------
    PlanError
        When ``paper``, ``image_format`` or ``dpi`` is not one offered.
    """
    problems = []
    if paper not in PAPER_SIZES:
        problems.append(f"paper {paper!r} is not offered; choose one of {', '.join(PAPER_SIZES)}")
    if image_format not in ("pdf", "png"):
        problems.append(f"image format {image_format!r} is not offered; choose 'pdf' or 'png'")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 50 <= dpi <= 600:
        problems.append(f"dpi {dpi!r} is not usable; give a whole number from 50 to 600")
    if problems:
        raise PlanError("Cannot print the map", problems=problems)
    # TrueType fonts in the PDF (not Type 3), so that its words can be found and copied
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        fig = _figure(printed, paper=paper)
        canvas = FigureCanvasPdf(fig) if image_format == "pdf" else FigureCanvasAgg(fig)
        buf = io.BytesIO()
        meta = (
            {"Title": printed.title, "Creator": "footprint", "Subject": "Commissioning footprints"}
            if image_format == "pdf"
            else {"Title": printed.title, "Software": "footprint"}
        )
        canvas.print_figure(buf, format=image_format, dpi=dpi, metadata=meta)
    return buf.getvalue()


def _figure(printed: PrintedMap, *, paper: str) -> Figure:
    width, height = PAPER_SIZES[paper]
    fig = Figure(figsize=(width, height))
    # the map on the left two thirds, the legend on the right, header and footer around them
    ax = fig.add_axes((0.02, 0.07, 0.64, 0.82))
    font = _FONT[paper]
    bounds = _draw_plan(ax, printed, font=font, only_inside=None)
    london = _london_inset(fig, printed, bounds, font=font)
    if london is not None:
        # footprints labelled in the inset are not labelled again on the crowded main map
        for text in list(ax.texts):
            x, y = text.get_position()
            if _inside(x, y, LONDON_BNG):
                text.remove()
        x0, y0, x1, y1 = LONDON_BNG
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#222222"))
    _scale_bar(ax, bounds, font=font)
    _legend(fig, printed, font=font)
    _header_footer(fig, printed, font=font)
    return fig


def _area(bounds: Any) -> float:
    x0, y0, x1, y1 = bounds
    return float((x1 - x0) * (y1 - y0))


def _inside(x: float, y: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _draw_plan(
    ax: Any,
    printed: PrintedMap,
    *,
    font: float,
    only_inside: tuple[float, float, float, float] | None,
) -> tuple[float, float, float, float]:
    """Footprints, unassigned units and labels on ``ax``; the drawn extent.

    ``only_inside`` limits the labels to footprints whose label point is in that box
    (the inset labels London's footprints only).
    """
    units = printed.units
    unassigned = units[units["footprint"] == ""]
    if len(unassigned):
        unassigned.plot(ax=ax, color=_UNASSIGNED, edgecolor="#999999", linewidth=0.2, hatch="////")
    fps = printed.footprints
    if len(fps):
        colours = [printed.colours.get(str(f), "#cccccc") for f in fps["footprint"]]
        fps.plot(ax=ax, color=colours, edgecolor=_EDGE, linewidth=0.35)
        points = fps.geometry.representative_point()
        # a footprint too small for two lines at this scale shows its name; the legend has all
        small = fps.geometry.area < _SMALL_SHARE * _area(units.total_bounds)
        for label, pop, pt, tiny in zip(
            fps["footprint"], fps["population"], points, small, strict=True
        ):
            if only_inside is not None and not _inside(pt.x, pt.y, only_inside):
                continue
            ax.text(
                pt.x,
                pt.y,
                clean_name(label) if tiny else f"{clean_name(label)}\n{int(pop):,}",
                ha="center",
                va="center",
                fontsize=font,
                linespacing=1.0,
                parse_math=False,
                bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75},
                clip_on=True,
            )
    ax.set_axis_off()
    ax.set_aspect("equal")
    x0, y0, x1, y1 = units.total_bounds
    return float(x0), float(y0), float(x1), float(y1)


def _london_inset(
    fig: Figure, printed: PrintedMap, bounds: tuple[float, float, float, float], *, font: float
) -> Any | None:
    """London at a larger scale, top left of the map (over the sea west of England), when the
    map is much wider than London; None when there is no inset."""
    lx0, ly0, lx1, ly1 = LONDON_BNG
    x0, y0, x1, y1 = bounds
    overlaps = x0 < lx1 and lx0 < x1 and y0 < ly1 and ly0 < y1
    if not overlaps or (x1 - x0) < _INSET_RATIO * (lx1 - lx0):
        return None
    inset = fig.add_axes((0.03, 0.5, 0.25, 0.34))
    clip = printed.units.cx[lx0:lx1, ly0:ly1]
    fps = printed.footprints.cx[lx0:lx1, ly0:ly1]
    sub = PrintedMap(clip, fps, printed.colours, "", "", printed.population_label, ())
    _draw_plan(inset, sub, font=font, only_inside=LONDON_BNG)
    inset.set_xlim(lx0, lx1)
    inset.set_ylim(ly0, ly1)
    inset.set_axis_on()
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_xlabel("")
    inset.set_ylabel("")
    for spine in inset.spines.values():
        spine.set_edgecolor("#222222")
        spine.set_linewidth(0.8)
    inset.set_facecolor("white")
    inset.set_title("London", fontsize=font + 2, pad=2, parse_math=False)
    return inset


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map's width (10, 20, 50, 100... km)."""
    target = span_m / 5
    power = 10 ** math.floor(math.log10(target))
    return max(step * power for step in (1, 2, 5) if step * power <= target)


def _scale_bar(ax: Any, bounds: tuple[float, float, float, float], *, font: float) -> None:
    x0, y0, x1, y1 = bounds
    length = _nice_length(x1 - x0)
    left, base = x0, y0 + 0.01 * (y1 - y0)
    tick = 0.008 * (y1 - y0)
    half = length / 2
    ax.add_patch(Rectangle((left, base), half, tick, fc="#222222", ec="#222222", lw=0.5))
    ax.add_patch(Rectangle((left + half, base), half, tick, fc="white", ec="#222222", lw=0.5))
    km = length / 1000
    for x, text in ((left, "0"), (left + half, f"{km / 2:g}"), (left + length, f"{km:g} km")):
        ax.text(
            x, base + 2 * tick, text, ha="center", va="bottom", fontsize=font + 1, parse_math=False
        )


def _legend(fig: Figure, printed: PrintedMap, *, font: float) -> None:
    fps = printed.footprints.sort_values("footprint", kind="stable")
    handles = [
        Patch(
            facecolor=printed.colours.get(str(f), "#cccccc"),
            edgecolor=_EDGE,
            linewidth=0.3,
            label=f"{clean_name(f)}: {int(p):,}",
        )
        for f, p in zip(fps["footprint"], fps["population"], strict=True)
    ]
    if (printed.units["footprint"] == "").any():
        handles.append(
            Patch(facecolor=_UNASSIGNED, edgecolor="#999999", hatch="////", label="unassigned")
        )
    ncol = max(1, math.ceil(len(handles) / 45))
    word = population_word(printed.population_label)
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.68, 0.89),
        ncol=ncol,
        fontsize=font + (1.5 if len(handles) <= 45 else 0.5),
        title=f"Footprints ({word})",
        title_fontsize=font + 3,
        frameon=False,
        handlelength=1.2,
        handleheight=0.9,
        columnspacing=0.8,
        labelspacing=0.25,
        alignment="left",
    )
    for text in [*legend.get_texts(), legend.get_title()]:
        text.set_parse_math(False)


def _header_footer(fig: Figure, printed: PrintedMap, *, font: float) -> None:
    fps = printed.footprints
    total = int(fps["population"].sum()) if len(fps) else 0
    fig.text(
        0.02,
        0.965,
        clean_name(printed.title) or "Unnamed plan",
        fontsize=font + 10,
        fontweight="bold",
        va="top",
        parse_math=False,
    )
    fig.text(
        0.02,
        0.915,
        f"{len(fps):,} footprints · {total:,} {population_word(printed.population_label)} · "
        f"printed {printed.date}",
        fontsize=font + 4,
        va="top",
        parse_math=False,
    )
    lines = [f"Population: {printed.population_label}.", *printed.attribution]
    fig.text(
        0.02,
        0.012,
        "\n".join(clean_name(a) for a in lines),
        fontsize=font,
        va="bottom",
        color="#333333",
        parse_math=False,
        linespacing=1.2,
    )
