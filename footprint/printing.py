"""A print-ready map of a plan, to take to a meeting: PDF or PNG, A4 or A3, landscape.

One page: the footprints in the app's colours, each labelled with its name and
population, a legend of every footprint, an inset of London (where footprints are
too small to label at England's scale), a scale bar, the scenario's name and date,
what the population counts, and the attribution. No two labels overlap: each is
placed at a free point inside its footprint, shortened or shrunk when it must be, or
replaced by a numbered key that the legend explains (see "labels that never overlap"
below). Drawn with matplotlib's
object-oriented API on an Agg or PDF canvas (never pyplot), so it needs no display
and leaves no global state behind. Text is drawn without mathtext, so a name such as
``$5m to $6m`` prints as typed, and the PDF embeds its fonts as TrueType, so its
words can be searched and copied.

The layers come ready-made from :mod:`footprint.exporters` (units and dissolved
footprints in EPSG:27700, the plan's colours and metadata); this module only draws.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import Bbox
from shapely.ops import polylabel

from ._text import clean_name, population_word
from .errors import PlanError

__all__ = ["PAPER_SIZES", "PrintedMap", "map_figure", "render_map"]

_LOG = logging.getLogger(__name__)

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
    problems = _paper_problems(paper, dpi)
    if image_format not in ("pdf", "png"):
        at = 1 if paper not in PAPER_SIZES else 0  # in the order of the parameters
        problems.insert(at, f"image format {image_format!r} is not offered; choose 'pdf' or 'png'")
    if problems:
        raise PlanError("Cannot print the map", problems=problems)
    # TrueType fonts in the PDF (not Type 3), so that its words can be found and copied
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        fig = map_figure(printed, paper=paper, dpi=dpi)
        canvas = FigureCanvasPdf(fig) if image_format == "pdf" else FigureCanvasAgg(fig)
        buf = io.BytesIO()
        meta = (
            {"Title": printed.title, "Creator": "footprint", "Subject": "Commissioning footprints"}
            if image_format == "pdf"
            else {"Title": printed.title, "Software": "footprint"}
        )
        canvas.print_figure(buf, format=image_format, dpi=dpi, metadata=meta)
    return buf.getvalue()


def _paper_problems(paper: str, dpi: int) -> list[str]:
    problems = []
    if paper not in PAPER_SIZES:
        problems.append(f"paper {paper!r} is not offered; choose one of {', '.join(PAPER_SIZES)}")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 50 <= dpi <= 600:
        problems.append(f"dpi {dpi!r} is not usable; give a whole number from 50 to 600")
    return problems


def map_figure(printed: PrintedMap, *, paper: str = "A4", dpi: int = 200) -> Figure:
    """The printed page as a matplotlib figure, its labels placed at ``dpi``.

    :func:`render_map` draws this figure; it is public so that what the page shows can
    be measured after a draw: each footprint's label is a text with the gid
    ``"footprint-label"`` on the map or the London inset, or, when no place was free, a
    number with the gid ``"footprint-key"`` whose name the legend gives as ``(n) name``.

    Raises
    ------
    PlanError
        When ``paper`` or ``dpi`` is not one offered.
    """
    problems = _paper_problems(paper, dpi)
    if problems:
        raise PlanError("Cannot print the map", problems=problems)
    # the fonts are chosen as the texts are made, so the family is set around the drawing
    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        return _page(printed, paper=paper, dpi=dpi)


def _page(printed: PrintedMap, *, paper: str, dpi: int) -> Figure:
    width, height = PAPER_SIZES[paper]
    fig = Figure(figsize=(width, height), dpi=dpi)
    renderer = FigureCanvasAgg(fig).get_renderer()
    # the map on the left two thirds, the legend on the right, header and footer around them
    ax = fig.add_axes((0.02, 0.07, 0.64, 0.82))
    font = _FONT[paper]
    bounds = _draw_plan(ax, printed)
    # the limits are frozen before anything else is drawn, so that the places found for
    # the labels (in pixels) stay where they were measured
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    ax.apply_aspect()
    london = _london_inset(fig, printed, bounds, font=font)
    obstacles = [_extent(a.get_window_extent(renderer)) for a in _scale_bar(ax, bounds, font=font)]
    if london is not None:
        x0, y0, x1, y1 = LONDON_BNG
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ec="#222222"))
    keys = _label_footprints(fig, ax, london, printed, font=font, obstacles=obstacles)
    _legend(fig, printed, font=font, keys=keys)
    _header_footer(fig, printed, font=font)
    return fig


def _draw_plan(ax: Any, printed: PrintedMap) -> tuple[float, float, float, float]:
    """Footprints and unassigned units on ``ax`` (no labels); the drawn extent."""
    # off before anything is plotted: geopandas draws the figure as it plots, and the axis's
    # tick labels would otherwise be drawn (and read as mathematics) once
    ax.set_axis_off()
    units = printed.units
    unassigned = units[units["footprint"] == ""]
    if len(unassigned):
        unassigned.plot(ax=ax, color=_UNASSIGNED, edgecolor="#999999", linewidth=0.2, hatch="////")
    fps = printed.footprints
    if len(fps):
        colours = [printed.colours.get(str(f), "#cccccc") for f in fps["footprint"]]
        fps.plot(ax=ax, color=colours, edgecolor=_EDGE, linewidth=0.35)
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
    _draw_plan(inset, sub)
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


# --- labels that never overlap ------------------------------------------------------------------
#
# Each footprint's label is placed, in pixels of the page, at a point inside the footprint:
# first its pole of inaccessibility (the point farthest from its edges, where a label reads
# as belonging to it), then points around it, nearest first. A place is taken only when the
# label's box stays inside the map's frame and clear of every label placed before it, of the
# London inset, the scale bar and the London frame. A label that finds no place is tried
# with its name on one line or two (a long name two first), then without its population,
# then 15% smaller; a footprint that shows in the London inset tries the inset next
# (London's own footprints are labelled there only); the last resort is a numbered key: a
# small number on the map (with a thin leader line when it has to sit outside the
# footprint) and the name beside the same number in the legend. Footprints are placed
# smallest first (they have the fewest places), ties by name, so the same plan always
# prints the same page.
# matplotlib has no collision-free labelling of its own, and adjustText (not installed)
# pushes labels apart without promising that none overlap or that each stays on its area.

#: Shrunk label sizes, as shares of the paper's label size, tried after the full size.
_SHRINK = (0.85,)
#: Clear space kept between two labels' boxes, in points.
_GAP_PT = 1.0
#: How far candidate places reach from the pole, in quarter widths and heights of the label.
_REACH = 8
#: How far (in quarter key boxes) a numbered key first looks for room off its footprint
#: (then three times as far), on a leader line.
_KEY_REACH = 24
_BOX = {"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75}
_KEY_BOX = {"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "#222222", "lw": 0.4}
_BOX_PAD = 0.12  # the label box's pad, in font sizes
_LONG = 24  # a name this long is tried on two lines first
_KEY_PAD = 0.15


@dataclass(frozen=True)
class _Target:
    """One footprint to label: its name, population and shape."""

    name: str
    population: int
    shape: Any  # the footprint's polygons, EPSG:27700
    area: float


@dataclass(frozen=True)
class _Variant:
    """One way to write a label: the text, its size (points) and its box (pixels)."""

    text: str
    size: float
    width: float
    height: float


class _Board:
    """The boxes (x0, y0, x1, y1 in pixels) already taken on the page, and the frames
    labels must stay inside."""

    def __init__(self, obstacles: Sequence[tuple[float, float, float, float]], gap: float):
        self.boxes = np.asarray(list(obstacles), dtype=float).reshape(-1, 4)
        self.gap = gap

    def free(self, boxes: np.ndarray) -> np.ndarray:
        """Which of ``boxes`` (n x 4) are clear of every taken box by the gap."""
        g = self.gap
        # only the taken boxes near the candidates can clash with them
        taken = self.boxes
        near = (
            (taken[:, 0] < boxes[:, 2].max() + g)
            & (boxes[:, 0].min() < taken[:, 2] + g)
            & (taken[:, 1] < boxes[:, 3].max() + g)
            & (boxes[:, 1].min() < taken[:, 3] + g)
        )
        if not near.any():
            return np.ones(len(boxes), dtype=bool)
        a = boxes[:, None, :]
        b = taken[near][None, :, :]
        clash = (
            (a[..., 0] < b[..., 2] + g)
            & (b[..., 0] < a[..., 2] + g)
            & (a[..., 1] < b[..., 3] + g)
            & (b[..., 1] < a[..., 3] + g)
        )
        return np.asarray(~clash.any(axis=1))

    def take(self, box: np.ndarray) -> None:
        self.boxes = np.vstack([self.boxes, box[None, :]])


def _two_lines(name: str) -> str | None:
    """The name broken at the space that best balances its two lines; None when it has no
    space or is short enough for one line."""
    words = name.split(" ")
    if len(words) < 2 or len(name) < 12:
        return None
    best = min(
        range(1, len(words)),
        key=lambda i: (max(len(" ".join(words[:i])), len(" ".join(words[i:]))), i),
    )
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


def _texts(target: _Target, *, tiny: bool) -> list[str]:
    """The label's wordings, most informative first; a long name (``_LONG`` characters or
    more) is tried on two lines first, a more compact block that crowds its neighbours less."""
    name = clean_name(target.name)
    wrapped = _two_lines(name)
    names = (
        [name] if wrapped is None else [wrapped, name] if len(name) >= _LONG else [name, wrapped]
    )
    pop = f"{target.population:,}"
    full = [f"{n}\n{pop}" for n in names]
    return names if tiny else full + names


def _measure(fig: Figure, text: str, size: float, *, pad: float, bold: bool = False) -> _Variant:
    """The pixel box of ``text`` at ``size`` points, with its background's pad."""
    probe = fig.text(
        0, 0, text, fontsize=size, linespacing=1.0, parse_math=False, ha="center", va="center"
    )
    if bold:
        probe.set_fontweight("bold")
    ext = probe.get_window_extent()
    probe.remove()
    margin = 2 * pad * size * fig.dpi / 72
    return _Variant(text, size, ext.width + margin, ext.height + margin)


