"""A fixed subset of a finite dataset (`config.data.limit=N`), for limited-data training.

Limited-data GAN studies (Karras et al. 2020, "Training GANs with Limited Data"; Zhao et al.
2020, "Differentiable Augmentation for Data-Efficient GAN Training") train on N images of a
dataset and measure the generator against the whole distribution. Here the training batches
come from N images drawn once, with a fixed random stream independent of `config.seed` — every
seed and every arm of an ablation trains on the same N images, so seeds vary only the training
randomness — while evaluation (the real reference set, the domain classifier) still reads the
full dataset. The subset is a uniform draw, not class-balanced (for MNIST's 60,000 images a
draw of 1,000 holds 85-120 of each digit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_jax.data.indexed import Batch, IndexedSource
from gan_jax.errors import ConfigError, DataError

SUBSET_SEED = 2020  # the draw of the N images; fixed so that every run sees the same ones


def subset_indices(size: int, count: int) -> np.ndarray:
    """The sorted indices (into a dataset of `count` examples) of the `size` images kept."""
    return np.sort(np.random.default_rng(SUBSET_SEED).permutation(count)[:size])


class Subset(IndexedSource):
    """`size` fixed examples of `base`, batched like any finite dataset (epochs of `size`)."""

    def __init__(self, base: IndexedSource, size: int) -> None:
        if size > len(base):
            raise DataError(
                f"config.data.limit={size} but {base.name} has only {len(base)} examples; "
                f"set --config.data.limit to at most {len(base)} (0 = all)"
            )
        self.base = base
        self.indices = subset_indices(size, len(base))
        self.name = f"{base.name} (limit {size})"
        self.data_shape = base.data_shape
        self.num_classes = base.num_classes
        self.class_names = base.class_names
        self.attribute_names = base.attribute_names
        self.flip, self.dtype, self.shard = base.flip, base.dtype, base.shard

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, indices: np.ndarray) -> Batch:
        return self.base.read(self.indices[np.asarray(indices)])


def limit(source: Any, size: int) -> Any:
    """`source` itself when `size` is 0, else a `Subset` of `size` of its examples."""
    if not size:
        return source
    if size < 0:
        raise ConfigError(f"config.data.limit={size} is negative; use 0 (all) or a count")
    if not isinstance(source, IndexedSource):
        raise ConfigError(
            f"config.data.limit={size} applies to datasets (npz:, tfds:, folder:), but "
            f"{source.name} draws fresh samples every step; set --config.data.limit=0"
        )
    return Subset(source, size)
