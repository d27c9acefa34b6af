"""k-NN manifold metrics on features: improved precision and recall (Kynkäänniemi, Karras, Laine,
Lehtinen & Aila 2019) and density and coverage (Naeem, Oh, Uh, Choi & Yoo 2020).

Each sample x of a set gets the radius r_k(x) = distance to its k-th nearest neighbour in its own
set (itself excluded, by index). With real samples R and fake samples F:

* precision = fraction of f ∈ F with ‖f − r‖ ≤ r_k(r) for some r ∈ R (f lies on the real
  manifold); recall = fraction of r ∈ R with ‖r − f‖ ≤ r_k(f) for some f ∈ F. k = 3 in the
  paper, with 50k samples per set in StyleGAN's code; `≤` as in the authors' code.
* density = (1 / kN) Σ_f #{r : ‖f − r‖ < r_k(r)} over the N fake samples (it counts how many real
  neighbourhoods hold each fake sample; can exceed 1); coverage = fraction of r ∈ R whose
  nearest fake sample is closer than r_k(r). k = 5, 10k samples in the paper; `<` as in the
  authors' ``prdc`` package. The radii, density and coverage all come from the real set only,
  which is what makes them robust to outliers in the fake set.

Distances are computed by JAX in float32 (``Precision.HIGHEST``) as ‖a‖² + ‖b‖² − 2aᵀb after
centring both sets on the real mean (which shrinks the norms, hence the cancellation), in blocks
of `block_size` rows against a whole set, so memory is O(block_size · n) and a 10k × 10k ×
2048 problem never holds more than a 1024 × 10k distance block. Squared distances are compared
directly (same order as distances).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.errors import InputError
from gan_jax.metrics import _checks

BLOCK_SIZE = 1024


def _squared_distances(a, b, b_sqnorm):
    gram = jnp.dot(a, b.T, precision=jax.lax.Precision.HIGHEST)
    return jnp.maximum(jnp.sum(a * a, axis=1)[:, None] + b_sqnorm[None, :] - 2.0 * gram, 0.0)


@functools.partial(jax.jit, static_argnames="k")
def _knn_block(rows, start, points, sqnorm, k: int):
    """Squared distance from each of `rows` (= points[start : start + B], zero-padded past the
    end) to its 1st..k-th nearest neighbour in `points`, excluding itself: shape (B, k)."""
    d2 = _squared_distances(rows, points, sqnorm)
    own = jnp.arange(points.shape[0])[None, :] == (start + jnp.arange(rows.shape[0]))[:, None]
    neg_smallest, _ = jax.lax.top_k(-jnp.where(own, jnp.inf, d2), k)
    return -neg_smallest


@jax.jit
def _cross_block(fake_rows, fake_r2_pr, valid, real, real_sqnorm, real_r2_pr, real_r2_dc):
    """One block of fake rows against all real samples. Per fake row: on the real manifold
    (precision), number of real neighbourhoods holding it (density). Per real sample, over the
    block's valid rows: inside some fake neighbourhood (recall), nearest squared distance
    (coverage)."""
    d2 = _squared_distances(fake_rows, real, real_sqnorm)
    on_real = jnp.any(d2 <= real_r2_pr[None, :], axis=1)
    in_count = jnp.sum(d2 < real_r2_dc[None, :], axis=1)
    on_fake = jnp.any((d2 <= fake_r2_pr[:, None]) & valid[:, None], axis=0)
    nearest = jnp.min(jnp.where(valid[:, None], d2, jnp.inf), axis=0)
    return on_real, in_count, on_fake, nearest


def _blocks(x: np.ndarray, block_size: int):
    """(start, zero-padded block of `block_size` rows, row validity mask) over `x`."""
    for start in range(0, len(x), block_size):
        block = x[start : start + block_size]
        valid = np.arange(block_size) < len(block)
        pad = np.zeros((block_size - len(block), x.shape[1]), x.dtype)
        yield start, np.concatenate([block, pad]), valid


def knn_squared_radii(points: np.ndarray, ks: tuple[int, ...], block_size: int) -> np.ndarray:
    """Squared distance of every point to its k-th nearest other point, for each k in `ks`:
    shape (len(ks), n), float32. `points` is a float32 (n, d) array with n > max(ks)."""
    k = max(ks)
    points_j = jnp.asarray(points)
    sqnorm = jnp.sum(points_j**2, axis=1)
    out = np.empty((len(points), k), np.float32)
    for start, block, valid in _blocks(points, block_size):
        radii = np.asarray(_knn_block(block, start, points_j, sqnorm, k))
        out[start : start + valid.sum()] = radii[valid]
    return out[:, [kk - 1 for kk in ks]].T


def _prepare(real, fake, k_needed: int, block_size: int) -> tuple[np.ndarray, np.ndarray, int]:
    real = _checks.matrix(real, "real", min_rows=2)
    fake = _checks.matrix(fake, "fake", min_rows=2)
    _checks.same_width(real, fake, "real", "fake")
    block_size = _checks.positive_int(block_size, "block_size")
    smallest = min(len(real), len(fake))
    if k_needed >= smallest:
        raise InputError(
            f"k = {k_needed} needs more than k samples in each set, got real {real.shape} and "
            f"fake {fake.shape}; use a smaller k or more samples"
        )
    center = real.mean(axis=0)
    return (real - center).astype(np.float32), (fake - center).astype(np.float32), block_size


def _manifold_metrics(real, fake, k_pr: int | None, k_dc: int | None, block_size: int) -> dict:
    ks = [k for k in (k_pr, k_dc) if k is not None]
    for k in ks:
        _checks.positive_int(k, "k")
    real, fake, block_size = _prepare(real, fake, max(ks), block_size)
    real_r2 = knn_squared_radii(real, tuple(ks), block_size)
    real_r2_pr, real_r2_dc = real_r2[0], real_r2[-1]
    if k_pr is None:
        fake_r2_pr = np.zeros(len(fake), np.float32)
    else:
        fake_r2_pr = knn_squared_radii(fake, (k_pr,), block_size)[0]

    real_j = jnp.asarray(real)
    real_sqnorm = jnp.sum(real_j**2, axis=1)
    on_real = np.empty(len(fake), bool)
    in_count = np.empty(len(fake), np.int64)
    on_fake = np.zeros(len(real), bool)
    nearest = np.full(len(real), np.inf, np.float32)
    for start, block, valid in _blocks(fake, block_size):
        fake_radii = np.zeros(block_size, np.float32)
        fake_radii[: valid.sum()] = fake_r2_pr[start : start + block_size]
        outs = _cross_block(block, fake_radii, valid, real_j, real_sqnorm, real_r2_pr, real_r2_dc)
        block_on_real, block_count, block_on_fake, block_nearest = map(np.asarray, outs)
        stop = start + valid.sum()
        on_real[start:stop] = block_on_real[valid]
        in_count[start:stop] = block_count[valid]
        on_fake |= block_on_fake
        np.minimum(nearest, block_nearest, out=nearest)

    metrics = {}
    if k_pr is not None:
        metrics["precision"] = float(on_real.mean())
        metrics["recall"] = float(on_fake.mean())
    if k_dc is not None:
        metrics["density"] = float(in_count.mean() / k_dc)
        metrics["coverage"] = float((nearest < real_r2_dc).mean())
    return metrics


def precision_recall(real, fake, k: int = 3, block_size: int = BLOCK_SIZE) -> tuple[float, float]:
    """Improved (precision, recall) of `fake` (m, d) against `real` (n, d), k-NN radius `k`."""
    metrics = _manifold_metrics(real, fake, k, None, block_size)
    return metrics["precision"], metrics["recall"]


def density_coverage(real, fake, k: int = 5, block_size: int = BLOCK_SIZE) -> tuple[float, float]:
    """(density, coverage) of `fake` (m, d) against `real` (n, d), k-NN radius `k`."""
    metrics = _manifold_metrics(real, fake, None, k, block_size)
    return metrics["density"], metrics["coverage"]


def prdc(real, fake, k_pr: int = 3, k_dc: int = 5, block_size: int = BLOCK_SIZE) -> dict:
    """{'precision', 'recall', 'density', 'coverage'} as floats, with radius `k_pr` for
    precision/recall and `k_dc` for density/coverage; the three distance passes (real-real,
    fake-fake, real-fake) are shared, so this costs what `precision_recall` alone does."""
    return _manifold_metrics(real, fake, k_pr, k_dc, block_size)
