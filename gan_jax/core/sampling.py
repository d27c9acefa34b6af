"""Sampling from a generator: a jitted, inference-mode (running BatchNorm statistics) forward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

_CHUNK = 256  # largest batch one forward pass takes; bigger requests run in chunks


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


def chunked(fn: Callable[..., Any], variables: Any, *arrays: np.ndarray | None) -> np.ndarray:
    """`fn(variables, *arrays)` over the leading axis in padded chunks.

    Chunks are padded to a power of two (at most `_CHUNK`), so requests of different sizes
    reuse a few compiled shapes. Both networks run in inference mode, where examples do not
    interact, so padding never changes the results.
    """
    n = len(next(a for a in arrays if a is not None))
    size = min(_CHUNK, 1 << max(n - 1, 0).bit_length())
    out = []
    for start in range(0, n, size):
        part = []
        for a in arrays:
            if a is not None:
                a = a[start : start + size]
                a = np.concatenate([a, np.zeros((size - len(a), *a.shape[1:]), a.dtype)])
            part.append(a)
        out.append(np.asarray(fn(variables, *part))[: min(size, n - start)])
    return np.concatenate(out)
