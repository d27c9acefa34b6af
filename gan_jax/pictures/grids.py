"""Pictures people look at: image grids, 2-D scatter plots, and atomic PNG writes.

Only numpy and Pillow are used, so these run anywhere the training code runs (no plotting
library, no display). The drawing functions return plain ``uint8`` RGB arrays, which
TensorBoard image summaries and `save_png` both accept; `grid` and `gif` give notebooks a PIL
image and GIF bytes.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gan_jax.platform.files import write_bytes_atomic

REAL_COLOR = (31, 119, 180)  # blue
FAKE_COLOR = (255, 127, 14)  # orange
FAKE_ALPHA = 0.6  # generated dots are translucent so real points underneath stay visible
# What a generated dot looks like on the white background (also its legend marker).
FAKE_ON_WHITE = tuple(round(255 * (1 - FAKE_ALPHA) + c * FAKE_ALPHA) for c in FAKE_COLOR)
MEAN_COLOR = (0, 0, 0)
FRAME_COLOR = (64, 64, 64)
TEXT_COLOR = (0, 0, 0)
_WHITE = (255, 255, 255)
_MAX_FAKE_EXTENT = 3.0  # generated points may widen the axes to at most 3x the real extent
_MARGIN = 0.10  # fraction of the data range added on each side


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Maps floats in [-1, 1] to uint8 in [0, 255]: clip, then round((x + 1) * 127.5).

    NaNs (a diverged generator) become mid-grey instead of undefined integer casts.
    """
    x = np.nan_to_num(np.asarray(images, dtype=np.float32), nan=0.0)
    x = np.clip(x, -1.0, 1.0)
    return np.round((x + 1.0) * 127.5).astype(np.uint8)