def _pole(shape: Any) -> Any:
    """The point of ``shape`` farthest from its edges (of its largest part)."""
    parts = list(getattr(shape, "geoms", [shape]))
    largest = max(parts, key=lambda p: p.area)
    if largest.is_empty or largest.area <= 0:
        return shape.representative_point()
    return polylabel(largest, tolerance=max(1.0, math.sqrt(largest.area) / 200))


def _offsets(width: float, height: float, reach: int) -> np.ndarray:
    """Offsets (pixels) from a point in steps of a quarter of the box, nearest first
    (ties: lower, then left, first)."""
    grid_i, grid_j = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1))
    i, j = grid_i.ravel(), grid_j.ravel()
    pts = np.column_stack([i * width / 4, j * height / 4]).astype(float)
    order = np.lexsort((i, j, np.round(np.hypot(pts[:, 0], pts[:, 1]), 6)))
    return np.asarray(pts[order])


def _boxes(centres: np.ndarray, width: float, height: float) -> np.ndarray:
    hw, hh = width / 2, height / 2
    c = centres
    return np.column_stack([c[:, 0] - hw, c[:, 1] - hh, c[:, 0] + hw, c[:, 1] + hh])


def _within(boxes: np.ndarray, frame: Any) -> np.ndarray:
    return np.asarray(
        (boxes[:, 0] >= frame.x0)
        & (boxes[:, 1] >= frame.y0)
        & (boxes[:, 2] <= frame.x1)
        & (boxes[:, 3] <= frame.y1)
    )


