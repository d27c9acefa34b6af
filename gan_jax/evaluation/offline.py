"""Evaluate a saved checkpoint without retraining: the library behind `experiments.evaluate`.

Rebuilds the generator from the run folder (`gan_jax.load`: the EMA weights when the run kept
an EMA), reads the run's dataset, and scores the samples with the run's `Evaluator`, the same
code, noise and reference set the periodic evaluations during training use, so a 2-D run's
`modes` / `hq_fraction` / `reverse_kl` reproduce its `metrics.json` exactly. Results and
pictures go to `WORKDIR/eval/step_XXXXXX/`: `metrics.json`, and `nearest_real.png` (each sample
beside its nearest real images) for image runs or `scatter.png` for 2-D runs.
"""

from __future__ import annotations

import os
from typing import Any

from gan_jax import pictures
from gan_jax.config import ENCODER_TASK, base_config
from gan_jax.data import make_source
from gan_jax.errors import CheckpointError
from gan_jax.evaluation.evaluator import Evaluator
from gan_jax.platform.files import write_json_atomic
from gan_jax.runs.loading import load
from gan_jax.runs.restore import read_run_files, resolve_run
from gan_jax.runs.run_files import EVAL_DIR


def evaluate_checkpoint(
    workdir: str,
    step: int | None = None,
    metrics: str | None = None,
    num_samples: int | None = None,
    features: str | None = None,
) -> dict[str, Any]:
    """Scores the checkpoint of `step` (default: latest) of the run in `workdir`.

    Returns `{'step', 'features', 'num_samples', **metrics}` with the metric keys of
    `metrics.json`, and writes them with the pictures to `WORKDIR/eval/step_XXXXXX/`.
    """
    run_dir, _ = resolve_run(workdir)
    config, _ = read_run_files(run_dir)
    if config.get("task") == ENCODER_TASK:
        raise CheckpointError(
            f"{run_dir} is an encoder run; evaluate the GAN run its generator came from"
        )
    if "evals" not in config:  # a run from before the evals block existed
        config.evals = base_config().evals
    generator = load(workdir, step)
    source = make_source(config.data)
    evaluator = Evaluator(
        config, source, generator.module, generator.num_classes, metrics, num_samples, features
    )
    fake = evaluator.generate(generator.variables)
    scores = evaluator.score(fake)
    out_dir = os.path.join(run_dir, EVAL_DIR, f"step_{generator.step:06d}")
    if evaluator.mixture is not None:
        picture = pictures.scatter_plot(
            source.examples(len(fake)),
            fake,
            evaluator.mixture.means,
            title=f"step {generator.step}",
        )
        pictures.save_png(picture, os.path.join(out_dir, "scatter.png"))
    else:
        pictures.save_png(
            evaluator.nearest_picture(fake), os.path.join(out_dir, "nearest_real.png")
        )
    result = {
        "step": generator.step,
        "features": evaluator.feature_net or "2-D protocol",
        "num_samples": len(fake),
        **scores,
    }
    write_json_atomic(result, os.path.join(out_dir, "metrics.json"))
    return result
