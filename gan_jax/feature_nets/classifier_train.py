"""Deterministic training and held-out scoring of the domain classifier.

Training is a pure function of (data, settings): parameters from `PRNGKey(settings.seed)`,
batches from `source.batch(step, batch_size, seed)` (a fixed permutation per epoch), Adam with
a cosine-decayed learning rate, no dropout and no augmentation. Two runs on the same machine
give bit-identical weights, which is what makes the cached classifier a fixed yardstick.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax.data.indexed import IndexedSource
from gan_jax.data.preprocess import to_model_range
from gan_jax.feature_nets.classifier_model import ClassifierSettings, DomainCNN
from gan_jax.feature_nets.features import extract_features
from gan_jax.platform.console import progress_bar

EVAL_BATCH = 500

Params = Any


def _train_step(model: DomainCNN, tx: optax.GradientTransformation):
    def loss_fn(params, x, y):
        logits = model.apply({"params": params}, x)["logits"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def _held_out_images(source: IndexedSource, batch_size: int):
    for start in range(0, len(source), batch_size):
        rows = np.arange(start, min(start + batch_size, len(source)))
        yield to_model_range(source.read(rows)["x"])


def predict_logits(
    model: DomainCNN, params: Params, source: IndexedSource, desc: str = "held-out"
) -> np.ndarray:
    """Logits (N, K) of every example of `source`, in order."""
    forward = jax.jit(lambda x: model.apply({"params": params}, x)["logits"])
    batch = min(EVAL_BATCH, len(source))
    return extract_features(forward, _held_out_images(source, batch), len(source), batch, desc)


def score(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> dict[str, Any]:
    """Overall accuracy and per-class recall ('a true c is predicted c'; NaN for absent c)."""
    correct = np.argmax(logits, axis=-1) == labels
    per_class = [
        float(correct[labels == c].mean()) if np.any(labels == c) else float("nan")
        for c in range(num_classes)
    ]
    return {"accuracy": float(correct.mean()), "per_class_accuracy": per_class}


def train_classifier(
    train: IndexedSource, test: IndexedSource, settings: ClassifierSettings
) -> tuple[Params, dict[str, Any]]:
    """Train a `DomainCNN` on `train` for `settings.steps` steps and score it on `test`.

    Returns (params, info): info holds the held-out accuracy, per-class accuracy, the training
    label frequencies, the final training loss and the wall time. Progress (steps/s, ETA) goes
    to stderr on a terminal.
    """
    num_classes = train.num_classes
    model = DomainCNN(num_classes, settings.width, settings.feature_dim)
    batch_size = min(settings.batch_size, len(train))
    t0 = time.time()
    dummy = jnp.zeros((1, *train.data_shape), jnp.float32)
    params = jax.jit(model.init)(jax.random.PRNGKey(settings.seed), dummy)["params"]
    tx = optax.adam(optax.cosine_decay_schedule(settings.learning_rate, settings.steps))
    opt_state = tx.init(params)
    step_fn = _train_step(model, tx)
    bar = progress_bar(settings.steps, "classifier", "steps")
    losses = []
    try:
        for step in range(settings.steps):
            batch = train.batch(step, batch_size, settings.seed)
            params, opt_state, loss = step_fn(params, opt_state, batch["x"], batch["y"])
            losses.append(loss)
            bar.update(1)
        params = jax.device_get(params)
    finally:
        bar.close()
    train_seconds = time.time() - t0
    tail = np.asarray(jax.device_get(losses[-100:]), np.float64)
    logits = predict_logits(model, params, test)
    labels = np.asarray(test.labels)
    train_labels = np.asarray(train.labels)
    info = {
        **score(logits, labels, num_classes),
        "num_classes": num_classes,
        "held_out_examples": len(test),
        "train_examples": len(train),
        "batch_size": batch_size,
        "class_frequencies": (np.bincount(train_labels, minlength=num_classes) / len(train))
        .round(6)
        .tolist(),
        "final_train_loss": float(tail.mean()) if len(tail) else float("nan"),
        "train_seconds": round(train_seconds, 2),
    }
    return params, info
