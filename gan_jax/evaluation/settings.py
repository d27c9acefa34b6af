"""The `evals` config block: its checks (metric names are checked where they are resolved,
`evaluation.evaluator.resolve_metrics`, since which apply depends on the data)."""

from __future__ import annotations

import ml_collections

from gan_jax.config import choice, non_negative, positive
from gan_jax.errors import ConfigError

FEATURE_NETS = ("auto", "classifier", "inception")


def validate(evals: ml_collections.ConfigDict) -> None:
    """Check the `evals` block (a task without periodic evaluations has no `every` and no
    `best_metric`: `gan_jax.tasks.reads`)."""
    every = evals.get("every", 0)
    non_negative(every, "evals.every", "0 = no evaluations")
    for field in ("num_samples", "num_real", "batch_size"):
        positive(evals[field], f"evals.{field}")
    choice(evals.features, FEATURE_NETS, "evals.features")
    best = evals.get("best_metric", "")
    if best and not every:
        raise ConfigError(
            f"config.evals.best_metric={best!r} needs evaluations; set --config.evals.every=N"
        )
