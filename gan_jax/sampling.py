"""Sampling from a generator: a jitted, inference-mode (running BatchNorm statistics) forward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def make_sampler(generator: nn.Module) -> Callable[..., jax.Array]:
    """`sample(variables, z, labels) -> outputs` in inference mode, jitted; `variables` is
    `{'params': ..., 'batch_stats': ...}` (see `generator_variables`)."""

    @jax.jit
    def sample(variables: dict[str, Any], z: jax.Array, labels: jax.Array | None):
        return generator.apply(variables, z, labels, train=False)

    return sample


def fixed_latents(seed: int, num: int, latent_dim: int) -> np.ndarray:
    """The fixed noise batch used for progress pictures (same for every step of a run)."""
    return np.asarray(jax.random.normal(jax.random.PRNGKey(seed), (num, latent_dim), jnp.float32))


def fixed_labels(num: int, num_classes: int, ncols: int) -> np.ndarray | None:
    """Labels for progress grids: each row of `ncols` samples shows one class, cycling."""
    if not num_classes:
        return None
    return (np.arange(num) // ncols % num_classes).astype(np.int32)


def generator_variables(state: Any) -> dict[str, Any]:
    """G's variables for sampling from a training state: the EMA weights when EMA is on."""
    variables = {"params": state.g_ema_params or state.g_params}
    if state.g_batch_stats:
        variables["batch_stats"] = state.g_batch_stats
    return variables