@dataclass(frozen=True)
class _Home:
    """Where a label may go: the axes, the part of the footprint it shows, that part's
    pole (in data coordinates) and whether it is tiny at that axes' scale (under
    ``_SMALL_SHARE`` of the area it shows: its label is then its name alone)."""

    ax: Any
    shape: Any
    pole: tuple[float, float]
    tiny: bool


def _home(ax: Any, shape: Any, *, shown_area: float) -> _Home | None:
    if shape.is_empty:
        return None
    pole = _pole(shape)
    tiny = bool(shape.area < _SMALL_SHARE * shown_area)
    return _Home(ax, shape, (float(pole.x), float(pole.y)), tiny)


def _first_place(
    home: _Home, variant: _Variant, board: _Board, *, inside: bool, reach: int
) -> np.ndarray | None:
    """The centre (pixels) of the first free place for ``variant`` near the pole of the
    home's shape; with ``inside``, only places whose centre lies in the footprint."""
    ax = home.ax
    centres = ax.transData.transform(home.pole) + _offsets(variant.width, variant.height, reach)
    boxes = _boxes(centres, variant.width, variant.height)
    ok = _within(boxes, ax.get_window_extent())
    if ok.any():
        ok[ok] = board.free(boxes[ok])
    if inside and ok.any():
        data = ax.transData.inverted().transform(centres[ok])
        ok[ok] = shapely.contains_xy(home.shape, data[:, 0], data[:, 1])
    if not ok.any():
        return None
    return np.asarray(centres[int(np.argmax(ok))])


