"""Batched feature extraction with a progress bar: the shared loop behind every feature metric.

Feature networks (the FID InceptionV3, the domain classifiers) are applied to thousands of
images in fixed-size batches. The last batch is zero-padded to the same size and trimmed after,
so one compiled shape serves any number of images; networks run in inference mode, where
examples do not interact, so padding never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import numpy as np

from gan_jax.platform.console import progress_bar


def array_batches(x: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of `x` along its first axis (the last one may be shorter)."""
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size]


def _pad(batch: np.ndarray, size: int) -> np.ndarray:
    if len(batch) == size:
        return batch
    pad = np.zeros((size - len(batch), *batch.shape[1:]), batch.dtype)
    return np.concatenate([batch, pad])


def extract_features(
    fn: Callable[[jax.Array], Any],
    batches: Iterable[np.ndarray],
    total: int,
    batch_size: int,
    desc: str = "features",
) -> Any:
    """Applies `fn` to every batch and concatenates the outputs on the host.

    Args:
      fn: a (jitted) function from a batch of `batch_size` images to an array or a dict of
        arrays with the batch as leading axis.
      batches: host arrays of at most `batch_size` rows each, `total` rows in all.
      total: the number of rows, for the progress bar.
      batch_size: the compiled batch size; shorter batches are zero-padded and trimmed.
      desc: what the progress bar (on stderr, only on a terminal) calls the work.

    Returns:
      `fn`'s output structure with `total` rows, as float64-safe host numpy arrays.
    """
    bar = progress_bar(total, desc, "images")
    outputs: list[Any] = []
    done = 0
    try:
        for batch in batches:
            n = len(batch)
            out = fn(_pad(np.asarray(batch), batch_size))
            outputs.append(jax.tree.map(lambda a, n=n: np.asarray(a)[:n], out))
            done += n
            bar.update(n)
    finally:
        bar.close()
    if done != total:
        raise ValueError(f"expected {total} rows from the batches, got {done}")
    return jax.tree.map(lambda *parts: np.concatenate(parts), *outputs)
