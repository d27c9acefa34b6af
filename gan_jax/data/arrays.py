"""In-memory array datasets: `npz:PATH` files and anything else loaded into numpy.

Batches are a pure function of (seed, step): each epoch is a fresh permutation drawn from
`np.random.default_rng([seed, epoch])`, and step `s` reads slice `s mod steps_per_epoch` of
epoch `s // steps_per_epoch` (the last partial batch of an epoch is dropped). A resumed run
therefore continues the exact batch sequence with no replayed or skipped examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from gan_jax.data.preprocess import to_model_range
from gan_jax.errors import DataError

Batch = dict[str, np.ndarray]


class ArraySource:
    """Images (N, H, W, C) uint8 and optional integer labels (N,), batched by step."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, name: str) -> None:
        if images.ndim != 4:
            raise DataError(f"{name}: expected images of shape (N, H, W, C), got {images.shape}")
        if labels is not None and len(labels) != len(images):
            raise DataError(f"{name}: {len(images)} images but {len(labels)} labels")
        self.name = name
        self.images = images
        self.labels = None if labels is None else labels.astype(np.int32).reshape(-1)
        self.data_shape: tuple[int, ...] = tuple(images.shape[1:])
        self.num_classes = 0 if self.labels is None else int(self.labels.max()) + 1
        self._perm_key: tuple[int, int] | None = None
        self._perm: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    def _permutation(self, seed: int, epoch: int) -> np.ndarray:
        if (seed, epoch) != self._perm_key:
            self._perm = np.random.default_rng([seed, epoch]).permutation(len(self.images))
            self._perm_key = (seed, epoch)
        return self._perm

    def batch(self, step: int, batch_size: int, seed: int) -> Batch:
        """The batch for training step `step` (deterministic)."""
        per_epoch = len(self.images) // batch_size
        if per_epoch == 0:
            raise DataError(
                f"{self.name} has {len(self.images)} examples, fewer than "
                f"config.data.batch_size={batch_size}; lower the batch size"
            )
        epoch, index = divmod(step, per_epoch)
        idx = np.sort(self._permutation(seed, epoch)[index * batch_size : (index + 1) * batch_size])
        out = {"x": to_model_range(self.images[idx])}
        if self.labels is not None:
            out["y"] = self.labels[idx]
        return out

    def iterate(self, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]:
        step = start_step
        while True:
            yield self.batch(step, batch_size, seed)
            step += 1

    def examples(self, n: int) -> np.ndarray:
        """The first `n` images in model range, for the real row of sample grids."""
        return to_model_range(self.images[:n])


def load_npz(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Read `x_train` or `x` (and `y_train` or `y` when present) from an .npz file."""
    if not os.path.exists(path):
        raise DataError(f"npz file {path!r} does not exist; pass --config.data.source=npz:PATH")
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            x_key = next((k for k in ("x_train", "x") if k in keys), None)
            if x_key is None:
                raise DataError(
                    f"{path} has arrays {sorted(keys)} but no 'x_train' or 'x'; "
                    "save images as x_train (N,H,W,C) uint8"
                )
            images = f[x_key]
            y_key = next((k for k in ("y_train", "y") if k in keys), None)
            labels = f[y_key] if y_key else None
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read npz file {path!r}: {e}") from None
    if images.ndim == 3:  # (N, H, W) grayscale
        images = images[..., None]
    if images.dtype != np.uint8:
        raise DataError(f"{path}: {x_key} has dtype {images.dtype}; save images as uint8 0..255")
    return images, labels
