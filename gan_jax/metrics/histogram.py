"""Pixel-value histogram distance: the cheap monitor of the DIGITS GAN walkthrough.

The histograms of all pixel values of real and of generated images are compared with the
symmetric chi-square distance

    χ²(p, q) = ½ Σ_b (p_b − q_b)² / (p_b + q_b),   over bins with p_b + q_b > 0,

on normalized histograms (Σ p = Σ q = 1). With this ½ convention χ² lies in [0, 1]: 0 for
identical histograms, 1 for histograms with disjoint support. It sees intensity statistics only
(a generator that outputs the right pixels in the wrong places scores 0), so it is a sanity
monitor for collapse to flat or saturated images, not a sample-quality metric.
"""

from __future__ import annotations

import numpy as np

from gan_jax.errors import InputError
from gan_jax.metrics import _checks

BINS = 64
VALUE_RANGE = (-1.0, 1.0)  # generator outputs (tanh) and real images in gan_jax's convention
_CHUNK = 1 << 22  # values histogrammed at a time


def pixel_histogram(images, bins: int = BINS, value_range=VALUE_RANGE) -> np.ndarray:
    """Normalized histogram (float64, shape (bins,), sums to 1) of all values in `images` (any
    shape) over `bins` equal bins spanning `value_range`. Values outside the range are clipped
    into the end bins, so out-of-range generator outputs count against it instead of
    disappearing."""
    values = np.asarray(images).reshape(-1)
    bins = _checks.positive_int(bins, "bins")
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise InputError(f"value_range must be (low, high) with low < high, got {value_range}")
    if values.size == 0:
        raise InputError(f"images must hold at least one value, got shape {np.shape(images)}")
    counts = np.zeros(bins, np.int64)
    for start in range(0, values.size, _CHUNK):  # bounded memory for thousands of images
        chunk = values[start : start + _CHUNK]
        if np.isnan(chunk).any():
            raise InputError(f"images (shape {np.shape(images)}) contain NaN values")
        counts += np.histogram(np.clip(chunk, low, high), bins=bins, range=(low, high))[0]
    return counts / values.size


def _distribution(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise InputError(f"{name} must be a 1-D histogram, got shape {x.shape}")
    if not np.isfinite(x).all() or x.min() < 0 or x.sum() <= 0:
        raise InputError(
            f"{name} (shape {x.shape}) must be finite and non-negative with a positive sum, got "
            f"min {x.min()} and sum {x.sum()}"
        )
    return x / x.sum()


def chi_square_distance(p, q) -> float:
    """½ Σ (p − q)² / (p + q) over bins with p + q > 0, after normalizing `p` and `q` (1-D,
    same length, non-negative) to sum 1. In [0, 1]."""
    p, q = _distribution(p, "p"), _distribution(q, "q")
    if p.shape != q.shape:
        raise InputError(f"histograms p {p.shape} and q {q.shape} must have the same bins")
    total = p + q
    used = total > 0
    return float(0.5 * np.sum((p[used] - q[used]) ** 2 / total[used]))


def pixel_chi_square(real, fake, bins: int = BINS, value_range=VALUE_RANGE) -> float:
    """χ² distance between the pixel-value histograms of `real` and `fake` images."""
    return chi_square_distance(
        pixel_histogram(real, bins, value_range), pixel_histogram(fake, bins, value_range)
    )