def _put(ax: Any, centre: np.ndarray, variant: _Variant, board: _Board, *, gid: str) -> Any:
    """Draw ``variant`` centred on ``centre`` (pixels) and mark its box as taken."""
    x, y = ax.transData.inverted().transform(centre)
    key = gid == "footprint-key"
    text = ax.text(
        x,
        y,
        variant.text,
        ha="center",
        va="center",
        fontsize=variant.size,
        fontweight="bold" if key else "normal",
        linespacing=1.0,
        parse_math=False,
        bbox=dict(_KEY_BOX if key else _BOX),
        clip_on=True,
        gid=gid,
        zorder=6 if key else 5,
    )
    board.take(_boxes(centre[None, :], variant.width, variant.height)[0])
    return text


def _label_footprints(
    fig: Figure,
    ax: Any,
    inset: Any | None,
    printed: PrintedMap,
    *,
    font: float,
    obstacles: list[tuple[float, float, float, float]],
) -> dict[str, int]:
    """Place every footprint's label on the map or the inset, none overlapping; the
    footprints keyed by number instead (name -> number, numbered in legend order)."""
    fps = printed.footprints
    if not len(fps):
        return {}
    gap = _GAP_PT * fig.dpi / 72
    main = _Board(obstacles, gap)
    boards = {id(ax): main}
    london_box = shapely.box(*LONDON_BNG)
    if inset is not None:
        inset.apply_aspect()
        main.take(np.asarray(_extent(inset.get_tightbbox()), dtype=float))
        main.take(np.asarray(_extent(_data_box(ax, LONDON_BNG)), dtype=float))
        boards[id(inset)] = _Board([], gap)
    england, london = _area(printed.units.total_bounds), _area(LONDON_BNG)
    targets = sorted(
        (
            _Target(str(f), int(p), g, float(g.area))
            for f, p, g in zip(fps["footprint"], fps["population"], fps.geometry, strict=True)
        ),
        key=lambda t: (t.area, t.name),
    )
    # every key's circle is as wide as the widest number it may hold
    probe = _measure(fig, "8" * len(str(len(targets))), font, pad=_KEY_PAD, bold=True)
    side = max(probe.width, probe.height)
    circle = _Variant("", font, side, side)
    keyed: list[tuple[str, Any]] = []
    for target in targets:
        in_london = inset is not None and london_box.contains(_pole(target.shape))
        homes = [
            _home(inset, target.shape & london_box, shown_area=london)
            if in_london
            else _home(ax, target.shape, shown_area=england)
        ]
        if inset is not None and not in_london and target.shape.intersects(london_box):
            homes.append(_home(inset, target.shape & london_box, shown_area=london))
        found = [h for h in homes if h is not None]
        if not _place_label(fig, found, target, boards, font=font):
            key = _place_key(found[0], boards[id(found[0].ax)], circle)
            keyed.append((target.name, key))
    # keys numbered in the legend's order, so that the legend reads 1, 2, 3...
    keys = {name: i + 1 for i, name in enumerate(sorted(n for n, _ in keyed))}
    for name, text in keyed:
        text.set_text(str(keys[name]))
    return keys


def _place_label(
    fig: Figure, homes: list[_Home], target: _Target, boards: dict[int, _Board], *, font: float
) -> bool:
    """Whether the label found a place (it is then drawn), trying each wording and size
    in each home in turn."""
    for home in homes:
        board = boards[id(home.ax)]
        for size in (font, *(font * s for s in _SHRINK)):
            for text in _texts(target, tiny=home.tiny):
                variant = _measure(fig, text, size, pad=_BOX_PAD)
                centre = _first_place(home, variant, board, inside=True, reach=_REACH)
                if centre is not None:
                    _put(home.ax, centre, variant, board, gid="footprint-label")
                    return True
    return False