def image_grid(images: np.ndarray, ncols: int | None = None, padding: int = 2) -> np.ndarray:
    """Tiles a batch of images into one RGB picture.

    Args:
      images: ``(N, H, W, C)`` floats in [-1, 1] with ``C`` = 1 (greyscale) or 3.
      ncols: tiles per row; defaults to ``ceil(sqrt(N))``.
      padding: white pixels between tiles and around the outside, so the grid is
        ``rows * (H + padding) + padding`` by ``ncols * (W + padding) + padding``.

    Returns:
      ``uint8`` array of shape ``(H', W', 3)``. Unused slots in the last row stay white.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.shape[0] == 0:
        raise ValueError(
            f"images must be (N, H, W, C) with N > 0 and C in (1, 3), got {images.shape}"
        )
    if padding < 0:
        raise ValueError(f"padding must be non-negative, got {padding}")
    n, h, w, c = images.shape
    ncols = math.ceil(math.sqrt(n)) if ncols is None else ncols
    if ncols < 1:
        raise ValueError(f"ncols must be positive, got {ncols}")
    nrows = math.ceil(n / ncols)

    tiles = to_uint8(images)
    if c == 1:
        tiles = np.repeat(tiles, 3, axis=-1)
    grid = np.full(
        (nrows * (h + padding) + padding, ncols * (w + padding) + padding, 3), 255, np.uint8
    )
    for i in range(n):
        top = padding + (i // ncols) * (h + padding)
        left = padding + (i % ncols) * (w + padding)
        grid[top : top + h, left : left + w] = tiles[i]
    return grid


def _as_points(points: np.ndarray | None, name: str) -> np.ndarray:
    if points is None:
        return np.zeros((0, 2))
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {points.shape}")
    return points


def _axis_limits(real: np.ndarray, fake: np.ndarray, means: np.ndarray) -> tuple[float, ...]:
    """Square (equal-aspect) limits (xmin, xmax, ymin, ymax) around the data, 10% margin.

    The box covers real points and means, plus generated points clipped to a box 3x as wide
    as the real one, so a diverged generator cannot shrink the real data to a dot.
    """
    anchor = np.concatenate([real, means])
    anchor = anchor[np.all(np.isfinite(anchor), axis=1)]
    fake = fake[np.all(np.isfinite(fake), axis=1)]
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


def _ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """'Nice' tick positions (1, 2 or 5 times a power of ten) inside [lo, hi]."""
    raw = (hi - lo) / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step)
    return [round(k * step, 10) for k in range(first, math.floor(hi / step) + 1)]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """PIL's default font, scaled with the image when FreeType is available."""
    try:
        return ImageFont.load_default(size=max(10, size // 40))
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def _stamp(
    canvas: np.ndarray, px: np.ndarray, py: np.ndarray, radius: int, color, alpha: float
) -> None:
    """Blends filled discs of ``radius`` at integer pixel centres into ``canvas`` (clipped).

    Each covered pixel is blended once, however many discs overlap it, so dense clusters keep
    the same colour instead of saturating.
    """
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r)
    disc = dx**2 + dy**2 <= radius**2 + radius  # slightly rounder than the strict disc
    xs = (px[:, None] + dx[disc][None, :]).ravel()
    ys = (py[:, None] + dy[disc][None, :]).ravel()
    inside = (xs >= 0) & (xs < canvas.shape[1]) & (ys >= 0) & (ys < canvas.shape[0])
    covered = np.zeros(canvas.shape[:2], dtype=bool)
    covered[ys[inside], xs[inside]] = True
    blended = canvas[covered] * (1.0 - alpha) + np.asarray(color, np.float64) * alpha
    canvas[covered] = np.round(blended).astype(np.uint8)


def scatter_plot(
    real: np.ndarray,
    fake: np.ndarray,
    means: np.ndarray | None = None,
    size: int = 512,
    title: str | None = None,
) -> np.ndarray:
    """Renders real vs generated 2-D points as a ``(size, size, 3)`` uint8 RGB image.

    Real points are small blue dots, generated points translucent orange dots drawn on top
    (`FAKE_ALPHA`), and mode centres (``means``) black crosses. The square data area has a
    frame with tick labels; the optional title and a legend sit above it, so they never hide
    points. Generated points outside the axes (see `_axis_limits`) are counted in the legend
    instead of drawn.
    """
    if size < 128:
        raise ValueError(f"size must be at least 128 pixels, got {size}")
    real, fake = _as_points(real, "real"), _as_points(fake, "fake")
    means = _as_points(means, "means")
    xmin, xmax, ymin, ymax = _axis_limits(real, fake, means)
    xticks, yticks = _ticks(xmin, xmax), _ticks(ymin, ymax)

    image = Image.new("RGB", (size, size), _WHITE)
    draw = ImageDraw.Draw(image)
    font = _font(size)
    line_h = draw.textbbox((0, 0), "Ag-0", font=font)[3]
    pad, tick = max(4, size // 64), max(3, size // 128)
    label_w = max(draw.textlength(f"{v:g}", font=font) for v in yticks + [0.0])

    # Layout: title row and legend row on top, y labels left, x labels below.
    top = pad + (line_h + pad if title else 0) + line_h + pad
    left = int(pad + label_w + tick + pad)
    bottom = tick + pad + line_h + pad
    side = min(size - left - pad, size - top - bottom)
    x0 = left + (size - left - pad - side) // 2
    y0 = top

    def to_px(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        px = x0 + (points[:, 0] - xmin) / (xmax - xmin) * (side - 1)
        py = y0 + (ymax - points[:, 1]) / (ymax - ymin) * (side - 1)
        return px, py

    # Points: stamped into a data-area canvas so nothing spills over the frame or labels.
    canvas = np.full((side, side, 3), 255, np.uint8)
    radius = max(1, size // 256)
    for points, color, alpha in ((real, REAL_COLOR, 1.0), (fake, FAKE_COLOR, FAKE_ALPHA)):
        px, py = to_px(points)
        ok = np.isfinite(px) & np.isfinite(py)
        cols = np.round(px[ok] - x0).astype(int)
        rows = np.round(py[ok] - y0).astype(int)
        _stamp(canvas, cols, rows, radius, color, alpha)
    image.paste(Image.fromarray(canvas), (x0, y0))

    arm = max(3, size // 100)
    for mx, my in zip(*to_px(means), strict=True):
        draw.line([(mx - arm, my), (mx + arm, my)], fill=MEAN_COLOR, width=max(1, size // 400))
        draw.line([(mx, my - arm), (mx, my + arm)], fill=MEAN_COLOR, width=max(1, size // 400))
    draw.rectangle([x0 - 1, y0 - 1, x0 + side, y0 + side], outline=FRAME_COLOR)

    # Ticks and labels.
    for v in xticks:
        x = x0 + (v - xmin) / (xmax - xmin) * (side - 1)
        draw.line([(x, y0 + side), (x, y0 + side + tick)], fill=FRAME_COLOR)
        draw.text((x, y0 + side + tick + 1), f"{v:g}", fill=TEXT_COLOR, font=font, anchor="ma")
    for v in yticks:
        y = y0 + (ymax - v) / (ymax - ymin) * (side - 1)
        draw.line([(x0 - 1 - tick, y), (x0 - 1, y)], fill=FRAME_COLOR)
        draw.text((x0 - tick - 3, y), f"{v:g}", fill=TEXT_COLOR, font=font, anchor="rm")

    # Title and legend.
    if title:
        draw.text((size / 2, pad), title, fill=TEXT_COLOR, font=font, anchor="ma")
    fx, fy = to_px(fake)
    off = int(np.count_nonzero(~((fx >= x0) & (fx < x0 + side) & (fy >= y0) & (fy < y0 + side))))
    entries = [
        ("real", REAL_COLOR),
        ("generated" + (f" ({off} off-plot)" if off else ""), FAKE_ON_WHITE),
    ]
    if len(means):
        entries.append(("modes", MEAN_COLOR))
    _legend(draw, entries, font, center_x=size / 2, y=top - pad - line_h, line_h=line_h)
    return np.asarray(image, dtype=np.uint8)


def _legend(
    draw: ImageDraw.ImageDraw, entries, font, center_x: float, y: float, line_h: int
) -> None:
    """One centred row of 'marker label' pairs."""
    marker, gap = line_h // 2, line_h
    widths = [marker + 4 + draw.textlength(text, font=font) for text, _ in entries]
    x = center_x - (sum(widths) + gap * (len(entries) - 1)) / 2
    cy = y + line_h / 2
    for (text, color), width in zip(entries, widths, strict=True):
        r = marker / 2
        if color == MEAN_COLOR:
            draw.line([(x, cy), (x + marker, cy)], fill=color, width=2)
            draw.line([(x + r, cy - r), (x + r, cy + r)], fill=color, width=2)
        else:
            draw.ellipse([x, cy - r, x + marker, cy + r], fill=color)
        draw.text((x + marker + 4, cy), text, fill=TEXT_COLOR, font=font, anchor="lm")
        x += width + gap


def save_png(image: np.ndarray, path: str | os.PathLike) -> None:
    """Writes a uint8 image (``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``) as PNG.

    The bytes go to a temporary file in the destination directory, which then replaces
    ``path`` atomically, so readers (TensorBoard, a browser) never see a half-written file.
    Parent directories are created as needed.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (see to_uint8), got {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] in (3, 4))):
        raise ValueError(
            f"image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}"
        )
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    write_bytes_atomic(buffer.getvalue(), path)


def _upscale(picture: np.ndarray, scale: int) -> np.ndarray:
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    return picture if scale == 1 else picture.repeat(scale, axis=0).repeat(scale, axis=1)


def grid(
    images: np.ndarray, ncols: int | None = None, padding: int = 2, scale: int = 1
) -> Image.Image:
    """A batch of images as one PIL image, for notebooks (`display(viz.grid(g.sample(16)))`).

    Args:
      images: ``(N, H, W, C)`` floats in [-1, 1], tiled `ncols` per row (default: square), or
        ``(rows, cols, H, W, C)``, tiled as those rows and columns (the latent tools' layout).
      padding: white pixels between tiles.
      scale: integer upscaling (nearest neighbour), so 28-pixel digits are visible.
    """
    images = np.asarray(images)
    if images.ndim == 5:
        if ncols not in (None, images.shape[1]):
            raise ValueError(f"ncols={ncols} conflicts with the {images.shape[1]} columns given")
        ncols = images.shape[1]
        images = images.reshape((-1, *images.shape[2:]))
    return Image.fromarray(_upscale(image_grid(images, ncols, padding), scale))


def _frame(frame) -> np.ndarray:
    """One GIF frame as uint8 (H, W, 3): a PIL image, a uint8 picture, or floats in [-1, 1]."""
    if isinstance(frame, Image.Image):
        frame = np.asarray(frame.convert("RGB"))
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        frame = to_uint8(frame)
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3 or frame.shape[-1] not in (1, 3):
        raise ValueError(f"a frame must be (H, W), (H, W, 1) or (H, W, 3), got {frame.shape}")
    return np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame


def gif(frames, path: str | os.PathLike | None = None, fps: float = 8.0, scale: int = 1) -> bytes:
    """An animated GIF (looping) of `frames`; returns its bytes and writes them to `path`.

    `frames`: a sequence of PIL images, uint8 pictures (e.g. `image_grid` outputs) or float
    images in [-1, 1], all the same size. In a notebook:
    `IPython.display.Image(data=viz.gif(frames))`. The file is written atomically.
    """
    pictures = [_upscale(_frame(f), scale) for f in frames]
    if not pictures:
        raise ValueError("gif needs at least one frame")
    if len({p.shape for p in pictures}) > 1:
        raise ValueError(f"frames differ in size: {sorted({p.shape for p in pictures})}")
    gray = all((p == p[..., :1]).all() for p in pictures)
    images = [Image.fromarray(p[..., 0] if gray else p) for p in pictures]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(int(round(1000 / fps)), 20),
        loop=0,
    )
    data = buffer.getvalue()
    if path is not None:
        write_bytes_atomic(data, path)
    return data


def reconstruction_rows(real: np.ndarray, recon: np.ndarray, per_row: int = 8) -> np.ndarray:
    """Images and reconstructions as alternating rows (2 * blocks, per_row, H, W, C): a row of
    inputs, below it their reconstructions; a short last block is padded with white."""
    n = len(real)
    blocks = -(-n // per_row)
    pad = blocks * per_row - n
    white = np.ones((pad, *real.shape[1:]), np.float32)
    pair = np.stack([np.concatenate([real, white]), np.concatenate([recon, white])])
    pair = pair.reshape((2, blocks, per_row, *real.shape[1:]))
    return pair.swapaxes(0, 1).reshape((2 * blocks, per_row, *real.shape[1:]))
