"""Progress pictures and sample-based metrics written during training.

Images: a grid from a FIXED noise batch (so frames are comparable across steps) with a row of
real images on top, as the DIGITS walkthrough shows it, and the DIGITS monitor: the χ² distance
between the pixel-value histograms of real images and of those samples (`pixel_chi2`).
2-D mixtures: a scatter plot of real vs generated points, and the VEEGAN/PacGAN mode metrics
on 2,500 samples. Pictures go to
`WORKDIR/samples/step_XXXXXX.png` and to TensorBoard.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import numpy as np

from gan_jax import pictures
from gan_jax.core.sampling import fixed_labels, fixed_latents, generator_variables, make_sampler
from gan_jax.core.state import GANState
from gan_jax.evaluation.evaluator import reference_examples
from gan_jax.metrics.histogram import pixel_chi_square
from gan_jax.metrics.mixtures import NUM_EVAL_SAMPLES, mode_metrics

HISTOGRAM_REAL = 512  # real images whose pixel histogram the samples' is compared with


class Monitor:
    """Renders samples of the current generator and computes sample-based metrics."""

    def __init__(
        self,
        generator,
        source,
        latent_dim: int,
        num_classes: int,
        num_samples: int,
        seed: int,
        workdir: str,
    ) -> None:
        self.sample = make_sampler(generator)
        self.mixture = getattr(source, "mixture", None)
        self.samples_dir = os.path.join(workdir, "samples")
        if self.mixture is None:
            self.ncols = max(num_classes, math.ceil(math.sqrt(num_samples)))
            self.real = source.examples(self.ncols)
            self.reference = reference_examples(source, HISTOGRAM_REAL)[0]
            n = num_samples
        else:
            self.real = source.examples(NUM_EVAL_SAMPLES)
            n = NUM_EVAL_SAMPLES
            self.ncols = 0
        self.z = fixed_latents(seed, n, latent_dim, generator)
        self.labels = fixed_labels(n, num_classes, self.ncols or n)

    def generate(self, state: GANState) -> np.ndarray:
        out = self.sample(generator_variables(state), self.z, self.labels)
        return np.asarray(jax.device_get(out), np.float32)

    def write(self, step: int, state: GANState, writer: Any) -> dict[str, float]:
        """Write this step's picture (PNG + TensorBoard); return metrics computed on samples."""
        fake = self.generate(state)
        metrics: dict[str, float] = {}
        if self.mixture is not None:
            metrics = {k: float(v) for k, v in mode_metrics(fake, self.mixture).items()}
            title = (
                f"{self.mixture.name} step {step}: {int(metrics['modes'])}/"
                f"{len(self.mixture.means)} modes, HQ {metrics['hq_fraction']:.1%}"
            )
            picture = pictures.scatter_plot(self.real, fake, self.mixture.means, title=title)
        else:
            real = self.real[: self.ncols]
            picture = pictures.image_grid(np.concatenate([real, fake]), ncols=self.ncols)
            metrics = {"pixel_chi2": pixel_chi_square(self.reference, fake)}
        path = os.path.join(self.samples_dir, f"step_{step:06d}.png")
        pictures.write_picture(picture, path, writer, step, "samples")
        return metrics
