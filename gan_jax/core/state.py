"""The training state: one pytree holding everything a bit-exact resume needs.

The data position and the per-step randomness are both functions of `step` and the config's
seed, so saving this pytree (plus the config) is enough to continue a run exactly.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

Params = Any

# Codes stored in `GANState.diverged_net`.
HEALTHY, DISCRIMINATOR, GENERATOR = 0, 1, 2
NET_NAMES = {DISCRIMINATOR: "discriminator", GENERATOR: "generator"}


class GANState(struct.PyTreeNode):
    """Parameters, BatchNorm statistics and optimizer states of both networks.

    `diverged_step`/`diverged_net` record the first step whose loss was not finite (-1 / 0 while
    healthy); the host reads them when it logs, so the hot loop never syncs. The stabilizers'
    state (`gan_jax.core.stabilizers`): `g_ema_params` (an empty dict when EMA is off),
    `d_l2_weight` (adaptive L2 weight) and the cumulative counts of skipped D and G updates.
    `extensions` holds what the step's hooks and terms carry (`gan_jax.core.spec`): {} unless a
    stateful augmentation or regularizer is on; a checkpoint written before this field existed
    restores with it empty (`gan_jax.runs.checkpoint`).
    """

    step: jax.Array
    g_params: Params
    d_params: Params
    g_batch_stats: Params
    d_batch_stats: Params
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState
    diverged_step: jax.Array
    diverged_net: jax.Array
    g_ema_params: Params
    d_l2_weight: jax.Array
    d_skips: jax.Array
    g_skips: jax.Array
    extensions: Params


def init_state(
    rng: jax.Array,
    generator: nn.Module,
    discriminator: nn.Module,
    g_tx: optax.GradientTransformation,
    d_tx: optax.GradientTransformation,
    latent_dim: int,
    data_shape: tuple[int, ...],
    num_classes: int,
    ema: bool = False,
    extensions: Params = None,
) -> GANState:
    """Initialise both networks on a batch of two (BatchNorm needs >1 example), and their
    optimizers; `extensions` is the hooks' initial state (`gan_jax.core.spec.extensions_init`)."""
    g_key, d_key = jax.random.split(rng)
    z = jnp.zeros((2, latent_dim), jnp.float32)
    x = jnp.zeros((2, *data_shape), jnp.float32)
    labels = jnp.zeros((2,), jnp.int32) if num_classes else None
    g_vars = generator.init(g_key, z, labels, train=False)
    d_vars = discriminator.init(d_key, x, labels, train=False)
    g_params, d_params = g_vars["params"], d_vars["params"]
    return GANState(
        step=jnp.zeros((), jnp.int32),
        g_params=g_params,
        d_params=d_params,
        g_batch_stats=g_vars.get("batch_stats", {}),
        d_batch_stats=d_vars.get("batch_stats", {}),
        g_opt_state=g_tx.init(g_params),
        d_opt_state=d_tx.init(d_params),
        diverged_step=jnp.full((), -1, jnp.int32),
        diverged_net=jnp.zeros((), jnp.int32),
        g_ema_params=jax.tree.map(jnp.copy, g_params) if ema else {},
        d_l2_weight=jnp.zeros((), jnp.float32),
        d_skips=jnp.zeros((), jnp.int32),
        g_skips=jnp.zeros((), jnp.int32),
        extensions=extensions or {},
    )


def param_count(params: Params) -> int:
    """Number of scalars in a parameter pytree."""
    return sum(int(x.size) for x in jax.tree.leaves(params))
