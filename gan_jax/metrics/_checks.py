"""Argument checks shared by the metric functions: one-line `InputError`s naming the bad shape."""

from __future__ import annotations

import numpy as np

from gan_jax.errors import InputError


def matrix(x, name: str, min_rows: int = 1, dtype=np.float64) -> np.ndarray:
    """`x` as a finite 2-D `dtype` array of shape (num_samples, num_features), or InputError."""
    a = np.asarray(x)
    if a.ndim != 2 or a.shape[0] < min_rows or a.shape[1] == 0:
        raise InputError(
            f"{name} must be a 2-D array (num_samples, num_features) with at least {min_rows} "
            f"rows and 1 column, got shape {a.shape}"
        )
    a = a.astype(dtype, copy=False)
    if not np.isfinite(a).all():
        raise InputError(f"{name} (shape {a.shape}) contains NaN or infinite values")
    return a


def same_width(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raises InputError unless `a` and `b` have the same number of columns (feature size)."""
    if a.shape[1] != b.shape[1]:
        raise InputError(
            f"{name_a} has shape {a.shape} and {name_b} has shape {b.shape}: the feature sizes "
            f"({a.shape[1]} vs {b.shape[1]}) must match"
        )


def positive_int(value, name: str, minimum: int = 1) -> int:
    """`value` as an int >= `minimum`, or InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
