"""Fréchet distance between Gaussians fitted to features: FID (Heusel et al. 2017, "GANs Trained
by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium").

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)

With InceptionV3 pool features (2048-d) this is FID; the protocol in the papers is 50,000
generated samples against the training set's statistics (FID is biased upwards at small n, so
only compare numbers computed with the same n). Σ is the unbiased sample covariance
(``np.cov(rowvar=False)``, divisor n − 1), as in TTUR and pytorch-fid.

Numerics. TTUR and pytorch-fid compute ``scipy.linalg.sqrtm(Σ₁ Σ₂)`` (a Schur decomposition of a
non-symmetric product), take the real part and retry with 1e-6·I added when it is not finite.
We use symmetric factorizations only, in float64: with Σ₁ = A Aᵀ, Σ₁ Σ₂ has the same eigenvalues
as the symmetric PSD matrix Aᵀ Σ₂ A, so

    Tr (Σ₁ Σ₂)^½ = Σᵢ √λᵢ(Aᵀ Σ₂ A),  λᵢ clipped at 0 (``eigvalsh``).

A is the Cholesky factor of Σ₁ when that exists (n > d, the usual case: one cheap factorization
and one eigenvalue problem). For a singular Σ₁ (fewer samples than dimensions) A = V diag(√w)
from ``eigh(Σ₁)`` with eigenvalues below the rank tolerance (``w.max() · d · eps``, as
``np.linalg.matrix_rank``) dropped, so the eigenproblem shrinks to the rank and no square roots
of round-off enter. No complex arithmetic, no retry; it agrees with the pytorch-fid code to
~1e-8 relative (tests/test_metrics.py) and is several times faster than ``sqrtm`` at d = 2048.
The 2048 × 2048 algebra stays in float64 numpy/LAPACK: float32 loses FID's small differences of
large traces, and the algebra costs seconds next to the feature network.
"""

from __future__ import annotations

import numpy as np

from gan_jax.errors import InputError
from gan_jax.metrics import _checks


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d), float64, of `features` of shape (n, d), n >= 2."""
    x = _checks.matrix(features, "features", min_rows=2)
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _check_stats(mu, sigma, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]) or mu.shape[0] == 0:
        raise InputError(
            f"mu{name} must have shape (d,) and sigma{name} shape (d, d), got {mu.shape} and "
            f"{sigma.shape}"
        )
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise InputError(f"mu{name} or sigma{name} contains NaN or infinite values")
    return mu, sigma


def _root_factor(sigma: np.ndarray) -> np.ndarray:
    """A with A Aᵀ = Σ: the Cholesky factor when Σ is numerically positive definite (the usual
    case, more samples than dimensions), else V diag(√w) over the eigenvalues of Σ above the
    rank tolerance (possibly zero columns)."""
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(sigma)
        keep = w > max(w.max(), 0.0) * len(w) * np.finfo(np.float64).eps
        return v[:, keep] * np.sqrt(w[keep])


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr (Σ₁ Σ₂)^½ for symmetric PSD Σ₁, Σ₂ (float64): Σᵢ √λᵢ(Aᵀ Σ₂ A) with Σ₁ = A Aᵀ."""
    a = _root_factor((sigma1 + sigma1.T) / 2)
    if a.shape[1] == 0:
        return 0.0
    m = a.T @ sigma2 @ a
    eig = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½) for Gaussians N(μ₁, Σ₁), N(μ₂, Σ₂).

    Σ's must be symmetric positive semi-definite (covariances); shapes (d,) and (d, d). Round-off
    can make the exact answer 0 come out as about -1e-12; the result is clipped at 0.
    """
    mu1, sigma1 = _check_stats(mu1, sigma1, "1")
    mu2, sigma2 = _check_stats(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise InputError(f"the statistics have different sizes: mu1 {mu1.shape}, mu2 {mu2.shape}")
    diff = mu1 - mu2
    trace = np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(float(diff @ diff + trace), 0.0)


def fid_from_features(real, fake) -> float:
    """Fréchet distance between Gaussians fitted to `real` (n, d) and `fake` (m, d) features."""
    real = _checks.matrix(real, "real", min_rows=2)
    fake = _checks.matrix(fake, "fake", min_rows=2)
    _checks.same_width(real, fake, "real", "fake")
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
