"""Latent vectors in the TensorBoard embedding projector format (`tensorboard --logdir DIR`).

The projector reads `DIR/projector_config.pbtxt`, which names a tab-separated tensor file (one
vector per line), a metadata file (one row per vector; a header row when it has several
columns) and a sprite: all thumbnails tiled row-major in a square grid without padding. Nothing
here needs TensorFlow: the files are plain text and one PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from gan_jax import pictures
from gan_jax.errors import InputError
from gan_jax.platform.files import write_bytes_atomic

CONFIG_FILE = "projector_config.pbtxt"
TENSORS_FILE = "tensors.tsv"
METADATA_FILE = "metadata.tsv"
SPRITE_FILE = "sprite.png"
MAX_SPRITE_SIDE = 8192  # the projector's limit on the sprite image's width and height


def _tsv_field(value: object) -> str:
    return str(value).replace("\t", " ").replace("\n", " ")


def write_projector(
    logdir: str | os.PathLike,
    z: np.ndarray,
    images: np.ndarray | None = None,
    metadata: Mapping[str, Sequence[object]] | None = None,
    tensor_name: str = "z",
) -> list[str]:
    """Write the projector files for vectors `z` (N, D) into `logdir`; return their paths.

    Args:
      images: (N, H, W, C) floats in [-1, 1] for the sprite (thumbnails next to the points).
      metadata: columns of per-vector values, e.g. {"index": [...], "label": [...]}.
    """
    z = np.asarray(z, np.float32)
    if z.ndim != 2 or not len(z):
        raise InputError(f"z must be (N, D) with N > 0, got {z.shape}")
    n = len(z)
    written = []

    def write(name: str, data: bytes) -> None:
        path = os.path.join(os.fspath(logdir), name)
        write_bytes_atomic(data, path)
        written.append(path)

    lines = ["\t".join(f"{v:.6g}" for v in row) for row in z]
    write(TENSORS_FILE, ("\n".join(lines) + "\n").encode())
    entry = [f'  tensor_name: "{tensor_name}"', f'  tensor_path: "{TENSORS_FILE}"']

    if metadata:
        columns = {k: list(v) for k, v in metadata.items()}
        for name, values in columns.items():
            if len(values) != n:
                raise InputError(f"metadata column {name!r} has {len(values)} values for {n}")
        rows = [list(columns)] if len(columns) > 1 else []
        rows += [[values[i] for values in columns.values()] for i in range(n)]
        text = "\n".join("\t".join(_tsv_field(v) for v in row) for row in rows) + "\n"
        write(METADATA_FILE, text.encode())
        entry.append(f'  metadata_path: "{METADATA_FILE}"')

    if images is not None:
        images = np.asarray(images)
        if len(images) != n or images.ndim != 4:
            raise InputError(f"images must be (N={n}, H, W, C), got {images.shape}")
        side = math.ceil(math.sqrt(n))
        h, w = images.shape[1:3]
        if side * max(h, w) > MAX_SPRITE_SIDE:
            raise InputError(
                f"{n} thumbnails of {h}x{w} exceed the projector's {MAX_SPRITE_SIDE}-pixel "
                f"sprite; embed at most {(MAX_SPRITE_SIDE // max(h, w)) ** 2} images"
            )
        sprite = np.full((side * h, side * w, 3), 255, np.uint8)  # square, as the projector
        tiles = pictures.image_grid(images, ncols=side, padding=0)  # expects; unused tiles white
        sprite[: tiles.shape[0]] = tiles
        path = os.path.join(os.fspath(logdir), SPRITE_FILE)
        pictures.save_png(sprite, path)
        written.append(path)
        entry += [
            "  sprite {",
            f'    image_path: "{SPRITE_FILE}"',
            f"    single_image_dim: {w}",
            f"    single_image_dim: {h}",
            "  }",
        ]

    config = "embeddings {\n" + "\n".join(entry) + "\n}\n"
    write(CONFIG_FILE, config.encode())
    return written
