"""gan_jax: a JAX/Flax research framework for generative adversarial networks.

The pieces, each in its own module: `gan_jax.losses` (swappable GAN objectives),
`gan_jax.models` (generators and discriminators), `gan_jax.data` (sources), `gan_jax.step` (the
pure train step), `gan_jax.parallel` (jit-sharded and pmap execution), `gan_jax.train`
(`train_and_evaluate`, the loop behind `python -m experiments.run`).

Importing `gan_jax` is light: nothing here imports TensorFlow (or even JAX). `gan_jax.load`
(a trained generator for notebooks, `gan_jax.generator`) and the `viz` and `latent` modules are
imported on first use. Importing it sets two XLA:CPU flags before JAX starts (faster training
and FID on CPU; `gan_jax.xla_cpu` says which, why, and how to opt out).
"""

import importlib
from typing import Any

from gan_jax import xla_cpu

__version__ = "0.1.0"

xla_cpu.configure()

_LAZY_MODULES = ("generator", "latent", "viz")


def __getattr__(name: str) -> Any:
    if name in ("load", "Generator"):
        return getattr(importlib.import_module("gan_jax.generator"), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"gan_jax.{name}")
    raise AttributeError(f"module 'gan_jax' has no attribute {name!r}")
