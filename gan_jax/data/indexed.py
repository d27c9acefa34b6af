"""Batching shared by every finite dataset: the order, the process slice, flips and output dtype.

A dataset of `N` examples only has to read examples by index (`read(indices)` → uint8 images
and, when present, labels and attributes). `IndexedSource` turns that into training batches
that are a pure function of (seed, step):

- each epoch is a fresh permutation from `np.random.default_rng([seed, epoch])`; step `s` reads
  slice `s mod steps_per_epoch` of epoch `s // steps_per_epoch` (the last partial batch of an
  epoch is dropped), so a resumed run continues the exact stream — no replayed or skipped
  examples — and the position needs no state beyond the step in the checkpoint;
- the global batch is drawn first and process `p` of `P` keeps rows `[p·B/P, (p+1)·B/P)`, so
  every host reads only its own slice and the global batch is the same for any process count;
- the random horizontal flips come from `default_rng([seed, step, FLIP_STREAM])`, drawn for the
  global batch, and are therefore as reproducible as the order.
"""

from __future__ import annotations

from collections.abc import Iterator

import ml_dtypes
import numpy as np

from gan_jax.data.preprocess import to_model_range
from gan_jax.errors import ConfigError, DataError

Batch = dict[str, np.ndarray]
DTYPES = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16}
FLIP_STREAM = 1  # keeps the flip random stream apart from the order's


def step_batches(source, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]:
    """`source.batch(step, ...)` for step = start_step, start_step + 1, ... (every source's
    `iterate`: batches are a function of the step, so resuming is just starting later)."""
    step = start_step
    while True:
        yield source.batch(step, batch_size, seed)
        step += 1


class IndexedSource:
    """Base class: subclasses set `name`, `data_shape`, `num_classes` (and `class_names`,
    `attribute_names` when they have them) and implement `__len__` and `read`."""

    name: str
    data_shape: tuple[int, ...]
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    attribute_names: tuple[str, ...] = ()
    flip: bool = False
    dtype: type = np.float32
    shard: tuple[int, int] = (0, 1)
    _perm_cache: tuple[tuple[int, int], np.ndarray] | None = None  # ((seed, epoch), permutation)

    def __len__(self) -> int:
        raise NotImplementedError

    def read(self, indices: np.ndarray) -> Batch:
        """uint8 images `x` (n, H, W, C) for `indices`, plus `y` / `attributes` when present."""
        raise NotImplementedError

    def configure(
        self, flip: bool = False, dtype: str = "float32", shard: tuple[int, int] = (0, 1)
    ) -> IndexedSource:
        """Set the batch options (`make_source` passes them from `config.data`).

        flip: mirror each image left-right with probability 1/2.
        dtype: 'float32' or 'bfloat16' for the images of training batches.
        shard: (process_index, process_count) — which slice of each global batch to read.
        """
        if dtype not in DTYPES:
            raise ConfigError(
                f"config.data.dtype={dtype!r} is not valid; choose one of: {', '.join(DTYPES)}"
            )
        self.flip, self.dtype, self.shard = flip, DTYPES[dtype], shard
        return self

    def _permutation(self, seed: int, epoch: int) -> np.ndarray:
        cached = self._perm_cache
        if cached is None or cached[0] != (seed, epoch):
            cached = ((seed, epoch), np.random.default_rng([seed, epoch]).permutation(len(self)))
            self._perm_cache = cached
        return cached[1]

    def global_indices(self, step: int, batch_size: int, seed: int) -> np.ndarray:
        """Example indices of the global batch for training step `step` (sorted)."""
        per_epoch = len(self) // batch_size
        if per_epoch == 0:
            raise DataError(
                f"{self.name} has {len(self)} examples, fewer than "
                f"config.data.batch_size={batch_size}; lower the batch size"
            )
        epoch, index = divmod(step, per_epoch)
        rows = self._permutation(seed, epoch)[index * batch_size : (index + 1) * batch_size]
        return np.sort(rows)

    def local_rows(self, batch_size: int) -> slice:
        """This process's rows of a global batch of `batch_size`."""
        index, count = self.shard
        if batch_size % count:
            raise DataError(
                f"config.data.batch_size={batch_size} does not split over {count} processes; "
                f"pick a multiple of {count}"
            )
        local = batch_size // count
        return slice(index * local, (index + 1) * local)

    def batch(self, step: int, batch_size: int, seed: int) -> Batch:
        """This process's part of the global batch for step `step` (deterministic).

        `x` is in [-1, 1] with the configured dtype; `y` int32 and `attributes` int32 {0, 1}
        (B, K) come along when the dataset has them.
        """
        rows = self.local_rows(batch_size)
        out = self.read(self.global_indices(step, batch_size, seed)[rows])
        x = out["x"]
        if self.flip:
            mirror = np.random.default_rng([seed, step, FLIP_STREAM]).random(batch_size) < 0.5
            x = np.where(mirror[rows, None, None, None], x[:, :, ::-1], x)
        out["x"] = to_model_range(x).astype(self.dtype, copy=False)
        return out

    def iterate(self, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]:
        return step_batches(self, start_step, batch_size, seed)

    def examples(self, n: int) -> np.ndarray:
        """The first `n` images in model range (float32, unflipped), for sample grids."""
        return to_model_range(self.read(np.arange(min(n, len(self))))["x"])
