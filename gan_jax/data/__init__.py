"""Data sources, chosen by the `config.data.source` string.

| source              | what                                                          |
|---------------------|---------------------------------------------------------------|
| `ring8`, `grid25`   | the built-in 2-D Gaussian mixtures (`gan_jax.data.mixtures`)   |
| `npz:PATH`          | arrays `x_train`/`x` (N,H,W,C uint8), optional `y_train`/`y`   |
| `tfds:NAME[:SPLIT]` | a prepared TFDS dataset (fails fast when it is not on disk)    |

Every source gives `batch(step, batch_size, seed)` as a pure function of its arguments, which
is what makes resumed runs continue the exact data stream, and `examples(n)` for pictures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import ml_collections
import numpy as np

from gan_jax.data import mixtures
from gan_jax.data.arrays import ArraySource, load_npz
from gan_jax.data.preprocess import convert_channels, crop_and_resize
from gan_jax.errors import DataError

Batch = dict[str, np.ndarray]


class DataSource(Protocol):
    name: str
    data_shape: tuple[int, ...]
    num_classes: int

    def batch(self, step: int, batch_size: int, seed: int) -> Batch: ...

    def iterate(self, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]: ...

    def examples(self, n: int) -> np.ndarray: ...


class MixtureSource:
    """Fresh samples from a 2-D mixture every step, seeded by (seed, step)."""

    num_classes = 0
    data_shape = (2,)

    def __init__(self, mixture: mixtures.Mixture) -> None:
        self.mixture = mixture
        self.name = mixture.name

    def batch(self, step: int, batch_size: int, seed: int) -> Batch:
        return {"x": mixtures.sample(self.mixture, batch_size, np.random.default_rng([seed, step]))}

    def iterate(self, start_step: int, batch_size: int, seed: int) -> Iterator[Batch]:
        step = start_step
        while True:
            yield self.batch(step, batch_size, seed)
            step += 1

    def examples(self, n: int) -> np.ndarray:
        return mixtures.sample(self.mixture, n, np.random.default_rng(12345))


def source_names() -> list[str]:
    return [*sorted(mixtures.MIXTURES), "npz:PATH", "tfds:NAME[:SPLIT]"]


def _image_source(images: np.ndarray, labels, data: ml_collections.ConfigDict, name: str):
    images = convert_channels(images, data.channels)
    if data.image_size:
        images = crop_and_resize(images, data.image_size, data.crop)
    return ArraySource(images, labels, name)


def make_source(data: ml_collections.ConfigDict) -> DataSource:
    """Build the source named by `data.source` (see the module docstring)."""
    source = data.source
    kind, _, arg = source.partition(":")
    if kind in mixtures.MIXTURES and not arg:
        return MixtureSource(mixtures.get_mixture(kind))
    if kind == "npz" and arg:
        images, labels = load_npz(arg)
        return _image_source(images, labels, data, source)
    if kind == "tfds" and arg:
        from gan_jax.data.tfds_source import load_tfds

        name, _, split = arg.partition(":")
        images, labels = load_tfds(
            name, split or "train", data.tfds_data_dir or None, data.image_size, data.crop
        )
        return _image_source(images, labels, data, source)
    raise DataError(
        f"config.data.source={source!r} is not valid; choose one of: {', '.join(source_names())}"
    )
