"""The `evals` config block: its checks (metric names are checked where they are resolved,
`evaluation.evaluator.resolve_metrics`, since which apply depends on the data)."""

from __future__ import annotations

import ml_collections

from gan_jax.config import choice, non_negative, positive
from gan_jax.errors import ConfigError

FEATURE_NETS = ("auto", "classifier", "inception")


def validate(evals: ml_collections.ConfigDict) -> None:
    """Check the `evals` block of a GAN config."""
    non_negative(evals.every, "evals.every", "0 = no evaluations")
    for field in ("num_samples", "num_real", "batch_size"):
        positive(evals[field], f"evals.{field}")
    choice(evals.features, FEATURE_NETS, "evals.features")
    if evals.best_metric and not evals.every:
        raise ConfigError(
            f"config.evals.best_metric={evals.best_metric!r} needs evaluations; "
            "set --config.evals.every=N"
        )
