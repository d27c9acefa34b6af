"""gan_jax: a JAX/Flax research framework for generative adversarial networks.

The library is layered; a package imports only from the layers above it in this list (and from
itself), which `tests/test_layers.py` checks on every module:

  0. `errors`: the error types (user mistakes vs bugs) and the phrasing of config errors
  1. `platform`: processes and devices, XLA:CPU flags, caches, atomic file writes, the console
  2. `data` (sources, (seed, step)-pure batches), `losses` (swappable GAN objectives),
     `pictures` (grids, GIFs, matplotlib charts)
  3. `models` (the model families: generators, discriminators and their schemas, encoders;
     `models.layers`), `metrics` (pure metric functions)
  4. `config`: the config schema (its `model` block from the families) and cross-block checks
  5. `core` (the pure, jit-able train step, state, stabilizers, optimizers; no I/O) and
     `feature_nets` (InceptionV3, domain classifiers, feature extraction)
  6. `runs`: the run folder on disk (checkpoints, run files, `gan_jax.load`)
  7. `evaluation`: the metric registry, the `Evaluator`, offline evaluation of a checkpoint
  8. `training`: the one training loop, device placement, monitors, history, best checkpoint
  9. `encoder`, `latent`, `vae`, `progan`: the encoder's, the VAE's and ProGAN's steps and
     schemas, and the tools built on trained generators
  10. `tasks`: the trainable tasks by name (GAN, encoder, VAE, ProGAN) on one task base
  11. `tools`: ablations and benchmarks

Importing `gan_jax` is light: nothing here imports TensorFlow (or even JAX). `gan_jax.load`
(a trained generator for notebooks), `gan_jax.pictures` and `gan_jax.latent` are imported on
first use (`gan_jax.viz` is the old name of `gan_jax.pictures`, kept for notebooks). Importing it
changes no process setting: `XLA_FLAGS` stays what you set. For faster training and FID on CPU,
call `gan_jax.platform.configure_cpu()` before your first JAX computation (in a notebook, the
first cell after `import gan_jax`); the `experiments` commands do (`gan_jax.platform.xla_cpu`
says which flags, why, and how to opt out).
"""

import importlib
from typing import Any

from gan_jax import platform as platform

__version__ = "0.1.0"

_LAZY_MODULES = {
    "latent": "gan_jax.latent",
    "pictures": "gan_jax.pictures",
    "viz": "gan_jax.pictures",
}


def __getattr__(name: str) -> Any:
    if name in ("load", "Generator"):
        return getattr(importlib.import_module("gan_jax.runs.loading"), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'gan_jax' has no attribute {name!r}")
