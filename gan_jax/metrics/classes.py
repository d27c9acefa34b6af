"""Class-level metrics for generated samples scored by a classifier (a domain classifier trained
on the real data, or Inception on ImageNet classes).

* conditional accuracy: a class-conditional generator asked for class c should produce samples
  the classifier labels c (the "classification accuracy score" style check of cGAN papers).
* the predicted-label histogram q over K classes and its mode coverage: the entropy H(q) (nats)
  and KL(q ‖ uniform) = Σ_k q_k log(q_k K) = log K − H(q), with 0 · log 0 = 0. KL is 0 when the
  samples spread evenly over all classes and log K when they all fall in one class (the
  Stacked-MNIST / mode-counting protocol, here for any classifier).
"""

from __future__ import annotations

import numpy as np

from gan_jax.errors import InputError
from gan_jax.metrics import _checks


def _labels(labels, name: str, num_classes: int) -> np.ndarray:
    a = np.asarray(labels)
    if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"{name} must be a non-empty 1-D integer array, got {a.dtype} {a.shape}")
    if a.min() < 0 or a.max() >= num_classes:
        raise InputError(
            f"{name} must lie in [0, {num_classes}), got values in [{a.min()}, {a.max()}]"
        )
    return a


def conditional_accuracy(logits_or_probs, labels) -> float:
    """Fraction of samples whose arg-max class over `logits_or_probs` (n, K) equals the class
    `labels` (n,) they were generated for. Logits and probabilities give the same result."""
    scores = _checks.matrix(logits_or_probs, "logits_or_probs")
    labels = _labels(labels, "labels", scores.shape[1])
    if len(labels) != len(scores):
        raise InputError(
            f"labels has shape {labels.shape} but logits_or_probs has shape {scores.shape}: "
            "one label per row is needed"
        )
    return float(np.mean(scores.argmax(axis=1) == labels))


def label_histogram(probs_or_preds, num_classes: int, soft: bool = False) -> np.ndarray:
    """Normalized histogram (float64, shape (num_classes,), sums to 1) of predicted classes.

    `probs_or_preds` is either (n,) integer predictions or (n, num_classes) scores; scores count
    their arg-max class, or with `soft=True` contribute their probabilities (rows must then be
    probabilities).
    """
    num_classes = _checks.positive_int(num_classes, "num_classes")
    values = np.asarray(probs_or_preds)
    if values.ndim == 1:
        preds = _labels(values, "probs_or_preds", num_classes)
        return np.bincount(preds, minlength=num_classes) / len(preds)
    scores = _checks.matrix(values, "probs_or_preds")
    if scores.shape[1] != num_classes:
        raise InputError(
            f"probs_or_preds has shape {scores.shape}, expected (n, {num_classes}) scores or (n,) "
            "integer predictions"
        )
    if soft:
        if scores.min() < 0:
            raise InputError("soft=True needs probabilities, got negative scores (logits?)")
        return scores.sum(axis=0) / scores.sum()
    return np.bincount(scores.argmax(axis=1), minlength=num_classes) / len(scores)


def _normalized(hist) -> np.ndarray:
    q = np.asarray(hist, dtype=np.float64)
    if q.ndim != 1 or q.size == 0 or not np.isfinite(q).all() or q.min() < 0 or q.sum() <= 0:
        raise InputError(
            f"hist must be a 1-D non-negative histogram with a positive sum, got shape {q.shape}"
        )
    return q / q.sum()


def label_entropy(hist) -> float:
    """Entropy −Σ q log q (nats) of the histogram `hist` (counts or frequencies), 0 · log 0 = 0."""
    q = _normalized(hist)
    q = q[q > 0]
    return float(-np.sum(q * np.log(q)))


def label_kl_to_uniform(hist) -> float:
    """KL(q ‖ uniform) = Σ q log(q K) over the K bins of `hist`: 0 = all classes equally
    frequent, log K = a single class."""
    q = _normalized(hist)
    used = q[q > 0]
    return float(np.sum(used * np.log(used * len(q))))
