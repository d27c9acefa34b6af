"""Image files on disk: finding them, reading their headers, and decoding one to a training array.

Decoding follows the DCGAN CelebA practice: crop the central square (`crop`, 0 = the largest),
then resize it to `size`×`size` with PIL's antialiased bicubic filter, as
`preprocess.crop_and_resize` does for arrays. JPEGs are decoded at the smallest DCT scale (1/1,
1/2, 1/4 or 1/8, `Image.draft`) that keeps the crop at or above the target resolution, which
makes big photos several times cheaper to decode. Transparent images are composited onto white;
16-bit grayscale is scaled to 8 bits; grayscale/RGB convert to the requested channels (ITU-R 601
luma for gray).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
from PIL import Image

from gan_jax.data.preprocess import center_crop_box

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
FORMATS = {"PNG", "JPEG", "MPO", "WEBP", "BMP", "DIB"}  # what PIL reports for EXTENSIONS
# Image files we recognise but do not decode: reported as skipped rather than silently ignored.
OTHER_IMAGE_EXTENSIONS = (".gif", ".tif", ".tiff", ".heic", ".heif", ".avif", ".svg", ".ico")
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N"}


@dataclasses.dataclass(frozen=True)
class Header:
    """What the scan needs to know about a file without decoding its pixels."""

    width: int
    height: int
    gray: bool


def scan(root: str) -> tuple[list[str], list[str]]:
    """Relative paths (sorted, '/'-separated) of decodable images under `root`, recursively,
    and of image files in formats we do not decode. Hidden files and folders are ignored."""
    images, unsupported = [], []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, root)
        for name in sorted(files):
            if name.startswith("."):
                continue
            ext = os.path.splitext(name)[1].lower()
            path = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
            if ext in EXTENSIONS:
                images.append(path)
            elif ext in OTHER_IMAGE_EXTENSIONS:
                unsupported.append(path)
    return images, unsupported


def probe(path: str) -> Header:
    """Read `path`'s header; raise ValueError (or PIL's error) when it is not a supported image."""
    with Image.open(path) as img:
        if img.format not in FORMATS:
            raise ValueError(f"{img.format} files are not supported")
        return Header(img.width, img.height, img.mode in GRAY_MODES)


def _to_channels(img: Image.Image, channels: int) -> Image.Image:
    """Convert any PIL mode to 'L' (channels=1) or 'RGB' (channels=3)."""
    target = "L" if channels == 1 else "RGB"
    if img.mode.startswith("I"):  # 16-bit grayscale PNG: 0..65535 -> 0..255
        wide = np.asarray(img, np.float64)
        img = Image.fromarray(np.round(wide / 257.0).clip(0, 255).astype(np.uint8))
    transparent = img.mode in ("RGBA", "LA", "La", "PA", "RGBa") or (
        img.mode == "P" and "transparency" in img.info
    )
    if transparent:
        rgba = img.convert("RGBA")
        img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img.alpha_composite(rgba)
    return img if img.mode == target else img.convert(target)


def decode(path: str, size: int, crop: int, channels: int) -> np.ndarray:
    """The (size, size, channels) uint8 training array of one image file."""
    with Image.open(path) as img:
        width, height = img.size
        top, left, side, _ = center_crop_box(height, width, crop)
        if img.format in ("JPEG", "MPO"):  # DCT-domain downscale, never below the target
            scale = size / side
            request = (math.ceil(width * scale), math.ceil(height * scale))
            img.draft("L" if channels == 1 else "RGB", request)
        sx, sy = img.width / width, img.height / height
        img = _to_channels(img, channels)
        box = (left * sx, top * sy, (left + side) * sx, (top + side) * sy)
        img = img.crop(tuple(round(v) for v in box))  # crop first: no taps from outside the crop
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=None)
        array = np.asarray(img, np.uint8)
    return array[..., None] if channels == 1 else array
