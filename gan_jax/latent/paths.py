"""Paths through latent space: linear and spherical interpolation, and paths through key points.

Latent vectors drawn from N(0, I) in many dimensions concentrate near the sphere of radius
sqrt(d); a straight line between two of them passes closer to the origin, where the generator
saw few inputs. Spherical interpolation (slerp, Shoemake 1985; White 2016, "Sampling Generative
Networks") follows the great circle instead, so intermediate points keep a typical norm.
"""

from __future__ import annotations

import numpy as np

from gan_jax.errors import InputError

METHODS = ("lerp", "slerp")


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """(1 - t) a + t b for each t: vectors (D,) give (D,) for a scalar t, (T, D) for (T,) t."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[..., None]
    return ((1.0 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation between vectors `a` and `b` (shapes as in `lerp`).

    sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b, with w the angle between them; for nearly
    parallel vectors (sin w ~ 0) this is lerp. Between two unit vectors the result has unit norm
    for every t; for one-hot labels it moves from one class to the other at constant norm.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[..., None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return lerp(a, b, t[..., 0])
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    so = np.sin(omega)
    if so < 1e-6:
        return lerp(a, b, t[..., 0])
    return (np.sin((1.0 - t) * omega) / so * a + np.sin(t * omega) / so * b).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int, method: str = "slerp") -> np.ndarray:
    """`steps` points (steps, D) from `a` to `b`, both included."""
    if method not in METHODS:
        raise InputError(f"method={method!r} is not valid; choose one of: {', '.join(METHODS)}")
    if steps < 2:
        raise InputError(f"steps={steps} must be >= 2 (the two ends)")
    fn = slerp if method == "slerp" else lerp
    return fn(a, b, np.linspace(0.0, 1.0, steps))


def through(keys: np.ndarray, steps: int, method: str = "slerp") -> np.ndarray:
    """A path through key points (K, D): `steps` points per segment, shared ends counted once,
    so ((K - 1) * (steps - 1) + 1, D)."""
    keys = np.asarray(keys, np.float32)
    if keys.ndim != 2 or len(keys) < 2:
        raise InputError(f"need at least two key vectors (K, D), got shape {keys.shape}")
    segments = [interpolate(a, b, steps, method) for a, b in zip(keys[:-1], keys[1:], strict=True)]
    return np.concatenate([segments[0]] + [s[1:] for s in segments[1:]])
