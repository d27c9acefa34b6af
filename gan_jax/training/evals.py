"""Periodic evaluation during training (`config.evals`): metrics, pictures, the best checkpoint.

Every `evals.every` steps and at the last step, the run's `Evaluator` scores the current
generator (EMA weights when EMA is on); the metrics go to TensorBoard, the console, the history
and the final `metrics.json` under the same keys `experiments.evaluate` prints. For image runs a
nearest-real-neighbour grid (the memorization check) is written to
`WORKDIR/eval/nearest_step_XXXXXX.png` and TensorBoard. With `evals.best_metric`, the best
checkpoint so far is kept in `WORKDIR/best` (`gan_jax.training.best`).
"""

from __future__ import annotations

import os
from typing import Any

import ml_collections
from absl import logging

from gan_jax import pictures
from gan_jax.core.sampling import generator_variables
from gan_jax.core.state import GANState
from gan_jax.evaluation.evaluator import Evaluator
from gan_jax.runs.run_files import EVAL_DIR
from gan_jax.training.best import BestTracker


class EvalHook:
    """Runs the configured evaluations at their steps (see the module docstring)."""

    def __init__(self, evaluator: Evaluator, evals: ml_collections.ConfigDict, workdir: str):
        """`evaluator` scores the run's generator; `evals` is the config's `evals` block."""
        self.every = evals.every
        self.evaluator = evaluator
        self.best = (
            BestTracker(workdir, evals.best_metric, evaluator.keys) if evals.best_metric else None
        )
        self.directory = os.path.join(workdir, EVAL_DIR)
        self.evaluator.load_net()

    def due(self, step: int, final: bool) -> bool:
        return bool(self.every) and (step % self.every == 0 or final)

    def __call__(self, step: int, state: GANState, writer: Any) -> dict[str, float]:
        """Evaluate `state` (on the host) at `step`; returns the metrics."""
        fake = self.evaluator.generate(generator_variables(state))
        metrics = self.evaluator.score(fake)
        logging.info(
            "Evaluation at step %d (%s): %s",
            step,
            self.evaluator.feature_net or "2-D protocol",
            ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()),
        )
        if fake.ndim == 4:
            picture = self.evaluator.nearest_picture(fake)
            path = os.path.join(self.directory, f"nearest_step_{step:06d}.png")
            pictures.write_picture(picture, path, writer, step, "nearest_real")
        if self.best is not None and self.best.update(step, metrics, state):
            logging.info(
                "New best %s %.4g at step %d", self.best.metric, metrics[self.best.metric], step
            )
        return metrics

    def close(self) -> None:
        if self.best is not None:
            self.best.close()