def _place_key(home: _Home, board: _Board, variant: _Variant) -> Any:
    """A numbered key's circle for a footprint whose label found no place: inside the
    footprint when there is room, else as near as there is room, on a leader line from
    the footprint's pole. Its text (the number) is set once every key is known."""
    centre = _first_place(home, variant, board, inside=True, reach=4)
    if centre is None:
        for reach in (_KEY_REACH, 3 * _KEY_REACH):
            centre = _first_place(home, variant, board, inside=False, reach=reach)
            if centre is not None:
                break
        else:
            # no free place within reach: the number goes on the pole regardless
            _LOG.warning("no free place for a numbered key; it is drawn over other labels")
            centre = np.asarray(home.ax.transData.transform(home.pole))
        x, y = home.ax.transData.inverted().transform(centre)
        home.ax.plot([home.pole[0], x], [home.pole[1], y], color="#222222", lw=0.4, zorder=4)
    return _put(home.ax, centre, variant, board, gid="footprint-key")


def _extent(bbox: Any) -> tuple[float, float, float, float]:
    return float(bbox.x0), float(bbox.y0), float(bbox.x1), float(bbox.y1)


def _data_box(ax: Any, box: tuple[float, float, float, float]) -> Any:
    """A data-coordinates box in pixels."""
    (x0, y0), (x1, y1) = ax.transData.transform([(box[0], box[1]), (box[2], box[3])])
    return Bbox.from_extents(x0, y0, x1, y1)


def _area(bounds: Any) -> float:
    x0, y0, x1, y1 = bounds
    return float((x1 - x0) * (y1 - y0))


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map's width (10, 20, 50, 100... km)."""
    target = span_m / 5
    power = 10 ** math.floor(math.log10(target))
    return max(step * power for step in (1, 2, 5) if step * power <= target)


def _scale_bar(ax: Any, bounds: tuple[float, float, float, float], *, font: float) -> list[Any]:
    """A black-and-white scale bar at the bottom left of the map; its artists (which
    labels keep clear of)."""
    x0, y0, x1, y1 = bounds
    length = _nice_length(x1 - x0)
    left, base = x0, y0 + 0.01 * (y1 - y0)
    tick = 0.008 * (y1 - y0)
    half = length / 2
    artists = [
        ax.add_patch(Rectangle((left, base), half, tick, fc="#222222", ec="#222222", lw=0.5)),
        ax.add_patch(Rectangle((left + half, base), half, tick, fc="white", ec="#222222", lw=0.5)),
    ]
    km = length / 1000
    for x, text in ((left, "0"), (left + half, f"{km / 2:g}"), (left + length, f"{km:g} km")):
        artists.append(
            ax.text(
                x,
                base + 2 * tick,
                text,
                ha="center",
                va="bottom",
                fontsize=font + 1,
                parse_math=False,
            )
        )
    return artists


#: The legend's room on the page, in figure fractions (left, bottom, right, top).
_LEGEND_ROOM = (0.68, 0.02, 0.99, 0.89)
# the legend's spacing, in font sizes (matplotlib's names; pads as its defaults)
_HANDLE_LENGTH, _HANDLE_PAD, _COLUMN_SPACING, _BORDER_PAD = 1.2, 0.8, 0.8, 0.4
#: The smallest legend text, in points, before long names are shortened to fit.
_LEGEND_MIN_PT = 3.5
#: Name lengths (characters) tried, longest first, when the legend is still too wide.
_LEGEND_NAME_LIMITS: tuple[int | None, ...] = (None, 40, 32, 26, 20, 14)


