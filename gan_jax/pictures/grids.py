"""Pictures of images: sample grids, reconstruction rows, GIFs, and atomic PNG writes.

Only numpy and Pillow are used (no plotting library, no display; charts are in `charts`).
`image_grid` returns a plain ``uint8`` RGB array, which TensorBoard image summaries and
`save_png` both accept; `grid` and `gif` give notebooks a PIL image and GIF bytes.
"""

from __future__ import annotations

import io
import math
import os
from typing import Any

import numpy as np
from PIL import Image

from gan_jax.platform.files import write_bytes_atomic


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


def write_picture(
    picture: np.ndarray, path: str | os.PathLike, writer: Any, step: int, tag: str
) -> None:
    """`picture` (uint8 HWC) to `path` as PNG (`save_png`) and to the TensorBoard `writer`
    (clu's `write_images`) under `tag` at `step`: what every progress picture does."""
    save_png(picture, path)
    writer.write_images(step, {tag: np.asarray(picture)[None]})


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
