"""Image preprocessing shared by every source: crop, resize, channels, and the [-1, 1] range."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [-1, 1] (the range of G's tanh output)."""
    return images.astype(np.float32) / 127.5 - 1.0


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
