"""Charts drawn with matplotlib: a run's loss curves, ablation bars, and 2-D scatter plots.

matplotlib is the field's standard for these: real axes with readable ("nice") ticks, legends,
log scales, error bars, and text that stays legible at any size. Everything renders off-screen
with the Agg backend through `matplotlib.figure.Figure` and `FigureCanvasAgg` directly, never
`pyplot`: no window opens, the user's pyplot backend and figure list are untouched, and no
global figure state is shared between threads. Every chart comes back as a ``uint8`` RGB array
``(H, W, 3)``, which `gan_jax.pictures.save_png` and TensorBoard image summaries accept.

Importing this module imports matplotlib (a few tenths of a second); `gan_jax.pictures` loads
it on the first use of a chart, so image grids and GIFs do not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, MaxNLocator

from gan_jax.pictures import BCE_GUIDES

REAL_COLOR = (31, 119, 180)  # blue
FAKE_COLOR = (255, 127, 14)  # orange
FAKE_ALPHA = 0.6  # generated dots are translucent so real points underneath stay visible
# What a generated dot looks like on the white background (inside the dot; its rim is smoothed).
FAKE_ON_WHITE = tuple(round(255 * (1 - FAKE_ALPHA) + c * FAKE_ALPHA) for c in FAKE_COLOR)
MEAN_COLOR = (0, 0, 0)
BAR_COLOR = REAL_COLOR
# Series colours of `line_chart`, in the order of a panel's series.
LINE_COLORS = (
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (140, 86, 75),
)
_GREY = (0.45, 0.45, 0.45)
_GRID = (0.9, 0.9, 0.9)
_DPI = 100
_NOTE = {"textcoords": "offset points", "va": "center", "color": _GREY, "fontsize": 8}
_CENTRED = {"ha": "center", "va": "center", "color": _GREY, "fontsize": 9}
_ERROR_BAR = {"elinewidth": 1.2, "capsize": 3, "ecolor": "black"}
_LEGEND_ROW = {
    "loc": "lower center",
    "frameon": False,
    "handlelength": 1.0,
    "handletextpad": 0.4,
    "columnspacing": 1.2,
    "borderaxespad": 0.2,
}
_MAX_FAKE_EXTENT = 3.0  # generated points may widen the axes to at most 3x the real extent
_MARGIN = 0.10  # fraction of the data range added on each side

Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]  # name -> (steps, values)
# (title, series) or (title, series, options); see `line_chart` for the options.
Panel = tuple[str, Series] | tuple[str, Series, Mapping[str, Any]]
Cell = tuple[float, float] | None  # (mean, std), None when no run finished
PANEL_OPTIONS = frozenset({"log", "hline"})
BCE_GUIDES = BCE_GUIDES  # re-exported: guide lines of BCE loss panels (see gan_jax.pictures)


# --- common ---------------------------------------------------------------------------------


def _rgb(color: Sequence[int]) -> tuple[float, ...]:
    return tuple(c / 255 for c in color)


def _pt(pixels: float) -> float:
    """Pixels to typographic points (what matplotlib sizes text, lines and markers in)."""
    return pixels * 72 / _DPI


def _figure(width: int, height: int, layout: str | None = None) -> Figure:
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white", layout=layout)
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    return fig


def _render(fig: Figure, width: int, height: int) -> np.ndarray:
    """The figure as uint8 RGB, exactly (height, width): float sizes can lose a pixel."""
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    out = np.full((height, width, 3), 255, np.uint8)
    h, w = min(height, rgb.shape[0]), min(width, rgb.shape[1])
    out[:h, :w] = rgb[:h, :w]
    return out


def _text_width(texts: Sequence[str], fontsize: float) -> float:
    """Width in pixels of the widest of `texts` at `fontsize` points."""
    renderer, prop = RendererAgg(1, 1, _DPI), FontProperties(size=fontsize)
    return max(
        (renderer.get_text_width_height_descent(t, prop, False)[0] for t in texts), default=0
    )


def _note(ax: Axes, text: str, x: float, y: float, left: bool = False) -> None:
    """Grey text 4 points right (or `left`) of the data point (x, y), vertically centred."""
    ax.annotate(
        text, (x, y), xytext=(-4 if left else 4, 0), ha="right" if left else "left", **_NOTE
    )


# --- line_chart -----------------------------------------------------------------------------


def _finite(xs: Sequence[float], ys: Sequence[float], positive: bool) -> tuple[np.ndarray, ...]:
    x, y = np.asarray(xs, np.float64).ravel(), np.asarray(ys, np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y) & ((y > 0) if positive else True)
    return x[ok], y[ok]


def _panel_parts(panel: Panel) -> tuple[str, Series, Mapping[str, Any]]:
    title, series, *rest = panel
    options = rest[0] if rest else {}
    unknown = set(options) - PANEL_OPTIONS
    if len(rest) > 1 or unknown:
        raise ValueError(
            f"a panel is (title, series[, options]) with options in "
            f"{sorted(PANEL_OPTIONS)}; got {len(panel)} items, options {unknown}"
        )
    return title, series, options


def _line_panel(ax: Axes, title: str, series: Series, options: Mapping[str, Any]) -> None:
    ax.set_title(title, fontsize=9, loc="left")
    ax.tick_params(labelsize=8)
    log = bool(options.get("log", False))
    steps = set()
    for i, (name, (xs, ys)) in enumerate(series.items()):
        x, y = _finite(xs, ys, positive=log)
        if len(x):
            color, marker = _rgb(LINE_COLORS[i % len(LINE_COLORS)]), "o" if len(x) == 1 else None
            ax.plot(x, y, color=color, linewidth=1.6, marker=marker, markersize=4, label=str(name))
            steps.update(x.tolist())
    if not steps:
        ax.text(0.5, 0.5, "no data yet", transform=ax.transAxes, **_CENTRED)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    if len(steps) == 1:  # a single step: one tick there, not fractions of a step around it
        (step,) = steps
        ax.set_xlim(step - 1, step + 1)
        ax.set_xticks([step])
    guides = options.get("hline")
    for value in () if guides is None else np.atleast_1d(np.asarray(guides, np.float64)):
        ax.axhline(value, color=_GREY, linestyle="--", linewidth=1, zorder=1)
        ax.annotate(
            f"{value:.3g}", (1.0, value), xycoords=("axes fraction", "data"), xytext=(2, 0), **_NOTE
        )
    if log:
        ax.set_yscale("log")
    if len(steps) > 1:
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # steps as 0, 20k, 1.5M
    ax.grid(True, color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="best", framealpha=0.85, handlelength=1.5)


def line_chart(
    panels: Sequence[Panel], panel_size: tuple[int, int] = (420, 220), columns: int = 3
) -> np.ndarray:
    """uint8 RGB image of line charts over the training step: one panel per entry of `panels`.

    Args:
      panels: ``(title, {series_name: (steps, values)})`` each, optionally with a third
        element, an options dict: ``{"log": True}`` draws the y axis on a log scale (values
        <= 0 are then skipped), ``{"hline": 0.693}`` adds a dashed horizontal guide line
        labelled with its value (a sequence adds one per value, e.g. `BCE_GUIDES`).
        Each series is a line in its own colour (`LINE_COLORS`, by its position in the dict)
        with a legend; non-finite points are skipped; a panel without points says so.
      panel_size: (width, height) of one panel in pixels.
      columns: panels per row; the image is ``columns * width`` wide (fewer with fewer panels).
    """
    parts = [_panel_parts(p) for p in panels] or [("", {}, {})]
    width, height = panel_size
    cols = max(1, min(columns, len(parts)))
    rows = -(-len(parts) // cols)
    fig = _figure(cols * width, rows * height, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (title, series, options) in zip(axes, parts, strict=False):
        _line_panel(ax, title, series, options)
    for ax in axes[len(parts) :]:
        ax.set_visible(False)
    return _render(fig, cols * width, rows * height)


# --- bar_chart ------------------------------------------------------------------------------


def _bar_limits(cells: Sequence[Cell]) -> tuple[float, float]:
    """x limits that include 0 and every error bar, with room for the printed values."""
    ends = [v for m, s in _valid(cells) for v in (m - s, m + s)]
    lo, hi = min(ends + [0.0]), max(ends + [0.0])
    span = (hi - lo) or 1.0
    return lo - (0.3 * span if lo < 0 else 0.0), hi + (0.3 * span if hi > 0 or lo == 0 else 0.0)


def _valid(cells: Sequence[Cell]) -> list[tuple[float, float]]:
    return [_cell(c) for c in cells if c is not None and np.isfinite(c[0])]


def _cell(cell: tuple[float, float]) -> tuple[float, float]:
    mean, std = float(cell[0]), float(cell[1])
    return mean, (abs(std) if np.isfinite(std) else 0.0)


def _bar_panel(ax: Axes, metric: str, cells: Sequence[Cell], bar_height: float) -> None:
    ax.set_title(metric, fontsize=9, loc="left")
    ax.tick_params(labelsize=8)
    ax.set_xlim(*_bar_limits(cells))
    ax.grid(True, axis="x", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.axvline(0.0, color=_GREY, linewidth=0.8)
    for i, cell in enumerate(cells):
        if cell is None or not np.isfinite(cell[0]):
            _note(ax, "no finished run" if cell is None else f"{cell[0]}", 0.0, i)
            continue
        mean, std = _cell(cell)
        ax.barh(i, mean, bar_height, xerr=std, color=_rgb(BAR_COLOR), error_kw=_ERROR_BAR)
        end = mean + std if mean >= 0 else mean - std
        _note(ax, f"{mean:.3g}", end, i, left=mean < 0)


def bar_chart(
    labels: Sequence[str], panels: Sequence[tuple[str, Sequence[Cell]]], bar_height: int = 18
) -> np.ndarray:
    """uint8 RGB image: for each (metric, cells) panel, one horizontal bar per label.

    `cells` holds one ``(mean, std)`` or None per label. Each bar starts at 0 (negative means
    go left), with a ±1 std error bar and the mean printed beside it; None says "no finished
    run". Panels sit side by side and share the labels on the left; each bar is about
    `bar_height` pixels tall.
    """
    labels = [str(s) for s in labels]
    n, count = max(len(labels), 1), max(len(panels), 1)
    label_w = _text_width(labels, 8) + 14
    panel_w, gap, top, bottom, right = 300, 24, 26, 24, 10
    bars_h = n * (bar_height + 8)
    width, height = int(label_w + count * (panel_w + gap) - gap + right), bars_h + top + bottom
    fig = _figure(width, height)
    for p, (metric, cells) in enumerate(panels):
        rect = (label_w + p * (panel_w + gap)) / width, bottom / height, panel_w / width
        ax = fig.add_axes((*rect, bars_h / height))
        ax.set_yticks(range(len(labels)), labels if p == 0 else [])
        ax.set_ylim(n - 0.5, -0.5)  # first label on top
        _bar_panel(ax, metric, cells, bar_height / (bar_height + 8))
    return _render(fig, width, height)


# --- scatter_plot ---------------------------------------------------------------------------


def _as_points(points: np.ndarray | None, name: str) -> np.ndarray:
    if points is None:
        return np.zeros((0, 2))
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {points.shape}")
    return points


def _finite_rows(points: np.ndarray) -> np.ndarray:
    return points[np.all(np.isfinite(points), axis=1)]


def _axis_limits(real: np.ndarray, fake: np.ndarray, means: np.ndarray) -> tuple[float, ...]:
    """Square (equal-aspect) limits (xmin, xmax, ymin, ymax) around the data, 10% margin.

    The box covers real points and means, plus generated points clipped to a box 3x as wide
    as the real one, so a diverged generator cannot shrink the real data to a dot.
    Non-finite points are ignored.
    """
    anchor = _finite_rows(np.concatenate([real, means]))
    fake = _finite_rows(fake)
    if len(anchor):
        lo, hi = anchor.min(axis=0), anchor.max(axis=0)
        center = (lo + hi) / 2
        half = max(float((hi - lo).max()) / 2, 1e-6)
        fake = np.clip(fake, center - _MAX_FAKE_EXTENT * half, center + _MAX_FAKE_EXTENT * half)
        pts = np.concatenate([anchor, fake])
    elif len(fake):
        pts = fake
    else:
        pts = np.array([[-1.0, -1.0], [1.0, 1.0]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) / 2
    half = float((hi - lo).max()) / 2
    half = (half if half > 0 else 1.0) * (1 + 2 * _MARGIN)
    return center[0] - half, center[0] + half, center[1] - half, center[1] + half


def _scatter_box(size: int, font_px: float, titled: bool) -> tuple[float, ...]:
    """The square data area (left, bottom, width, height) as figure fractions.

    Above it: the title row (if any) and the legend row; left: y tick labels of up to five
    characters; below: x tick labels.
    """
    pad, line = max(4.0, size / 64), 1.3 * font_px
    top = pad + (line + pad / 2 if titled else 0.0) + 1.4 * line
    bottom, left = 6 + line + pad, 3.0 * font_px + 6 + pad
    side = min(size - left - pad, size - top - bottom)
    x0 = left + (size - left - pad - side) / 2
    return x0 / size, bottom / size, side / size, side / size


def _off_plot_label(fake: np.ndarray, limits: tuple[float, ...]) -> str:
    """'generated', with how many generated points are outside the axes or not finite."""
    xmin, xmax, ymin, ymax = limits
    finite = _finite_rows(fake)
    x, y = finite[:, 0], finite[:, 1]
    off = int(np.count_nonzero((x < xmin) | (x > xmax) | (y < ymin) | (y > ymax)))
    bad = len(fake) - len(finite)
    notes = [f"{off} off-plot"] * bool(off) + [f"{bad} not finite"] * bool(bad)
    return "generated" + (f" ({', '.join(notes)})" if notes else "")


def _point_styles(size: int) -> dict[str, dict[str, Any]]:
    """Plot styles of the real dots, generated dots and mode crosses at this image size."""
    dot = {"linestyle": "none", "marker": "o", "markeredgewidth": 0}
    dot["markersize"] = _pt(max(4.0, size / 90))
    cross = {"linestyle": "none", "marker": "x", "markersize": _pt(max(7.0, size / 50))}
    cross["markeredgewidth"] = _pt(max(1.5, size / 300))
    return {
        "real": {**dot, "color": _rgb(REAL_COLOR), "zorder": 2},
        "fake": {**dot, "color": _rgb(FAKE_COLOR), "alpha": FAKE_ALPHA, "zorder": 3},
        "modes": {**cross, "color": _rgb(MEAN_COLOR), "zorder": 4},
    }


def _scatter_legend(ax: Axes, entries: dict[str, str], size: int, fontsize: float) -> None:
    """One legend row {style: label} centred above the data area (dots shown larger), its
    font shrunk until the row fits the image."""
    styles = _point_styles(size)
    handles = []
    for style, label in entries.items():
        kwargs = styles[style] | {"markersize": _pt(max(7.0, size / 50))}
        handles.append(Line2D([], [], label=label, **kwargs))
    for _ in range(3):
        legend = ax.legend(
            handles=handles,
            ncol=len(handles),
            fontsize=fontsize,
            **_LEGEND_ROW,
            bbox_to_anchor=(0.5, ax.get_position().y1),
            bbox_transform=ax.figure.transFigure,
        )
        ax.figure.draw_without_rendering()
        width = legend.get_window_extent().width
        if width <= 0.96 * size:
            return
        fontsize *= 0.94 * size / width


def scatter_plot(
    real: np.ndarray,
    fake: np.ndarray,
    means: np.ndarray | None = None,
    size: int = 512,
    title: str | None = None,
) -> np.ndarray:
    """Renders real vs generated 2-D points as a ``(size, size, 3)`` uint8 RGB image.

    Real points are small blue dots, generated points translucent orange dots drawn on top
    (`FAKE_ALPHA`), and mode centres (``means``) black crosses. The square, equal-aspect data
    area has ticks; the optional title and a legend sit above it, so they never hide points.
    The axes cover the real points and means (10% margin); generated points may widen them to
    at most 3x the real extent (`_axis_limits`), and those outside are counted in the legend
    instead. Non-finite points are not drawn (the legend counts them too).
    """
    if size < 128:
        raise ValueError(f"size must be at least 128 pixels, got {size}")
    real, fake = _as_points(real, "real"), _as_points(fake, "fake")
    means = _as_points(means, "means")
    limits = _axis_limits(real, fake, means)
    font_px = max(10.0, size / 40)
    fontsize = _pt(font_px)

    fig = _figure(size, size)
    ax = fig.add_axes(_scatter_box(size, font_px, bool(title)))
    ax.set_xlim(*limits[:2])
    ax.set_ylim(*limits[2:])
    ax.tick_params(labelsize=0.9 * fontsize, length=_pt(max(3.0, size / 128)))
    ax.grid(True, color=_GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    entries = {"real": "real", "fake": _off_plot_label(fake, limits)}
    entries |= {"modes": "modes"} if len(means) else {}
    styles = _point_styles(size)
    for style, points in zip(entries, (real, fake, means), strict=False):
        ax.plot(*_finite_rows(points).T, **styles[style])
    if title:
        top = 1 - max(4.0, size / 64) / size
        fig.text(0.5, top, title, ha="center", va="top", fontsize=fontsize)
    _scatter_legend(ax, entries, size, fontsize)
    return _render(fig, size, size)
