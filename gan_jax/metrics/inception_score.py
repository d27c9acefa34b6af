"""Inception Score (Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen 2016, "Improved
Techniques for Training GANs"):

    IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = E_x p(y|x),

computed as in the original code (openai/improved-gan): the n predictions are cut into `splits`
consecutive parts ([i·n // splits, (i+1)·n // splits)), p(y) is the mean prediction of each
part, and the result is the mean and standard deviation (ddof = 0) of the per-part scores. The
protocol is 50,000 samples in 10 splits with the 1008-way logits of the original TF Inception;
the score lies in [1, K] for K classes (1: every prediction equal; K: confident predictions
spread evenly over all classes). Computed in float64 with 0 · log 0 = 0, where the original
code would give NaN for an exact zero probability.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from gan_jax.errors import InputError
from gan_jax.metrics import _checks

_SUM_TOLERANCE = 1e-3  # probability rows must sum to 1 within this (float32 softmax outputs)


def _log_probs(values: np.ndarray, from_logits: bool) -> np.ndarray:
    if from_logits:
        return log_softmax(values, axis=1)
    sums = values.sum(axis=1)
    if values.min() < 0 or np.abs(sums - 1.0).max() > _SUM_TOLERANCE:
        raise InputError(
            f"probs of shape {values.shape} are not probabilities (min {values.min():.3g}, row "
            f"sums in [{sums.min():.4g}, {sums.max():.4g}]); pass from_logits=True for logits"
        )
    with np.errstate(divide="ignore"):
        return np.log(values / sums[:, None])


def inception_score(
    probs_or_logits, splits: int = 10, *, from_logits: bool = False
) -> tuple[float, float]:
    """(mean, std) of the Inception Score over `splits` parts of predictions of shape (n, K).

    Rows are class probabilities p(y|x) (non-negative, summing to 1), or logits with
    `from_logits=True` (softmax applied in float64). Needs n >= splits.
    """
    values = _checks.matrix(probs_or_logits, "probs_or_logits")
    splits = _checks.positive_int(splits, "splits")
    if len(values) < splits:
        raise InputError(f"{splits} splits need at least {splits} rows, got {values.shape}")
    log_p = _log_probs(values, from_logits)
    p = np.exp(log_p)
    n = len(values)
    scores = []
    for i in range(splits):
        part = slice(i * n // splits, (i + 1) * n // splits)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_marginal = np.log(p[part].mean(axis=0))
            terms = np.where(p[part] > 0, p[part] * (log_p[part] - log_marginal), 0.0)
        scores.append(np.exp(terms.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
