"""Sampling from a generator: its latent prior, and a jitted, inference-mode (running BatchNorm
statistics) forward.

The latent prior p(z) is part of the generator (`model.latent_prior`, a field of the walkthrough
generators; N(0, I) for every other one): 'normal' z ~ N(0, I) (DCGAN, DIGITS), 'uniform'
z ~ U[-1, 1]^d (the Keras intro, the MLP tutorial, ocaml-torch). Training (`core.updates`),
progress pictures, evaluations and `gan_jax.load` all draw z through `latent_sampler`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models.heads import LATENT_PRIORS

_CHUNK = 256  # largest batch one forward pass takes; bigger requests run in chunks


def _uniform(key: jax.Array, shape: Any, dtype: Any = jnp.float32) -> jax.Array:
    return jax.random.uniform(key, shape, dtype, minval=-1.0, maxval=1.0)


def latent_sampler(prior: str | nn.Module) -> Callable[..., jax.Array]:
    """`(key, shape, dtype) -> z` for a prior name or a generator (its `latent_prior` field,
    'normal' when it has none)."""
    if not isinstance(prior, str):
        prior = getattr(prior, "latent_prior", "normal")
    if prior not in LATENT_PRIORS:
        raise ValueError(f"latent prior must be one of {LATENT_PRIORS}, got {prior!r}")
    return jax.random.normal if prior == "normal" else _uniform


def make_sampler(generator: nn.Module) -> Callable[..., jax.Array]:
    """`sample(variables, z, labels) -> outputs` in inference mode, jitted; `variables` is
    `{'params': ..., 'batch_stats': ...}` (see `generator_variables`)."""

    @jax.jit
    def sample(variables: dict[str, Any], z: jax.Array, labels: jax.Array | None):
        return generator.apply(variables, z, labels, train=False)

    return sample


def fixed_latents(
    seed: int, num: int, latent_dim: int, prior: str | nn.Module = "normal"
) -> np.ndarray:
    """The fixed noise batch used for progress pictures (same for every step of a run), drawn
    from `prior` (a name, or a generator whose prior to use)."""
    draw = latent_sampler(prior)
    return np.asarray(draw(jax.random.PRNGKey(seed), (num, latent_dim), jnp.float32))


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
