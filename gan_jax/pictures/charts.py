"""Summary charts (numpy + Pillow): horizontal bars with ±1 std error bars, one panel a metric."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gan_jax.pictures.grids import REAL_COLOR, TEXT_COLOR

Cell = tuple[float, float] | None  # (mean, std), None when no run finished


def bar_chart(
    labels: Sequence[str], panels: Sequence[tuple[str, Sequence[Cell]]], bar_height: int = 18
) -> np.ndarray:
    """uint8 RGB image: for each (metric, cells) panel, one bar per label with its error bar.

    Bars start at 0 (negative means are drawn as empty bars; the printed value is exact).
    """
    try:
        font = ImageFont.load_default(size=12)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType
        font = ImageFont.load_default()
    label_w = max([len(s) for s in labels] + [4]) * 7 + 10
    panel_w, pad, title_h = 260, 12, 22
    height = title_h + len(labels) * (bar_height + 6) + pad
    width = label_w + len(panels) * (panel_w + pad) + pad
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for i, label in enumerate(labels):
        y = title_h + i * (bar_height + 6)
        draw.text((pad, y + 2), label, fill=TEXT_COLOR, font=font)
    for p, (metric, cells) in enumerate(panels):
        x0 = label_w + p * (panel_w + pad)
        draw.text((x0, 4), metric, fill=TEXT_COLOR, font=font)
        tops = [m + s for m, s in (c for c in cells if c is not None)]
        scale = (panel_w - 70) / max(max(tops, default=1.0), 1e-12)
        draw.line([(x0, title_h - 2), (x0, height - pad)], fill=(128, 128, 128))
        for i, cell in enumerate(cells):
            y = title_h + i * (bar_height + 6)
            if cell is None:
                draw.text((x0 + 4, y + 2), "no finished run", fill=(128, 128, 128), font=font)
                continue
            mean, std = cell
            end = x0 + max(mean, 0.0) * scale
            draw.rectangle([x0, y, end, y + bar_height], fill=REAL_COLOR)
            lo, hi = x0 + max(mean - std, 0.0) * scale, x0 + max(mean + std, 0.0) * scale
            mid = y + bar_height // 2
            draw.line([(lo, mid), (hi, mid)], fill=TEXT_COLOR, width=2)
            draw.text((hi + 4, y + 2), f"{mean:.3g}", fill=TEXT_COLOR, font=font)
    return np.asarray(img)


Series = dict[str, tuple[Sequence[float], Sequence[float]]]  # name -> (steps, values)
_LINE_COLORS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))


def _nice(value: float) -> str:
    return f"{value:.3g}"


def line_chart(
    panels: Sequence[tuple[str, Series]],
    panel_size: tuple[int, int] = (420, 220),
    columns: int = 3,
) -> np.ndarray:
    """uint8 RGB image: one panel per (title, series), `columns` to a row, each series a line
    over the training step with its own colour and a legend. Non-finite points are skipped."""
    try:
        font = ImageFont.load_default(size=12)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType
        font = ImageFont.load_default()
    pw, ph = panel_size
    left, right, top, bottom = 52, 10, 24, 24
    cols = max(1, min(columns, len(panels)))
    rows = -(-len(panels) // cols)
    img = Image.new("RGB", (cols * pw, rows * ph), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for p, (title, series) in enumerate(panels):
        x0, y0 = (p % cols) * pw, (p // cols) * ph
        draw.text((x0 + left, y0 + 4), title, fill=TEXT_COLOR, font=font)
        points = {
            name: (np.asarray(xs, np.float64), np.asarray(ys, np.float64))
            for name, (xs, ys) in series.items()
        }
        finite = [
            (xs[np.isfinite(ys)], ys[np.isfinite(ys)]) for xs, ys in points.values() if len(xs)
        ]
        all_x = np.concatenate([xs for xs, _ in finite]) if finite else np.zeros(0)
        all_y = np.concatenate([ys for _, ys in finite]) if finite else np.zeros(0)
        if not all_y.size:
            draw.text((x0 + left, y0 + ph // 2), "no data yet", fill=(128, 128, 128), font=font)
            continue
        xlo, xhi = float(all_x.min()), float(all_x.max())
        ylo, yhi = float(all_y.min()), float(all_y.max())
        xhi, yhi = (xhi if xhi > xlo else xlo + 1), (yhi if yhi > ylo else ylo + 1)
        box = (x0 + left, y0 + top, x0 + pw - right, y0 + ph - bottom)
        draw.rectangle(box, outline=(160, 160, 160))
        for value, y in ((yhi, box[1]), (ylo, box[3] - 12)):
            draw.text((x0 + 4, y), _nice(value), fill=TEXT_COLOR, font=font)
        draw.text((box[0], box[3] + 6), _nice(xlo), fill=TEXT_COLOR, font=font)
        draw.text((box[2] - 40, box[3] + 6), _nice(xhi), fill=TEXT_COLOR, font=font)

        def to_px(xs: np.ndarray, ys: np.ndarray, box=box, xr=(xlo, xhi), yr=(ylo, yhi)):
            px = box[0] + (xs - xr[0]) / (xr[1] - xr[0]) * (box[2] - box[0])
            py = box[3] - (ys - yr[0]) / (yr[1] - yr[0]) * (box[3] - box[1])
            return list(zip(px.tolist(), py.tolist(), strict=True))

        for i, (name, (xs, ys)) in enumerate(points.items()):
            color = _LINE_COLORS[i % len(_LINE_COLORS)]
            ok = np.isfinite(ys)
            line = to_px(xs[ok], ys[ok])
            if len(line) > 1:
                draw.line(line, fill=color, width=2)
            elif line:
                draw.ellipse(
                    [line[0][0] - 2, line[0][1] - 2, line[0][0] + 2, line[0][1] + 2], fill=color
                )
            draw.text((box[2] - 110, box[1] + 4 + 14 * i), name, fill=color, font=font)
    return np.asarray(img)
