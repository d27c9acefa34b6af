"""Summary charts (numpy + Pillow): horizontal bars with ±1 std error bars, one panel a metric."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gan_jax.viz import REAL_COLOR, TEXT_COLOR

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
