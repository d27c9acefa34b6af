"""In-memory array datasets: `npz:PATH` files, TFDS splits, anything else loaded into numpy.

The order, process slicing, flips and output dtype come from `IndexedSource`; this module only
holds the arrays and reads rows by index.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile

import numpy as np

from gan_jax.data.indexed import Batch, IndexedSource
from gan_jax.errors import DataError


@dataclasses.dataclass
class ImageArrays:
    """What a loader returns: uint8 images (N, H, W, C) and optional per-image annotations.

    `labels` (N,) integers; `attributes` (N, K) 0/1 with their `attribute_names`.
    """

    images: np.ndarray
    labels: np.ndarray | None = None
    attributes: np.ndarray | None = None
    attribute_names: tuple[str, ...] = ()


class ArraySource(IndexedSource):
    """Images (N, H, W, C) uint8, optional labels (N,) and attributes (N, K), batched by step."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        name: str,
        attributes: np.ndarray | None = None,
        attribute_names: tuple[str, ...] = (),
    ) -> None:
        if images.ndim != 4:
            raise DataError(f"{name}: expected images of shape (N, H, W, C), got {images.shape}")
        for what, array in (("labels", labels), ("attribute rows", attributes)):
            if array is not None and len(array) != len(images):
                raise DataError(f"{name}: {len(images)} images but {len(array)} {what}")
        if (
            attributes is not None
            and attribute_names
            and attributes.shape[1:] != (len(attribute_names),)
        ):
            raise DataError(
                f"{name}: attributes have shape {attributes.shape} but there are "
                f"{len(attribute_names)} attribute names"
            )
        self.name = name
        self.images = images
        self.labels = None if labels is None else labels.astype(np.int32).reshape(-1)
        self.attributes = None if attributes is None else (attributes > 0).astype(np.int32)
        if attributes is not None:
            k = attributes.shape[1]
            self.attribute_names = tuple(attribute_names) or tuple(f"attr{i}" for i in range(k))
        self.data_shape: tuple[int, ...] = tuple(images.shape[1:])
        self.num_classes = 0 if self.labels is None else int(self.labels.max()) + 1

    def __len__(self) -> int:
        return len(self.images)

    def read(self, indices: np.ndarray) -> Batch:
        out = {"x": self.images[indices]}
        if self.labels is not None:
            out["y"] = self.labels[indices]
        if self.attributes is not None:
            out["attributes"] = self.attributes[indices]
        return out


def _first(keys: set[str], *names: str) -> str | None:
    return next((k for k in names if k in keys), None)


def load_npz(path: str) -> ImageArrays:
    """Read `x_train` or `x`, and when present `y_train`/`y`, `attributes` (N, K) and
    `attribute_names` (K,) strings, from an .npz file (no pickles)."""
    if not os.path.exists(path):
        raise DataError(f"npz file {path!r} does not exist; pass --config.data.source=npz:PATH")
    if not zipfile.is_zipfile(path):  # np.load would blame pickles for a text file
        raise DataError(
            f"{path} is not an .npz archive; write it with numpy.savez(path, x_train=images)"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            x_key = _first(keys, "x_train", "x")
            if x_key is None:
                raise DataError(
                    f"{path} has arrays {sorted(keys)} but no 'x_train' or 'x'; "
                    "save images as x_train (N,H,W,C) uint8"
                )
            y_key = _first(keys, "y_train", "y")
            arrays = ImageArrays(
                images=f[x_key],
                labels=f[y_key] if y_key else None,
                attributes=f["attributes"] if "attributes" in keys else None,
                attribute_names=tuple(map(str, f["attribute_names"]))
                if "attribute_names" in keys
                else (),
            )
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read npz file {path!r}: {e}".splitlines()[0]) from None
    if arrays.images.ndim == 3:  # (N, H, W) grayscale
        arrays.images = arrays.images[..., None]
    if arrays.images.ndim != 4 or not arrays.images.size:
        raise DataError(
            f"{path}: {x_key} has shape {arrays.images.shape}; save at least one image, as "
            "(N, H, W, C) or (N, H, W) uint8"
        )
    if arrays.images.dtype != np.uint8:
        raise DataError(
            f"{path}: {x_key} has dtype {arrays.images.dtype}; save images as uint8 0..255"
        )
    if arrays.attributes is not None and arrays.attributes.ndim != 2:
        raise DataError(
            f"{path}: attributes has shape {arrays.attributes.shape}; save it as (N, K) of 0/1"
        )
    return arrays