def _legend(fig: Figure, printed: PrintedMap, *, font: float, keys: Mapping[str, int]) -> None:
    """Every footprint with its population, by name; a footprint keyed by number on the
    map (its label found no place) shows the same number before its name.

    The legend must fit its room on the page (it is the only place a keyed footprint's
    name shows): it takes more columns, shortens the longest names (to 40, then 32
    characters), then takes smaller text, down to 3.5 points and shorter names still.
    The names of keyed footprints are never shortened: the map does not show them.
    """
    fps = printed.footprints.sort_values("footprint", kind="stable")
    entries = [
        (str(f), printed.colours.get(str(f), "#cccccc"), int(p))
        for f, p in zip(fps["footprint"], fps["population"], strict=True)
    ]
    unassigned = bool((printed.units["footprint"] == "").any())
    first = font + (1.5 if len(entries) <= 45 else 0.5)
    sizes = [first - i for i in range(4) if first - i >= _LEGEND_MIN_PT] or [first]
    # a few long names shortened read better than the whole legend in smaller text: each
    # size is tried with whole names, then shortened ones, before the next size down
    attempts = [(size, limit) for size in sizes for limit in _LEGEND_NAME_LIMITS[:3]] + [
        (sizes[-1], limit) for limit in _LEGEND_NAME_LIMITS[3:]
    ]
    legend = None
    for size, limit in attempts:
        handles = _legend_handles(entries, keys, unassigned=unassigned, limit=limit)
        ncol = 1
        while ncol <= len(handles):
            if legend is not None:
                legend.remove()
            legend = _draw_legend(fig, printed, handles, font=font, size=size, ncol=ncol)
            high, wide, box = _legend_misfit(fig, legend)
            if not high and not wide:
                return
            # enough columns for the rows that fit in the room's height, judged from this one;
            # when those would be too wide, smaller text or shorter names are tried next
            wanted = max(ncol + 1, math.ceil(ncol * high))
            if wide or _legend_width(fig, legend, box, wanted=wanted, size=size):
                break
            ncol = wanted
    _LOG.warning("the legend does not fit its room on the page; it is drawn as it is")


def _legend_handles(
    entries: Sequence[tuple[str, str, int]],
    keys: Mapping[str, int],
    *,
    unassigned: bool,
    limit: int | None,
) -> list[Patch]:
    def entry(name: str, pop: int) -> str:
        key = f"({keys[name]}) " if name in keys else ""
        shown = clean_name(name)
        # a keyed footprint's name shows nowhere else, so it is never shortened
        if limit is not None and len(shown) > limit and name not in keys:
            shown = shown[: limit - 1].rstrip() + "\u2026"
        return f"{key}{shown}: {pop:,}"

    handles = [
        Patch(facecolor=colour, edgecolor=_EDGE, linewidth=0.3, label=entry(name, pop))
        for name, colour, pop in entries
    ]
    if unassigned:
        handles.append(
            Patch(facecolor=_UNASSIGNED, edgecolor="#999999", hatch="////", label="unassigned")
        )
    return handles


def _draw_legend(
    fig: Figure, printed: PrintedMap, handles: list[Patch], *, font: float, size: float, ncol: int
) -> Any:
    word = population_word(printed.population_label)
    legend = fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(_LEGEND_ROOM[0], _LEGEND_ROOM[3]),
        ncol=ncol,
        fontsize=size,
        title=f"Footprints ({word})",
        title_fontsize=font + 3,
        frameon=False,
        handlelength=_HANDLE_LENGTH,
        handletextpad=_HANDLE_PAD,
        borderpad=_BORDER_PAD,
        handleheight=0.9,
        columnspacing=_COLUMN_SPACING,
        labelspacing=0.25,
        alignment="left",
    )
    for text in [*legend.get_texts(), legend.get_title()]:
        text.set_parse_math(False)
    return legend


def _legend_width(fig: Figure, legend: Any, box: Any, *, wanted: int, size: float) -> bool:
    """Whether ``legend`` (drawn in ``box``) would run past its room's right-hand side
    with ``wanted`` columns: each column as wide as its widest entry (legends fill their
    columns in order, as ``numpy.array_split`` splits) plus its patch and pads."""
    widths = np.array([t.get_window_extent().width for t in legend.get_texts()])
    em = size * fig.dpi / 72
    columns = sum(float(c.max()) for c in np.array_split(widths, wanted) if len(c))
    width = (
        columns
        + wanted * (_HANDLE_LENGTH + _HANDLE_PAD) * em
        + (wanted - 1) * _COLUMN_SPACING * em
        + 2 * _BORDER_PAD * em
    )
    return bool(box.x0 + width > _LEGEND_ROOM[2] * fig.bbox.width)


def _legend_misfit(fig: Figure, legend: Any) -> tuple[float, bool, Any]:
    """How many times the legend's height its room holds when it runs below the room
    (0 when it fits in height), whether it runs past the room's right-hand side, and its
    box (pixels)."""
    box = legend.get_window_extent()
    _, y0, x1, y1 = _LEGEND_ROOM
    w, h = fig.bbox.width, fig.bbox.height
    room = (y1 - y0) * h
    high = box.height / room if box.height > room else 0.0
    return high, box.x1 > x1 * w, box


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
