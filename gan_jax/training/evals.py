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

import flax.linen as nn
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

    def __init__(
        self,
        config: ml_collections.ConfigDict,
        source: Any,
        generator: nn.Module,
        num_classes: int,
        workdir: str,
    ) -> None:
        ev = config.evals
        self.every = ev.every
        self.evaluator = Evaluator(config, source, generator, num_classes)
        self.best = (
            BestTracker(workdir, ev.best_metric, self.evaluator.keys) if ev.best_metric else None
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
            pictures.save_png(picture, os.path.join(self.directory, f"nearest_step_{step:06d}.png"))
            writer.write_images(step, {"nearest_real": picture[None]})
        if self.best is not None and self.best.update(step, metrics, state):
            logging.info(
                "New best %s %.4g at step %d", self.best.metric, metrics[self.best.metric], step
            )
        return metrics

    def close(self) -> None:
        if self.best is not None:
            self.best.close()
