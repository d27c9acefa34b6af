"""Image preprocessing shared by every source: crop, resize, channels, and the value range.

Images travel between gan_jax's parts (data sources, pictures, metrics, `gan_jax.load`) in
[-1, 1]. A network may see them in another range (`model.data_range`): a sigmoid generator's
images are in [0, 1] (DIGITS, the Keras intro, the MLP tutorial, whose discriminators read x/255),
so its networks convert at their boundary with `from_model_range` (D's input) and
`to_model_range_from` (G's output); for uint8 data x/127.5 - 1 maps to exactly x/255.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

# model.data_range -> (low, high) of the images the networks see.
DATA_RANGES = {"-1,1": (-1.0, 1.0), "0,1": (0.0, 1.0)}
# The range each generator output head produces (linear: unbounded, taken as the data's).
OUTPUT_RANGES = {"tanh": "-1,1", "sigmoid": "0,1"}


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [-1, 1] (the range of G's tanh output)."""
    return images.astype(np.float32) / 127.5 - 1.0


def resolve_data_range(data_range: str, output: str) -> str:
    """`model.data_range` with 'auto' resolved from G's `output` head (sigmoid -> '0,1', else
    '-1,1'); ValueError when a bounded head cannot produce the range (sigmoid on '-1,1')."""
    if data_range == "auto":
        return OUTPUT_RANGES.get(output, "-1,1")
    if data_range not in DATA_RANGES:
        raise ValueError(
            f"model.data_range={data_range!r} is not valid; choose one of: auto, "
            f"{', '.join(DATA_RANGES)}"
        )
    if OUTPUT_RANGES.get(output, data_range) != data_range:
        raise ValueError(
            f"model.output={output!r} produces values in [{OUTPUT_RANGES[output]}] but "
            f"model.data_range={data_range!r}; set model.data_range=auto"
        )
    return data_range


def from_model_range(x: Any, data_range: str) -> Any:
    """Images in [-1, 1] -> the same images in `data_range` (numpy or jax arrays)."""
    low, high = DATA_RANGES[data_range]
    if (low, high) == (-1.0, 1.0):
        return x
    return (x + 1.0) * ((high - low) / 2.0) + low


def to_model_range_from(x: Any, data_range: str) -> Any:
    """Images in `data_range` -> the same images in [-1, 1] (inverse of `from_model_range`)."""
    low, high = DATA_RANGES[data_range]
    if (low, high) == (-1.0, 1.0):
        return x
    return (x - low) * (2.0 / (high - low)) - 1.0


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """(N,H,W,C) uint8 to `channels` (0 = unchanged): gray->RGB repeats, RGB->gray uses ITU-R 601
    luma, RGBA drops alpha."""
    c = images.shape[-1]
    if channels in (0, c):
        return images
    if c == 4:
        images, c = images[..., :3], 3
        if channels == 3:
            return images
    if c == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if c == 3 and channels == 1:
        luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]
    raise ValueError(f"cannot convert {c} channels to {channels}")


def center_crop_box(height: int, width: int, crop: int) -> tuple[int, int, int, int]:
    """(top, left, size, size) of the central `crop`×`crop` square (0 = the largest square)."""
    size = min(height, width) if crop <= 0 else min(crop, height, width)
    return (height - size) // 2, (width - size) // 2, size, size


def crop_and_resize(images: np.ndarray, size: int, crop: int = 0) -> np.ndarray:
    """Center-crop each image to a square and resize it to `size`×`size` (DCGAN CelebA practice:
    crop the central face region, then resize). Uses PIL's antialiased bicubic filter."""
    n, h, w, c = images.shape
    top, left, ch, cw = center_crop_box(h, w, crop)
    if (ch, cw) == (h, w) == (size, size):
        return images
    out = np.empty((n, size, size, c), np.uint8)
    for i in range(n):
        tile = images[i, top : top + ch, left : left + cw]
        img = Image.fromarray(tile[..., 0] if c == 1 else tile)
        img = img.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=None)
        arr = np.asarray(img)
        out[i] = arr[..., None] if c == 1 else arr
    return out
